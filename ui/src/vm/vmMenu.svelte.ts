// The row context menu: where it opens and the VM it acts on. What the VM allows is read from
// `vm_details` when the menu opens (core's policy, not a table here); until the answer arrives the
// items are shown disabled. A late answer for a menu already closed or reopened is dropped.
import { IpcError, vmDetails, type VmDetails, type VmSummary } from "../lib/ipc";

/** The open context menu, if any. */
export class VmMenuState {
  vm = $state.raw<VmSummary | null>(null);
  x = $state(0);
  y = $state(0);
  details = $state.raw<VmDetails | null>(null);
  error = $state<IpcError | null>(null);
  #generation = 0;

  /** True while the menu is shown. */
  get isOpen(): boolean {
    return this.vm !== null;
  }

  /** Opens the menu for `vm` at (`x`, `y`) (viewport pixels) and reads what the VM allows. */
  async open(profileId: string, vm: VmSummary, x: number, y: number): Promise<void> {
    const generation = ++this.#generation;
    this.vm = vm;
    this.x = x;
    this.y = y;
    this.details = null;
    this.error = null;
    try {
      const details = await vmDetails({ id: profileId, vmId: vm.id });
      if (generation === this.#generation) this.details = details;
    } catch (raw) {
      if (generation === this.#generation) this.error = IpcError.from("vm_details", raw);
    }
  }

  /** Closes the menu. */
  close(): void {
    this.#generation += 1;
    this.vm = null;
    this.details = null;
    this.error = null;
  }
}
