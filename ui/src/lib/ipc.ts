// The only module that talks to the Tauri core. One typed function per command; DTO types mirror
// the Rust structs in src-tauri (see docs/IPC.md); errors become IpcError with the command's name. Arguments are camelCase: Tauri maps them to the Rust parameter names.
import { Channel, invoke } from "@tauri-apps/api/core";
import { listen } from "@tauri-apps/api/event";

import type { AuditEntry, AuditQuery, AuditVerification, ReplayInfo, AppInfo, ProfileSummary, ProfileInput, InventoryDelta, TableView, ConsoleGrant, ConsoleEnd, SpiceHandoff, ConsoleKeys, ConsoleSettings, TypingPlan, ConsoleEnded, SignedOut, VmActionName, VmDetails, ActionAccepted, BulkActionName, BulkResult, Reinstalled, Capacity, SnapshotCreated, MonitoringSeries, TemplateSummary, CreateRequest, Created, VmChanged } from "./ipc-types";

export * from "./ipc-types";

/** Stable error codes the shell may send (src-tauri/error.rs `ErrorKind`). */
export const errorKinds = [
  "internal",
  "invalidInput",
  "keyringUnavailable",
  "secretMissing",
  "notSignedIn",
  "authentication",
  "authorization",
  "notFound",
  "wrongState",
  "network",
  "tls",
  "malformedReply",
  "noConsole",
  "profileFile",
  "storage",
  "allocation",
  "recording",
  "remoteViewer",
  "ssh",
] as const;

/** One of the shell's error codes. */
export type ErrorKind = (typeof errorKinds)[number];

/** A failure as the shell serialises it (also inside `BulkResult`). */
export interface IpcErrorShape {
  kind: string;
  message: string;
  params?: Record<string, unknown>;
}

/** A command's failure, as `{ kind, message, params }` from the shell plus the command's name. */
export class IpcError extends Error {
  readonly kind: ErrorKind | "unknown";
  readonly command: string;
  /** What the UI needs to word the error itself (docs/IPC.md, Errors); `{}` when the shell sent none. */
  readonly params: Record<string, unknown>;

  constructor(command: string, kind: ErrorKind | "unknown", message: string, params: Record<string, unknown> = {}) {
    super(message);
    this.name = "IpcError";
    this.command = command;
    this.kind = kind;
    this.params = params;
  }

  /** Wraps whatever `invoke` rejected with: the shell's `{ kind, message, params }` or a bare string. */
  static from(command: string, raw: unknown): IpcError {
    if (raw instanceof IpcError) return raw;
    if (raw !== null && typeof raw === "object" && "kind" in raw && "message" in raw) {
      const { kind, message, params } = raw as { kind: unknown; message: unknown; params?: unknown };
      return new IpcError(command, isErrorKind(kind) ? kind : "unknown", String(message), paramsOf(params));
    }
    if (raw instanceof Error) return new IpcError(command, "unknown", raw.message);
    return new IpcError(command, "unknown", String(raw));
  }

  /** A string member of `params`, or null when absent or not a string. */
  text(name: string): string | null {
    const value = this.params[name];
    return typeof value === "string" ? value : null;
  }

  /** A numeric member of `params`, or null when absent or not a number. */
  number(name: string): number | null {
    const value = this.params[name];
    return typeof value === "number" && Number.isFinite(value) ? value : null;
  }

  /** OpenNebula's own words when the error came from oned. */
  get oned(): string | null {
    return this.text("oned");
  }
}

function paramsOf(raw: unknown): Record<string, unknown> {
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) return {};
  return { ...(raw as Record<string, unknown>) };
}

/** True when `value` is one of the shell's error codes. */
export function isErrorKind(value: unknown): value is ErrorKind {
  return typeof value === "string" && (errorKinds as readonly string[]).includes(value);
}

async function call<T>(command: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(command, args);
  } catch (raw) {
    throw IpcError.from(command, raw);
  }
}


/** The app's version and platform. */
export function appInfo(): Promise<AppInfo> {
  return call<AppInfo>("app_info");
}

/** Every saved profile, the demo cloud first when present. */
export function profilesList(): Promise<ProfileSummary[]> {
  return call<ProfileSummary[]>("profiles_list");
}

/** Arguments of `profileSave`. */
export interface ProfileSaveArgs {
  input: ProfileInput;
  /** null keeps the stored secret of an existing profile. */
  password: string | null;
  /** Keep the secret in memory only (when the keyring is unavailable). */
  sessionOnly: boolean;
}

/** Validates, signs in, stores the secret and returns the profile signed in. */
export function profileSave(args: ProfileSaveArgs): Promise<ProfileSummary> {
  return call<ProfileSummary>("profile_save", { ...args });
}

/** Deletes a profile, its secret and its cached inventory. */
export function profileRemove(args: { id: string }): Promise<void> {
  return call<void>("profile_remove", { ...args });
}

/** Arguments of `signIn`. */
export interface SignInArgs {
  id: string;
  /** null signs in with the stored secret (`secretMissing` when there is none). */
  password: string | null;
  sessionOnly: boolean;
}

/** Signs a profile in. */
export function signIn(args: SignInArgs): Promise<ProfileSummary> {
  return call<ProfileSummary>("sign_in", { ...args });
}

/** Signs a profile out. */
export function signOut(args: { id: string }): Promise<ProfileSummary> {
  return call<ProfileSummary>("sign_out", { ...args });
}

/** The last stored inventory of a profile as a reset delta (stale), or null; instant. */
export function inventoryCached(args: { id: string }): Promise<InventoryDelta | null> {
  return call<InventoryDelta | null>("inventory_cached", { ...args });
}

/**
 * Brings a profile's rows up to date. `since` is the revision of the last delta applied (null: none
 * held). A first load's pages go to `onPage` as they arrive; the reply is the last delta, to apply
 * after the number of pages it names.
 */
export function inventorySync(args: {
  id: string;
  since: number | null;
  onPage: (page: InventoryDelta) => void;
}): Promise<InventoryDelta> {
  const onPage = new Channel<InventoryDelta>();
  onPage.onmessage = args.onPage;
  return call<InventoryDelta>("inventory_sync", { id: args.id, since: args.since, onPage });
}

/** How a table (a profile's, or all endpoints' with `id` null) was last shown. */
export function tableView(args: { id: string | null }): Promise<TableView> {
  return call<TableView>("table_view", { ...args });
}

/** Remembers how a table is shown. */
export function tableViewSave(args: { id: string | null; view: TableView }): Promise<void> {
  return call<void>("table_view_save", { ...args });
}

/** Opens (or focuses) the console window of a VM. */
export function consoleOpen(args: { id: string; vmId: number }): Promise<void> {
  return call<void>("console_open", { ...args });
}

/** Main window: the user compared an SSH host key's fingerprint and accepts it. */
export function sshHostKeyAccept(args: { id: string; fingerprint: string }): Promise<void> {
  return call<void>("ssh_host_key_accept", { ...args });
}

/** Main window: stores the SSH password or key passphrase of an endpoint's console transport. */
export function sshSecretSave(args: { id: string; secret: string; sessionOnly: boolean }): Promise<void> {
  return call<void>("ssh_secret_save", { ...args });
}

/** Main window: hands a SPICE VM's console to remote-viewer through a one-shot loopback forward. */
export function consoleSpiceOpen(args: { id: string; vmId: number }): Promise<SpiceHandoff> {
  return call<SpiceHandoff>("console_spice_open", { ...args });
}

/** Console windows only: how this window's last session ended; null until the app has learnt it. */
export function consoleLastEnd(): Promise<ConsoleEnd | null> {
  return call<ConsoleEnd | null>("console_last_end");
}

/** Console windows only: the send-key menu and the layouts a paste can be typed for. */
export function consoleKeys(): Promise<ConsoleKeys> {
  return call<ConsoleKeys>("console_keys");
}

/** Console windows only: the key events that type `text` on `layout`. */
export function consoleTypingPlan(text: string, layout: string): Promise<TypingPlan> {
  return call<TypingPlan>("console_typing_plan", { text, layout });
}

/** Console windows only: the calling window's VM's settings (defaults when none were saved). */
export function consoleSettings(): Promise<ConsoleSettings> {
  return call<ConsoleSettings>("console_settings");
}

/** Console windows only: saves the calling window's VM's settings. */
export function consoleSettingsSave(settings: ConsoleSettings): Promise<void> {
  return call<void>("console_settings_save", { settings });
}

/** Console windows only: hands the app the screen as a PNG, to save where the user says in a
 * save dialog (resolves to the path, or null when cancelled) or to put on the clipboard. */
export async function consoleScreenshot(png: Uint8Array, target: "file" | "clipboard", takenAt: string): Promise<string | null> {
  try {
    return await invoke<string | null>("console_screenshot", png, {
      headers: { "x-screenshot-target": target, "x-screenshot-taken": takenAt },
    });
  } catch (raw) {
    throw IpcError.from("console_screenshot", raw);
  }
}

/** Console windows only, when the VM shares the clipboard: the local clipboard's text. */
export function consoleClipboardRead(): Promise<string | null> {
  return call<string | null>("console_clipboard_read");
}

/** Console windows only, when the VM shares the clipboard: puts what the VM copied on it. */
export function consoleClipboardWrite(text: string): Promise<void> {
  return call<void>("console_clipboard_write", { text });
}

/** Console windows only: a fresh single-use ticket for the calling window's VM. */
export function consoleConnect(): Promise<ConsoleGrant> {
  return call<ConsoleGrant>("console_connect");
}

/** Calls `cb` whenever a console session ends; resolves to the function that stops listening. */
/** Main window only: an `onedeck://` link the app was asked to open and refused (an unknown
 * endpoint or VM, a malformed link): the shell's error, for the banner. */
export async function onLinkRefused(cb: (error: unknown) => void): Promise<() => void> {
  return await listen<unknown>("link-refused", (event) => cb(event.payload));
}

export async function onConsoleEnded(cb: (ended: ConsoleEnded) => void): Promise<() => void> {
  try {
    return await listen<ConsoleEnded>("console-ended", (event) => cb(event.payload));
  } catch (raw) {
    throw IpcError.from("listen console-ended", raw);
  }
}

/** Calls `cb` whenever the shell signs a profile out by itself; resolves to the function that stops listening. */
export async function onSignedOut(cb: (event: SignedOut) => void): Promise<() => void> {
  try {
    return await listen<SignedOut>("signed-out", (event) => cb(event.payload));
  } catch (raw) {
    throw IpcError.from("listen signed-out", raw);
  }
}

// ---- VM management (docs/IPC.md, "VM management commands") ----

/** One VM's full record for the details panel. */
export function vmDetails(args: { id: string; vmId: number }): Promise<VmDetails> {
  return call<VmDetails>("vm_details", { ...args });
}

/** Runs one of oned's VM actions. */
export function vmAction(args: { id: string; vmId: number; action: VmActionName }): Promise<ActionAccepted> {
  return call<ActionAccepted>("vm_action", { ...args });
}

/** `BulkResult` as the shell sends it: the error still a plain shape. */
interface BulkResultDto {
  vmId: number;
  ok: boolean;
  error: IpcErrorShape | null;
}

/** Runs an action on several VMs; one result per VM in the order given, failures included (never rejects per VM). */
export async function vmBulkAction(args: { id: string; vmIds: number[]; action: BulkActionName }): Promise<BulkResult[]> {
  const results = await call<BulkResultDto[]>("vm_bulk_action", { ...args });
  return results.map((r) => ({
    vmId: r.vmId,
    ok: r.ok,
    error: r.error === null ? null : IpcError.from("vm_bulk_action", r.error),
  }));
}

/** Reinstalls a VM from its template, in place or as a replacement. */
export function vmReinstall(args: { id: string; vmId: number }): Promise<Reinstalled> {
  return call<Reinstalled>("vm_reinstall", { ...args });
}

/** Changes a VM's CPU, vCPU and memory; `enforce` makes oned check the quotas and host capacity. */
export function vmResize(args: { id: string; vmId: number; capacity: Capacity; enforce: boolean }): Promise<ActionAccepted> {
  return call<ActionAccepted>("vm_resize", { ...args });
}

/** Renames a VM. */
export function vmRename(args: { id: string; vmId: number; name: string }): Promise<ActionAccepted> {
  return call<ActionAccepted>("vm_rename", { ...args });
}

/** Takes a system snapshot named `name`. */
export function vmSnapshotCreate(args: { id: string; vmId: number; name: string }): Promise<SnapshotCreated> {
  return call<SnapshotCreated>("vm_snapshot_create", { ...args });
}

/** Reverts a VM to one of its snapshots. */
export function vmSnapshotRevert(args: { id: string; vmId: number; snapshotId: number }): Promise<ActionAccepted> {
  return call<ActionAccepted>("vm_snapshot_revert", { ...args });
}

/** Deletes one of a VM's snapshots. */
export function vmSnapshotDelete(args: { id: string; vmId: number; snapshotId: number }): Promise<ActionAccepted> {
  return call<ActionAccepted>("vm_snapshot_delete", { ...args });
}

/** A VM's monitoring over the last `rangeSecs` seconds. */
export function vmMonitoring(args: { id: string; vmId: number; rangeSecs: number }): Promise<MonitoringSeries> {
  return call<MonitoringSeries>("vm_monitoring", { ...args });
}

/** The templates the user may instantiate. */
export function templateList(args: { id: string }): Promise<TemplateSummary[]> {
  return call<TemplateSummary[]>("template_list", { ...args });
}

/** Instantiates a template `request.count` times. */
export function vmCreate(args: { id: string; request: CreateRequest }): Promise<Created> {
  return call<Created>("vm_create", { ...args });
}

/** Calls `cb` for every `vm-changed` event; resolves to the function that stops listening. */
export async function onVmChanged(cb: (change: VmChanged) => void): Promise<() => void> {
  try {
    return await listen<VmChanged>("vm-changed", (event) => cb(event.payload));
  } catch (raw) {
    throw IpcError.from("listen vm-changed", raw);
  }
}

/** Main window: console sessions matching the audit view's filters, newest first. */
export function auditSearch(query: AuditQuery): Promise<AuditEntry[]> {
  return call<AuditEntry[]>("audit_search", { query });
}

/** Main window: checks the audit log's hash chain and every recording. */
export function auditVerify(): Promise<AuditVerification> {
  return call<AuditVerification>("audit_verify");
}

/** Main window: writes the matching sessions to the exports folder; resolves to the file. */
export function auditExport(query: AuditQuery, format: "csv" | "json"): Promise<string> {
  return call<string>("audit_export", { query, format });
}

/** Main window: copies a recording and its verification data to the exports folder. */
export function recordingExport(auditId: number): Promise<string> {
  return call<string>("recording_export", { auditId });
}

/** Main window: opens (or focuses) the replay window of a recorded session. */
export function replayOpen(auditId: number): Promise<void> {
  return call<void>("replay_open", { auditId });
}

/** Replay windows only: the session, its keystroke timeline and its chunks. */
export function replayInfo(): Promise<ReplayInfo> {
  return call<ReplayInfo>("replay_info");
}

/** Replay windows only: the screen's bytes of chunks `from..from + count` (binary, docs/IPC.md),
 * or with `keyframes` only their keyframes. */
export async function replayData(from: number, count: number, keyframes = false): Promise<ArrayBuffer> {
  const raw = await call<ArrayBuffer | number[]>("replay_data", { from, count, keyframes });
  return raw instanceof ArrayBuffer ? raw : new Uint8Array(raw).buffer;
}
