// The VM table's text filter: every whitespace-separated term must appear in the VM's id, name,
// owner or one of its IPs (case-insensitive), so "alice 10.0" narrows to alice's VMs on 10.0.x.x.
import type { VmSummary } from "../lib/ipc";

function haystack(vm: VmSummary): string {
  return [String(vm.id), vm.name, vm.owner, ...vm.ips].join("\n").toLowerCase();
}

/** The VMs matching `query`; all of them for an empty query. Keeps the input order. */
export function filterVms(vms: readonly VmSummary[], query: string): VmSummary[] {
  const terms = query.toLowerCase().split(/\s+/).filter(Boolean);
  if (terms.length === 0) return [...vms];
  return vms.filter((vm) => {
    const text = haystack(vm);
    return terms.every((term) => text.includes(term));
  });
}
