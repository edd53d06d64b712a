import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import type { Inventory } from "../lib/ipc";

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

function inventory(overrides: Partial<Inventory> = {}): Inventory {
  return { profileId: "p", fetchedAt: 1, stale: false, staleReason: null, vms: [], ...overrides };
}

type Answer = Inventory | { reject: { kind: string; message: string } };

/** Mocks the shell: `inventory_cached` answers `cached`, successive `inventory_refresh` calls take `answers`. */
async function shell(cached: Inventory | null, answers: Answer[]) {
  const { mockIPC } = await import("@tauri-apps/api/mocks");
  const calls: string[] = [];
  mockIPC((cmd) => {
    calls.push(cmd);
    if (cmd === "inventory_cached") return cached;
    const answer = answers.shift() ?? inventory();
    if ("reject" in answer) throw answer.reject;
    return answer;
  });
  return calls;
}

async function setup() {
  const { ErrorBanner } = await import("../lib/errors.svelte");
  const { InventoryState } = await import("./inventory.svelte");
  const errors = new ErrorBanner();
  const signedOut: string[] = [];
  const state = new InventoryState(errors, (id) => signedOut.push(id));
  return { errors, state, signedOut };
}

const refreshes = (calls: string[]) => calls.filter((c) => c === "inventory_refresh").length;

describe("InventoryState", () => {
  it("shows the cached snapshot, then the live answer", async () => {
    const calls = await shell(inventory({ stale: true, fetchedAt: 5 }), [inventory({ fetchedAt: 9 })]);
    const { state } = await setup();
    await state.show("p");
    expect(calls).toEqual(["inventory_cached", "inventory_refresh"]);
    expect(state.inventory).toMatchObject({ stale: false, fetchedAt: 9 });
    expect(state.loading).toBe(false);
    state.stop();
  });

  it("polls every 15 s and backs off while the endpoint fails or answers stale", async () => {
    const network = { reject: { kind: "network", message: "unreachable" } };
    const calls = await shell(null, [inventory(), network, inventory({ stale: true }), inventory()]);
    const { state, errors } = await setup();
    await state.show("p");
    expect(refreshes(calls)).toBe(1);

    await vi.advanceTimersByTimeAsync(14_999);
    expect(refreshes(calls)).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(refreshes(calls)).toBe(2); // fails: next in 30 s
    expect(errors.current?.message).toBe("unreachable");

    await vi.advanceTimersByTimeAsync(29_999);
    expect(refreshes(calls)).toBe(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(refreshes(calls)).toBe(3); // stale: second failure, next in 60 s

    await vi.advanceTimersByTimeAsync(59_999);
    expect(refreshes(calls)).toBe(3);
    await vi.advanceTimersByTimeAsync(1);
    expect(refreshes(calls)).toBe(4); // answers: back to 15 s

    await vi.advanceTimersByTimeAsync(15_000);
    expect(refreshes(calls)).toBe(5);
    state.stop();
    await vi.advanceTimersByTimeAsync(600_000);
    expect(refreshes(calls)).toBe(5);
  });

  it("reports a failing poll once, not every period", async () => {
    const network = { reject: { kind: "network", message: "unreachable" } };
    await shell(null, [inventory(), network, network, network]);
    const { state, errors } = await setup();
    await state.show("p");
    await vi.advanceTimersByTimeAsync(15_000);
    expect(errors.current?.message).toBe("unreachable");
    errors.dismiss();
    await vi.advanceTimersByTimeAsync(30_000 + 60_000);
    expect(errors.current).toBeNull();
    state.stop();
  });

  it("treats notSignedIn as signed out, without a banner", async () => {
    await shell(null, [{ reject: { kind: "notSignedIn", message: "sign in first" } }]);
    const { state, errors, signedOut } = await setup();
    await state.show("p");
    expect(signedOut).toEqual(["p"]);
    expect(errors.current).toBeNull();
    state.stop();
  });

  it("drops a late answer for the profile it switched away from", async () => {
    const { mockIPC } = await import("@tauri-apps/api/mocks");
    let release: (value: Inventory) => void = () => undefined;
    mockIPC((cmd, args) => {
      if (cmd === "inventory_cached") return null;
      const id = (args as { id: string }).id;
      if (id === "slow") return new Promise<Inventory>((ok) => (release = ok));
      return inventory({ profileId: id });
    });
    const { state } = await setup();
    const slow = state.show("slow");
    await vi.advanceTimersByTimeAsync(0);
    await state.show("fast");
    release(inventory({ profileId: "slow" }));
    await slow;
    expect(state.inventory?.profileId).toBe("fast");
    expect(state.refreshing).toBe(false);
    state.stop();
  });

  it("filters what it shows", async () => {
    await shell(null, []);
    const { state } = await setup();
    await state.show("p");
    state.inventory = inventory({
      vms: [
        { id: 1, name: "alpha", owner: "a", group: "g", state: "RUNNING", stateClass: "running", host: null, ips: [], vcpu: 1, memoryMib: 1, console: true, spice: false },
        { id: 2, name: "beta", owner: "b", group: "g", state: "RUNNING", stateClass: "running", host: null, ips: [], vcpu: 1, memoryMib: 1, console: true, spice: false },
      ],
    });
    state.query = "bet";
    expect(state.shown.map((v) => v.id)).toEqual([2]);
    state.stop();
  });

  it("pauses polling while the window is hidden and catches up when it is shown", async () => {
    const page = Object.assign(new EventTarget(), { visibilityState: "visible" });
    (globalThis as { document?: unknown }).document = page;
    try {
      const calls = await shell(null, []);
      const { state } = await setup();
      const unwatch = state.watchVisibility();
      await state.show("p");
      expect(refreshes(calls)).toBe(1);

      page.visibilityState = "hidden";
      page.dispatchEvent(new Event("visibilitychange"));
      await vi.advanceTimersByTimeAsync(120_000);
      expect(refreshes(calls)).toBe(1);

      page.visibilityState = "visible";
      page.dispatchEvent(new Event("visibilitychange"));
      await vi.advanceTimersByTimeAsync(0);
      expect(refreshes(calls)).toBe(2); // overdue: at once
      await vi.advanceTimersByTimeAsync(15_000);
      expect(refreshes(calls)).toBe(3);

      unwatch();
      await vi.advanceTimersByTimeAsync(60_000);
      expect(refreshes(calls)).toBe(3);
    } finally {
      delete (globalThis as { document?: unknown }).document;
    }
  });

  it("applies vm-changed events of its profile in place and drops gone VMs", async () => {
    const row = (id: number, state = "RUNNING") => ({
      id,
      name: `vm-${id}`,
      owner: "a",
      group: "g",
      state,
      stateClass: "running" as const,
      host: null,
      ips: [],
      vcpu: 1,
      memoryMib: 1,
      console: false,
      spice: false,
    });
    await shell(null, [inventory({ vms: [row(1), row(3)] })]);
    const { state } = await setup();
    let polls = 0;
    const stop = state.onRefreshed(() => (polls += 1));
    await state.show("p");
    expect(polls).toBe(1);
    state.applyChange({ profileId: "p", vmId: 3, vm: row(3, "POWEROFF"), settled: true });
    expect(state.vm(3)?.state).toBe("POWEROFF");
    state.applyChange({ profileId: "other", vmId: 1, vm: null, settled: true });
    expect(state.vm(1)).not.toBeNull();
    state.applyChange({ profileId: "p", vmId: 2, vm: row(2), settled: false });
    expect(state.inventory?.vms.map((v) => v.id)).toEqual([1, 2, 3]);
    state.applyChange({ profileId: "p", vmId: 1, vm: null, settled: true });
    expect(state.inventory?.vms.map((v) => v.id)).toEqual([2, 3]);
    state.addPlaceholders([row(9, "PENDING"), row(3, "PENDING")]);
    expect(state.inventory?.vms.map((v) => [v.id, v.state])).toEqual([
      [2, "RUNNING"],
      [3, "POWEROFF"],
      [9, "PENDING"],
    ]);
    stop();
    await state.refresh({ manual: true });
    expect(polls).toBe(1);
    state.stop();
  });
});
