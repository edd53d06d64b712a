// The selected profile's VM list: the cached snapshot at once, then the endpoint's answer, then a
// poll every 15 s while the window is visible, backing off while the endpoint fails.
import { nextDelay } from "../lib/backoff";
import type { ErrorBanner } from "../lib/errors.svelte";
import {
  consoleOpen,
  consoleSpiceOpen,
  sshHostKeyAccept,
  sshSecretSave,
  inventoryCached,
  inventoryRefresh,
  IpcError,
  type Inventory,
  type VmChanged,
  type VmSummary,
} from "../lib/ipc";
import { filterVms } from "./filter";
import { sortVms, stateCounts, withStates, type SortDir, type SortKey } from "./sort";

/** No facet chosen (replaced whole, never mutated). */
const NO_STATES: ReadonlySet<string> = Object.freeze(new Set<string>());

/** How one endpoint's table is sorted and narrowed (kept per endpoint for this run). */
interface TableView {
  sortKey: SortKey;
  sortDir: SortDir;
  states: ReadonlySet<string>;
}

/** What the main window asks before a console through SSH can open. */
export type SshPrompt =
  | { kind: "hostKey"; profileId: string; vm: VmSummary; host: string; port: number; fingerprint: string }
  | { kind: "secret"; profileId: string; vm: VmSummary; profile: string; refused: boolean };

/** Opens a VM's console again once the prompt is answered. */
type Reopen = (vm: VmSummary) => Promise<void>;

/** The inventory of the selected profile, with its filter and polling. */
export class InventoryState {
  profileId = $state<string | null>(null);
  inventory = $state<Inventory | null>(null);
  refreshing = $state(false);
  /** true until the first answer (cached or live) for the current profile. */
  loading = $state(false);
  query = $state("");
  /** An SSH host key to accept or an SSH password to enter before the console opens. */
  sshPrompt = $state<SshPrompt | null>(null);
  /** What answering the prompt reopens: the VNC console or the SPICE hand-off. */
  #reopen: Reopen = (vm) => this.openConsole(vm);
  sortKey = $state<SortKey>("id");
  sortDir = $state<SortDir>("asc");
  /** The state facets chosen (none: every state). */
  states = $state<ReadonlySet<string>>(NO_STATES);
  /** Sorted once per list or sort change; the facets and the filter keep this order. */
  readonly sorted = $derived<VmSummary[]>(sortVms(this.inventory?.vms ?? [], this.sortKey, this.sortDir));
  /** Each state with its count, over the whole inventory. */
  readonly facets = $derived(stateCounts(this.inventory?.vms ?? []));
  shown = $derived<VmSummary[]>(filterVms(withStates(this.sorted, this.states), this.query));
  /** True while a facet or the text filter hides rows. */
  readonly narrowed = $derived(this.states.size > 0 || this.query.trim() !== "");
  // eslint-disable-next-line svelte/prefer-svelte-reactivity -- per-profile memory, never rendered
  readonly #views = new Map<string, TableView>();

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
    const view = profileId === null ? undefined : this.#views.get(profileId);
    this.sortKey = view?.sortKey ?? "id";
    this.sortDir = view?.sortDir ?? "asc";
    this.states = view?.states ?? NO_STATES;
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
    const profileId = this.profileId;
    try {
      await consoleOpen({ id: profileId, vmId: vm.id });
    } catch (raw) {
      const error = IpcError.from("console_open", raw);
      if (this.#askForSsh(profileId, vm, error)) this.#reopen = (v) => this.openConsole(v);
      else this.#errors.show(error);
    }
  }

  /** Turns an SSH error that the user can resolve into a prompt; false for the others. */
  #askForSsh(profileId: string, vm: VmSummary, error: IpcError): boolean {
    const problem = error.text("problem");
    if (error.kind === "ssh" && problem === "hostKeyUnknown") {
      this.sshPrompt = {
        kind: "hostKey",
        profileId,
        vm,
        host: error.text("host") ?? "",
        port: error.number("port") ?? 22,
        fingerprint: error.text("fingerprint") ?? "",
      };
      return true;
    }
    const refused = error.kind === "ssh" && problem === "auth" && error.text("method") === "password";
    if ((error.kind === "secretMissing" && error.text("slot") === "ssh") || refused) {
      this.sshPrompt = { kind: "secret", profileId, vm, profile: error.text("profile") ?? "", refused };
      return true;
    }
    return false;
  }

  /** The user accepts the host key shown (after comparing it): remember it, open the console. */
  async acceptHostKey(): Promise<void> {
    const prompt = this.sshPrompt;
    if (prompt?.kind !== "hostKey") return;
    this.sshPrompt = null;
    try {
      await sshHostKeyAccept({ id: prompt.profileId, fingerprint: prompt.fingerprint });
    } catch (error) {
      this.#errors.show(error, "ssh_host_key_accept");
      return;
    }
    await this.#reopen(prompt.vm);
  }

  /** The user typed the SSH password or passphrase: store it, open the console. */
  async saveSshSecret(secret: string, keep: boolean): Promise<void> {
    const prompt = this.sshPrompt;
    if (prompt?.kind !== "secret") return;
    this.sshPrompt = null;
    try {
      await sshSecretSave({ id: prompt.profileId, secret, sessionOnly: !keep });
    } catch (error) {
      this.#errors.show(error, "ssh_secret_save");
      return;
    }
    await this.#reopen(prompt.vm);
  }

  /** Closes the prompt without opening anything. */
  dismissSshPrompt(): void {
    this.sshPrompt = null;
  }

  /** Sorts by `key`; the same key again reverses the order. */
  sortBy(key: SortKey): void {
    if (this.sortKey === key) this.sortDir = this.sortDir === "asc" ? "desc" : "asc";
    else {
      this.sortKey = key;
      this.sortDir = "asc";
    }
    this.#remember();
  }

  /** Shows (or stops showing only) VMs in `state`, besides the other chosen states. */
  toggleState(state: string): void {
    // eslint-disable-next-line svelte/prefer-svelte-reactivity -- replaced whole, never mutated
    const next = new Set(this.states);
    if (next.has(state)) next.delete(state);
    else next.add(state);
    this.states = next;
    this.#remember();
  }

  #remember(): void {
    if (this.profileId !== null) {
      this.#views.set(this.profileId, { sortKey: this.sortKey, sortDir: this.sortDir, states: this.states });
    }
  }

  /** Hands a SPICE VM's console to remote-viewer; a failure (none installed…) goes to the banner. */
  async openSpice(vm: VmSummary): Promise<void> {
    if (this.profileId === null || !vm.spice) return;
    const profileId = this.profileId;
    try {
      await consoleSpiceOpen({ id: profileId, vmId: vm.id });
    } catch (raw) {
      const error = IpcError.from("console_spice_open", raw);
      if (this.#askForSsh(profileId, vm, error)) this.#reopen = (v) => this.openSpice(v);
      else this.#errors.show(error);
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
