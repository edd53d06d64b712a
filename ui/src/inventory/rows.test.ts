import { describe, expect, it } from "vitest";
import type { CompactVmRow, InventoryDelta } from "../lib/ipc";
import { ProfileRows, rowKey } from "./rows";

function row(id: number, state = "RUNNING", flags = 1): CompactVmRow {
  return [id, `vm-${id}`, "alice", "users", state, "running", "kvm-1", ["10.0.0.1"], 2, 1024, flags];
}

function delta(over: Partial<InventoryDelta>): InventoryDelta {
  return {
    profileId: "lab",
    revision: 1,
    reset: false,
    rows: [],
    removed: [],
    fetchedAt: 1000,
    stale: false,
    staleReason: null,
    done: true,
    loaded: 0,
    pages: 0,
    ...over,
  };
}

describe("ProfileRows", () => {
  it("decodes compact rows, then changes only what a delta names", () => {
    const rows = new ProfileRows("lab");
    expect(rows.apply(delta({ reset: true, rows: [row(1), row(2), row(3, "POWEROFF", 2)] }))).toBe(true);
    expect(rows.get(3)).toMatchObject({ id: 3, state: "POWEROFF", console: false, spice: true, profileId: "lab" });
    expect(rows.get(1)).toMatchObject({ name: "vm-1", ips: ["10.0.0.1"], vcpu: 2, memoryMib: 1024, console: true });
    const before = rows.list();
    const untouched = rows.get(1);
    expect(rows.apply(delta({ revision: 2, rows: [row(2, "POWEROFF")], removed: [3] }))).toBe(true);
    expect(rows.revision).toBe(2);
    expect(rows.get(1)).toBe(untouched);
    expect(rows.get(2)?.state).toBe("POWEROFF");
    expect(rows.has(3)).toBe(false);
    expect(rows.list()).not.toBe(before);
    const after = rows.list();
    expect(rows.apply(delta({ revision: 3 }))).toBe(false);
    expect(rows.list()).toBe(after);
  });

  it("a reset replaces everything; a stale delta keeps the rows and says why", () => {
    const rows = new ProfileRows("lab");
    rows.apply(delta({ reset: true, rows: [row(1), row(2)] }));
    rows.apply(delta({ revision: 5, stale: true, staleReason: "connection refused", fetchedAt: 0 }));
    expect(rows.size).toBe(2);
    expect(rows.stale).toBe(true);
    expect(rows.fetchedAt).toBe(1000);
    rows.apply(delta({ revision: 6, reset: true, rows: [row(9)] }));
    expect(rows.list().map((r) => r.id)).toEqual([9]);
    expect(rows.stale).toBe(false);
  });

  it("keeps a just-created VM until an answer without it", () => {
    const rows = new ProfileRows("lab");
    rows.apply(delta({ reset: true, rows: [row(1)] }));
    const vm = { id: 5, name: "new", owner: "a", group: "g", state: "PENDING", stateClass: "pending" as const, host: null, ips: [], vcpu: 1, memoryMib: 1, console: false, spice: false };
    rows.put(5, vm, { placeholder: true });
    rows.put(6, { ...vm, id: 6 }, { placeholder: true });
    expect(rows.has(5) && rows.has(6)).toBe(true);
    // A page does not settle them; the answer lists 5 (new to the deck) but not 6.
    rows.apply(delta({ revision: 2, done: false, rows: [] }));
    expect(rows.has(6)).toBe(true);
    rows.apply(delta({ revision: 3, rows: [row(5, "RUNNING")] }));
    expect(rows.get(5)?.state).toBe("RUNNING");
    expect(rows.has(6)).toBe(false);
  });

  it("keys rows uniquely across profiles", () => {
    expect(rowKey("a", 7)).not.toBe(rowKey("b", 7));
    expect(rowKey("a", 7)).toBe(rowKey("a", 7));
  });
});
