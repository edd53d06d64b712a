// The replay window (replay.html) in headless Chromium: IPC mocked with a small recording (a
// 64×48 screen, a red update at 1 s, a green one at 5 s), noVNC fed through the fake channel.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { ipcCalls, openApp, serveDist } from "./harness.mjs";

let server;
before(async () => {
  server = await serveDist();
});
after(async () => {
  await server?.close();
});

const W = 64;
const H = 48;

function record(kind, atMs, bytes) {
  const head = Buffer.alloc(9);
  head.writeUInt8(kind, 0);
  head.writeUInt32LE(atMs, 1);
  head.writeUInt32LE(bytes.length, 5);
  return Buffer.concat([head, Buffer.from(bytes)]);
}

function serverInit() {
  const b = Buffer.alloc(24 + 4);
  b.writeUInt16BE(W, 0);
  b.writeUInt16BE(H, 2);
  Buffer.from([32, 24, 0, 1, 0, 255, 0, 255, 0, 255, 16, 8, 0, 0, 0, 0]).copy(b, 4);
  b.writeUInt32BE(4, 20);
  b.write("test", 24);
  return b;
}

/** A FramebufferUpdate with one Raw rectangle of the whole screen in one colour (noVNC's
 * pixel format: 32 bpp, little-endian, red at bit 0). */
function fill(r, g, b) {
  const head = Buffer.alloc(4 + 12);
  head.writeUInt16BE(1, 2);
  head.writeUInt16BE(W, 8);
  head.writeUInt16BE(H, 10);
  head.writeInt32BE(0, 12);
  const px = Buffer.alloc(W * H * 4);
  for (let i = 0; i < W * H; i++) px.set([r, g, b, 0], i * 4);
  return Buffer.concat([head, px]);
}

const data = Array.from(Buffer.concat([record(0x10, 1, serverInit()), record(1, 1000, fill(255, 0, 0)), record(1, 5000, fill(0, 255, 0))]));

const info = {
  entry: {
    id: 9, profileId: "lab", user: "carol", vmId: 42, vmName: "web-01", target: "10.0.0.5:5942",
    startedAtMs: 1_796_000_000_000, endedAtMs: 1_796_000_006_000, bytesToClient: 1, bytesToServer: 1,
    endReason: "client_closed", recorded: true, recordingAvailable: true, recordingHead: "ab",
  },
  durationMs: 6000,
  capped: false,
  keys: [
    { t_ms: 2000, down: true, keysym: 0x6c, text: "l", key: "l", modifiers: [] },
    { t_ms: 2100, down: false, keysym: 0x6c, text: null, key: "l", modifiers: [] },
    { t_ms: 4500, down: true, keysym: 0xff0d, text: "\n", key: "Return", modifiers: [] },
  ],
  clicks: [],
  notes: [],
  chunks: [{ seq: 0, firstMs: 1, lastMs: 5000, keyframe: false }],
};

async function pixel(page) {
  return page.evaluate(() => {
    const c = document.querySelector('[data-testid="replay-screen"] canvas');
    return c ? Array.from(c.getContext("2d").getImageData(10, 10, 1, 1).data.slice(0, 3)) : null;
  });
}

test("replays the recorded screen, seeks both ways and seeks from the keystroke timeline", async () => {
  const { browser, page, problems } = await openApp(`${server.url}replay.html`, {
    replay_info: info,
    replay_data: data,
  });
  try {
    await page.locator('[data-testid="replay-state"][data-state="ready"]').waitFor({ timeout: 10_000 });
    assert.equal(await page.title(), "Replay: web-01 (session 9)");
    assert.match(await page.getByTestId("replay-header").innerText(), /carol/);
    const keys = page.getByTestId("replay-key");
    assert.equal(await keys.count(), 2, "presses only");
    assert.deepEqual(await keys.evaluateAll((els) => els.map((e) => e.dataset.tMs)), ["2000", "4500"]);

    // The seek bar to 5.5 s: the green screen.
    await page.getByTestId("replay-seek").evaluate((el) => {
      el.value = "5500";
      el.dispatchEvent(new Event("input", { bubbles: true }));
    });
    await page.waitForFunction(() => {
      const c = document.querySelector('[data-testid="replay-screen"] canvas');
      const p = c?.getContext("2d")?.getImageData(10, 10, 1, 1).data;
      return p && p[1] === 255 && p[0] === 0;
    }, null, { timeout: 5000 }).catch(() => undefined);
    assert.deepEqual(await pixel(page), [0, 255, 0], "green at 5.5 s");
    // Back to the key at 2 s (a click on the timeline): replayed from the start, red.
    await keys.first().click();
    await page.waitForFunction(() => {
      const c = document.querySelector('[data-testid="replay-screen"] canvas');
      const p = c?.getContext("2d")?.getImageData(10, 10, 1, 1).data;
      return p && p[0] === 255 && p[1] === 0;
    }, null, { timeout: 5000 });
    assert.equal(await page.getByTestId("replay-time").getAttribute("data-position-ms"), "2000");
    // Play at 8× to the end.
    await page.getByTestId("replay-speed").selectOption("8");
    await page.getByTestId("replay-play").click();
    await page.locator('[data-testid="replay-state"][data-state="ended"]').waitFor({ timeout: 10_000 });
    assert.deepEqual(await pixel(page), [0, 255, 0]);
    const calls = (await ipcCalls(page)).map((c) => c.cmd);
    assert.deepEqual([...new Set(calls)].sort(), ["replay_data", "replay_info"], "a replay asks for its recording only");
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
  }
});
