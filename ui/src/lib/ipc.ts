// The only module that talks to the Tauri core. One typed function per command; DTO types mirror
// the Rust structs in src-tauri (see docs/IPC.md); errors become IpcError with the command's name. Arguments are camelCase: Tauri maps them to the Rust parameter names.
import { invoke } from "@tauri-apps/api/core";
import { listen } from "@tauri-apps/api/event";

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

/** What the status bar shows about the app (src-tauri/commands/app.rs `AppInfo`). */
export interface AppInfo {
  version: string;
  platform: string;
}

/** How a profile proves who it is to OpenNebula. */
export type AuthModeName = "password" | "loginToken";

/** Which VMs a profile lists (one.vmpool.info's filter flag). */
export type VmFilterName = "mine" | "mineAndGroups" | "all";

/** Where a profile's secret is kept now. */
export type SecretStorage = "keyring" | "session" | "none";

/** A saved endpoint as the sidebar shows it. */
export interface ProfileSummary {
  id: string;
  name: string;
  url: string;
  user: string;
  authMode: AuthModeName;
  vmFilter: VmFilterName;
  /** The built-in demo cloud (simulator). */
  demo: boolean;
  signedIn: boolean;
  secretStorage: SecretStorage;
}

/** What the endpoint dialog sends to create or edit a profile. */
export interface ProfileInput {
  /** null creates a new profile. */
  id: string | null;
  name: string;
  url: string;
  user: string;
  authMode: AuthModeName;
  vmFilter: VmFilterName;
  pinnedSha256: string | null;
  caFile: string | null;
}

/** The badge colour family of a VM state. */
export type StateClass = "running" | "pending" | "stopped" | "failed" | "transitional" | "done";

/** One row of the VM table. */
export interface VmSummary {
  id: number;
  name: string;
  owner: string;
  group: string;
  /** The client's state label, e.g. "RUNNING". */
  state: string;
  stateClass: StateClass;
  host: string | null;
  ips: string[];
  vcpu: number | null;
  memoryMib: number | null;
  /** Has a VNC console that can be opened now. */
  console: boolean;
}

/** A profile's VM list, live or cached. */
export interface Inventory {
  profileId: string;
  /** ms since the Unix epoch of the fetch from the endpoint. */
  fetchedAt: number;
  /** true = the endpoint could not be reached and this is the cached snapshot. */
  stale: boolean;
  staleReason: string | null;
  /** Ascending id. */
  vms: VmSummary[];
}

/** What a console window needs to reach its VM through the relay. Never log it. */
export interface ConsoleGrant {
  /** ws://127.0.0.1:PORT/?token=… — single use, short-lived. */
  wsUrl: string;
  /** VNC password, if the VM has one. */
  password: string | null;
  vmId: number;
  vmName: string;
  profileName: string;
}

/** Payload of the `console-ended` event sent to the main window. */
export interface ConsoleEnded {
  vmId: number;
  profileId: string;
  reason: string;
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

/** The last stored inventory of a profile (stale), or null; instant. */
export function inventoryCached(args: { id: string }): Promise<Inventory | null> {
  return call<Inventory | null>("inventory_cached", { ...args });
}

/** Fetches a profile's VMs from its endpoint; the cached snapshot (stale) when it is unreachable. */
export function inventoryRefresh(args: { id: string }): Promise<Inventory> {
  return call<Inventory>("inventory_refresh", { ...args });
}

/** Opens (or focuses) the console window of a VM. */
export function consoleOpen(args: { id: string; vmId: number }): Promise<void> {
  return call<void>("console_open", { ...args });
}

/** Console windows only: a fresh single-use ticket for the calling window's VM. */
export function consoleConnect(): Promise<ConsoleGrant> {
  return call<ConsoleGrant>("console_connect");
}

/** Calls `cb` whenever a console session ends; resolves to the function that stops listening. */
export async function onConsoleEnded(cb: (ended: ConsoleEnded) => void): Promise<() => void> {
  try {
    return await listen<ConsoleEnded>("console-ended", (event) => cb(event.payload));
  } catch (raw) {
    throw IpcError.from("listen console-ended", raw);
  }
}

/** Payload of the `signed-out` event: the shell dropped a profile's session (expired token…). */
export interface SignedOut {
  profileId: string;
  reason: string;
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

/** oned's `one.vm.action` names. */
export type VmActionName =
  | "terminate"
  | "terminate-hard"
  | "undeploy"
  | "undeploy-hard"
  | "poweroff"
  | "poweroff-hard"
  | "reboot"
  | "reboot-hard"
  | "hold"
  | "release"
  | "stop"
  | "suspend"
  | "resume"
  | "resched"
  | "unresched";

/** An operation the details panel and the context menu offer, in the contract's order. */
export const vmOperations = [
  "poweroff",
  "poweroff-hard",
  "resume",
  "reboot",
  "reboot-hard",
  "suspend",
  "stop",
  "undeploy",
  "undeploy-hard",
  "hold",
  "release",
  "terminate",
  "terminate-hard",
  "reinstall",
  "resize",
  "rename",
  "snapshot-create",
  "snapshot-revert",
  "snapshot-delete",
] as const;

/** One of `vmOperations`. */
export type VmOperation = (typeof vmOperations)[number];

/** Whether the VM's state allows an operation; the UI words "not available while {stateLabel}" when not. */
export interface OperationState {
  op: VmOperation;
  allowed: boolean;
  /** Confirm in a dialog naming the VM first. */
  destructive: boolean;
}

/** A disk of `VmDetails`. */
export interface VmDisk {
  diskId: number | null;
  image: string | null;
  sizeMib: number | null;
  target: string | null;
  datastore: string | null;
  persistent: boolean;
  type: string | null;
}

/** A NIC of `VmDetails`. */
export interface VmNic {
  nicId: number | null;
  network: string | null;
  ip: string | null;
  ip6: string | null;
  mac: string | null;
}

/** The VM's GRAPHICS section, never its password. */
export interface VmGraphics {
  type: string;
  port: number | null;
  listen: string | null;
  keymap: string | null;
  hasPassword: boolean;
}

/** One HISTORY_RECORDS entry (epoch seconds); `action` closed it, null while open. */
export interface HistoryRecord {
  seq: number;
  host: string;
  start: number;
  end: number | null;
  action: string | null;
}

/** A system snapshot of a VM. */
export interface VmSnapshot {
  snapshotId: number;
  name: string;
  /** Epoch seconds. */
  time: number | null;
}

/** Everything the details panel shows about one VM. */
export interface VmDetails {
  profileId: string;
  id: number;
  name: string;
  owner: string;
  group: string;
  uid: number;
  gid: number;
  /** STATE name, e.g. "ACTIVE". */
  state: string;
  /** LCM_STATE name when ACTIVE, e.g. "RUNNING". */
  lcmState: string | null;
  /** Sunstone's label, e.g. "RUNNING". */
  stateLabel: string;
  stateClass: StateClass;
  host: string | null;
  ips: string[];
  cpu: number | null;
  vcpu: number | null;
  memoryMib: number | null;
  disks: VmDisk[];
  nics: VmNic[];
  graphics: VmGraphics | null;
  history: HistoryRecord[];
  snapshots: VmSnapshot[];
  /** Epoch seconds. */
  startTime: number;
  /** Epoch seconds, null when never polled. */
  lastPoll: number | null;
  /** `KEY = "value"` lines, secrets removed. */
  userTemplate: string;
  locked: boolean;
  /** Every VmOperation, in `vmOperations` order. */
  operations: OperationState[];
  /** ms since the epoch. */
  fetchedAt: number;
}

/** An operation oned accepted; core now watches the VM and sends `vm-changed`. */
export interface ActionAccepted {
  vmId: number;
}

/** The actions the bulk bar offers (any `VmActionName` is accepted by the shell). */
export type BulkActionName = VmActionName;

/** One VM's outcome of a bulk action, its error already an `IpcError`. */
export interface BulkResult {
  vmId: number;
  ok: boolean;
  error: IpcError | null;
}

interface BulkResultDto {
  vmId: number;
  ok: boolean;
  error: IpcErrorShape | null;
}

/** How a reinstall happened: in place (same id) or as a new VM replacing the old one. */
export interface Reinstalled {
  way: "recreated" | "replaced";
  /** The VM that now exists (the new one when replaced). */
  vmId: number;
  /** The VM the user asked to reinstall. */
  oldVmId: number;
}

/** New capacity for `vmResize`; null leaves a value as it is. */
export interface Capacity {
  cpu: number | null;
  vcpu: number | null;
  memoryMib: number | null;
}

/** The snapshot `vmSnapshotCreate` took. */
export interface SnapshotCreated {
  vmId: number;
  snapshotId: number;
}

/** One monitoring sample; rates are bytes/s since the previous point. */
export interface MonitoringPoint {
  /** Epoch seconds. */
  t: number;
  /** Percent, 100 = one core. */
  cpu: number | null;
  memoryMib: number | null;
  netRxBps: number | null;
  netTxBps: number | null;
  diskReadBps: number | null;
  diskWriteBps: number | null;
}

/** A VM's monitoring over a time range, oldest first; empty = no monitoring yet. */
export interface MonitoringSeries {
  vmId: number;
  points: MonitoringPoint[];
}

/** The kinds of a template's USER_INPUTS. */
export type UserInputType =
  | "text"
  | "text64"
  | "password"
  | "number"
  | "number-float"
  | "range"
  | "range-float"
  | "list"
  | "list-multiple"
  | "boolean"
  | "fixed";

/** One of a template's USER_INPUTS. */
export interface UserInput {
  name: string;
  type: UserInputType;
  mandatory: boolean;
  description: string;
  /** range, range-float. */
  min: number | null;
  max: number | null;
  /** list, list-multiple. */
  options: string[];
  default: string | null;
}

/** A VM template the create dialog offers. */
export interface TemplateSummary {
  id: number;
  name: string;
  owner: string;
  group: string;
  cpu: number | null;
  vcpu: number | null;
  memoryMib: number | null;
  description: string | null;
  /** In the template's USER_INPUTS order. */
  userInputs: UserInput[];
}

/** What `vmCreate` instantiates. */
export interface CreateRequest {
  templateId: number;
  /** "" lets OpenNebula choose; with count > 1, %i or -<index>. */
  name: string;
  /** 1..=100. */
  count: number;
  hold: boolean;
  /** USER_INPUTS values (booleans "YES"/"NO", list-multiple comma-joined); optional empty ones left out. */
  inputs: Record<string, string>;
}

/** The VMs `vmCreate` allocated. */
export interface Created {
  ids: number[];
}

/** Payload of `vm-changed`: a watched VM moved on; `vm: null` means it is gone. */
export interface VmChanged {
  profileId: string;
  vmId: number;
  vm: VmSummary | null;
  /** The VM reached a state that needs no more watching. */
  settled: boolean;
}

/** One VM's full record for the details panel. */
export function vmDetails(args: { id: string; vmId: number }): Promise<VmDetails> {
  return call<VmDetails>("vm_details", { ...args });
}

/** Runs one of oned's VM actions. */
export function vmAction(args: { id: string; vmId: number; action: VmActionName }): Promise<ActionAccepted> {
  return call<ActionAccepted>("vm_action", { ...args });
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
