// The window's error banner: the latest failure a user should see, until dismissed.
import { IpcError } from "./ipc";

/** What the banner shows. */
export interface Notice {
  message: string;
  kind: IpcError["kind"];
  /** The whole error, for wording it from the catalogue. */
  error: IpcError;
}

/** The window's current error, shown in a dismissable banner. */
export class ErrorBanner {
  current = $state<Notice | null>(null);

  /** Shows `error` (an IpcError or anything thrown) in place of the previous one. */
  show(error: unknown, command = "ui"): void {
    const ipc = IpcError.from(command, error);
    this.current = { message: ipc.message, kind: ipc.kind, error: ipc };
  }

  /** Hides the banner. */
  dismiss(): void {
    this.current = null;
  }
}
