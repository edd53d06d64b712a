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

/**
 * The filter over one list of rows, for a query typed a key at a time: each row's text is looked
 * up once per list (not per key), and a query that extends the last one (the usual keystroke)
 * only narrows the last result.
 */
export class RowFilter<T extends VmSummary> {
  #list: readonly T[] = [];
  #texts: string[] = [];
  #lastQuery = "";
  #lastHits: number[] | null = null;

  /** The rows of `list` matching `query`, in `list`'s order. */
  apply(list: readonly T[], query: string): readonly T[] {
    if (list !== this.#list) {
      this.#list = list;
      this.#texts = list.map(haystack);
      this.#lastQuery = "";
      this.#lastHits = null;
    }
    const terms = query.toLowerCase().split(/\s+/).filter(Boolean);
    if (terms.length === 0) {
      this.#lastQuery = "";
      this.#lastHits = null;
      return list;
    }
    // Every row that matches the longer query matched the shorter one it extends.
    const from = this.#lastHits !== null && query.startsWith(this.#lastQuery) ? this.#lastHits : null;
    const texts = this.#texts;
    const hits: number[] = [];
    const test = (i: number) => {
      const text = texts[i] as string;
      for (const term of terms) if (!text.includes(term)) return;
      hits.push(i);
    };
    if (from) for (const i of from) test(i);
    else for (let i = 0; i < texts.length; i++) test(i);
    this.#lastQuery = query;
    this.#lastHits = hits;
    return hits.map((i) => list[i] as T);
  }
}
