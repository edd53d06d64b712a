// One console window's connection: asks the shell for a single-use ticket, drives noVNC's RFB with
// it, and keeps the state the toolbar shows. The ticket URL and the VNC password stay in this
// object: never logged, never put in the DOM.
import RFB from "@novnc/novnc";
import { t } from "../lib/i18n/messages";
import { consoleClipboardRead, consoleClipboardWrite, consoleConnect, consoleLastEnd, IpcError } from "../lib/ipc";
import type { ConsoleEnd, KeyStep } from "../lib/ipc-types";

/** Asks how the session ended; the app learns it just after the socket closes. */
export type EndLookup = () => Promise<ConsoleEnd | null>;

/** What the toolbar shows (also the `data-state` end-to-end tests read). */
export type ConsoleState = "connecting" | "connected" | "disconnected" | "failed";

/** How the screen fits the window: 1:1 with scrollbars, scaled to fit, or the guest resized to
 * the window (when its server supports it; scaled to fit otherwise). */
export type ScaleMode = "off" | "fit" | "remote";

/** Builds the RFB client; tests and the window pass noVNC's. */
export type RfbFactory = (target: HTMLElement, url: string, password: string | null) => RFB;

const noVnc: RfbFactory = (target, url, password) =>
  new RFB(target, url, password === null ? {} : { credentials: { password } });

/** The local clipboard, as the window may use it (tests pass a fake). */
export interface ClipboardAccess {
  read: () => Promise<string | null>;
  write: (text: string) => Promise<void>;
}

const ipcClipboard: ClipboardAccess = { read: consoleClipboardRead, write: consoleClipboardWrite };

/** Waits before automatic reconnection attempt `n` (from 1): quick at first, so a console is
 * back within about a second of its VNC server, then every 5 s. */
export function reconnectDelay(n: number): number {
  if (n <= 1) return 250;
  return n <= 60 ? 1000 : 5000;
}

/** Automatic reconnection stops after this many attempts (about 8 minutes). */
export const MAX_RECONNECTS = 150;

/** A console window's session with its VM. */
export class ConsoleSession {
  state = $state<ConsoleState>("connecting");
  /** A sentence about the last change (why it failed, that it ended), or null. */
  detail = $state<string | null>(null);
  vmName = $state<string | null>(null);
  profileName = $state<string | null>(null);
  scaleMode = $state<ScaleMode>("fit");
  /** Input is not sent to the VM (the screen still updates). */
  viewOnly = $state(false);
  /** The guest's screen size, once known. */
  resolution = $state<{ width: number; height: number } | null>(null);
  /** Automatic reconnection attempts since the VNC server went away (0: none under way). */
  reconnects = $state(0);
  /** How many times the session came back on its own in this window. */
  reconnected = $state(0);
  /** The clipboard is shared with the VM (the VM's setting). */
  clipboard = $state(false);
  /** The server asked for credentials the ticket did not carry. */
  needsPassword = $state(false);
  /** The endpoint's policy records this console: shown before the first byte flows. */
  recording = $state(false);

  #rfb: RFB | null = null;
  #target: HTMLElement | null = null;
  #attempt = 0;
  #canvasWatch: MutationObserver | null = null;
  #retryTimer: ReturnType<typeof setTimeout> | null = null;
  readonly #factory: RfbFactory;

  readonly #lastEnd: EndLookup;
  readonly #clip: ClipboardAccess;
  /** The local text last sent to the VM, so focusing the window again does not resend it. */
  #clipSent: string | null = null;

  constructor(factory: RfbFactory = noVnc, lastEnd: EndLookup = consoleLastEnd, clip: ClipboardAccess = ipcClipboard) {
    this.#factory = factory;
    this.#lastEnd = lastEnd;
    this.#clip = clip;
  }

  /** Turns clipboard sharing on or off (the caller remembers the setting). */
  setClipboard(on: boolean): void {
    this.clipboard = on;
    this.#clipSent = null;
    if (on) void this.syncClipboard();
  }

  /** Sends the local clipboard's text to the VM if it changed since the last time (called when
   * the window gets focus, and once connected). */
  async syncClipboard(): Promise<void> {
    if (!this.clipboard || this.state !== "connected" || this.viewOnly) return;
    let text: string | null;
    try {
      text = await this.#clip.read();
    } catch {
      return; // sharing turned off meanwhile, or no clipboard: nothing to send
    }
    if (text === null || text === this.#clipSent || !this.#rfb) return;
    this.#rfb.clipboardPasteFrom(text);
    this.#clipSent = text;
  }

  /** Learns how the session ended: says so when the app has a specific reason, and reconnects
   * on its own when the VNC server went away (the app decides which ends those are). */
  async #afterEnd(attempt: number): Promise<void> {
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
        if (end.retry) this.#scheduleReconnect(attempt);
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    // The app never said: a session that was up is retried, a first connection is not.
    if (this.reconnects > 0) this.#scheduleReconnect(attempt);
  }

  #scheduleReconnect(attempt: number): void {
    if (attempt !== this.#attempt || !this.#target) return;
    if (this.reconnects >= MAX_RECONNECTS) {
      this.state = "failed";
      this.detail = t("console_reconnect_gave_up", { attempts: this.reconnects });
      this.reconnects = 0;
      return;
    }
    this.reconnects += 1;
    this.state = "disconnected";
    this.detail = t("console_reconnecting", { attempt: this.reconnects });
    const target = this.#target;
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = null;
      if (attempt === this.#attempt) void this.#connect(target, true);
    }, reconnectDelay(this.reconnects));
  }

  #cancelRetry(): void {
    if (this.#retryTimer !== null) clearTimeout(this.#retryTimer);
    this.#retryTimer = null;
  }

  /** Connects into `target` with a fresh ticket; also used to reconnect. */
  async connect(target: HTMLElement): Promise<void> {
    this.reconnects = 0;
    await this.#connect(target, false);
  }

  async #connect(target: HTMLElement, automatic: boolean): Promise<void> {
    this.#target = target;
    this.#cancelRetry();
    this.#teardown();
    const attempt = ++this.#attempt;
    this.state = "connecting";
    if (!automatic) this.detail = null;
    this.needsPassword = false;
    let grant;
    try {
      // Tickets are single use: every attempt asks for a new one. The app checks the VM is
      // still running first: a refusal (powered off, migrated away) ends the retries.
      grant = await consoleConnect();
    } catch (raw) {
      if (attempt !== this.#attempt) return;
      const error = IpcError.from("console_connect", raw);
      // The app marks what is worth another try (an SSH host that is away); a reconnection
      // keeps trying then, with the same backoff, and says why meanwhile.
      if (automatic && error.params.retry === true) {
        this.#scheduleReconnect(attempt);
        this.detail = `${error.message} — ${this.detail ?? ""}`;
        return;
      }
      this.state = "failed";
      this.detail = error.message;
      this.reconnects = 0;
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
    this.#applyView(rfb);
    let wasConnected = false;
    rfb.addEventListener("connect", () => {
      if (attempt !== this.#attempt) return;
      wasConnected = true;
      this.state = "connected";
      this.detail = null;
      if (this.reconnects > 0) this.reconnected += 1;
      this.reconnects = 0;
      this.needsPassword = false;
      this.#watchCanvas(target);
      rfb.focus({ preventScroll: true });
      void this.syncClipboard();
    });
    rfb.addEventListener("clipboard", (event) => {
      if (attempt !== this.#attempt || !this.clipboard) return;
      // What the VM copied; remembered as sent so it does not bounce back on the next focus.
      this.#clipSent = event.detail.text;
      void this.#clip.write(event.detail.text).catch(() => undefined);
    });
    rfb.addEventListener("disconnect", (event) => {
      if (attempt !== this.#attempt) return;
      this.#rfb = null;
      this.needsPassword = false;
      // A security failure already said why; the disconnect that follows adds nothing.
      if (this.state === "failed") return;
      if (event.detail.clean) {
        this.state = "disconnected";
        if (this.reconnects === 0) this.detail = t("console_ended_clean");
      } else {
        this.state = "failed";
        if (this.reconnects === 0) {
          this.detail = wasConnected ? t("console_ended_lost") : t("console_unreachable");
        }
      }
      void this.#afterEnd(attempt);
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

  /** Sends key events (a send-key item, a recorded combination). */
  sendSteps(steps: KeyStep[]): void {
    if (this.state !== "connected" || this.viewOnly || !this.#rfb) return;
    for (const s of steps) this.#rfb.sendKey(s.keysym, s.code || null, s.down);
    this.#rfb.focus({ preventScroll: true });
  }

  /** Sends one key event (a paste in progress); false when nothing can be sent now. */
  sendStep(step: KeyStep): boolean {
    if (this.state !== "connected" || this.viewOnly || !this.#rfb) return false;
    this.#rfb.sendKey(step.keysym, step.code || null, step.down);
    return true;
  }

  /** Chooses how the screen fits the window. */
  setScaleMode(mode: ScaleMode): void {
    this.scaleMode = mode;
    if (this.#rfb) {
      this.#applyView(this.#rfb);
      if (this.state === "connected") this.#rfb.focus({ preventScroll: true });
    }
  }

  /** Stops (or resumes) sending input to the VM. */
  toggleViewOnly(): void {
    this.viewOnly = !this.viewOnly;
    if (this.#rfb) this.#rfb.viewOnly = this.viewOnly;
  }

  /** The screen as a PNG (what the canvas shows), or null before the first frame. */
  async screenshot(): Promise<Blob | null> {
    const target = this.#target;
    const canvas = target && typeof target.querySelector === "function" ? target.querySelector("canvas") : null;
    if (!canvas || canvas.width === 0) return null;
    return new Promise((resolve) => canvas.toBlob((b) => resolve(b), "image/png"));
  }

  #applyView(rfb: RFB): void {
    rfb.viewOnly = this.viewOnly;
    rfb.scaleViewport = this.scaleMode !== "off";
    rfb.resizeSession = this.scaleMode === "remote";
    rfb.clipViewport = false;
  }

  /** Follows the canvas's size: noVNC resizes it when the guest's screen changes. */
  #watchCanvas(target: HTMLElement): void {
    this.#canvasWatch?.disconnect();
    const canvas = typeof target.querySelector === "function" ? target.querySelector("canvas") : null;
    if (!canvas) return;
    const read = () => {
      this.resolution = canvas.width > 0 ? { width: canvas.width, height: canvas.height } : null;
    };
    read();
    if (typeof MutationObserver === "undefined") return;
    this.#canvasWatch = new MutationObserver(read);
    this.#canvasWatch.observe(canvas, { attributes: true, attributeFilter: ["width", "height"] });
  }

  /** Ends the session (window closing). */
  close(): void {
    this.#attempt += 1;
    this.#cancelRetry();
    this.reconnects = 0;
    this.#teardown();
  }

  #teardown(): void {
    this.#canvasWatch?.disconnect();
    this.#canvasWatch = null;
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
