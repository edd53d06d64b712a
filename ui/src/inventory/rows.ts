// The rows the window holds of each profile, kept up to date by the deltas of `inventory_sync`:
// a refresh that changes 50 of 100,000 VMs touches 50 rows, and the row objects of the others stay
// the same (so the table, its selection and its scroll position do not move).
import type { CompactVmRow, InventoryDelta, VmSummary } from "../lib/ipc";

/** A VM row of one profile, as the table shows it. */
export interface VmRow extends VmSummary {
  profileId: string;
  /** Unique across every profile held (the "All endpoints" view lists several). */
  key: number;
}

// Each profile gets a number, so a row's key is unique across profiles without string keys.
const profileNumbers = new Map<string, number>();
const ID_SPAN = 2 ** 32;

/** The key of VM `id` of `profileId`. */
export function rowKey(profileId: string, id: number): number {
  let n = profileNumbers.get(profileId);
  if (n === undefined) {
    n = profileNumbers.size;
    profileNumbers.set(profileId, n);
  }
  return n * ID_SPAN + (id >>> 0);
}

/** A row from its compact form. */
export function decodeRow(profileId: string, r: CompactVmRow): VmRow {
  return {
    id: r[0],
    name: r[1],
    owner: r[2],
    group: r[3],
    state: r[4],
    stateClass: r[5],
    host: r[6],
    ips: r[7],
    vcpu: r[8],
    memoryMib: r[9],
    console: (r[10] & 1) !== 0,
    spice: (r[10] & 2) !== 0,
    profileId,
    key: rowKey(profileId, r[0]),
  };
}

/** A row from an event's or a placeholder's object form. */
export function toRow(profileId: string, vm: VmSummary): VmRow {
  return { ...vm, profileId, key: rowKey(profileId, vm.id) };
}

/** One profile's rows and how fresh they are. */
export class ProfileRows {
  readonly profileId: string;
  /** The revision of the last delta applied; null while nothing is held. */
  revision: number | null = null;
  stale = false;
  staleReason: string | null = null;
  fetchedAt = 0;
  /** VMs received so far by a load in progress (the progress shown). */
  loaded = 0;
  /** False while a first load's pages are still arriving. */
  done = true;
  readonly #byId = new Map<number, VmRow>();
  /** Rows shown before the endpoint listed them (just created): the next full answer confirms or drops them. */
  readonly #placeholders = new Set<number>();
  #list: VmRow[] | null = null;

  constructor(profileId: string) {
    this.profileId = profileId;
  }

  /** Applies a delta; returns whether any row changed. */
  apply(delta: InventoryDelta): boolean {
    let changed = false;
    if (delta.reset && (this.#byId.size > 0 || this.revision === null)) {
      this.#byId.clear();
      changed = true;
    }
    for (const compact of delta.rows) {
      const row = decodeRow(this.profileId, compact);
      this.#byId.set(row.id, row);
      changed = true;
    }
    for (const id of delta.removed) changed = this.#byId.delete(id) || changed;
    if (delta.done && !delta.stale) changed = this.#settlePlaceholders(delta) || changed;
    this.revision = delta.revision;
    this.stale = delta.stale;
    this.staleReason = delta.staleReason;
    if (delta.fetchedAt > 0) this.fetchedAt = delta.fetchedAt;
    this.loaded = delta.loaded;
    this.done = delta.done;
    if (changed) this.#list = null;
    return changed;
  }

  /** Adds or replaces rows outside a delta (an event, a just-created VM); `null` drops VM `id`. */
  put(id: number, vm: VmSummary | null, { placeholder = false } = {}): void {
    if (vm === null) this.#byId.delete(id);
    else this.#byId.set(id, toRow(this.profileId, vm));
    if (placeholder) this.#placeholders.add(id);
    else this.#placeholders.delete(id);
    this.#list = null;
  }

  // The deck does not know of placeholders, so the first answer after one sends the VM as new
  // if the endpoint lists it; one it does not send was never created (or is already gone).
  #settlePlaceholders(delta: InventoryDelta): boolean {
    if (this.#placeholders.size === 0) return false;
    const sent = new Set(delta.rows.map((r) => r[0]));
    let changed = false;
    for (const id of this.#placeholders) {
      if (!sent.has(id) && !delta.reset) changed = this.#byId.delete(id) || changed;
    }
    this.#placeholders.clear();
    return changed;
  }

  /** Whether VM `id` is held. */
  has(id: number): boolean {
    return this.#byId.has(id);
  }

  /** VM `id`'s row, if held. */
  get(id: number): VmRow | undefined {
    return this.#byId.get(id);
  }

  /** Every row (the same array until something changes). */
  list(): VmRow[] {
    this.#list ??= [...this.#byId.values()];
    return this.#list;
  }

  /** How many rows are held. */
  get size(): number {
    return this.#byId.size;
  }
}
