import { afterEach, beforeAll, describe, expect, it } from "vitest";

// The mocks install themselves on `window`; the unit tests run in Node, so give them one.
beforeAll(() => {
  (globalThis as { window?: unknown }).window ??= globalThis;
});

afterEach(async () => {
  const { clearMocks } = await import("@tauri-apps/api/mocks");
  clearMocks();
});

const input = {
  id: null,
  name: "Lab",
  url: "https://one.example:2633/RPC2",
  user: "alice",
  authMode: "password" as const,
  vmFilter: "mine" as const,
  pinnedSha256: null,
  caFile: null,
};

describe("ipc", () => {
  it("returns the shell's typed answer", async () => {
    const { mockIPC } = await import("@tauri-apps/api/mocks");
    const { appInfo } = await import("./ipc");
    mockIPC((cmd) => (cmd === "app_info" ? { version: "9.9.9", platform: "linux" } : undefined));
    await expect(appInfo()).resolves.toEqual({ version: "9.9.9", platform: "linux" });
  });

  it("sends each command under its contract name with camelCase arguments", async () => {
    const { mockIPC } = await import("@tauri-apps/api/mocks");
    const ipc = await import("./ipc");
    const calls: { cmd: string; args: unknown }[] = [];
    mockIPC((cmd, args) => {
      calls.push({ cmd, args });
      return null;
    });
    await ipc.profilesList();
    await ipc.profileSave({ input, password: "pw", sessionOnly: true });
    await ipc.profileRemove({ id: "p1" });
    await ipc.signIn({ id: "p1", password: null, sessionOnly: false });
    await ipc.signOut({ id: "p1" });
    await ipc.inventoryCached({ id: "p1" });
    await ipc.inventoryRefresh({ id: "p1" });
    await ipc.consoleOpen({ id: "p1", vmId: 42 });
    await ipc.consoleConnect();
    expect(calls.map((c) => c.cmd)).toEqual([
      "profiles_list",
      "profile_save",
      "profile_remove",
      "sign_in",
      "sign_out",
      "inventory_cached",
      "inventory_refresh",
      "console_open",
      "console_connect",
    ]);
    expect(calls[1]?.args).toEqual({ input, password: "pw", sessionOnly: true });
    expect(calls[3]?.args).toEqual({ id: "p1", password: null, sessionOnly: false });
    expect(calls[7]?.args).toEqual({ id: "p1", vmId: 42 });
  });

  it("turns the shell's { kind, message } into an IpcError naming the command", async () => {
    const { mockIPC } = await import("@tauri-apps/api/mocks");
    const { appInfo, IpcError } = await import("./ipc");
    mockIPC(() => {
      throw { kind: "internal", message: "boom" };
    });
    const error = await appInfo().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(IpcError);
    expect(error).toMatchObject({ kind: "internal", message: "boom", command: "app_info" });
  });

  it("keeps every contract error kind and names the command", async () => {
    const { mockIPC } = await import("@tauri-apps/api/mocks");
    const { errorKinds, signIn } = await import("./ipc");
    for (const kind of errorKinds) {
      mockIPC(() => {
        throw { kind, message: `m-${kind}` };
      });
      await expect(signIn({ id: "p", password: "x", sessionOnly: false })).rejects.toMatchObject({
        kind,
        message: `m-${kind}`,
        command: "sign_in",
      });
    }
    expect(errorKinds).toHaveLength(15);
  });

  it("keeps unknown error shapes readable", async () => {
    const { IpcError } = await import("./ipc");
    expect(IpcError.from("x", "plain text")).toMatchObject({ kind: "unknown", message: "plain text" });
    expect(IpcError.from("x", { kind: "notAKind", message: 3 })).toMatchObject({ kind: "unknown", message: "3" });
    expect(IpcError.from("x", new Error("thrown"))).toMatchObject({ kind: "unknown", message: "thrown" });
  });

  it("delivers console-ended payloads until unlistened", async () => {
    const { mockIPC } = await import("@tauri-apps/api/mocks");
    const { emit } = await import("@tauri-apps/api/event");
    const { onConsoleEnded } = await import("./ipc");
    mockIPC(() => null, { shouldMockEvents: true });
    const seen: unknown[] = [];
    const unlisten = await onConsoleEnded((e) => seen.push(e));
    await emit("console-ended", { vmId: 7, profileId: "p", reason: "closed" });
    unlisten();
    await emit("console-ended", { vmId: 8, profileId: "p", reason: "closed" });
    expect(seen).toEqual([{ vmId: 7, profileId: "p", reason: "closed" }]);
  });
});
