import { afterEach, beforeAll, describe, expect, it } from "vitest";

// The mocks install themselves on `window`; the unit tests run in Node, so give them one.
beforeAll(() => {
  (globalThis as { window?: unknown }).window ??= globalThis;
});

afterEach(async () => {
  const { clearMocks } = await import("@tauri-apps/api/mocks");
  clearMocks();
});

describe("ipc", () => {
  it("returns the shell's typed answer", async () => {
    const { mockIPC } = await import("@tauri-apps/api/mocks");
    const { appInfo } = await import("./ipc");
    mockIPC((cmd) => (cmd === "app_info" ? { version: "9.9.9", platform: "linux" } : undefined));
    await expect(appInfo()).resolves.toEqual({ version: "9.9.9", platform: "linux" });
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

  it("keeps unknown error shapes readable", async () => {
    const { IpcError } = await import("./ipc");
    expect(IpcError.from("x", "plain text")).toMatchObject({ kind: "unknown", message: "plain text" });
    expect(IpcError.from("x", { kind: "notAKind", message: 3 })).toMatchObject({ kind: "unknown", message: "3" });
  });
});
