// Which VM rows are selected (for the bulk bar) and which one has the keyboard focus. Ids, not
// indexes: the table re-sorts and filters under the selection, and a VM that disappears drops out.
import { SvelteSet } from "svelte/reactivity";

/** The VM table's selection and focused row. */
export class VmSelection {
  readonly selected = new SvelteSet<number>();
  /** The row that takes Tab focus and the arrow keys' starting point. */
  focused = $state<number | null>(null);
  /** Where a Shift-click range starts: the last row toggled on its own. */
  #anchor: number | null = null;

  /** True when `id` is selected. */
  has(id: number): boolean {
    return this.selected.has(id);
  }

  /** Adds or removes one row and makes it the range anchor. */
  toggle(id: number): void {
    this.set(id, !this.selected.has(id));
  }

  /** Selects or unselects one row and makes it the range anchor. */
  set(id: number, on: boolean): void {
    if (on) this.selected.add(id);
    else this.selected.delete(id);
    this.#anchor = id;
    this.focused = id;
  }

  /** Selects every row between the anchor and `id` in `order` (the rows as shown). */
  extendTo(order: readonly number[], id: number): void {
    const from = this.#anchor === null ? -1 : order.indexOf(this.#anchor);
    const to = order.indexOf(id);
    if (to === -1) return;
    if (from === -1) {
      this.toggle(id);
      return;
    }
    const [lo, hi] = from <= to ? [from, to] : [to, from];
    for (const rowId of order.slice(lo, hi + 1)) this.selected.add(rowId);
    this.focused = id;
  }

  /** Selects (or clears) all of `ids`. */
  setAll(ids: readonly number[], on: boolean): void {
    for (const id of ids) {
      if (on) this.selected.add(id);
      else this.selected.delete(id);
    }
  }

  /** Forgets the selection and the focus (another profile). */
  clear(): void {
    this.selected.clear();
    this.focused = null;
    this.#anchor = null;
  }

  /** Drops the ids that are no longer in `ids` (VMs gone). */
  retain(ids: ReadonlySet<number>): void {
    for (const id of [...this.selected]) if (!ids.has(id)) this.selected.delete(id);
    if (this.focused !== null && !ids.has(this.focused)) this.focused = null;
  }

  /**
   * Moves the focus within `order`: by `step` rows, or to the first/last; returns the new focused
   * id (the first row when nothing was focused), or null for an empty table.
   */
  move(order: readonly number[], step: number | "first" | "last"): number | null {
    if (order.length === 0) return null;
    const at = this.focused === null ? -1 : order.indexOf(this.focused);
    let next: number;
    if (step === "first") next = 0;
    else if (step === "last") next = order.length - 1;
    else if (at === -1) next = 0;
    else next = Math.min(order.length - 1, Math.max(0, at + step));
    this.focused = order[next] ?? null;
    return this.focused;
  }
}
