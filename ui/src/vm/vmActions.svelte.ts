// Running VM operations and keeping their feedback: which VMs are pending (from the click until a
// `vm-changed` event says the VM settled, or the call fails), the confirmation or form dialog an
// operation asks for first, the last failure, and the bulk bar's per-VM results. Which operations a
// VM allows is never decided here: it comes from `VmDetails.operations` (core's policy).
import { SvelteMap } from "svelte/reactivity";
import {
  IpcError,
  vmAction,
  vmBulkAction,
  vmReinstall,
  vmRename,
  vmResize,
  vmSnapshotCreate,
  vmSnapshotDelete,
  vmSnapshotRevert,
  type BulkActionName,
  type BulkResult,
  type Capacity,
  type Reinstalled,
  type VmActionName,
  type VmChanged,
  type VmDetails,
  type VmOperation,
  type VmSnapshot,
} from "../lib/ipc";

/** What a pending row waits for. */
export type PendingWork = VmOperation | BulkActionName | "create";

/** A VM as the wording of an operation needs it. */
export interface VmRef {
  id: number;
  name: string;
}

/** An operation that failed without a dialog to show it in. */
export interface ActionFailure {
  vm: VmRef;
  op: VmOperation;
  error: IpcError;
}

/** A result worth a line of its own. */
export type ActionNotice =
  | { kind: "reinstalled"; vm: VmRef; result: Reinstalled }
  | { kind: "created"; ids: number[] };

/** A destructive operation waiting for the user's yes. */
export type ConfirmRequest =
  | { kind: "single"; op: VmOperation; vm: VmRef; snapshot: VmSnapshot | null }
  | { kind: "bulk"; action: BulkActionName; vms: VmRef[] };

/** The operations that ask for values in a dialog first. */
export type DialogKind = "resize" | "rename" | "snapshot-create";

/** An open form dialog and the VM it acts on. */
export interface DialogRequest {
  kind: DialogKind;
  vm: VmDetails;
}

/** The bulk bar's last run. */
export interface BulkRun {
  action: BulkActionName;
  vms: VmRef[];
  running: boolean;
  /** One per VM, in the order given; null while running or when the whole call failed. */
  results: BulkResult[] | null;
  error: IpcError | null;
}

/** Things the rest of the window does after an operation. */
export interface ActionHooks {
  /** A reinstall replaced the VM by a new one. */
  replaced?: (result: Reinstalled) => void;
}

/**
 * How long a row stays pending without a settling event. Core watches a VM for at most 2 minutes
 * after an accepted operation; past that nothing more will come.
 */
export const PENDING_LIMIT_MS = 130_000;

const dialogKinds: readonly VmOperation[] = ["resize", "rename", "snapshot-create"];

/** Operations, their dialogs and feedback for the shown profile's VMs. */
export class VmActions {
  /** VM id → the work it waits for. */
  readonly pending = new SvelteMap<number, PendingWork>();
  failure = $state.raw<ActionFailure | null>(null);
  notice = $state.raw<ActionNotice | null>(null);
  confirm = $state.raw<ConfirmRequest | null>(null);
  dialog = $state.raw<DialogRequest | null>(null);
  bulk = $state.raw<BulkRun | null>(null);

  readonly #profile: () => string | null;
  readonly #hooks: ActionHooks;
  // eslint-disable-next-line svelte/prefer-svelte-reactivity -- timer bookkeeping, never rendered
  readonly #timers = new Map<number, ReturnType<typeof setTimeout>>();
  /** Bumped when the profile changes: answers for the previous one are dropped. */
  #generation = 0;

  constructor(profile: () => string | null, hooks: ActionHooks = {}) {
    this.#profile = profile;
    this.#hooks = hooks;
  }

  /** The work VM `id` waits for, or null. */
  pendingOf(id: number): PendingWork | null {
    return this.pending.get(id) ?? null;
  }

  /**
   * Starts `op` on `vm` the way the operation wants it: a form dialog (resize, rename, snapshot),
   * a confirmation (the operations core marks destructive), or at once. Does nothing when core
   * says the VM's state does not allow it or the VM is still busy with the previous operation.
   */
  request(op: VmOperation, vm: VmDetails, snapshot: VmSnapshot | null = null): void {
    const state = vm.operations.find((o) => o.op === op);
    if (!state?.allowed || this.pending.has(vm.id)) return;
    this.failure = null;
    if (dialogKinds.includes(op)) {
      this.dialog = { kind: op as DialogKind, vm };
    } else if (state.destructive) {
      this.confirm = { kind: "single", op, vm: refOf(vm), snapshot };
    } else {
      void this.#runShown(op, refOf(vm), snapshot);
    }
  }

  /** Runs the confirmed operation; the dialog stays open (and gets the error) when it fails. */
  async confirmed(): Promise<IpcError | null> {
    const request = this.confirm;
    if (request === null) return null;
    if (request.kind === "bulk") {
      this.confirm = null;
      await this.runBulk(request.action, request.vms);
      return null;
    }
    const error = await this.run(request.op, request.vm, request.snapshot);
    if (error === null && this.confirm === request) this.confirm = null;
    return error;
  }

  /** Closes the confirmation without running anything. */
  cancelConfirm(): void {
    this.confirm = null;
  }

  /** Closes the form dialog. */
  closeDialog(): void {
    this.dialog = null;
  }

  /** Runs `op` now (no dialog): resolves to its error, or null once oned accepted it. */
  async run(op: VmOperation, vm: VmRef, snapshot: VmSnapshot | null = null): Promise<IpcError | null> {
    if (op === "reinstall") return this.#reinstall(vm);
    return this.#call(op, vm.id, (id) => {
      switch (op) {
        case "snapshot-revert":
        case "snapshot-delete": {
          if (snapshot === null) throw new IpcError("ui", "invalidInput", "no snapshot chosen");
          const args = { id, vmId: vm.id, snapshotId: snapshot.snapshotId };
          return op === "snapshot-revert" ? vmSnapshotRevert(args) : vmSnapshotDelete(args);
        }
        case "resize":
        case "rename":
        case "snapshot-create":
          throw new IpcError("ui", "invalidInput", `${op} needs its dialog`);
        default:
          return vmAction({ id, vmId: vm.id, action: op as VmActionName });
      }
    });
  }

  /** The resize dialog's call; closes the dialog when oned accepts. */
  async resize(vm: VmRef, capacity: Capacity, enforce: boolean): Promise<IpcError | null> {
    const error = await this.#call("resize", vm.id, (id) => vmResize({ id, vmId: vm.id, capacity, enforce }));
    if (error === null) this.dialog = null;
    return error;
  }

  /** The rename dialog's call; closes the dialog when oned accepts. */
  async rename(vm: VmRef, name: string): Promise<IpcError | null> {
    const error = await this.#call("rename", vm.id, (id) => vmRename({ id, vmId: vm.id, name }));
    if (error === null) this.dialog = null;
    return error;
  }

  /** The snapshot dialog's call; closes the dialog when oned accepts. */
  async snapshotCreate(vm: VmRef, name: string): Promise<IpcError | null> {
    const error = await this.#call("snapshot-create", vm.id, (id) => vmSnapshotCreate({ id, vmId: vm.id, name }));
    if (error === null) this.dialog = null;
    return error;
  }

  /** Runs a bulk action on `vms`, after a confirmation for the terminating ones. */
  requestBulk(action: BulkActionName, vms: VmRef[]): void {
    if (vms.length === 0) return;
    this.failure = null;
    if (action === "terminate" || action === "terminate-hard") {
      this.confirm = { kind: "bulk", action, vms };
      return;
    }
    void this.runBulk(action, vms);
  }

  /** Calls `vm_bulk_action` and keeps one result per VM for the bulk bar. */
  async runBulk(action: BulkActionName, vms: VmRef[]): Promise<void> {
    const profileId = this.#profile();
    if (profileId === null || vms.length === 0) return;
    const generation = this.#generation;
    const run: BulkRun = { action, vms, running: true, results: null, error: null };
    this.bulk = run;
    for (const vm of vms) this.#begin(vm.id, action);
    try {
      const results = await vmBulkAction({ id: profileId, vmIds: vms.map((vm) => vm.id), action });
      if (generation !== this.#generation) return;
      for (const result of results) {
        if (result.ok) this.#arm(result.vmId);
        else this.#end(result.vmId);
      }
      this.bulk = { ...run, running: false, results };
    } catch (raw) {
      if (generation !== this.#generation) return;
      for (const vm of vms) this.#end(vm.id);
      this.bulk = { ...run, running: false, error: IpcError.from("vm_bulk_action", raw) };
    }
  }

  /** Hides the bulk results. */
  dismissBulk(): void {
    if (!this.bulk?.running) this.bulk = null;
  }

  /** Marks VMs pending that core already watches (just created). */
  markPending(ids: readonly number[], work: PendingWork): void {
    for (const id of ids) {
      this.#begin(id, work);
      this.#arm(id);
    }
  }

  /** Shows a one-line result. */
  announce(notice: ActionNotice): void {
    this.notice = notice;
  }

  /** Hides the failure and the notice. */
  dismiss(): void {
    this.failure = null;
    this.notice = null;
  }

  /** Follows a `vm-changed` event: a settled or vanished VM is no longer pending. */
  applyChange(change: VmChanged): void {
    if (change.profileId !== this.#profile()) return;
    if (change.settled || change.vm === null) this.#end(change.vmId);
  }

  /** Forgets everything (another profile is shown). */
  reset(): void {
    this.#generation += 1;
    for (const id of [...this.pending.keys()]) this.#end(id);
    this.failure = null;
    this.notice = null;
    this.confirm = null;
    this.dialog = null;
    this.bulk = null;
  }

  async #runShown(op: VmOperation, vm: VmRef, snapshot: VmSnapshot | null): Promise<void> {
    const generation = this.#generation;
    const error = await this.run(op, vm, snapshot);
    if (error !== null && generation === this.#generation) this.failure = { vm, op, error };
  }

  async #reinstall(vm: VmRef): Promise<IpcError | null> {
    let result: Reinstalled | null = null;
    const error = await this.#call("reinstall", vm.id, async (id) => {
      result = await vmReinstall({ id, vmId: vm.id });
    });
    const done = result as Reinstalled | null;
    if (error === null && done !== null) {
      this.notice = { kind: "reinstalled", vm, result: done };
      if (done.way === "replaced") {
        this.markPending([done.vmId], "reinstall");
        this.#hooks.replaced?.(done);
      }
    }
    return error;
  }

  /** Marks `vmId` pending, runs `fn` with the profile id, and unmarks it when the call fails. */
  async #call(work: PendingWork, vmId: number, fn: (profileId: string) => Promise<unknown>): Promise<IpcError | null> {
    const profileId = this.#profile();
    if (profileId === null) return new IpcError("ui", "notSignedIn", "no profile is shown");
    const generation = this.#generation;
    this.#begin(vmId, work);
    try {
      await fn(profileId);
      if (generation === this.#generation) this.#arm(vmId);
      return null;
    } catch (raw) {
      if (generation === this.#generation) this.#end(vmId);
      return IpcError.from("ui", raw);
    }
  }

  #begin(vmId: number, work: PendingWork): void {
    this.pending.set(vmId, work);
    this.#clearTimer(vmId);
  }

  /** After oned accepted: wait for the settling event, but not forever. */
  #arm(vmId: number): void {
    if (!this.pending.has(vmId)) return;
    this.#clearTimer(vmId);
    this.#timers.set(
      vmId,
      setTimeout(() => this.#end(vmId), PENDING_LIMIT_MS),
    );
  }

  #end(vmId: number): void {
    this.pending.delete(vmId);
    this.#clearTimer(vmId);
  }

  #clearTimer(vmId: number): void {
    const timer = this.#timers.get(vmId);
    if (timer !== undefined) clearTimeout(timer);
    this.#timers.delete(vmId);
  }
}

function refOf(vm: { id: number; name: string }): VmRef {
  return { id: vm.id, name: vm.name };
}
