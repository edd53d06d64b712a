import { describe, expect, it } from "vitest";
import type { VmSummary } from "../lib/ipc";
import { filterVms } from "./filter";

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
