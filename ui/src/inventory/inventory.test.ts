import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import type { CompactVmRow, InventoryDelta, TableView } from "../lib/ipc";

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

let revision = 100;

function delta(overrides: Partial<InventoryDelta> = {}): InventoryDelta {
  return {
    profileId: "p",
    revision: ++revision,
    reset: false,
    rows: [],
    removed: [],
    fetchedAt: 1,
    stale: false,
    staleReason: null,
    done: true,
    loaded: 0,
    pages: 0,
    ...overrides,
  };
}

function compact(id: number, name = `vm-${id}`, state = "RUNNING"): CompactVmRow {
  return [id, name, "a", "g", state, "running", null, [], 1, 1, 0];
}

type Answer = InventoryDelta | { reject: { kind: string; message: string } } | { stream: InventoryDelta[]; last: InventoryDelta };

interface Call {
  cmd: string;
  args: Record<string, unknown>;
}

/** Sends a page through the channel the page passed as `onPage`. */
function sendPage(args: Record<string, unknown>, index: number, page: InventoryDelta) {
  const channel = args.onPage as { id: number };
  const internals = (globalThis as unknown as { __TAURI_INTERNALS__: { runCallback(id: number, data: unknown): void } })
    .__TAURI_INTERNALS__;
  internals.runCallback(channel.id, { index, message: page });
}

/** Mocks the shell: `inventory_cached` answers `cached`, successive `inventory_sync` calls take `answers`. */
async function shell(cached: InventoryDelta | null, answers: Answer[], views: Record<string, TableView> = {}) {
  const { mockIPC } = await import("@tauri-apps/api/mocks");
  const calls: Call[] = [];
  mockIPC((cmd, raw) => {
    const args = (raw ?? {}) as Record<string, unknown>;
    calls.push({ cmd, args });
    if (cmd === "inventory_cached") return cached;
    if (cmd === "table_view") {
      const view = views[String(args.id)];
      if (!view) throw { kind: "storage", message: "no view" };
      return view;
    }
    if (cmd === "table_view_save") return null;
    const answer = answers.shift() ?? delta();
    if ("reject" in answer) throw answer.reject;
    if ("stream" in answer) {
      answer.stream.forEach((page, i) => sendPage(args, i, page));
      return answer.last;
    }
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

const syncs = (calls: Call[]) => calls.filter((c) => c.cmd === "inventory_sync").length;
const ids = (state: { shown: readonly { id: number }[] }) => state.shown.map((v) => v.id);

describe("InventoryState", () => {
  it("shows the cached snapshot, then syncs from its revision", async () => {
    const cached = delta({ reset: true, stale: true, fetchedAt: 5, rows: [compact(1), compact(2)] });
    const calls = await shell(cached, [delta({ fetchedAt: 9, rows: [compact(2, "renamed")], removed: [1] })]);
    const { state } = await setup();
    await state.show("p");
    expect(calls.map((c) => c.cmd).filter((c) => c.startsWith("inventory"))).toEqual(["inventory_cached", "inventory_sync"]);
    expect(calls.find((c) => c.cmd === "inventory_sync")?.args.since).toBe(cached.revision);
    expect(state.rows.map((r) => [r.id, r.name])).toEqual([[2, "renamed"]]);
    expect(state.statuses).toEqual([expect.objectContaining({ profileId: "p", stale: false, fetchedAt: 9 })]);
    expect(state.loading).toBe(false);
    state.stop();
  });

  it("applies a first load's pages as they come, then the reply after them", async () => {
    const first = delta({ reset: true, done: false, loaded: 2, pages: 1, rows: [compact(5), compact(4)] });
    const second = delta({ revision: first.revision, done: false, loaded: 3, pages: 2, rows: [compact(3)] });
    const last = delta({ pages: 2, loaded: 3, rows: [compact(4, "changed meanwhile")] });
    const calls = await shell(null, [{ stream: [first, second], last }]);
    const { state } = await setup();
    await state.show("p");
    expect(calls.find((c) => c.cmd === "inventory_sync")?.args.since).toBeNull();
    expect(ids(state)).toEqual([3, 4, 5]);
    expect(state.vm(4)?.name).toBe("changed meanwhile");
    expect(state.progress).toBeNull();
    state.stop();
  });

  it("polls every 15 s and backs off while the endpoint fails or answers stale", async () => {
    const network = { reject: { kind: "network", message: "unreachable" } };
    const calls = await shell(null, [delta({ reset: true }), network, delta({ stale: true }), delta()]);
    const { state, errors } = await setup();
    await state.show("p");
    expect(syncs(calls)).toBe(1);

    await vi.advanceTimersByTimeAsync(14_999);
    expect(syncs(calls)).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(syncs(calls)).toBe(2); // fails: next in 30 s
    expect(errors.current?.message).toBe("unreachable");

    await vi.advanceTimersByTimeAsync(29_999);
    expect(syncs(calls)).toBe(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(syncs(calls)).toBe(3); // stale: second failure, next in 60 s

    await vi.advanceTimersByTimeAsync(59_999);
    expect(syncs(calls)).toBe(3);
    await vi.advanceTimersByTimeAsync(1);
    expect(syncs(calls)).toBe(4); // answers: back to 15 s

    await vi.advanceTimersByTimeAsync(15_000);
    expect(syncs(calls)).toBe(5);
    state.stop();
    await vi.advanceTimersByTimeAsync(600_000);
    expect(syncs(calls)).toBe(5);
  });

  it("reports a failing poll once, not every period", async () => {
    const network = { reject: { kind: "network", message: "unreachable" } };
    await shell(null, [delta({ reset: true }), network, network, network]);
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
    let release: (value: InventoryDelta) => void = () => undefined;
    mockIPC((cmd, args) => {
      if (cmd === "inventory_cached") return null;
      if (cmd === "table_view") throw { kind: "storage", message: "none" };
      const id = (args as { id: string }).id;
      if (id === "slow") return new Promise<InventoryDelta>((ok) => (release = ok));
      return delta({ profileId: id, reset: true, rows: [compact(7)] });
    });
    const { state } = await setup();
    const slow = state.show("slow");
    await vi.advanceTimersByTimeAsync(0);
    await state.show("fast");
    release(delta({ profileId: "slow", reset: true, rows: [compact(1)] }));
    await slow;
    expect(state.profileId).toBe("fast");
    expect(ids(state)).toEqual([7]);
    expect(state.refreshing).toBe(false);
    state.stop();
  });

  it("filters, narrows by facets and sorts what it shows; the view is remembered", async () => {
    const saved: TableView = {
      sort: "name",
      dir: "desc",
      states: [],
      owners: [],
      hosts: [],
      endpoints: [],
      columns: ["id", "name"],
    };
    const calls = await shell(null, [delta({ reset: true, rows: [compact(1, "alpha"), compact(2, "beta", "POWEROFF"), compact(3, "gamma")] })], {
      p: saved,
    });
    const { state } = await setup();
    await state.show("p");
    expect(state.columns).toEqual(["id", "name"]);
    expect(ids(state)).toEqual([3, 2, 1]);
    state.toggleFacet("states", "RUNNING");
    expect(ids(state)).toEqual([3, 1]);
    expect(state.narrowed).toBe(true);
    state.query = "alp";
    expect(ids(state)).toEqual([1]);
    state.toggleColumn("host");
    expect(state.columns).toEqual(["id", "name", "host"]);
    const last = calls.filter((c) => c.cmd === "table_view_save").at(-1);
    expect(last?.args).toEqual({ id: "p", view: { ...saved, states: ["RUNNING"], columns: ["id", "name", "host"] } });
    state.stop();
  });

  it("lists every endpoint in the All view and marks only the one away stale", async () => {
    const { mockIPC } = await import("@tauri-apps/api/mocks");
    const calls: Call[] = [];
    mockIPC((cmd, raw) => {
      const args = raw as Record<string, unknown>;
      calls.push({ cmd, args });
      if (cmd === "inventory_cached") return null;
      if (cmd === "table_view") throw { kind: "storage", message: "none" };
      if (args.id === "a") return delta({ profileId: "a", reset: true, rows: [compact(1), compact(2)] });
      return delta({ profileId: "b", reset: true, stale: true, staleReason: "refused", rows: [compact(1)] });
    });
    const { state } = await setup();
    await state.showAll(["a", "b"], { a: "Alpha", b: "Beta" });
    expect(state.all).toBe(true);
    expect(state.profileId).toBeNull();
    expect(state.rows.map((r) => `${r.profileId}/${r.id}`).sort()).toEqual(["a/1", "a/2", "b/1"]);
    expect(new Set(state.rows.map((r) => r.key)).size).toBe(3);
    expect(state.statuses.filter((s) => s.stale).map((s) => s.profileId)).toEqual(["b"]);
    expect(state.facets.endpoints).toEqual([
      { value: "a", count: 2 },
      { value: "b", count: 1 },
    ]);
    expect(state.view.columns[0]).toBe("endpoint");
    expect(calls.find((c) => c.cmd === "table_view")?.args).toEqual({ id: null });
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
      expect(syncs(calls)).toBe(1);

      page.visibilityState = "hidden";
      page.dispatchEvent(new Event("visibilitychange"));
      await vi.advanceTimersByTimeAsync(120_000);
      expect(syncs(calls)).toBe(1);

      page.visibilityState = "visible";
      page.dispatchEvent(new Event("visibilitychange"));
      await vi.advanceTimersByTimeAsync(0);
      expect(syncs(calls)).toBe(2); // overdue: at once
      await vi.advanceTimersByTimeAsync(15_000);
      expect(syncs(calls)).toBe(3);

      unwatch();
      await vi.advanceTimersByTimeAsync(60_000);
      expect(syncs(calls)).toBe(3);
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
    await shell(null, [delta({ reset: true, rows: [compact(1), compact(3)] })]);
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
    expect(ids(state)).toEqual([1, 2, 3]);
    state.applyChange({ profileId: "p", vmId: 1, vm: null, settled: true });
    expect(ids(state)).toEqual([2, 3]);
    state.addPlaceholders([row(9, "PENDING"), row(3, "PENDING")]);
    expect(state.shown.map((v) => [v.id, v.state])).toEqual([
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
