// The VM table's facets: each state, owner, host and endpoint with its number of VMs, and the rows
// narrowed to the values chosen (within a facet any value; across facets all of them).
import type { VmRow } from "./rows";

/** A facet of the table. */
export type FacetName = "states" | "owners" | "hosts" | "endpoints";

/** Every facet, in the order they are shown. */
export const FACETS: readonly FacetName[] = ["states", "owners", "hosts", "endpoints"];

/** A value of a facet and how many VMs have it. */
export interface FacetCount {
  value: string;
  count: number;
}

/** The values chosen per facet (an empty set: no narrowing by that facet). */
export type FacetChoice = Record<FacetName, ReadonlySet<string>>;

/** A VM's value in a facet ("" for a VM on no host yet). */
export function facetValue(facet: FacetName, vm: VmRow): string {
  switch (facet) {
    case "states":
      return vm.state;
    case "owners":
      return vm.owner;
    case "hosts":
      return vm.host ?? "";
    case "endpoints":
      return vm.profileId;
  }
}

/** Each facet's values with their counts, most first (ties by value), in one pass over the rows. */
export function facetCounts(vms: readonly VmRow[]): Record<FacetName, FacetCount[]> {
  const maps = {
    states: new Map<string, number>(),
    owners: new Map<string, number>(),
    hosts: new Map<string, number>(),
    endpoints: new Map<string, number>(),
  };
  for (const vm of vms) {
    for (const facet of FACETS) {
      const map = maps[facet];
      const value = facetValue(facet, vm);
      map.set(value, (map.get(value) ?? 0) + 1);
    }
  }
  const sorted = (map: Map<string, number>) =>
    [...map]
      .map(([value, count]) => ({ value, count }))
      .sort((a, b) => b.count - a.count || (a.value < b.value ? -1 : a.value > b.value ? 1 : 0));
  return {
    states: sorted(maps.states),
    owners: sorted(maps.owners),
    hosts: sorted(maps.hosts),
    endpoints: sorted(maps.endpoints),
  };
}

/** Whether any facet narrows the rows. */
export function narrows(choice: FacetChoice): boolean {
  return FACETS.some((facet) => choice[facet].size > 0);
}

/** The rows whose values are chosen in every facet that has a choice. Keeps the order. */
export function withFacets(vms: readonly VmRow[], choice: FacetChoice): readonly VmRow[] {
  const active = FACETS.filter((facet) => choice[facet].size > 0);
  if (active.length === 0) return vms;
  return vms.filter((vm) => active.every((facet) => choice[facet].has(facetValue(facet, vm))));
}
