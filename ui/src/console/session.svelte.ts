// One console window's connection: asks the shell for a single-use ticket, drives noVNC's RFB with
// it, and keeps the state the toolbar shows. The ticket URL and the VNC password stay in this
// object: never logged, never put in the DOM.
import RFB from "@novnc/novnc";
import { t } from "../lib/i18n/messages";
import { consoleConnect, consoleLastEnd, IpcError } from "../lib/ipc";
import type { ConsoleEnd } from "../lib/ipc-types";

/** Asks how the session ended; the app learns it just after the socket closes. */
export type EndLookup = () => Promise<ConsoleEnd | null>;

/** What the toolbar shows (also the `data-state` end-to-end tests read). */
export type ConsoleState = "connecting" | "connected" | "disconnected" | "failed";

/** Builds the RFB client; tests and the window pass noVNC's. */
export type RfbFactory = (target: HTMLElement, url: string, password: string | null) => RFB;

const noVnc: RfbFactory = (target, url, password) =>
  new RFB(target, url, password === null ? {} : { credentials: { password } });

/** A console window's session with its VM. */
export class ConsoleSession {
  state = $state<ConsoleState>("connecting");
  /** A sentence about the last change (why it failed, that it ended), or null. */
  detail = $state<string | null>(null);
  vmName = $state<string | null>(null);
  profileName = $state<string | null>(null);
  scale = $state(true);
  /** The server asked for credentials the ticket did not carry. */
  needsPassword = $state(false);
  /** The endpoint's policy records this console: shown before the first byte flows. */
  recording = $state(false);

  #rfb: RFB | null = null;
  #target: HTMLElement | null = null;
  #attempt = 0;
  readonly #factory: RfbFactory;

  readonly #lastEnd: EndLookup;

  constructor(factory: RfbFactory = noVnc, lastEnd: EndLookup = consoleLastEnd) {
    this.#factory = factory;
    this.#lastEnd = lastEnd;
  }

  /** Replaces the plain "ended" sentence with the app's reason when it has a specific one. */
  async #explainEnd(attempt: number): Promise<void> {
    for (let i = 0; i < 10; i++) {
      let end: ConsoleEnd | null;
      try {
        end = await this.#lastEnd();
      } catch {
        return;
      }
      if (attempt !== this.#attempt) return;
      if (end) {
        if (end.kind === "input_idle") {
          const minutes = Math.max(1, Math.round((end.idleSecs ?? 0) / 60));
          this.detail = t("console_ended_idle", { minutes });
        }
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** Connects into `target` with a fresh ticket; also used to reconnect. */
  async connect(target: HTMLElement): Promise<void> {
    this.#target = target;
    this.#teardown();
    const attempt = ++this.#attempt;
    this.state = "connecting";
    this.detail = null;
    this.needsPassword = false;
    let grant;
    try {
      // Tickets are single use: every attempt asks for a new one.
      grant = await consoleConnect();
    } catch (raw) {
      if (attempt !== this.#attempt) return;
      this.state = "failed";
      this.detail = IpcError.from("console_connect", raw).message;
      return;
    }
    if (attempt !== this.#attempt) return;
    this.vmName = grant.vmName;
    this.profileName = grant.profileName;
    this.recording = grant.recording;
    let rfb: RFB;
    try {
      rfb = this.#factory(target, grant.wsUrl, grant.password);
    } catch (raw) {
      this.state = "failed";
      this.detail = raw instanceof Error ? raw.message : String(raw);
      return;
    }
    rfb.scaleViewport = this.scale;
    let wasConnected = false;
    rfb.addEventListener("connect", () => {
      if (attempt !== this.#attempt) return;
      wasConnected = true;
      this.state = "connected";
      this.detail = null;
      this.needsPassword = false;
      rfb.focus({ preventScroll: true });
    });
    rfb.addEventListener("disconnect", (event) => {
      if (attempt !== this.#attempt) return;
      this.#rfb = null;
      this.needsPassword = false;
      // A security failure already said why; the disconnect that follows adds nothing.
      if (this.state === "failed") return;
      if (event.detail.clean) {
        this.state = "disconnected";
        this.detail = t("console_ended_clean");
        void this.#explainEnd(attempt);
      } else {
        this.state = "failed";
        this.detail = wasConnected ? t("console_ended_lost") : t("console_unreachable");
      }
    });
    rfb.addEventListener("credentialsrequired", () => {
      if (attempt !== this.#attempt) return;
      this.needsPassword = true;
    });
    rfb.addEventListener("securityfailure", (event) => {
      if (attempt !== this.#attempt) return;
      this.state = "failed";
      this.needsPassword = false;
      const reason = event.detail.reason;
      this.detail = reason
        ? t("console_security_failure", { reason })
        : t("console_security_failure_plain");
    });
    this.#rfb = rfb;
  }

  /** Reconnects with a fresh ticket into the same container. */
  async reconnect(): Promise<void> {
    if (this.#target) await this.connect(this.#target);
  }

  /** Answers the server's password request. */
  sendPassword(password: string): void {
    if (!this.#rfb) return;
    this.needsPassword = false;
    this.#rfb.sendCredentials({ password });
  }

  /** Sends Ctrl+Alt+Del to the VM. */
  sendCtrlAltDel(): void {
    if (this.state !== "connected") return;
    this.#rfb?.sendCtrlAltDel();
    // The click moved the keyboard focus to the toolbar; typing should reach the VM again.
    this.#rfb?.focus({ preventScroll: true });
  }

  /** Switches between scaling the screen to the window and showing it 1:1. */
  toggleScale(): void {
    this.scale = !this.scale;
    if (this.#rfb) {
      this.#rfb.scaleViewport = this.scale;
      if (this.state === "connected") this.#rfb.focus({ preventScroll: true });
    }
  }

  /** Ends the session (window closing). */
  close(): void {
    this.#attempt += 1;
    this.#teardown();
  }

  #teardown(): void {
    const rfb = this.#rfb;
    this.#rfb = null;
    if (rfb) {
      try {
        rfb.disconnect();
      } catch {
        // Already closed: nothing left to release.
      }
    }
  }
}
