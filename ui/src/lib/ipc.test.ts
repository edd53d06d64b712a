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
    await ipc.inventorySync({ id: "p1", since: null, onPage: () => undefined });
    await ipc.consoleOpen({ id: "p1", vmId: 42 });
    await ipc.consoleConnect();
    expect(calls.map((c) => c.cmd)).toEqual([
      "profiles_list",
      "profile_save",
      "profile_remove",
      "sign_in",
      "sign_out",
      "inventory_cached",
      "inventory_sync",
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
    expect(errorKinds).toHaveLength(19);
    expect(errorKinds).toContain("allocation");
    expect(errorKinds).toContain("recording");
    expect(errorKinds).toContain("remoteViewer");
    expect(errorKinds).toContain("ssh");
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

  it("keeps the error's params, {} when the shell sent none", async () => {
    const { IpcError } = await import("./ipc");
    const oned = '[one.vm.action] Error performing action "suspend": This action is not available for state POWEROFF';
    const withParams = IpcError.from("vm_action", { kind: "wrongState", message: "m", params: { oned, code: 2048 } });
    expect(withParams).toMatchObject({ kind: "wrongState", params: { oned, code: 2048 } });
    expect(withParams.oned).toBe(oned);
    expect(withParams.number("code")).toBe(2048);
    expect(withParams.text("code")).toBeNull();
    expect(IpcError.from("x", { kind: "internal", message: "m" }).params).toEqual({});
    expect(IpcError.from("x", { kind: "internal", message: "m", params: null }).params).toEqual({});
    expect(IpcError.from("x", { kind: "internal", message: "m", params: [1] }).params).toEqual({});
    expect(IpcError.from("x", "plain").params).toEqual({});
    expect(IpcError.from("x", { kind: "internal", message: "m" }).oned).toBeNull();
  });

  it("sends the VM management commands under their contract names", async () => {
    const { mockIPC } = await import("@tauri-apps/api/mocks");
    const ipc = await import("./ipc");
    const calls: { cmd: string; args: unknown }[] = [];
    mockIPC((cmd, args) => {
      calls.push({ cmd, args });
      return cmd === "vm_bulk_action" ? [] : null;
    });
    const request = { templateId: 4, name: "web-%i", count: 2, hold: false, inputs: { SIZE: "3" } };
    await ipc.vmDetails({ id: "p", vmId: 1 });
    await ipc.vmAction({ id: "p", vmId: 1, action: "poweroff-hard" });
    await ipc.vmBulkAction({ id: "p", vmIds: [1, 2], action: "terminate" });
    await ipc.vmReinstall({ id: "p", vmId: 1 });
    await ipc.vmResize({ id: "p", vmId: 1, capacity: { cpu: 0.5, vcpu: null, memoryMib: 1024 }, enforce: true });
    await ipc.vmRename({ id: "p", vmId: 1, name: "n" });
    await ipc.vmSnapshotCreate({ id: "p", vmId: 1, name: "s" });
    await ipc.vmSnapshotRevert({ id: "p", vmId: 1, snapshotId: 3 });
    await ipc.vmSnapshotDelete({ id: "p", vmId: 1, snapshotId: 3 });
    await ipc.vmMonitoring({ id: "p", vmId: 1, rangeSecs: 3600 });
    await ipc.templateList({ id: "p" });
    await ipc.vmCreate({ id: "p", request });
    expect(calls).toEqual([
      { cmd: "vm_details", args: { id: "p", vmId: 1 } },
      { cmd: "vm_action", args: { id: "p", vmId: 1, action: "poweroff-hard" } },
      { cmd: "vm_bulk_action", args: { id: "p", vmIds: [1, 2], action: "terminate" } },
      { cmd: "vm_reinstall", args: { id: "p", vmId: 1 } },
      {
        cmd: "vm_resize",
        args: { id: "p", vmId: 1, capacity: { cpu: 0.5, vcpu: null, memoryMib: 1024 }, enforce: true },
      },
      { cmd: "vm_rename", args: { id: "p", vmId: 1, name: "n" } },
      { cmd: "vm_snapshot_create", args: { id: "p", vmId: 1, name: "s" } },
      { cmd: "vm_snapshot_revert", args: { id: "p", vmId: 1, snapshotId: 3 } },
      { cmd: "vm_snapshot_delete", args: { id: "p", vmId: 1, snapshotId: 3 } },
      { cmd: "vm_monitoring", args: { id: "p", vmId: 1, rangeSecs: 3600 } },
      { cmd: "template_list", args: { id: "p" } },
      { cmd: "vm_create", args: { id: "p", request } },
    ]);
  });

  it("turns each failed bulk result into an IpcError with its params", async () => {
    const { mockIPC } = await import("@tauri-apps/api/mocks");
    const { IpcError, vmBulkAction } = await import("./ipc");
    mockIPC(() => [
      { vmId: 1, ok: true, error: null },
      { vmId: 2, ok: false, error: { kind: "authorization", message: "m", params: { oned: "[one.vm.action] Not authorized", code: 512 } } },
    ]);
    const [ok, failed] = await vmBulkAction({ id: "p", vmIds: [1, 2], action: "poweroff" });
    expect(ok).toEqual({ vmId: 1, ok: true, error: null });
    expect(failed?.error).toBeInstanceOf(IpcError);
    expect(failed?.error).toMatchObject({ kind: "authorization", command: "vm_bulk_action" });
    expect(failed?.error?.oned).toBe("[one.vm.action] Not authorized");
  });

  it("delivers vm-changed and signed-out payloads", async () => {
    const { mockIPC } = await import("@tauri-apps/api/mocks");
    const { emit } = await import("@tauri-apps/api/event");
    const { onSignedOut, onVmChanged } = await import("./ipc");
    mockIPC(() => null, { shouldMockEvents: true });
    const changes: unknown[] = [];
    const outs: unknown[] = [];
    const stopChanges = await onVmChanged((e) => changes.push(e));
    const stopOuts = await onSignedOut((e) => outs.push(e));
    await emit("vm-changed", { profileId: "p", vmId: 3, vm: null, settled: true });
    await emit("signed-out", { profileId: "p", reason: "expired" });
    stopChanges();
    stopOuts();
    await emit("vm-changed", { profileId: "p", vmId: 4, vm: null, settled: true });
    expect(changes).toEqual([{ profileId: "p", vmId: 3, vm: null, settled: true }]);
    expect(outs).toEqual([{ profileId: "p", reason: "expired" }]);
  });
});
