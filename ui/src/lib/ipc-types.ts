// The DTOs of the IPC contract (docs/IPC.md): typed mirrors of the Rust views in
// crates/core/src/view. Only types and constant lists: ipc.ts re-exports them.
import type { IpcError } from "./ipc";

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
  /** Console sessions of this endpoint are recorded. */
  recordConsoles: boolean;
  /** How its consoles reach the hypervisors. */
  consoleTransport: ConsoleTransport;
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
  /** Confirms a plain http:// URL to another machine (secrets cross the network in clear). */
  allowPlainHttp?: boolean;
  /** Record the endpoint's console sessions (screen, keys, clicks). */
  recordConsoles?: boolean;
  /** How its consoles reach the hypervisors; absent keeps the profile's. */
  consoleTransport?: ConsoleTransport;
}

/** How to authenticate to an SSH host. */
export type SshAuthKind = "agent" | "key" | "password";

/** How an endpoint's consoles reach the hypervisors: directly, or through an SSH host. */
export type ConsoleTransport =
  | { kind: "direct" }
  | {
      kind: "ssh";
      /** null = the endpoint URL's host. */
      host: string | null;
      port: number;
      user: string;
      /** Jump hosts before it, user@host[:port], in order. */
      jumps: string[];
      auth: SshAuthKind;
      identityFile: string | null;
    };

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
  /** Has a SPICE console that can be handed to remote-viewer now. */
  spice: boolean;
}

/** A SPICE console handed to remote-viewer (`console_spice_open`). */
export interface SpiceHandoff {
  vmId: number;
  vmName: string;
  /** The remote-viewer program that was started. */
  viewer: string;
  /** True when it connected before the call returned (false: still starting). */
  connected: boolean;
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
  /** The endpoint's policy records this console. */
  recording: boolean;
}

/** Payload of the `console-ended` event sent to the main window. */
export interface ConsoleEnded {
  vmId: number;
  profileId: string;
  reason: string;
  /** The relay's stable name of the end, e.g. `input_idle`. */
  kind: string;
}

/** How a console window's last session ended (`console_last_end`). */
export interface ConsoleEnd {
  kind: string;
  reason: string;
  /** For `input_idle`: the timeout in seconds. */
  idleSecs: number | null;
  /** The VNC server went away or could not be reached: the window reconnects on its own. */
  retry: boolean;
}

/** Payload of the `signed-out` event: the shell dropped a profile's session (expired token…). */
export interface SignedOut {
  profileId: string;
  reason: string;
}


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

/** One console session of the audit log. */
export interface AuditEntry {
  id: number;
  profileId: string;
  user: string;
  vmId: number;
  vmName: string;
  target: string;
  startedAtMs: number;
  endedAtMs: number | null;
  bytesToClient: number;
  bytesToServer: number;
  endReason: string | null;
  recorded: boolean;
  recordingAvailable: boolean;
  recordingHead: string | null;
}

/** The audit view's filters; a field left out matches all. */
export interface AuditQuery {
  profileId?: string;
  vmId?: number;
  user?: string;
  sinceMs?: number;
  untilMs?: number;
  typed?: string;
  limit?: number;
}

/** What `audit_verify` found. */
export interface AuditVerification {
  intact: boolean;
  events: number;
  rows: number;
  head: string | null;
  firstBreak: { link: string; what: string } | null;
  recordingsChecked: number;
  recordingBreaks: { auditId: number; path: string; link: string; what: string }[];
}

/** One key event of a recording's timeline (field names as `onedeck-cli recording keys --json`). */
export interface KeyStroke {
  t_ms: number;
  down: boolean;
  keysym: number;
  text: string | null;
  key: string;
  modifiers: string[];
}

/** What a replay window shows around the screen. */
export interface ReplayInfo {
  entry: AuditEntry;
  durationMs: number;
  capped: boolean;
  keys: KeyStroke[];
  clicks: { tMs: number; buttons: number; x: number; y: number }[];
  notes: string[];
  chunks: { seq: number; firstMs: number; lastMs: number; keyframe: boolean }[];
}

/** One key event of a plan (X11 keysym, pressed or released). */
export interface KeyStep {
  keysym: number;
  /** The physical key (`KeyboardEvent.code`, e.g. `KeyY`; empty when none): noVNC sends its
   * scancode to servers that take QEMU's extended key events. */
  code?: string;
  down: boolean;
}

/** One item of the console's send-key menu. */
export interface SendKey {
  /** Stable name: the item's test id is `sendkey-<name>`. */
  name: string;
  label: string;
  steps: KeyStep[];
}

/** The console toolbar's keyboard menus (`console_keys`). */
export interface ConsoleKeys {
  layouts: { code: string; name: string }[];
  sendKeys: SendKey[];
}

/** How to type a text on a layout (`console_typing_plan`): events per character, and what the
 * layout cannot type (the plan must not be sent while there is any). */
export interface TypingPlan {
  layout: string;
  chars: KeyStep[][];
  untypable: { index: number; text: string }[];
}

/** A VM's console window settings, remembered across restarts (`console_settings`). */
export interface ConsoleSettings {
  scaleMode: "off" | "fit" | "remote";
  layout: string;
  pasteRate: number;
  window: { width: number; height: number } | null;
  /** A recorded combination: keysyms, the last one pressed while the others are held. */
  customKeys: number[];
  /** Share the clipboard with the VM (off by default). */
  clipboard: boolean;
}

/** A row as `inventory_sync` sends it (docs/IPC.md, "Inventory"):
 * `[id, name, owner, group, state, stateClass, host, ips, vcpu, memoryMib, flags]`, flags bit 0 = VNC
 * console, bit 1 = SPICE console. */
export type CompactVmRow = [
  number,
  string,
  string,
  string,
  string,
  StateClass,
  string | null,
  string[],
  number | null,
  number | null,
  number,
];

/** What to do to the rows of one profile: replace them all (`reset`) or add/replace `rows` and drop `removed`. */
export interface InventoryDelta {
  profileId: string;
  /** Pass back as `since` on the next sync. */
  revision: number;
  reset: boolean;
  rows: CompactVmRow[];
  removed: number[];
  /** ms since the Unix epoch of the fetch from the endpoint (0: unknown). */
  fetchedAt: number;
  /** true = the endpoint could not be reached: the rows are the cached (or last) ones. */
  stale: boolean;
  staleReason: string | null;
  /** false for a page of a load that is still running. */
  done: boolean;
  /** VMs received so far in this load. */
  loaded: number;
  /** A page's number (from 1); on the last delta, how many pages came before it. */
  pages: number;
}

/** A column of the VM table. */
export type Column = "id" | "name" | "owner" | "group" | "state" | "host" | "ips" | "vcpu" | "memory" | "endpoint";

/** How a table is sorted, narrowed and laid out; remembered per endpoint and for "All endpoints". */
export interface TableView {
  sort: Column;
  dir: "asc" | "desc";
  states: string[];
  owners: string[];
  hosts: string[];
  endpoints: string[];
  columns: Column[];
}
