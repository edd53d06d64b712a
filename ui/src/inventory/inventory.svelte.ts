// The selected profile's VM list: the cached snapshot at once, then the endpoint's answer, then a
// poll every 15 s while the window is visible, backing off while the endpoint fails.
import { nextDelay } from "../lib/backoff";
import type { ErrorBanner } from "../lib/errors.svelte";
import {
  consoleOpen,
  consoleSpiceOpen,
  inventoryCached,
  inventoryRefresh,
  IpcError,
  type Inventory,
  type VmChanged,
  type VmSummary,
} from "../lib/ipc";
import { filterVms } from "./filter";

/** The inventory of the selected profile, with its filter and polling. */
export class InventoryState {
  profileId = $state<string | null>(null);
  inventory = $state<Inventory | null>(null);
  refreshing = $state(false);
  /** true until the first answer (cached or live) for the current profile. */
  loading = $state(false);
  query = $state("");
  shown = $derived<VmSummary[]>(filterVms(this.inventory?.vms ?? [], this.query));

  readonly #errors: ErrorBanner;
  readonly #signedOut: (profileId: string) => void;
  /** Consecutive failed polls (errors or stale answers), for the backoff. */
  #failures = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** Bumped on every profile switch so late answers for the previous profile are dropped. */
  #generation = 0;
  #dueAt = 0;
  /** Called after every live answer (the details panel re-reads its VM then). */
  // eslint-disable-next-line svelte/prefer-svelte-reactivity -- listeners, never rendered
  readonly #refreshed = new Set<() => void>();

  constructor(errors: ErrorBanner, signedOut: (profileId: string) => void) {
    this.#errors = errors;
    this.#signedOut = signedOut;
  }

  /** Switches to `profileId` (null = none): cached snapshot first, then a live refresh. */
  async show(profileId: string | null): Promise<void> {
    this.#stopTimer();
    const generation = ++this.#generation;
    this.profileId = profileId;
    this.inventory = null;
    // A refresh still running belongs to the previous profile; its answer will be dropped.
    this.refreshing = false;
    this.query = "";
    this.#failures = 0;
    if (profileId === null) {
      this.loading = false;
      return;
    }
    this.loading = true;
    try {
      const cached = await inventoryCached({ id: profileId });
      if (generation === this.#generation && cached && !this.inventory) this.inventory = cached;
    } catch (error) {
      // A broken cache is worth a banner but must not stop the live fetch.
      if (generation === this.#generation) this.#errors.show(error, "inventory_cached");
    }
    if (generation === this.#generation) await this.refresh({ manual: true });
  }

  /** Fetches the inventory from the endpoint now. `manual` failures always reach the banner. */
  async refresh({ manual = false }: { manual?: boolean } = {}): Promise<void> {
    const profileId = this.profileId;
    if (profileId === null || this.refreshing) return;
    const generation = this.#generation;
    this.#stopTimer();
    this.refreshing = true;
    try {
      const inventory = await inventoryRefresh({ id: profileId });
      if (generation !== this.#generation) return;
      this.inventory = inventory;
      this.#failures = inventory.stale ? this.#failures + 1 : 0;
      for (const listener of this.#refreshed) listener();
    } catch (raw) {
      if (generation !== this.#generation) return;
      this.#failures += 1;
      const error = IpcError.from("inventory_refresh", raw);
      if (error.kind === "notSignedIn" || error.kind === "authentication") {
        this.#signedOut(profileId);
        if (error.kind === "authentication") this.#errors.show(error);
        return;
      }
      // A poll that keeps failing reports once, not every period.
      if (manual || this.#failures === 1) this.#errors.show(error);
    } finally {
      if (generation === this.#generation) {
        this.refreshing = false;
        this.loading = false;
        this.#schedule();
      }
    }
  }

  /** Opens the console window of a VM of the current profile; failures go to the banner. */
  async openConsole(vm: VmSummary): Promise<void> {
    if (this.profileId === null || !vm.console) return;
    try {
      await consoleOpen({ id: this.profileId, vmId: vm.id });
    } catch (error) {
      this.#errors.show(error, "console_open");
    }
  }

  /** Hands a SPICE VM's console to remote-viewer; a failure (none installed…) goes to the banner. */
  async openSpice(vm: VmSummary): Promise<void> {
    if (this.profileId === null || !vm.spice) return;
    try {
      await consoleSpiceOpen({ id: this.profileId, vmId: vm.id });
    } catch (error) {
      this.#errors.show(error, "console_spice_open");
    }
  }

  /** Calls `listener` after every answer of `inventory_refresh`; returns the function that stops it. */
  onRefreshed(listener: () => void): () => void {
    this.#refreshed.add(listener);
    return () => this.#refreshed.delete(listener);
  }

  /** The row of VM `id`, if the inventory has it. */
  vm(id: number): VmSummary | null {
    return this.inventory?.vms.find((vm) => vm.id === id) ?? null;
  }

  /** Applies a `vm-changed` event of the shown profile: the row changes in place, or goes when `vm` is null. */
  applyChange(change: VmChanged): void {
    if (change.profileId !== this.profileId || !this.inventory) return;
    if (change.vm === null) {
      this.#replaceRows(this.inventory.vms.filter((vm) => vm.id !== change.vmId));
    } else {
      this.#upsert([change.vm]);
    }
  }

  /** Shows just-created VMs at once, before the endpoint lists them; existing rows win. */
  addPlaceholders(vms: VmSummary[]): void {
    const rows = this.inventory?.vms ?? [];
    this.#upsert(vms.filter((vm) => !rows.some((row) => row.id === vm.id)));
  }

  #upsert(vms: VmSummary[]): void {
    if (!this.inventory || vms.length === 0) return;
    // Events and placeholders come a few at a time: a scan per VM is cheap.
    const kept = this.inventory.vms.filter((row) => !vms.some((vm) => vm.id === row.id));
    this.#replaceRows([...kept, ...vms].sort((a, b) => a.id - b.id));
  }

  #replaceRows(vms: VmSummary[]): void {
    if (this.inventory) this.inventory = { ...this.inventory, vms };
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
  }

  #schedule(delay = nextDelay(this.#failures)): void {
    this.#stopTimer();
    if (this.profileId === null) return;
    this.#dueAt = Date.now() + delay;
    if (typeof document !== "undefined" && document.visibilityState !== "visible") return;
    this.#timer = setTimeout(() => void this.refresh(), delay);
  }

  #stopTimer(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
