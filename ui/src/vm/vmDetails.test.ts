import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";

// The IPC mocks install themselves on `window`; the unit tests run in Node, so give them one.
beforeAll(() => {
  (globalThis as { window?: unknown }).window ??= globalThis;
});

afterEach(async () => {
  const { clearMocks } = await import("@tauri-apps/api/mocks");
  clearMocks();
});

interface Pending {
  vmId: number;
  answer: (value: unknown) => void;
  fail: (error: unknown) => void;
}

/** Mocks `vm_details` with answers the test releases by hand. */
async function shell() {
  const { mockIPC } = await import("@tauri-apps/api/mocks");
  const waiting: Pending[] = [];
  mockIPC((_cmd, args) => {
    const { vmId } = args as { vmId: number };
    return new Promise((answer, fail) => waiting.push({ vmId, answer, fail }));
  });
  return waiting;
}

const details = (id: number, stateLabel = "RUNNING") => ({ id, name: `vm-${id}`, stateLabel });
const flush = () => new Promise((ok) => setTimeout(ok, 0));

describe("VmDetailsState", () => {
  it("drops a late answer for a VM it no longer shows", async () => {
    const waiting = await shell();
    const { VmDetailsState } = await import("./vmDetails.svelte");
    const state = new VmDetailsState();
    void state.open("p", 3);
    void state.open("p", 7);
    await flush();
    waiting.find((w) => w.vmId === 7)?.answer(details(7));
    waiting.find((w) => w.vmId === 3)?.answer(details(3));
    await flush();
    expect(state.vmId).toBe(7);
    expect(state.details).toMatchObject({ id: 7 });
    state.close();
    expect(state.details).toBeNull();
  });

  it("re-reads on the open VM's events, one read at a time, and marks it gone", async () => {
    const waiting = await shell();
    const { VmDetailsState } = await import("./vmDetails.svelte");
    const state = new VmDetailsState();
    void state.open("p", 3);
    await flush();
    waiting.shift()?.answer(details(3));
    await flush();
    const change = { profileId: "p", vmId: 3, vm: null, settled: false };
    const summary = { ...change, vm: { id: 3 } as never };
    state.applyChange({ ...summary, vmId: 4 });
    state.applyChange({ ...summary, profileId: "q" });
    expect(waiting).toHaveLength(0);
    state.applyChange(summary);
    state.applyChange(summary);
    state.applyChange(summary);
    await flush();
    expect(waiting).toHaveLength(1);
    waiting.shift()?.answer(details(3, "POWEROFF"));
    await flush();
    expect(waiting).toHaveLength(1); // the queued one
    waiting.shift()?.answer(details(3, "POWEROFF"));
    await flush();
    expect(state.details).toMatchObject({ stateLabel: "POWEROFF" });
    state.applyChange(change);
    expect(state.gone).toBe(true);
  });

  it("keeps a read failure to show it", async () => {
    const waiting = await shell();
    const { VmDetailsState } = await import("./vmDetails.svelte");
    const state = new VmDetailsState();
    void state.open("p", 3);
    await flush();
    waiting.shift()?.fail({ kind: "network", message: "down", params: { detail: "refused" } });
    await flush();
    expect(state.error).toMatchObject({ kind: "network", params: { detail: "refused" } });
    expect(state.loading).toBe(false);
  });
});

describe("VmMonitoringState", () => {
  it("reads the chosen range and drops answers for another range", async () => {
    vi.useRealTimers();
    const { mockIPC } = await import("@tauri-apps/api/mocks");
    const waiting: { rangeSecs: number; answer: (v: unknown) => void }[] = [];
    mockIPC((_cmd, args) => {
      const { rangeSecs } = args as { rangeSecs: number };
      return new Promise((answer) => waiting.push({ rangeSecs, answer }));
    });
    const { VmMonitoringState } = await import("./vmMonitoring.svelte");
    const state = new VmMonitoringState();
    void state.show("p", 3);
    void state.setRange(86_400);
    await flush();
    expect(waiting.map((w) => w.rangeSecs)).toEqual([3600, 86_400]);
    waiting[1]?.answer({ vmId: 3, points: [{ t: 2 }] });
    waiting[0]?.answer({ vmId: 3, points: [{ t: 1 }, { t: 2 }] });
    await flush();
    expect(state.series?.points).toHaveLength(1);
    void state.show(null, null);
    expect(state.series).toBeNull();
  });
});
