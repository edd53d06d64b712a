// Benchmark of the replay window (not a test): a synthetic one-hour recording of a text console
// with Raw updates (what the simulator's consoles send), with keyframes where the relay's writer
// puts them (every 30 s of a changing screen, or every 16 MiB of updates, whichever comes
// first; here the 30 s), played in headless Chromium with IPC mocked. Prints: load time, seeking to the end, to the middle (backwards: replayed from the
// start), and the renderer's CPU while playing at 1×. `npm run build` first.
//
//   node bench/replay-seek.mjs [MINUTES]
import { openApp, serveDist } from "../tests/ui/harness.mjs";

const minutes = Number(process.argv[2] ?? 60);
const server = await serveDist();
const initScript = `
  const W = 1024, H = 768, SECS = ${minutes * 60};
  function rect(y, h, shade) {
    const px = W * h * 4;
    const b = new Uint8Array(16 + px);
    const v = new DataView(b.buffer);
    v.setUint16(2, 1); v.setUint16(6, y); v.setUint16(8, W); v.setUint16(10, h);
    for (let i = 16; i < b.length; i += 4) { b[i] = shade; b[i + 1] = (i >> 6) & 255; b[i + 2] = 60; }
    return b;
  }
  const line = rect(200, 16, 180);
  // Each minute's full-screen update has its own shade: a seek is done when the screen shows it.
  const fulls = new Map();
  const full = (s) => {
    const shade = 30 + ((s / 60) % 100);
    if (!fulls.has(shade)) fulls.set(shade, rect(0, H, shade));
    return fulls.get(shade);
  };
  window.__shadeAt = (ms) => 30 + (Math.floor(ms / 60000) % 100);
  // A keyframe: ServerInit, then one update of the whole screen as it is (the minute's shade and
  // the line), as the writer rebuilds it.
  const keyframes = new Map();
  const keyframe = (s) => {
    const shade = 30 + (Math.floor(s / 60) % 100);
    if (keyframes.has(shade)) return keyframes.get(shade);
    const screen = full(Math.floor(s / 60) * 60).slice(); // header 16 bytes + pixels
    const lineAt = 16 + 200 * W * 4;
    screen.set(line.subarray(16), lineAt);
    const kf = new Uint8Array(init.length + screen.length);
    kf.set(init, 0);
    kf.set(screen, init.length);
    keyframes.set(shade, kf);
    return kf;
  };
  function record(kind, atMs, bytes) {
    const out = new Uint8Array(9 + bytes.length);
    const v = new DataView(out.buffer);
    v.setUint8(0, kind); v.setUint32(1, atMs, true); v.setUint32(5, bytes.length, true);
    out.set(bytes, 9);
    return out;
  }
  const init = new Uint8Array(24 + 5);
  new DataView(init.buffer).setUint16(0, W); new DataView(init.buffer).setUint16(2, H);
  init.set([32, 24, 0, 1, 0, 255, 0, 255, 0, 255, 16, 8, 0, 0, 0, 0], 4);
  new DataView(init.buffer).setUint32(20, 5); init.set([98, 101, 110, 99, 104], 24);
  window.__dataBytes = 0;
  window.__bench = {
    info: {
      entry: { id: 1, profileId: "lab", user: "carol", vmId: 1, vmName: "bench", target: "h:5901", startedAtMs: 0,
        endedAtMs: SECS * 1000, bytesToClient: 0, bytesToServer: 0, endReason: "client_closed", recorded: true,
        recordingAvailable: true, recordingHead: "x" },
      durationMs: SECS * 1000, capped: false, keys: [], clicks: [], notes: [],
      chunks: Array.from({ length: SECS }, (_, s) => ({ seq: s, firstMs: s * 1000, lastMs: s * 1000 + 999, keyframe: s > 0 && s % 30 === 0 })),
    },
    // As the shell serves it: the screen's records with a 4-byte marker where a keyframe lies,
    // or (keyframes: true) a chunk's keyframe in full.
    data({ from, count, keyframes }) {
      const parts = [];
      for (let s = from; s < Math.min(SECS, from + count); s++) {
        const isKey = s > 0 && s % 30 === 0;
        if (keyframes) {
          if (isKey) parts.push(record(0x16, s * 1000 + 10, keyframe(s - 1)));
          continue;
        }
        if (s === 0) parts.push(record(0x10, 0, init));
        if (isKey) parts.push(record(0x16, s * 1000 + 10, new Uint8Array(new Uint32Array([s]).buffer)));
        parts.push(record(1, s * 1000 + 10, s % 60 === 0 ? full(s) : line));
      }
      const total = parts.reduce((n, p) => n + p.length, 0);
      const out = new Uint8Array(total);
      let at = 0; for (const p of parts) { out.set(p, at); at += p.length; }
      window.__dataBytes += total;
      return out.buffer;
    },
  };
  window.addEventListener("DOMContentLoaded", () => {});
`;
const t0 = Date.now();
const { browser, page } = await openApp(`${server.url}replay.html`, {}, {
  initScript: `${initScript}
    queueMicrotask(() => {
      window.__setHandler("replay_info", () => window.__bench.info);
      window.__setHandler("replay_data", (args) => window.__bench.data(args));
    });`,
});
try {
  await page.locator('[data-testid="replay-state"][data-state="ready"]').waitFor({ timeout: 600_000 });
  const loadMs = Date.now() - t0;
  const mib = (await page.evaluate(() => window.__dataBytes)) / 1048576;
  const seek = async (ms) =>
    page.evaluate(async (target) => {
      const el = document.querySelector('[data-testid="replay-seek"]');
      const start = performance.now();
      el.value = String(target);
      el.dispatchEvent(new Event("input", { bubbles: true }));
      // Done when the screen shows the shade of the last full update before the target.
      const want = window.__shadeAt(Math.max(0, target - 1));
      for (;;) {
        // Asked anew each frame: a seek from a keyframe puts a new viewer (and canvas) in place.
        const canvas = document.querySelector('[data-testid="replay-screen"] canvas');
        const p = canvas.getContext("2d").getImageData(500, 500, 1, 1).data;
        if (p[0] === want) return performance.now() - start;
        await new Promise((ok) => requestAnimationFrame(ok));
      }
    }, ms);
  const toEnd = await seek(minutes * 60_000);
  const toMiddle = await seek(minutes * 30_000);
  const toNear = await seek(minutes * 30_000 + 60_000);
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Performance.enable");
  const cpu = async () => (await cdp.send("Performance.getMetrics")).metrics.find((m) => m.name === "TaskDuration").value;
  await page.getByTestId("replay-play").click();
  const before = await cpu();
  await new Promise((ok) => setTimeout(ok, 10_000));
  const playCpu = ((await cpu()) - before) / 10;
  const heap = (await cdp.send("Performance.getMetrics")).metrics.find((m) => m.name === "JSHeapUsedSize").value / 1048576;
  console.log(`| ${minutes}-minute recording, ${mib.toFixed(0)} MiB of screen data | load ${(loadMs / 1000).toFixed(1)} s | seek to the end ${(toEnd / 1000).toFixed(2)} s | back to the middle ${(toMiddle / 1000).toFixed(2)} s | forward 1 min ${(toNear / 1000).toFixed(3)} s | CPU at 1× ${(playCpu * 100).toFixed(1)} % of a core | JS heap ${heap.toFixed(0)} MiB |`);
} finally {
  await browser.close();
  await server.close();
}
