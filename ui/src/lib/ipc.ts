// The only module that talks to the Tauri core. One typed function per command; DTO types mirror
// the Rust structs in src-tauri (see notes/ipc-contract.md); errors become IpcError with the
// command's name. Arguments are camelCase: Tauri maps them to the Rust parameter names.
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
] as const;

/** One of the shell's error codes. */
export type ErrorKind = (typeof errorKinds)[number];

/** A command's failure, as `{ kind, message }` from the shell plus the command's name. */
export class IpcError extends Error {
  readonly kind: ErrorKind | "unknown";
  readonly command: string;

  constructor(command: string, kind: ErrorKind | "unknown", message: string) {
    super(message);
    this.name = "IpcError";
    this.command = command;
    this.kind = kind;
  }

  /** Wraps whatever `invoke` rejected with: the shell's `{ kind, message }` or a bare string. */
  static from(command: string, raw: unknown): IpcError {
    if (raw instanceof IpcError) return raw;
    if (raw !== null && typeof raw === "object" && "kind" in raw && "message" in raw) {
      const { kind, message } = raw as { kind: unknown; message: unknown };
      return new IpcError(command, isErrorKind(kind) ? kind : "unknown", String(message));
    }
    if (raw instanceof Error) return new IpcError(command, "unknown", raw.message);
    return new IpcError(command, "unknown", String(raw));
  }
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
