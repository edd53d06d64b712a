import { describe, expect, it } from "vitest";
import type { VmSummary } from "../lib/ipc";
import { filterVms, RowFilter } from "./filter";

function vm(id: number, name: string, owner: string, ips: string[]): VmSummary {
  return {
    id,
    name,
    owner,
    group: "users",
    state: "RUNNING",
    stateClass: "running",
    host: "host1",
    ips,
    vcpu: 1,
    memoryMib: 512,
    console: true,
    spice: false,
  };
}

const vms = [
  vm(3, "web-01", "alice", ["10.0.0.3"]),
  vm(14, "db-primary", "bob", ["10.0.1.14", "fd00::14"]),
  vm(42, "Web-02", "alice", []),
];

const ids = (list: readonly VmSummary[]) => list.map((v) => v.id);

describe("filterVms", () => {
  it("returns everything for an empty or blank query", () => {
    expect(ids(filterVms(vms, ""))).toEqual([3, 14, 42]);
    expect(ids(filterVms(vms, "   "))).toEqual([3, 14, 42]);
  });

  it("matches name case-insensitively, owner, id and any IP", () => {
    expect(ids(filterVms(vms, "WEB"))).toEqual([3, 42]);
    expect(ids(filterVms(vms, "bob"))).toEqual([14]);
    expect(ids(filterVms(vms, "42"))).toEqual([42]);
    expect(ids(filterVms(vms, "fd00::14"))).toEqual([14]);
    expect(ids(filterVms(vms, "10.0.0.3"))).toEqual([3]);
  });

  it("requires every term", () => {
    expect(ids(filterVms(vms, "alice 10.0"))).toEqual([3]);
    expect(ids(filterVms(vms, "alice db"))).toEqual([]);
  });

  it("does not match across fields", () => {
    expect(ids(filterVms(vms, "01alice"))).toEqual([]);
  });
});

describe("RowFilter", () => {
  it("narrows key by key and widens again, as filterVms does", () => {
    const filter = new RowFilter<VmSummary>();
    for (const query of ["a", "al", "alice", "alice 10", "alice 10.0.0", "alice 10", "", "web", "web-0", "WEB-02", "w"]) {
      expect(ids(filter.apply(vms, query)), query).toEqual(ids(filterVms(vms, query)));
    }
  });

  it("starts over for a new list", () => {
    const filter = new RowFilter<VmSummary>();
    expect(ids(filter.apply(vms, "web"))).toEqual([3, 42]);
    const other = [...vms, vm(50, "web-03", "carol", [])];
    expect(ids(filter.apply(other, "web-"))).toEqual([3, 42, 50]);
    expect(filter.apply(other, "")).toBe(other);
  });
});
