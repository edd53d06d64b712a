import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import type { VmDetails, VmOperation } from "../lib/ipc";

// The IPC mocks install themselves on `window`; the unit tests run in Node, so give them one.
beforeAll(() => {
  (globalThis as { window?: unknown }).window ??= globalThis;
});

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(async () => {
  vi.useRealTimers();
  const { clearMocks } = await import("@tauri-apps/api/mocks");
  clearMocks();
});

const destructive = new Set<string>(["terminate", "terminate-hard", "reinstall", "snapshot-revert", "snapshot-delete"]);

function vm(id: number, allowed: VmOperation[]): VmDetails {
  const ops: VmOperation[] = ["poweroff", "resume", "terminate", "reinstall", "rename", "snapshot-revert"];
  return {
    profileId: "p",
    id,
    name: `vm-${id}`,
    owner: "a",
    group: "g",
    uid: 0,
    gid: 0,
    state: "ACTIVE",
    lcmState: "RUNNING",
    stateLabel: "RUNNING",
    stateClass: "running",
    host: null,
    ips: [],
    cpu: 1,
    vcpu: 1,
    memoryMib: 1024,
    disks: [],
    nics: [],
    graphics: null,
    history: [],
    snapshots: [{ snapshotId: 4, name: "s", time: null }],
    startTime: 0,
    lastPoll: null,
    userTemplate: "",
    locked: false,
    operations: ops.map((op) => ({ op, allowed: allowed.includes(op), destructive: destructive.has(op) })),
    fetchedAt: 0,
  };
}

type Answer = unknown | { reject: unknown };

/** Mocks the shell: each command answers from `answers` (a value or `{ reject }`); calls are recorded. */
async function shell(answers: Record<string, Answer>) {
  const { mockIPC } = await import("@tauri-apps/api/mocks");
  const calls: { cmd: string; args: unknown }[] = [];
  mockIPC((cmd, args) => {
    calls.push({ cmd, args });
    const answer = answers[cmd];
    if (answer && typeof answer === "object" && "reject" in answer) throw answer.reject;
    return answer;
  });
  return calls;
}

async function setup(profile: string | null = "p") {
  const { VmActions } = await import("./vmActions.svelte");
  const replaced: unknown[] = [];
  let current = profile;
  const actions = new VmActions(() => current, { replaced: (r) => replaced.push(r) });
  return { actions, replaced, switchTo: (id: string | null) => (current = id) };
}

describe("VmActions", () => {
  it("runs an allowed non-destructive operation at once and stays pending until the VM settles", async () => {
    const calls = await shell({ vm_action: { vmId: 3 } });
    const { actions } = await setup();
    actions.request("poweroff", vm(3, ["poweroff"]));
    expect(actions.pendingOf(3)).toBe("poweroff");
    await vi.advanceTimersByTimeAsync(0);
    expect(calls).toEqual([{ cmd: "vm_action", args: { id: "p", vmId: 3, action: "poweroff" } }]);
    actions.applyChange({ profileId: "p", vmId: 3, vm: null, settled: false });
    expect(actions.pendingOf(3)).toBeNull();
  });

  it("keeps pending through unsettled events and clears it on a settled one", async () => {
    await shell({ vm_action: { vmId: 3 } });
    const { actions } = await setup();
    await actions.run("resume", { id: 3, name: "vm-3" });
    const summary = {
      id: 3,
      name: "vm-3",
      owner: "a",
      group: "g",
      state: "BOOT",
      stateClass: "transitional" as const,
      host: null,
      ips: [],
      vcpu: 1,
      memoryMib: 1,
      console: false,
      spice: false,
    };
    actions.applyChange({ profileId: "p", vmId: 3, vm: summary, settled: false });
    expect(actions.pendingOf(3)).toBe("resume");
    actions.applyChange({ profileId: "other", vmId: 3, vm: summary, settled: true });
    expect(actions.pendingOf(3)).toBe("resume");
    actions.applyChange({ profileId: "p", vmId: 3, vm: summary, settled: true });
    expect(actions.pendingOf(3)).toBeNull();
  });

  it("gives up waiting once core has stopped watching", async () => {
    await shell({ vm_action: { vmId: 3 } });
    const { actions, PENDING_LIMIT_MS } = { ...(await setup()), ...(await import("./vmActions.svelte")) };
    await actions.run("resume", { id: 3, name: "vm-3" });
    await vi.advanceTimersByTimeAsync(PENDING_LIMIT_MS - 1);
    expect(actions.pendingOf(3)).toBe("resume");
    await vi.advanceTimersByTimeAsync(1);
    expect(actions.pendingOf(3)).toBeNull();
  });

  it("does nothing for an operation core does not allow, or while the VM is busy", async () => {
    const calls = await shell({ vm_action: { vmId: 3 } });
    const { actions } = await setup();
    actions.request("resume", vm(3, ["poweroff"]));
    expect(actions.pendingOf(3)).toBeNull();
    actions.request("poweroff", vm(3, ["poweroff"]));
    actions.request("poweroff", vm(3, ["poweroff"]));
    await vi.advanceTimersByTimeAsync(0);
    expect(calls).toHaveLength(1);
  });

  it("confirms destructive operations first and keeps the confirmation open on failure", async () => {
    const oned = "[one.vm.action] Error: not now";
    const calls = await shell({ vm_action: { reject: { kind: "wrongState", message: "m", params: { oned } } } });
    const { actions } = await setup();
    actions.request("terminate", vm(3, ["terminate"]));
    expect(actions.confirm).toMatchObject({ kind: "single", op: "terminate", vm: { id: 3, name: "vm-3" } });
    expect(calls).toHaveLength(0);
    const error = await actions.confirmed();
    expect(error).toMatchObject({ kind: "wrongState", params: { oned } });
    expect(actions.confirm).not.toBeNull();
    expect(actions.pendingOf(3)).toBeNull();
    actions.cancelConfirm();
    expect(actions.confirm).toBeNull();
  });

  it("shows a failure of an operation run without a dialog", async () => {
    await shell({ vm_action: { reject: { kind: "authorization", message: "no" } } });
    const { actions } = await setup();
    actions.request("poweroff", vm(3, ["poweroff"]));
    await vi.advanceTimersByTimeAsync(0);
    expect(actions.failure).toMatchObject({ op: "poweroff", vm: { id: 3 }, error: { kind: "authorization" } });
    actions.dismiss();
    expect(actions.failure).toBeNull();
  });

  it("opens the dialog of rename and sends the snapshot of a revert", async () => {
    const calls = await shell({ vm_snapshot_revert: { vmId: 3 }, vm_rename: { vmId: 3 } });
    const { actions } = await setup();
    const target = vm(3, ["rename", "snapshot-revert"]);
    actions.request("rename", target);
    expect(actions.dialog).toMatchObject({ kind: "rename", vm: { id: 3 } });
    expect(await actions.rename(target, "new")).toBeNull();
    expect(actions.dialog).toBeNull();
    // Busy until the rename settles.
    actions.request("snapshot-revert", target, target.snapshots[0]);
    expect(actions.confirm).toBeNull();
    actions.applyChange({ profileId: "p", vmId: 3, vm: null, settled: true });
    actions.request("snapshot-revert", target, target.snapshots[0]);
    await actions.confirmed();
    expect(calls.map((c) => c.args)).toEqual([
      { id: "p", vmId: 3, name: "new" },
      { id: "p", vmId: 3, snapshotId: 4 },
    ]);
  });

  it("says how a reinstall went and follows a replacement", async () => {
    await shell({ vm_reinstall: { way: "replaced", vmId: 9, oldVmId: 3 } });
    const { actions, replaced } = await setup();
    expect(await actions.run("reinstall", { id: 3, name: "vm-3" })).toBeNull();
    expect(actions.notice).toEqual({
      kind: "reinstalled",
      vm: { id: 3, name: "vm-3" },
      result: { way: "replaced", vmId: 9, oldVmId: 3 },
    });
    expect(replaced).toEqual([{ way: "replaced", vmId: 9, oldVmId: 3 }]);
    expect(actions.pendingOf(9)).toBe("reinstall");
  });

  it("keeps one result per VM of a bulk action; only accepted ones stay pending", async () => {
    const calls = await shell({
      vm_bulk_action: [
        { vmId: 1, ok: true, error: null },
        { vmId: 2, ok: false, error: { kind: "authorization", message: "m", params: { oned: "denied" } } },
      ],
    });
    const { actions } = await setup();
    const vms = [
      { id: 1, name: "a" },
      { id: 2, name: "b" },
    ];
    actions.requestBulk("terminate", vms);
    expect(actions.confirm).toEqual({ kind: "bulk", action: "terminate", vms });
    await actions.confirmed();
    expect(calls[0]?.args).toEqual({ id: "p", vmIds: [1, 2], action: "terminate" });
    expect(actions.bulk?.running).toBe(false);
    expect(actions.bulk?.results?.map((r) => [r.vmId, r.ok, r.error?.oned ?? null])).toEqual([
      [1, true, null],
      [2, false, "denied"],
    ]);
    expect(actions.pendingOf(1)).toBe("terminate");
    expect(actions.pendingOf(2)).toBeNull();
    actions.requestBulk("poweroff", []);
    expect(calls).toHaveLength(1);
  });

  it("drops answers that arrive after the profile changed", async () => {
    const { mockIPC } = await import("@tauri-apps/api/mocks");
    let release: (value: unknown) => void = () => undefined;
    mockIPC(() => new Promise((ok) => (release = ok)));
    const { actions } = await setup();
    actions.request("poweroff", vm(3, ["poweroff"]));
    await vi.advanceTimersByTimeAsync(0);
    actions.reset();
    expect(actions.pendingOf(3)).toBeNull();
    release({ vmId: 3 });
    await vi.advanceTimersByTimeAsync(0);
    expect(actions.pendingOf(3)).toBeNull();
    expect(actions.failure).toBeNull();
  });
});
