// The main window's app-level state: what the shell knows about itself.
import { appInfo, IpcError, type AppInfo } from "./ipc";

/** Lifecycle of the app-level facts. */
export type AppPhase = "loading" | "ready" | "failed";

/** App-level state for the shell (header and status bar). */
export class AppState {
  info = $state<AppInfo | null>(null);
  error = $state<IpcError | null>(null);
  phase = $derived<AppPhase>(this.error ? "failed" : this.info ? "ready" : "loading");

  /** Loads the app's facts from the shell. */
  async load(): Promise<void> {
    try {
      this.info = await appInfo();
      this.error = null;
    } catch (error) {
      this.error = error instanceof IpcError ? error : IpcError.from("app_info", error);
    }
  }
}
