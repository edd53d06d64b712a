// The VM table's order and state facets. Sorting runs when the list or the sort changes, not on
// every filter keystroke: the filter keeps the sorted order.
import type { VmSummary } from "../lib/ipc";

/** A column the table sorts by. */
export type SortKey = "id" | "name" | "owner" | "state" | "host" | "ips" | "vcpu" | "memory";

/** The columns, in the table's order. */
export const SORT_KEYS: readonly SortKey[] = ["id", "name", "owner", "state", "host", "ips", "vcpu", "memory"];

/** Which way. */
export type SortDir = "asc" | "desc";

const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: "base" });

/** IPv4 addresses compare by their numbers; anything else as text after them. */
function ipKey(vm: VmSummary): string {
  const ip = vm.ips[0];
  if (ip === undefined) return "";
  const v4 = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(ip);
  return v4 ? v4.slice(1).map((p) => p.padStart(3, "0")).join(".") : `z${ip}`;
}

/** Whether `vm` has no value in column `key` (such rows sort last whichever the direction). */
function missing(key: SortKey, vm: VmSummary): boolean {
  switch (key) {
    case "vcpu":
      return vm.vcpu === null;
    case "memory":
      return vm.memoryMib === null;
    case "host":
      return vm.host === null;
    case "ips":
      return vm.ips.length === 0;
    default:
      return false;
  }
}

/** Compares two VMs that both have a value in column `key`. */
function compareBy(key: SortKey): (a: VmSummary, b: VmSummary) => number {
  switch (key) {
    case "id":
      return (a, b) => a.id - b.id;
    case "vcpu":
      return (a, b) => (a.vcpu ?? 0) - (b.vcpu ?? 0);
    case "memory":
      return (a, b) => (a.memoryMib ?? 0) - (b.memoryMib ?? 0);
    case "ips":
      return (a, b) => collator.compare(ipKey(a), ipKey(b));
    case "host":
      return (a, b) => collator.compare(a.host ?? "", b.host ?? "");
    default:
      return (a, b) => collator.compare(a[key], b[key]);
  }
}

/** `vms` sorted by `key` (ties by id, so the order is stable across refreshes). */
export function sortVms(vms: readonly VmSummary[], key: SortKey, dir: SortDir): VmSummary[] {
  const by = compareBy(key);
  const sign = dir === "asc" ? 1 : -1;
  return [...vms].sort((a, b) => {
    const ma = missing(key, a);
    const mb = missing(key, b);
    if (ma !== mb) return ma ? 1 : -1;
    return (ma ? 0 : sign * by(a, b)) || a.id - b.id;
  });
}

/** Each state label with its number of VMs, most first (ties by label). */
export function stateCounts(vms: readonly VmSummary[]): { state: string; count: number }[] {
  const counts = new Map<string, number>();
  for (const vm of vms) counts.set(vm.state, (counts.get(vm.state) ?? 0) + 1);
  return [...counts]
    .map(([state, count]) => ({ state, count }))
    .sort((a, b) => b.count - a.count || a.state.localeCompare(b.state));
}

/** The VMs whose state is one of `states` (all when none is chosen). Keeps the order. */
export function withStates(vms: readonly VmSummary[], states: ReadonlySet<string>): readonly VmSummary[] {
  return states.size === 0 ? vms : vms.filter((vm) => states.has(vm.state));
}
