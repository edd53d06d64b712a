import { describe, expect, it } from "vitest";
import type { VmSummary } from "../lib/ipc";
import { sortVms, stateCounts, withStates } from "./sort";

function vm(id: number, over: Partial<VmSummary> = {}): VmSummary {
  return {
    id,
    name: `vm-${id}`,
    owner: "alice",
    group: "users",
    state: "RUNNING",
    stateClass: "running",
    host: "node1",
    ips: [],
    vcpu: 1,
    memoryMib: 512,
    console: true,
    spice: false,
    ...over,
  };
}

describe("sortVms", () => {
  const vms = [
    vm(3, { name: "web-10", memoryMib: null, ips: ["10.0.0.20"], host: null }),
    vm(1, { name: "web-9", memoryMib: 2048, ips: ["10.0.0.3"] }),
    vm(2, { name: "Db", memoryMib: 512, ips: ["fd00::1"], host: "node0" }),
  ];
  const ids = (key: Parameters<typeof sortVms>[1], dir: "asc" | "desc" = "asc") =>
    sortVms(vms, key, dir).map((v) => v.id);

  it("sorts names naturally and case-insensitively", () => {
    expect(ids("name")).toEqual([2, 1, 3]);
    expect(ids("name", "desc")).toEqual([3, 1, 2]);
  });
  it("sorts numbers with missing values last both ways", () => {
    expect(ids("memory")).toEqual([2, 1, 3]);
    expect(ids("memory", "desc")).toEqual([1, 2, 3]);
  });
  it("sorts IPv4 addresses by number and breaks ties by id", () => {
    expect(ids("ips")).toEqual([1, 3, 2]);
    expect(ids("owner")).toEqual([1, 2, 3]);
    expect(ids("host")).toEqual([2, 1, 3]);
    expect(ids("host", "desc")).toEqual([1, 2, 3]);
  });
  it("does not change its input", () => {
    sortVms(vms, "name", "asc");
    expect(vms.map((v) => v.id)).toEqual([3, 1, 2]);
  });
});

describe("state facets", () => {
  const vms = [vm(1), vm(2, { state: "POWEROFF" }), vm(3), vm(4, { state: "FAILED" }), vm(5, { state: "POWEROFF" }), vm(6)];
  it("counts each state, most first", () => {
    expect(stateCounts(vms)).toEqual([
      { state: "RUNNING", count: 3 },
      { state: "POWEROFF", count: 2 },
      { state: "FAILED", count: 1 },
    ]);
  });
  it("keeps only the chosen states, or all", () => {
    expect(withStates(vms, new Set(["POWEROFF", "FAILED"])).map((v) => v.id)).toEqual([2, 4, 5]);
    expect(withStates(vms, new Set()).length).toBe(6);
  });
});
