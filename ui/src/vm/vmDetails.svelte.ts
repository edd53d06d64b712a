// The details panel's VM: fetched when the panel opens, re-read in place on every `vm-changed`
// event for it and after every inventory poll. Answers for a VM the panel no longer shows are
// dropped (generation counter), and reads never pile up: one in flight, at most one queued.
import { IpcError, vmDetails, type VmChanged, type VmDetails } from "../lib/ipc";

/** The VM the details panel shows. */
export class VmDetailsState {
  /** The VM the panel is open on; null = closed. */
  vmId = $state<number | null>(null);
  details = $state.raw<VmDetails | null>(null);
  loading = $state(false);
  error = $state<IpcError | null>(null);
  /** The VM was terminated or deleted while the panel showed it. */
  gone = $state(false);

  #profileId: string | null = null;
  /** Bumped on every open/close so a late answer for another VM is dropped. */
  #generation = 0;
  #inFlight = false;
  #again = false;

  /** True when the panel is open on `vmId`. */
  isOpen(vmId: number): boolean {
    return this.vmId === vmId;
  }

  /** Opens the panel on a VM of `profileId` (or keeps it when already open there) and reads it. */
  async open(profileId: string, vmId: number): Promise<void> {
    if (this.#profileId === profileId && this.vmId === vmId && !this.gone && this.error === null) return;
    this.#generation += 1;
    this.#profileId = profileId;
    this.vmId = vmId;
    this.details = null;
    this.error = null;
    this.gone = false;
    this.#inFlight = false;
    this.#again = false;
    await this.reload();
  }

  /** Closes the panel. */
  close(): void {
    this.#generation += 1;
    this.#profileId = null;
    this.vmId = null;
    this.details = null;
    this.error = null;
    this.gone = false;
    this.loading = false;
  }

  /** Re-reads the open VM; a call while a read runs queues one more read after it. */
  async reload(): Promise<void> {
    const profileId = this.#profileId;
    const vmId = this.vmId;
    if (profileId === null || vmId === null || this.gone) return;
    if (this.#inFlight) {
      this.#again = true;
      return;
    }
    const generation = this.#generation;
    this.#inFlight = true;
    this.loading = true;
    try {
      const details = await vmDetails({ id: profileId, vmId });
      if (generation !== this.#generation) return;
      this.details = details;
      this.error = null;
    } catch (raw) {
      if (generation !== this.#generation) return;
      const error = IpcError.from("vm_details", raw);
      // A VM deleted between two reads is gone, not an error to show.
      if (error.kind === "notFound" && this.details) this.gone = true;
      else this.error = error;
    } finally {
      if (generation === this.#generation) {
        this.#inFlight = false;
        this.loading = false;
        if (this.#again) {
          this.#again = false;
          void this.reload();
        }
      }
    }
  }

  /** Follows a `vm-changed` event: re-reads the open VM, or marks it gone. */
  applyChange(change: VmChanged): void {
    if (change.profileId !== this.#profileId || change.vmId !== this.vmId) return;
    if (change.vm === null) {
      this.#generation += 1;
      this.gone = true;
      this.loading = false;
      this.#inFlight = false;
      return;
    }
    void this.reload();
  }
}
