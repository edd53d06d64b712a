// The audit view's state: filters, the sessions found, verification and exports. Policy (what
// is kept, what is broken) is the app's: this only asks and shows.
import {
  IpcError,
  auditExport,
  auditSearch,
  auditVerify,
  recordingExport,
  replayOpen,
  type AuditEntry,
  type AuditQuery,
  type AuditVerification,
} from "../lib/ipc";

/** The form's fields, as typed. */
export interface AuditFilters {
  profileId: string;
  vmId: string;
  user: string;
  /** yyyy-mm-dd, local time. */
  since: string;
  until: string;
  typed: string;
}

export const emptyFilters = (): AuditFilters => ({ profileId: "", vmId: "", user: "", since: "", until: "", typed: "" });

/** The filters as the app's query; a bad VM id is refused here rather than ignored. */
export function toQuery(f: AuditFilters): AuditQuery {
  const q: AuditQuery = {};
  if (f.profileId) q.profileId = f.profileId;
  if (f.vmId.trim() !== "") {
    const id = Number(f.vmId.trim());
    if (!Number.isInteger(id) || id < 0) throw new Error(`not a VM id: ${f.vmId}`);
    q.vmId = id;
  }
  if (f.user.trim()) q.user = f.user.trim();
  if (f.since) q.sinceMs = Date.parse(`${f.since}T00:00:00`);
  // "Until" a day means to the end of that day.
  if (f.until) q.untilMs = Date.parse(`${f.until}T00:00:00`) + 86_400_000;
  if (f.typed) q.typed = f.typed;
  return q;
}

export class AuditLog {
  filters = $state<AuditFilters>(emptyFilters());
  rows = $state<AuditEntry[]>([]);
  loading = $state(false);
  error = $state<string | null>(null);
  verification = $state<AuditVerification | null>(null);
  /** The last file an export wrote. */
  exported = $state<string | null>(null);

  #run<T>(command: string, f: () => Promise<T>): Promise<T | undefined> {
    this.error = null;
    return Promise.resolve()
      .then(f)
      .catch((raw: unknown) => {
      this.error = raw instanceof Error ? raw.message : IpcError.from(command, raw).message;
      return undefined;
    });
  }

  async search(): Promise<void> {
    this.loading = true;
    const rows = await this.#run("audit_search", () => auditSearch(toQuery(this.filters)));
    if (rows) this.rows = rows;
    this.loading = false;
  }

  async verify(): Promise<void> {
    this.verification = (await this.#run("audit_verify", () => auditVerify())) ?? null;
  }

  async exportRows(format: "csv" | "json"): Promise<void> {
    this.exported = (await this.#run("audit_export", () => auditExport(toQuery(this.filters), format))) ?? null;
  }

  async exportRecording(id: number): Promise<void> {
    this.exported = (await this.#run("recording_export", () => recordingExport(id))) ?? null;
  }

  async replay(id: number): Promise<void> {
    await this.#run("replay_open", () => replayOpen(id));
  }
}
