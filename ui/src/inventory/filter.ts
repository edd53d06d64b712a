// The VM table's text filter: every whitespace-separated term must appear in the VM's id, name,
// owner or one of its IPs (case-insensitive), so "alice 10.0" narrows to alice's VMs on 10.0.x.x.
// Each row's text is built once and kept while the row object lives: a keystroke at 100,000 rows
// is then one `includes` per row and term.
import type { VmSummary } from "../lib/ipc";

const haystacks = new WeakMap<VmSummary, string>();

function haystack(vm: VmSummary): string {
  let text = haystacks.get(vm);
  if (text === undefined) {
    text = [String(vm.id), vm.name, vm.owner, ...vm.ips].join("\n").toLowerCase();
    haystacks.set(vm, text);
  }
  return text;
}

/** The VMs matching `query`; all of them (the same array) for an empty query. Keeps the input order. */
export function filterVms<T extends VmSummary>(vms: readonly T[], query: string): readonly T[] {
  const terms = query.toLowerCase().split(/\s+/).filter(Boolean);
  if (terms.length === 0) return vms;
  return vms.filter((vm) => {
    const text = haystack(vm);
    return terms.every((term) => text.includes(term));
  });
}

/** Builds every row's text ahead of the first keystroke (after a load, when the window is idle). */
export function warmFilter(vms: readonly VmSummary[]): void {
  for (const vm of vms) haystack(vm);
}
