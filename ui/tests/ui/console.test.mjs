// The console window (console.html) in headless Chromium: IPC mocked, noVNC talking to a real
// (tiny) VNC server over a WebSocket on 127.0.0.1.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:net";
import { ipcCalls, openApp, screenshot, serveDist } from "./harness.mjs";
import { startVncServer } from "./vnc-server.mjs";

let server;
before(async () => {
  server = await serveDist();
});
after(async () => {
  await server?.close();
});

const XK_CONTROL_L = 0xffe3;
const XK_ALT_L = 0xffe9;
const XK_DELETE = 0xffff;

function grant(ticket, password) {
  return { wsUrl: ticket.wsUrl, password, vmId: 42, vmName: "web-01", profileName: "Demo" };
}

/** Polls a condition on the server side (what the VNC server saw) for up to 5 s. */
async function until(condition) {
  for (let i = 0; i < 100 && !condition(); i++) await new Promise((ok) => setTimeout(ok, 50));
}

async function consoleState(page) {
  return page.getByTestId("console-state").getAttribute("data-state");
}

async function waitForState(page, state) {
  await page.locator(`[data-testid="console-state"][data-state="${state}"]`).waitFor({ timeout: 10_000 });
}

/** Asserts that no secret reached the DOM or the console. */
async function assertNoLeak(page, messages, secrets) {
  const html = await page.content();
  for (const secret of secrets) {
    assert.equal(html.includes(secret), false, "a secret is in the DOM");
    assert.equal(
      messages.some((m) => m.includes(secret)),
      false,
      "a secret is in the console",
    );
  }
}

test("connects with the grant's password, sends Ctrl+Alt+Del and reconnects with a fresh ticket", async () => {
  const vnc = await startVncServer({ password: "s3cret-pw" });
  const first = vnc.ticket();
  const second = vnc.ticket();
  const { browser, page, problems, messages } = await openApp(`${server.url}console.html`, {
    console_connect: { sequence: [grant(first, "s3cret-pw"), grant(second, "s3cret-pw")] },
  });
  try {
    await waitForState(page, "connected");
    assert.equal(await page.title(), "web-01 — OneDeck");
    assert.equal(await page.getByTestId("console-vm-name").innerText(), "web-01");
    assert.equal(await page.getByTestId("console-screen").locator("canvas").count(), 1, "noVNC draws in the container");
    assert.equal(await page.getByTestId("console-scale-mode").inputValue(), "fit", "scaled by default");
    await page.getByTestId("console-resolution").waitFor();
    assert.equal(await page.getByTestId("console-resolution").innerText(), "64×48");
    // The server's Raw update is drawn: its top-right pixel is (252, 107, 0).
    const canvas = page.getByTestId("console-screen").locator("canvas");
    await page.waitForFunction(() => {
      const c = document.querySelector('[data-testid="console-screen"] canvas');
      const pixel = c?.getContext("2d")?.getImageData(63, 0, 1, 1).data;
      return pixel && pixel[0] === 252 && pixel[1] === 107 && pixel[2] === 0;
    });
    assert.ok((await canvas.boundingBox()).width > 300, "scaled up to the window");

    await page.getByTestId("console-ctrl-alt-del").click();
    await until(() => vnc.seen.keys.length >= 6);
    assert.deepEqual(vnc.seen.keys, [
      { down: true, keysym: XK_CONTROL_L },
      { down: true, keysym: XK_ALT_L },
      { down: true, keysym: XK_DELETE },
      { down: false, keysym: XK_DELETE },
      { down: false, keysym: XK_ALT_L },
      { down: false, keysym: XK_CONTROL_L },
    ]);
    await screenshot(page, "console-connected");

    await page.getByTestId("console-reconnect").click();
    await waitForState(page, "connected");
    await page.waitForFunction(() => window.__ipcCalls.filter((c) => c.cmd === "console_connect").length === 2);
    assert.equal((await ipcCalls(page, "console_connect")).length, 2, "every attempt asks for a new ticket");
    assert.equal(vnc.seen.connections, 2);
    assert.deepEqual(vnc.seen.refusedTickets, [], "no ticket was used twice");
    assert.equal(vnc.seen.authFailures, 0);

    await page.getByTestId("console-scale-mode").selectOption("off");
    await page.waitForFunction(
      () => document.querySelector('[data-testid="console-screen"] canvas')?.getBoundingClientRect().width === 64,
    );

    await assertNoLeak(page, messages, ["s3cret-pw", first.token, second.token]);
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
    await vnc.close();
  }
});

const XK_SHIFT_L = 0xffe1;
const XK_F2 = 0xffbf;
const down = (keysym) => ({ keysym, down: true });
const up = (keysym) => ({ keysym, down: false });
const tap = (keysym, mods = []) => [...mods.map(down), down(keysym), up(keysym), ...[...mods].reverse().map(up)];

test("the send-key menu, paste as keystrokes (refused for what the layout cannot type) and view-only", async () => {
  const vnc = await startVncServer({ password: "pw-2" });
  const f2 = tap(XK_F2, [XK_CONTROL_L, XK_ALT_L]);
  const typed = [tap(0x48, [XK_SHIFT_L]), tap(0x69), tap(0x21, [XK_SHIFT_L])];
  const { browser, page, problems } = await openApp(`${server.url}console.html`, {
    console_connect: grant(vnc.ticket(), "pw-2"),
    console_keys: {
      layouts: [
        { code: "us", name: "English (US)" },
        { code: "de", name: "German" },
      ],
      sendKeys: [
        { name: "ctrl-alt-f2", label: "Ctrl+Alt+F2", steps: f2 },
        { name: "esc", label: "Esc", steps: tap(0xff1b) },
      ],
    },
    console_settings: { scaleMode: "fit", layout: "us", pasteRate: 100, window: null, customKeys: [] },
    console_settings_save: null,
    console_typing_plan: {
      by: "text",
      cases: {
        "Hi!": { layout: "us", chars: typed, untypable: [] },
        "a€": { layout: "us", chars: [tap(0x61)], untypable: [{ index: 1, text: "€" }] },
      },
    },
  });
  try {
    await waitForState(page, "connected");
    await page.getByTestId("console-sendkey").click();
    await page.getByTestId("sendkey-ctrl-alt-f2").click();
    await until(() => vnc.seen.keys.length >= 6);
    assert.deepEqual(vnc.seen.keys, f2, "the item's exact sequence");
    assert.equal(await page.getByTestId("sendkey-esc").count(), 0, "the menu closes");

    await page.getByTestId("console-paste").click();
    await page.getByTestId("paste-text").fill("a€");
    await page.getByTestId("paste-send").click();
    await page.getByTestId("paste-untypable").waitFor();
    assert.match(await page.getByTestId("paste-untypable").innerText(), /€/);
    assert.equal(vnc.seen.keys.length, 6, "nothing is sent while a character cannot be typed");

    await page.getByTestId("paste-text").fill("Hi!");
    await page.getByTestId("paste-send").click();
    await page.locator('[data-testid="paste-progress"][data-state="done"]').waitFor({ timeout: 10_000 });
    assert.equal(await page.getByTestId("paste-progress").getAttribute("data-sent"), "3");
    await until(() => vnc.seen.keys.length >= 6 + 14);
    assert.deepEqual(vnc.seen.keys.slice(6), typed.flat(), "Shift is held for H and !");
    const calls = await ipcCalls(page, "console_typing_plan");
    assert.deepEqual(calls.at(-1)?.args, { text: "Hi!", layout: "us" });

    // A combination of one's own: recorded, remembered for the VM, then in the menu.
    await page.getByTestId("paste-close").click();
    await page.getByTestId("console-sendkey").click();
    await page.getByTestId("sendkey-record").click();
    await page.getByTestId("sendkey-mod-ctrl").check();
    await page.getByTestId("sendkey-mod-alt").check();
    await page.getByTestId("sendkey-key").selectOption({ label: "F7" });
    await page.getByTestId("sendkey-save").click();
    await page.waitForFunction(() => window.__ipcCalls.some((c) => c.cmd === "console_settings_save"));
    const saved = (await ipcCalls(page, "console_settings_save")).at(-1)?.args.settings;
    assert.deepEqual(saved.customKeys, [XK_CONTROL_L, XK_ALT_L, 0xffc4]);
    const before = vnc.seen.keys.length;
    await page.getByTestId("console-sendkey").click();
    assert.equal(await page.getByTestId("sendkey-custom").innerText(), "Ctrl+Alt+F7");
    await page.getByTestId("sendkey-custom").click();
    await until(() => vnc.seen.keys.length >= before + 6);
    assert.deepEqual(vnc.seen.keys.slice(before), tap(0xffc4, [XK_CONTROL_L, XK_ALT_L]));
    // The scale mode is remembered too.
    await page.getByTestId("console-scale-mode").selectOption("off");
    await page.waitForFunction(
      () => window.__ipcCalls.filter((c) => c.cmd === "console_settings_save").at(-1)?.args.settings.scaleMode === "off",
    );

    await page.getByTestId("console-paste").click();
    await page.getByTestId("console-view-only").click();
    assert.equal(await page.getByTestId("console-view-only").getAttribute("aria-pressed"), "true");
    assert.equal(await page.getByTestId("console-sendkey").isDisabled(), true);
    assert.equal(await page.getByTestId("paste-send").isDisabled(), true);
    await screenshot(page, "console-paste");
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
    await vnc.close();
  }
});

test("a screenshot hands the app the canvas as a PNG, to save or to copy", async () => {
  const vnc = await startVncServer({ password: "pw-4" });
  const { browser, page, problems } = await openApp(
    `${server.url}console.html`,
    { console_connect: grant(vnc.ticket(), "pw-4") },
    {
      initScript: `queueMicrotask(() => window.__setHandler("console_screenshot", (png) => {
        window.__shots = [...(window.__shots ?? []), Array.from(png.slice(0, 24))];
        return window.__shots.length === 1 ? "/home/u/Pictures/web-01.png" : null;
      }));`,
    },
  );
  try {
    await waitForState(page, "connected");
    await page.getByTestId("console-resolution").waitFor();
    await page.getByTestId("console-screenshot").click();
    await page.getByTestId("console-screenshot-result").waitFor();
    assert.equal(await page.getByTestId("console-screenshot-result").innerText(), "Saved /home/u/Pictures/web-01.png");
    await page.getByTestId("console-screenshot-copy").click();
    await page.waitForFunction(() => window.__shots?.length === 2);
    const shots = await page.evaluate(() => window.__shots);
    for (const head of shots) {
      assert.deepEqual(head.slice(0, 8), [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], "a PNG");
      const be = (i) => (head[i] << 24) | (head[i + 1] << 16) | (head[i + 2] << 8) | head[i + 3];
      assert.deepEqual([be(16), be(20)], [64, 48], "the canvas's size");
    }
    assert.equal((await ipcCalls(page, "console_screenshot")).length, 2);
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
    await vnc.close();
  }
});

test("a VM's remembered settings: scaling, layout and pace", async () => {
  const vnc = await startVncServer({ password: "pw-3" });
  const { browser, page, problems } = await openApp(`${server.url}console.html`, {
    console_connect: grant(vnc.ticket(), "pw-3"),
    console_keys: { layouts: [{ code: "us", name: "English (US)" }, { code: "de", name: "German" }], sendKeys: [] },
    console_settings: { scaleMode: "off", layout: "de", pasteRate: 30, window: null, customKeys: [] },
  });
  try {
    await waitForState(page, "connected");
    await page.waitForFunction(() => document.querySelector('[data-testid="console-scale-mode"]')?.value === "off");
    await page.waitForFunction(
      () => document.querySelector('[data-testid="console-screen"] canvas')?.getBoundingClientRect().width === 64,
    );
    await page.getByTestId("console-paste").click();
    assert.equal(await page.getByTestId("paste-layout").inputValue(), "de");
    assert.equal(await page.getByTestId("paste-rate").inputValue(), "30");
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
    await vnc.close();
  }
});

test("asks for the password when the grant has none, then connects", async () => {
  const vnc = await startVncServer({ password: "typed-pw" });
  const { browser, page, problems, messages } = await openApp(`${server.url}console.html`, {
    console_connect: grant(vnc.ticket(), null),
  });
  try {
    const input = page.getByTestId("console-password");
    await input.waitFor({ timeout: 10_000 });
    assert.equal(await consoleState(page), "connecting");
    assert.equal(await input.getAttribute("type"), "password");
    await input.fill("typed-pw");
    await page.getByTestId("console-password-submit").click();
    await waitForState(page, "connected");
    assert.equal(await page.getByTestId("console-password").count(), 0, "the prompt goes away");
    await assertNoLeak(page, messages, ["typed-pw"]);
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
    await vnc.close();
  }
});

test("a server hang-up is a clean disconnect; Reconnect works again", async () => {
  const vnc = await startVncServer({ password: null });
  const { browser, page, problems } = await openApp(`${server.url}console.html`, {
    console_connect: { sequence: [grant(vnc.ticket(), null), grant(vnc.ticket(), null)] },
  });
  try {
    await waitForState(page, "connected");
    vnc.hangUp();
    await waitForState(page, "disconnected");
    assert.match(await page.getByTestId("console-detail").innerText(), /session ended/);
    assert.equal(await page.getByTestId("console-ctrl-alt-del").isDisabled(), true);
    await page.getByTestId("console-reconnect").click();
    await waitForState(page, "connected");
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
    await vnc.close();
  }
});

// noVNC logs its own failures with console.error; these tests expect exactly those lines.
const noVncFailure = /^Failed when connecting: /;
const chromiumWsFailure = /^WebSocket connection to '.*' failed/;

test("a wrong password is a security failure with the server's reason", async () => {
  const vnc = await startVncServer({ password: "right-pw" });
  const { browser, page, problems, messages } = await openApp(`${server.url}console.html`, {
    console_connect: grant(vnc.ticket(), "wrong-pw"),
  });
  try {
    await waitForState(page, "failed");
    assert.match(await page.getByTestId("console-detail").innerText(), /refused the connection: Authentication failed/);
    assert.equal(vnc.seen.authFailures, 1);
    await screenshot(page, "console-security-failure");
    await assertNoLeak(page, messages, ["wrong-pw"]);
    assert.deepEqual(
      problems.filter((p) => !noVncFailure.test(p)),
      [],
      "only noVNC's own failure line",
    );
  } finally {
    await browser.close();
    await vnc.close();
  }
});

test("a refused relay URL goes from connecting to failed", async () => {
  // A port that was free a moment ago: nothing listens there.
  const probe = createServer();
  await new Promise((ok) => probe.listen(0, "127.0.0.1", ok));
  const { port } = probe.address();
  await new Promise((ok) => probe.close(ok));
  const ticket = { wsUrl: `ws://127.0.0.1:${port}/?token=refused-ticket`, token: "refused-ticket" };

  // Records every state the toolbar shows from the first render on, before any await could miss one.
  const recordStates = `
    window.__states = [];
    new MutationObserver(() => {
      const state = document.querySelector('[data-testid="console-state"]')?.getAttribute("data-state");
      if (state && window.__states.at(-1) !== state) window.__states.push(state);
    }).observe(document, { subtree: true, childList: true, attributes: true });`;
  const { browser, page, problems, messages } = await openApp(
    `${server.url}console.html`,
    { console_connect: grant(ticket, "pw-never-shown") },
    { initScript: recordStates },
  );
  try {
    await waitForState(page, "failed");
    const states = await page.evaluate(() => window.__states);
    assert.deepEqual(states, ["connecting", "failed"]);
    assert.deepEqual((await ipcCalls(page, "console_connect")).length, 1);
    await assertNoLeak(page, messages.filter((m) => !chromiumWsFailure.test(m)), ["pw-never-shown", "refused-ticket"]);
    assert.equal(await page.getByTestId("console-detail").innerText(), "Could not reach the VM’s console.");
    assert.deepEqual(
      problems.filter((p) => !noVncFailure.test(p) && !chromiumWsFailure.test(p)),
      [],
      "nothing but the expected connection failure",
    );
  } finally {
    await browser.close();
  }
});

test("a refused grant shows the shell's message", async () => {
  const { browser, page, problems } = await openApp(`${server.url}console.html`, {
    console_connect: { reject: { kind: "noConsole", message: "VM 42 is not running." } },
  });
  try {
    await waitForState(page, "failed");
    assert.equal(await page.getByTestId("console-detail").innerText(), "VM 42 is not running.");
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
  }
});

// Security finding 10 (CVE-2017-18635 class): server-controlled strings are text, never HTML.
const XSS = '<img src=x onerror="window.__xss = 1">';

test("a VM name, desktop name or failure reason that is HTML renders as text", async () => {
  const vnc = await startVncServer({ desktopName: XSS });
  const { browser, page, problems } = await openApp(`${server.url}console.html`, {
    console_connect: { ...grant(vnc.ticket(), null), vmName: XSS },
  });
  try {
    await waitForState(page, "connected");
    assert.equal(await page.title(), `${XSS} — OneDeck`, "the title holds the text as it is");
    assert.equal(await page.evaluate(() => window.__xss), undefined, "no handler ran");
    assert.equal(await page.locator('img[src="x"]').count(), 0, "no element was made from it");
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
    await vnc.close();
  }
  const refusing = await startVncServer({ password: "right-pw", failureReason: XSS });
  const second = await openApp(`${server.url}console.html`, {
    console_connect: grant(refusing.ticket(), "wrong-pw"),
  });
  try {
    await waitForState(second.page, "failed");
    assert.ok((await second.page.getByTestId("console-detail").innerText()).includes(XSS), "shown as text");
    assert.equal(await second.page.evaluate(() => window.__xss), undefined);
    assert.equal(await second.page.locator('img[src="x"]').count(), 0);
  } finally {
    await second.browser.close();
    await refusing.close();
  }
});
