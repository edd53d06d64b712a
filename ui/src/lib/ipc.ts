// The only module that talks to the Tauri core. One typed function per command; DTO types mirror
// the Rust structs in src-tauri; errors become IpcError with the command's name.
import { invoke } from "@tauri-apps/api/core";

/** Stable error codes the shell may send (src-tauri/error.rs `ErrorKind`). */
export type ErrorKind = "internal";

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
    if (raw !== null && typeof raw === "object" && "kind" in raw && "message" in raw) {
      const { kind, message } = raw as { kind: unknown; message: unknown };
      return new IpcError(command, isErrorKind(kind) ? kind : "unknown", String(message));
    }
    if (raw instanceof Error) return new IpcError(command, "unknown", raw.message);
    return new IpcError(command, "unknown", String(raw));
  }
}

function isErrorKind(value: unknown): value is ErrorKind {
  return value === "internal";
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

/** The app's version and platform. */
export function appInfo(): Promise<AppInfo> {
  return call<AppInfo>("app_info");
}
