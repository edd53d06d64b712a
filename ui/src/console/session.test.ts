import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import type RFB from "@novnc/novnc";
import type { ConsoleEnd, ConsoleGrant } from "../lib/ipc";

// noVNC needs a DOM at import time; every test passes its own RFB factory instead.
vi.mock("@novnc/novnc", () => ({ default: class {} }));

beforeAll(() => {
  (globalThis as { window?: unknown }).window ??= globalThis;
});

afterEach(async () => {
  const { clearMocks } = await import("@tauri-apps/api/mocks");
  clearMocks();
});

/** Stands in for noVNC: records what the session asks of it; tests fire its events. */
class FakeRfb extends EventTarget {
  scaleViewport = false;
  resizeSession = false;
  viewOnly = false;
  log: string[] = [];
  constructor(
    readonly url: string,
    readonly password: string | null,
  ) {
    super();
  }
  fire(type: string, detail: unknown = {}) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
  disconnect() {
    this.log.push("disconnect");
  }
  sendCredentials(credentials: { password?: string }) {
    this.log.push(`credentials:${credentials.password}`);
  }
  sendCtrlAltDel() {
    this.log.push("ctrl-alt-del");
  }
  clipboardPasteFrom(text: string) {
    this.log.push(`paste:${text}`);
  }
  sendKey(keysym: number, code: string | null, down: boolean) {
    this.log.push(`key:${keysym.toString(16)}:${down ? "down" : "up"}${code ? `:${code}` : ""}`);
  }
  focus() {
    this.log.push("focus");
  }
}

async function setup(
  grants: (ConsoleGrant | { reject: { kind: string; message: string; params?: Record<string, unknown> } })[],
  lastEnds: (ConsoleEnd | null)[] = [],
) {
  const { mockIPC } = await import("@tauri-apps/api/mocks");
  const { ConsoleSession } = await import("./session.svelte");
  mockIPC((cmd) => {
    if (cmd === "console_last_end") return lastEnds.shift() ?? null;
    const next = grants.shift();
    if (!next) throw { kind: "internal", message: "no more grants" };
    if ("reject" in next) throw next.reject;
    return next;
  });
  const made: FakeRfb[] = [];
  const session = new ConsoleSession(
    (_target, url, password) => {
      const rfb = new FakeRfb(url, password);
      made.push(rfb);
      return rfb as unknown as RFB;
    },
    // This test's own answers: a session of an earlier test still polling cannot take them.
    () => Promise.resolve(lastEnds.shift() ?? null),
  );
  sessions.push(session);
  return { session, made };
}

const sessions: { close(): void }[] = [];
afterEach(() => {
  for (const s of sessions.splice(0)) s.close();
});

const target = {} as HTMLElement;

function grant(token: string, password: string | null = "pw"): ConsoleGrant {
  return { wsUrl: `ws://127.0.0.1:1/?token=${token}`, password, vmId: 4, vmName: "vm-4", profileName: "Demo", recording: false };
}

describe("ConsoleSession", () => {
  it("connects with the grant and follows RFB's events", async () => {
    const { session, made } = await setup([grant("a")]);
    await session.connect(target);
    expect(session.state).toBe("connecting");
    expect(session.vmName).toBe("vm-4");
    expect(made[0]).toMatchObject({ url: "ws://127.0.0.1:1/?token=a", password: "pw", scaleViewport: true });
    session.sendCtrlAltDel(); // not yet connected: ignored
    made[0]?.fire("connect");
    expect(session.state).toBe("connected");
    session.sendCtrlAltDel();
    expect(made[0]?.log).toEqual(["focus", "ctrl-alt-del", "focus"]);
    made[0]?.fire("disconnect", { clean: false });
    expect(session.state).toBe("failed");
    expect(session.detail).toBe("The connection to the VM was lost.");
  });

  it("says when the app closed the session for want of input", async () => {
    // The app learns the end just after the socket closes: the first answer is still null.
    const { session, made } = await setup([grant("a")], [null, { kind: "input_idle", reason: "no input for 3600 s: closed", idleSecs: 3600, retry: false }]);
    await session.connect(target);
    made[0]?.fire("connect");
    made[0]?.fire("disconnect", { clean: true });
    expect(session.state).toBe("disconnected");
    expect(session.detail).toBe("The console session ended.");
    await vi.waitFor(() => expect(session.detail).toBe("Closed after 60 minutes without keyboard or mouse input. Reconnect to go on."));
  });

  it("reconnects on its own when the VNC server goes away, until the VM stops running", async () => {
    vi.useFakeTimers();
    try {
      const gone = { kind: "target_closed", reason: "target closed the connection", idleSecs: null, retry: true };
      const unreachable = { kind: "target_unreachable", reason: "connection refused", idleSecs: null, retry: true };
      const { session, made } = await setup(
        [grant("a"), grant("b"), grant("c"), { reject: { kind: "noConsole", message: "VM 42 is not running (POWEROFF)." } }],
        [gone, unreachable, gone],
      );
      await session.connect(target);
      made[0]?.fire("connect");
      made[0]?.fire("disconnect", { clean: true });
      await vi.advanceTimersByTimeAsync(0);
      expect(session.reconnects).toBe(1);
      expect(session.detail).toMatch(/Reconnecting, attempt 1/);
      await vi.advanceTimersByTimeAsync(250);
      expect(made).toHaveLength(2); // a fresh ticket
      // The server is still down: the relay could not reach it.
      made[1]?.fire("disconnect", { clean: true });
      await vi.advanceTimersByTimeAsync(0);
      expect(session.reconnects).toBe(2);
      await vi.advanceTimersByTimeAsync(1000);
      expect(made).toHaveLength(3);
      made[2]?.fire("connect");
      expect(session.state).toBe("connected");
      expect(session.reconnects).toBe(0);
      expect(session.reconnected).toBe(1);
      // Once more, but now the VM is powered off: the app refuses the ticket, retries stop.
      made[2]?.fire("disconnect", { clean: true });
      await vi.advanceTimersByTimeAsync(0);
      expect(session.reconnects).toBe(1);
      await vi.advanceTimersByTimeAsync(250);
      expect(session.state).toBe("failed");
      expect(session.detail).toBe("VM 42 is not running (POWEROFF).");
      await vi.advanceTimersByTimeAsync(10_000);
      expect(made).toHaveLength(3);
    } finally {
      vi.useRealTimers();
    }
  });

  it("keeps reconnecting while the SSH host is away, and connects once it is back", async () => {
    vi.useFakeTimers();
    try {
      const gone = { kind: "target_closed", reason: "target closed the connection", idleSecs: null, retry: true };
      const away = {
        reject: {
          kind: "ssh",
          message: "SSH host 10.0.0.2:22 unreachable: connection refused",
          params: { problem: "unreachable", retry: true },
        },
      };
      const { session, made } = await setup([grant("a"), away, away, grant("d")], [gone]);
      await session.connect(target);
      made[0]?.fire("connect");
      made[0]?.fire("disconnect", { clean: true });
      await vi.advanceTimersByTimeAsync(0);
      expect(session.reconnects).toBe(1);
      await vi.advanceTimersByTimeAsync(250);
      // The app cannot reach the SSH host yet: not a failure, another try later.
      expect(session.state).toBe("disconnected");
      expect(session.detail).toMatch(/unreachable/);
      expect(session.reconnects).toBe(2);
      await vi.advanceTimersByTimeAsync(5000);
      expect(session.reconnects).toBe(3);
      await vi.advanceTimersByTimeAsync(5000);
      expect(made).toHaveLength(2);
      made[1]?.fire("connect");
      expect(session.state).toBe("connected");
      expect(session.reconnected).toBe(1);
    } finally {
      vi.useRealTimers();
    }
  });

  it("stops at an SSH refusal that needs the user (a changed host key)", async () => {
    vi.useFakeTimers();
    try {
      const gone = { kind: "target_closed", reason: "target closed the connection", idleSecs: null, retry: true };
      const changed = {
        reject: { kind: "ssh", message: "host key CHANGED", params: { problem: "hostKeyChanged", retry: false } },
      };
      const { session, made } = await setup([grant("a"), changed], [gone]);
      await session.connect(target);
      made[0]?.fire("connect");
      made[0]?.fire("disconnect", { clean: true });
      await vi.advanceTimersByTimeAsync(300);
      expect(session.state).toBe("failed");
      expect(session.detail).toBe("host key CHANGED");
      await vi.advanceTimersByTimeAsync(10_000);
      expect(made).toHaveLength(1);
    } finally {
      vi.useRealTimers();
    }
  });

  it("shares the clipboard both ways only when the VM's setting says so, without echoes", async () => {
    const { mockIPC } = await import("@tauri-apps/api/mocks");
    const { ConsoleSession } = await import("./session.svelte");
    mockIPC(() => grant("a"));
    let local: string | null = "from laptop";
    const written: string[] = [];
    const made: FakeRfb[] = [];
    const session = new ConsoleSession(
      (_t, url, password) => {
        const rfb = new FakeRfb(url, password);
        made.push(rfb);
        return rfb as unknown as RFB;
      },
      () => Promise.resolve(null),
      { read: () => Promise.resolve(local), write: (t) => (written.push(t), Promise.resolve()) },
    );
    sessions.push(session);
    await session.connect(target);
    made[0]?.fire("connect");
    await session.syncClipboard();
    made[0]?.fire("clipboard", { text: "from vm" });
    expect(made[0]?.log.filter((l) => l.startsWith("paste"))).toEqual([]);
    expect(written).toEqual([]);
    session.setClipboard(true);
    await vi.waitFor(() => expect(made[0]?.log.filter((l) => l.startsWith("paste"))).toEqual(["paste:from laptop"]));
    await session.syncClipboard(); // unchanged: not sent again
    made[0]?.fire("clipboard", { text: "from vm" });
    expect(written).toEqual(["from vm"]);
    local = "from vm"; // the app wrote it: focusing again does not send it back
    await session.syncClipboard();
    local = "new text";
    await session.syncClipboard();
    expect(made[0]?.log.filter((l) => l.startsWith("paste"))).toEqual(["paste:from laptop", "paste:new text"]);
  });

  it("keeps the plain sentence for other clean ends", async () => {
    const { session, made } = await setup([grant("a")], [{ kind: "client_closed", reason: "client closed (code 1000)", idleSecs: null, retry: false }]);
    await session.connect(target);
    made[0]?.fire("disconnect", { clean: true });
    await new Promise((r) => setTimeout(r, 50));
    expect(session.detail).toBe("The console session ended.");
  });

  it("keeps the security failure's reason over the disconnect that follows", async () => {
    const { session, made } = await setup([grant("a")]);
    await session.connect(target);
    made[0]?.fire("securityfailure", { status: 1, reason: "Authentication failed" });
    made[0]?.fire("disconnect", { clean: false });
    expect(session.state).toBe("failed");
    expect(session.detail).toBe("The VNC server refused the connection: Authentication failed");
  });

  it("asks for a password when RFB needs one and sends it", async () => {
    const { session, made } = await setup([grant("a", null)]);
    await session.connect(target);
    expect(made[0]?.password).toBeNull();
    made[0]?.fire("credentialsrequired", { types: ["password"] });
    expect(session.needsPassword).toBe(true);
    session.sendPassword("typed");
    expect(session.needsPassword).toBe(false);
    expect(made[0]?.log).toEqual(["credentials:typed"]);
  });

  it("reconnects with a fresh ticket and ignores the old connection's events", async () => {
    const { session, made } = await setup([grant("a"), grant("b")]);
    await session.connect(target);
    made[0]?.fire("connect");
    await session.reconnect();
    expect(made.map((r) => r.url)).toEqual(["ws://127.0.0.1:1/?token=a", "ws://127.0.0.1:1/?token=b"]);
    expect(made[0]?.log).toEqual(["focus", "disconnect"]);
    made[0]?.fire("disconnect", { clean: true });
    expect(session.state).toBe("connecting");
    made[1]?.fire("connect");
    expect(session.state).toBe("connected");
  });

  it("fails with the shell's message when no grant is given", async () => {
    const { session, made } = await setup([{ reject: { kind: "noConsole", message: "VM 4 is not running." } }]);
    await session.connect(target);
    expect(session.state).toBe("failed");
    expect(session.detail).toBe("VM 4 is not running.");
    expect(made).toEqual([]);
  });

  it("switches scale modes and view-only on the live connection, and sends key steps", async () => {
    const { session, made } = await setup([grant("a")]);
    await session.connect(target);
    made[0]?.fire("connect");
    session.setScaleMode("off");
    expect(session.scaleMode).toBe("off");
    expect(made[0]?.scaleViewport).toBe(false);
    session.setScaleMode("remote");
    expect(made[0]).toMatchObject({ scaleViewport: true, resizeSession: true });
    session.toggleViewOnly();
    expect(made[0]?.viewOnly).toBe(true);
    session.sendSteps([{ keysym: 0xffe3, down: true }]);
    expect(made[0]?.log.filter((l) => l.startsWith("key"))).toEqual([]);
    session.toggleViewOnly();
    session.sendSteps([
      { keysym: 0xffe3, code: "ControlLeft", down: true },
      { keysym: 0xffe3, code: "", down: false },
    ]);
    expect(made[0]?.log.filter((l) => l.startsWith("key"))).toEqual(["key:ffe3:down:ControlLeft", "key:ffe3:up"]);
  });
});
