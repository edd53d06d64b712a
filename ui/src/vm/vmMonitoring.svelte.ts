// The details panel's monitoring series: fetched for the open VM over the chosen range, re-read
// after every inventory poll; answers for another VM or range are dropped.
import { IpcError, vmMonitoring, type MonitoringSeries } from "../lib/ipc";

/** The ranges the panel offers, in seconds (1 h, 6 h, 24 h). */
export const monitoringRanges = [3600, 21_600, 86_400] as const;

/** One of `monitoringRanges`. */
export type MonitoringRange = (typeof monitoringRanges)[number];

/** The open VM's monitoring. */
export class VmMonitoringState {
  rangeSecs = $state<MonitoringRange>(3600);
  series = $state.raw<MonitoringSeries | null>(null);
  loading = $state(false);
  error = $state<IpcError | null>(null);

  #target: { profileId: string; vmId: number } | null = null;
  #generation = 0;

  /** Shows the monitoring of `vmId` (null clears it). */
  async show(profileId: string | null, vmId: number | null): Promise<void> {
    const same = this.#target?.profileId === profileId && this.#target?.vmId === vmId;
    if (same) return;
    this.#generation += 1;
    this.#target = profileId === null || vmId === null ? null : { profileId, vmId };
    this.series = null;
    this.error = null;
    await this.reload();
  }

  /** Switches the time range and re-reads. */
  async setRange(rangeSecs: MonitoringRange): Promise<void> {
    if (rangeSecs === this.rangeSecs) return;
    this.#generation += 1;
    this.rangeSecs = rangeSecs;
    this.series = null;
    await this.reload();
  }

  /** Re-reads the series of the shown VM. */
  async reload(): Promise<void> {
    const target = this.#target;
    if (target === null) {
      this.loading = false;
      return;
    }
    const generation = ++this.#generation;
    this.loading = true;
    try {
      const series = await vmMonitoring({ id: target.profileId, vmId: target.vmId, rangeSecs: this.rangeSecs });
      if (generation !== this.#generation) return;
      this.series = series;
      this.error = null;
    } catch (raw) {
      if (generation === this.#generation) this.error = IpcError.from("vm_monitoring", raw);
    } finally {
      if (generation === this.#generation) this.loading = false;
    }
  }
}
