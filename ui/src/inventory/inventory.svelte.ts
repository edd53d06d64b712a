// The selected profile's VM list: the cached snapshot at once, then the endpoint's answer, then a
// poll every 15 s while the window is visible, backing off while the endpoint fails.
// The inventory of the selected profile, or of every signed-in profile ("All endpoints"): the
// cached snapshot at once, then the endpoint's rows (page by page on a first load), then a delta
// every 15 s while the window is visible, backing off while an endpoint fails. Only rows that
// changed cross the IPC after the first load, and only they are rebuilt here.
import { nextDelay } from "../lib/backoff";
import type { ErrorBanner } from "../lib/errors.svelte";
import {
  consoleOpen,
  consoleSpiceOpen,
  inventoryCached,
  inventorySync,
  tableView,
  tableViewSave,
  IpcError,
  type Column,
  type InventoryDelta,
  type TableView,
  type VmChanged,
  type VmSummary,
} from "../lib/ipc";
import { FACETS, facetCounts, narrows, withFacets, type FacetChoice, type FacetName } from "./facets";
import { RowFilter, warmFilter } from "./filter";
import { ALL_COLUMNS, DEFAULT_COLUMNS } from "./columns";
import { ProfileRows, type VmRow } from "./rows";
import { SshPrompts } from "./sshPrompts.svelte";
import { sortVms, type SortDir, type SortKey } from "./sort";

/** While a first load's pages arrive, the table is rebuilt at most this often. */
const PUBLISH_EVERY_MS = 400;

/** The view of a table nobody changed yet. */
export function defaultView(all: boolean): TableView {
  return {
    sort: "id",
    dir: "asc",
    states: [],
    owners: [],
    hosts: [],
    endpoints: [],
    columns: all ? ["endpoint", ...DEFAULT_COLUMNS] : [...DEFAULT_COLUMNS],
  };
}

function choiceOf(view: TableView): FacetChoice {
  const set = (values: string[]): ReadonlySet<string> => new Set(values);
  return { states: set(view.states), owners: set(view.owners), hosts: set(view.hosts), endpoints: set(view.endpoints) };
}

/** How fresh one endpoint's rows are, as the window shows it. */
export interface EndpointStatus {
  profileId: string;
  stale: boolean;
  staleReason: string | null;
  fetchedAt: number;
  /** VMs received so far while a first load's pages arrive; null when no load runs. */
  loading: number | null;
  /** Whether anything is held yet (cached or live). */
  held: boolean;
}

/** A VM of a profile (the details panel, the console buttons). */
type ProfileVm = VmSummary & { profileId?: string };

/** The inventory shown: one profile's, or every signed-in profile's; its sort, facets and filter. */
export class InventoryState {
  /** The profile shown and managed; null for none and in the "All endpoints" view. */
  profileId = $state<string | null>(null);
  /** True in the "All endpoints" view. */
  all = $state(false);
  /** The profiles whose rows are shown. */
  shownProfiles = $state.raw<string[]>([]);
  /** Every row of the profiles shown (replaced whole when a delta changed something). */
  rows = $state.raw<VmRow[]>([]);
  /** Per profile shown: stale or not, loading progress. */
  statuses = $state.raw<EndpointStatus[]>([]);
  refreshing = $state(false);
  /** true until the first answer (cached or live) for the current view. */
  loading = $state(false);
  query = $state("");
  /** The SSH host key or password a console waits for. */
  readonly ssh: SshPrompts;
  /** How the table is sorted, narrowed and laid out (remembered per endpoint). */
  view = $state.raw<TableView>(defaultView(false));
  /** Display names of endpoints, for the endpoint column and its sort. */
  endpointNames = $state.raw<Record<string, string>>({});

  readonly sortKey = $derived<SortKey>(this.view.sort);
  readonly sortDir = $derived<SortDir>(this.view.dir);
  readonly columns = $derived<readonly Column[]>(this.view.columns);
  /** The facet values chosen, as sets (rebuilt whole with the view, never mutated). */
  readonly choice = $derived<FacetChoice>(choiceOf(this.view));
  /** Sorted once per list or sort change; the facets and the filter keep this order. */
  readonly sorted = $derived<VmRow[]>(
    sortVms(this.rows, this.view.sort, this.view.dir, (id) => this.endpointNames[id] ?? id),
  );
  /** Each facet's values with their counts, over every row shown. */
  readonly facets = $derived(facetCounts(this.rows));
  readonly #filter = new RowFilter<VmRow>();
  /** The faceted rows, one list per sort or facet change (the filter keeps its texts per list). */
  readonly #faceted = $derived<readonly VmRow[]>(withFacets(this.sorted, this.choice));
  readonly shown = $derived<readonly VmRow[]>(this.#filter.apply(this.#faceted, this.query));
  /** True while a facet or the text filter hides rows. */
  readonly narrowed = $derived(narrows(this.choice) || this.query.trim() !== "");
  /** True when a shown endpoint's rows are stale. */
  readonly stale = $derived(this.statuses.some((s) => s.stale));
  /** VMs received so far by first loads in progress; null when none runs. */
  readonly progress = $derived<number | null>(
    this.statuses.some((s) => s.loading !== null)
      ? this.statuses.reduce((sum, s) => sum + (s.loading ?? 0), 0)
      : null,
  );

  readonly #errors: ErrorBanner;
  readonly #signedOut: (profileId: string) => void;
  // eslint-disable-next-line svelte/prefer-svelte-reactivity -- held rows per profile, rendered through `rows`
  readonly #held = new Map<string, ProfileRows>();
  /** Consecutive failed polls (errors or stale answers), for the backoff. */
  #failures = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** Bumped on every view switch so late answers for the previous view are dropped. */
  #generation = 0;
  #dueAt = 0;
  /** Called after every live answer (the details panel re-reads its VM then). */
  // eslint-disable-next-line svelte/prefer-svelte-reactivity -- listeners, never rendered
  readonly #refreshed = new Set<() => void>();

  constructor(errors: ErrorBanner, signedOut: (profileId: string) => void) {
    this.#errors = errors;
    this.ssh = new SshPrompts(errors);
    this.#signedOut = signedOut;
  }

  /** Switches to `profileId` (null = none): cached snapshot first, then a live refresh. */
  async show(profileId: string | null): Promise<void> {
    await this.#switch(profileId === null ? [] : [profileId], false);
  }

  /** Switches to the "All endpoints" view of `profileIds` (the signed-in ones). */
  async showAll(profileIds: readonly string[], names: Record<string, string>): Promise<void> {
    this.endpointNames = { ...names };
    await this.#switch(profileIds, true);
  }

  async #switch(profileIds: readonly string[], all: boolean): Promise<void> {
    this.#stopTimer();
    const generation = ++this.#generation;
    this.all = all;
    this.profileId = all ? null : (profileIds[0] ?? null);
    this.shownProfiles = [...profileIds];
    // A refresh still running belongs to the previous view; its answer will be dropped.
    this.refreshing = false;
    this.query = "";
    this.view = defaultView(all);
    this.#failures = 0;
    this.#publish();
    if (profileIds.length === 0) {
      this.loading = false;
      return;
    }
    this.loading = true;
    const viewKey = all ? null : (profileIds[0] ?? null);
    void tableView({ id: viewKey }).then(
      (view) => {
        if (generation === this.#generation) this.view = view;
      },
      // A view that cannot be read is the default one: not worth a banner.
      () => undefined,
    );
    await Promise.all(
      profileIds.map(async (id) => {
        const held = this.#rowsOf(id);
        if (held.revision !== null) return;
        try {
          const cached = await inventoryCached({ id });
          if (generation === this.#generation && cached && held.revision === null && held.apply(cached)) {
            this.#publish();
          }
        } catch (error) {
          // A broken cache is worth a banner but must not stop the live fetch.
          if (generation === this.#generation) this.#errors.show(error, "inventory_cached");
        }
      }),
    );
    if (generation === this.#generation) {
      if (this.rows.length > 0) this.loading = false;
      await this.refresh({ manual: true });
    }
  }

  #rowsOf(profileId: string): ProfileRows {
    let rows = this.#held.get(profileId);
    if (!rows) {
      rows = new ProfileRows(profileId);
      this.#held.set(profileId, rows);
    }
    return rows;
  }

  #lastPublish = 0;
  #warmTimer: ReturnType<typeof setTimeout> | undefined;

  #publishDue(): boolean {
    return Date.now() - this.#lastPublish >= PUBLISH_EVERY_MS;
  }

  /** The filter's per-row text, built while the window is idle rather than on the first key. */
  #warmSoon(): void {
    clearTimeout(this.#warmTimer);
    this.#warmTimer = setTimeout(() => warmFilter(this.rows), 300);
  }

  /** Rebuilds what the table reads from the held rows of the profiles shown. */
  #publish(): void {
    this.#lastPublish = Date.now();
    const lists = this.shownProfiles.map((id) => this.#rowsOf(id).list());
    this.rows = lists.length === 1 ? (lists[0] ?? []) : lists.flat();
    this.#publishStatus();
  }

  #publishStatus(): void {
    this.statuses = this.shownProfiles.map((id) => {
      const held = this.#rowsOf(id);
      return {
        profileId: id,
        stale: held.stale,
        staleReason: held.staleReason,
        fetchedAt: held.fetchedAt,
        loading: held.done ? null : held.loaded,
        held: held.revision !== null,
      };
    });
  }

  /** The status of `profileId`'s rows, if shown. */
  status(profileId: string): EndpointStatus | null {
    return this.statuses.find((s) => s.profileId === profileId) ?? null;
  }

  /** Fetches what changed from every endpoint shown, in parallel. `manual` failures always reach the banner. */
  async refresh({ manual = false }: { manual?: boolean } = {}): Promise<void> {
    const profileIds = this.shownProfiles;
    if (profileIds.length === 0 || this.refreshing) return;
    const generation = this.#generation;
    this.#stopTimer();
    this.refreshing = true;
    let failed = false;
    try {
      const outcomes = await Promise.all(profileIds.map((id) => this.#sync(id, generation, manual)));
      failed = outcomes.some((ok) => !ok);
      if (generation !== this.#generation) return;
      for (const listener of this.#refreshed) listener();
    } finally {
      if (generation === this.#generation) {
        this.#failures = failed ? this.#failures + 1 : 0;
        this.refreshing = false;
        this.loading = false;
        this.#schedule();
      }
    }
  }

  /** One profile's sync; false when it failed or answered stale. */
  async #sync(profileId: string, generation: number, manual: boolean): Promise<boolean> {
    const held = this.#rowsOf(profileId);
    let pagesSeen = 0;
    let finished = false;
    let allPages: () => void = () => undefined;
    let pagesExpected = Number.POSITIVE_INFINITY;
    const pagesArrived = new Promise<void>((done) => (allPages = done));
    const onPage = (page: InventoryDelta) => {
      // A page after the reply belongs to a load the reply already replaced.
      if (finished || generation !== this.#generation) return;
      pagesSeen += 1;
      // The first page shows at once; later ones at most every PUBLISH_EVERY_MS (each publish
      // sorts and counts every row held so far).
      if (held.apply(page) && (pagesSeen === 1 || this.#publishDue())) this.#publish();
      else this.#publishStatus();
      if (this.rows.length > 0) this.loading = false;
      if (pagesSeen >= pagesExpected) allPages();
    };
    try {
      const last = await inventorySync({ id: profileId, since: held.revision, onPage });
      if (generation !== this.#generation) return true;
      // The pages travel apart from the reply: apply it after them (or give up waiting).
      pagesExpected = last.pages;
      if (pagesSeen < pagesExpected) {
        await Promise.race([pagesArrived, new Promise((done) => setTimeout(done, 10_000))]);
      }
      finished = true;
      if (generation !== this.#generation) return true;
      if (pagesSeen < pagesExpected) {
        // Pages lost: what is held is incomplete, so the next sync loads it whole again.
        held.revision = null;
        return false;
      }
      // Pages held back by the throttle show now, with the reply's changes.
      if (held.apply(last) || pagesSeen > 0) this.#publish();
      else this.#publishStatus();
      this.#warmSoon();
      return !last.stale;
    } catch (raw) {
      finished = true;
      if (generation !== this.#generation) return true;
      const error = IpcError.from("inventory_sync", raw);
      if (error.kind === "notSignedIn" || error.kind === "authentication") {
        this.#signedOut(profileId);
        if (error.kind === "authentication") this.#errors.show(error);
        return false;
      }
      // A poll that keeps failing reports once, not every period.
      if (manual || this.#failures === 0) this.#errors.show(error);
      return false;
    }
  }

  /** Opens the console window of a VM of the current profile; failures go to the banner. */
  async openConsole(vm: ProfileVm): Promise<void> {
    const profileId = vm.profileId ?? this.profileId;
    if (profileId === null || !vm.console) return;
    try {
      await consoleOpen({ id: profileId, vmId: vm.id });
    } catch (raw) {
      const error = IpcError.from("console_open", raw);
      if (!this.ssh.ask(profileId, vm, error, (v) => this.openConsole(v))) this.#errors.show(error);
    }
  }

  /** Sorts by `key`; the same key again reverses the order. */
  sortBy(key: SortKey): void {
    const dir = this.view.sort === key && this.view.dir === "asc" ? "desc" : "asc";
    this.#setView({ ...this.view, sort: key, dir });
  }

  /** Shows (or stops showing only) VMs with `value` in `facet`, besides the other values chosen. */
  toggleFacet(facet: FacetName, value: string): void {
    const values = this.view[facet];
    const next = values.includes(value) ? values.filter((v) => v !== value) : [...values, value];
    this.#setView({ ...this.view, [facet]: next });
  }

  /** Shows every value of every facet again. */
  clearFacets(): void {
    this.#setView({ ...this.view, ...Object.fromEntries(FACETS.map((f) => [f, []])) });
  }

  /** Shows or hides `column`; the last column shown stays. */
  toggleColumn(column: Column): void {
    const shown = this.view.columns.includes(column);
    if (shown && this.view.columns.length === 1) return;
    const columns = shown
      ? this.view.columns.filter((c) => c !== column)
      : ALL_COLUMNS.filter((c) => c === column || this.view.columns.includes(c));
    this.#setView({ ...this.view, columns });
  }

  #setView(view: TableView): void {
    this.view = view;
    if (this.shownProfiles.length === 0) return;
    const id = this.all ? null : this.profileId;
    // Remembered in the app's database; a failure costs only the memory of it.
    void tableViewSave({ id, view }).catch((error: unknown) => this.#errors.show(error, "table_view_save"));
  }

  /** Hands a SPICE VM's console to remote-viewer; a failure (none installed…) goes to the banner. */
  async openSpice(vm: ProfileVm): Promise<void> {
    const profileId = vm.profileId ?? this.profileId;
    if (profileId === null || !vm.spice) return;
    try {
      await consoleSpiceOpen({ id: profileId, vmId: vm.id });
    } catch (raw) {
      const error = IpcError.from("console_spice_open", raw);
      if (!this.ssh.ask(profileId, vm, error, (v) => this.openSpice(v))) this.#errors.show(error);
    }
  }

  /** Calls `listener` after every answer of `inventory_refresh`; returns the function that stops it. */
  onRefreshed(listener: () => void): () => void {
    this.#refreshed.add(listener);
    return () => this.#refreshed.delete(listener);
  }

  /** The row of VM `id` of the managed profile, if held. */
  vm(id: number): VmRow | null {
    if (this.profileId === null) return null;
    return this.#held.get(this.profileId)?.get(id) ?? null;
  }

  /** Applies a `vm-changed` event: the row changes in place, or goes when `vm` is null. */
  applyChange(change: VmChanged): void {
    const held = this.#held.get(change.profileId);
    if (!held || held.revision === null) return;
    held.put(change.vmId, change.vm);
    if (this.shownProfiles.includes(change.profileId)) this.#publish();
  }

  /** Shows just-created VMs of the managed profile at once, before the endpoint lists them; existing rows win. */
  addPlaceholders(vms: VmSummary[]): void {
    if (this.profileId === null) return;
    const held = this.#rowsOf(this.profileId);
    const fresh = vms.filter((vm) => !held.has(vm.id));
    for (const vm of fresh) held.put(vm.id, vm, { placeholder: true });
    if (fresh.length > 0) this.#publish();
  }

  /** Follows the page's visibility: no polling while hidden, an immediate one when shown if due. */
  watchVisibility(): () => void {
    const onChange = () => {
      if (document.visibilityState !== "visible") {
        this.#stopTimer();
      } else if (Date.now() >= this.#dueAt) {
        void this.refresh();
      } else {
        this.#schedule(this.#dueAt - Date.now());
      }
    };
    document.addEventListener("visibilitychange", onChange);
    return () => {
      document.removeEventListener("visibilitychange", onChange);
      this.stop();
    };
  }

  /** Stops polling (window closing). */
  stop(): void {
    this.#generation += 1;
    this.#stopTimer();
    clearTimeout(this.#warmTimer);
  }

  #schedule(delay = nextDelay(this.#failures)): void {
    this.#stopTimer();
    if (this.shownProfiles.length === 0) return;
    this.#dueAt = Date.now() + delay;
    if (typeof document !== "undefined" && document.visibilityState !== "visible") return;
    this.#timer = setTimeout(() => void this.refresh(), delay);
  }

  #stopTimer(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
