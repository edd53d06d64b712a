import { describe, expect, it } from "vitest";
import { facetCounts, withFacets, type FacetChoice } from "./facets";
import { toRow, type VmRow } from "./rows";
import { naturalKey, sortVms, type SortKey } from "./sort";
import type { VmSummary } from "../lib/ipc";

function vm(id: number, over: Partial<VmSummary> = {}, profileId = "lab"): VmRow {
  return toRow(profileId, {
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
  });
}

describe("sortVms", () => {
  const vms = [
    vm(3, { name: "web-10", memoryMib: null, ips: ["10.0.0.20"], host: null, group: "ops" }),
    vm(1, { name: "web-9", memoryMib: 2048, ips: ["10.0.0.3"] }),
    vm(2, { name: "Db", memoryMib: 512, ips: ["fd00::1"], host: "node0" }),
  ];
  const ids = (key: SortKey, dir: "asc" | "desc" = "asc") => sortVms(vms, key, dir).map((v) => v.id);

  it("sorts names naturally and case-insensitively", () => {
    expect(ids("name")).toEqual([2, 1, 3]);
    expect(ids("name", "desc")).toEqual([3, 1, 2]);
    expect(naturalKey("vm-007") < naturalKey("vm-10")).toBe(true);
    expect(naturalKey("VM-7")).toBe(naturalKey("vm-007"));
  });
  it("sorts numbers with missing values last both ways", () => {
    expect(ids("memory")).toEqual([2, 1, 3]);
    expect(ids("memory", "desc")).toEqual([1, 2, 3]);
  });
  it("sorts IPv4 addresses by number and breaks ties by id", () => {
    expect(ids("ips")).toEqual([1, 3, 2]);
    expect(ids("owner")).toEqual([1, 2, 3]);
    expect(ids("group")).toEqual([3, 1, 2]);
    expect(ids("host")).toEqual([2, 1, 3]);
    expect(ids("host", "desc")).toEqual([1, 2, 3]);
  });
  it("sorts by endpoint name, then by endpoint and id", () => {
    const mixed = [vm(5, {}, "zeta"), vm(1, {}, "alpha"), vm(2, {}, "zeta")];
    const names: Record<string, string> = { zeta: "A cloud", alpha: "B cloud" };
    const order = sortVms(mixed, "endpoint", "asc", (id) => names[id] ?? id);
    expect(order.map((v) => `${v.profileId}/${v.id}`)).toEqual(["zeta/2", "zeta/5", "alpha/1"]);
  });
  it("does not change its input", () => {
    sortVms(vms, "name", "asc");
    expect(vms.map((v) => v.id)).toEqual([3, 1, 2]);
  });
});

describe("facets", () => {
  const vms = [
    vm(1),
    vm(2, { state: "POWEROFF", owner: "bob" }),
    vm(3, { host: null }),
    vm(4, { state: "FAILED" }),
    vm(5, { state: "POWEROFF" }, "other"),
    vm(6, { owner: "bob" }),
  ];
  const none: FacetChoice = { states: new Set(), owners: new Set(), hosts: new Set(), endpoints: new Set() };
  it("counts each value, most first", () => {
    const counts = facetCounts(vms);
    expect(counts.states).toEqual([
      { value: "RUNNING", count: 3 },
      { value: "POWEROFF", count: 2 },
      { value: "FAILED", count: 1 },
    ]);
    expect(counts.owners).toEqual([
      { value: "alice", count: 4 },
      { value: "bob", count: 2 },
    ]);
    expect(counts.hosts).toEqual([
      { value: "node1", count: 5 },
      { value: "", count: 1 },
    ]);
    expect(counts.endpoints).toEqual([
      { value: "lab", count: 5 },
      { value: "other", count: 1 },
    ]);
  });
  it("keeps any chosen value of a facet and every facet chosen", () => {
    const ids = (choice: Partial<FacetChoice>) => withFacets(vms, { ...none, ...choice }).map((v) => v.id);
    expect(ids({ states: new Set(["POWEROFF", "FAILED"]) })).toEqual([2, 4, 5]);
    expect(ids({ states: new Set(["POWEROFF"]), owners: new Set(["bob"]) })).toEqual([2]);
    expect(ids({ endpoints: new Set(["other"]) })).toEqual([5]);
    expect(ids({ hosts: new Set([""]) })).toEqual([3]);
    expect(withFacets(vms, none)).toBe(vms);
  });
});
