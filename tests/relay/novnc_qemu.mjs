// noVNC 1.7 in headless Chromium renders QEMU's screen through `onedeck-cli relay`.
//
// Run from the repository root after `cargo build -p onedeck-cli` and `npm ci` in ui/:
//   node tests/relay/novnc_qemu.mjs
// Env: ONEDECK_CLI (default target/debug/onedeck-cli), CHROMIUM (default /usr/bin/chromium).
// Exits 0 on success, 1 on failure, 77 (skipped) when QEMU or Chromium is missing.
//
// Pieces: QEMU's VNC server on a free display, the relay (headless, token file, allowing only
// this page's Origin), a static server on 127.0.0.1 for a tiny page plus noVNC's ESM modules,
// and Chromium via playwright-core. The check: the canvas gets QEMU's resolution and has
// non-black pixels (SeaBIOS's "No bootable device" text).

import { spawn } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const uiModules = path.join(root, "ui", "node_modules");
const novncDir = path.join(uiModules, "@novnc", "novnc");
const cli = process.env.ONEDECK_CLI ?? path.join(root, "target", "debug", "onedeck-cli");
const chromiumPath = process.env.CHROMIUM ?? "/usr/bin/chromium";
const qemuBin = "qemu-system-x86_64";
const DEADLINE_MS = 30_000;

const children = [];
function cleanup() {
  for (const c of children) {
    try {
      c.kill("SIGKILL");
    } catch {
      // already gone
    }
  }
}
process.on("exit", cleanup);

function which(bin) {
  for (const dir of (process.env.PATH ?? "").split(":")) {
    const p = path.join(dir, bin);
    if (fs.existsSync(p)) return p;
  }
  return null;
}

function skip(why) {
  console.log(`SKIPPED novnc_qemu: ${why}`);
  process.exit(77);
}

function portFree(port) {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once("error", () => resolve(false));
    srv.listen(port, "127.0.0.1", () => srv.close(() => resolve(true)));
  });
}

function canConnect(port) {
  return new Promise((resolve) => {
    const s = net.connect(port, "127.0.0.1");
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function main() {
  const qemu = which(qemuBin);
  if (!qemu) skip(`${qemuBin} is not installed (apt install qemu-system-x86)`);
  if (!fs.existsSync(chromiumPath)) skip(`no Chromium at ${chromiumPath}`);
  if (!fs.existsSync(path.join(novncDir, "core", "rfb.js"))) skip("ui/node_modules has no @novnc/novnc (run npm ci in ui/)");
  if (!fs.existsSync(cli)) throw new Error(`no relay binary at ${cli} (cargo build -p onedeck-cli)`);

  // 1. QEMU on a free VNC display.
  let display = null;
  for (let n = 60; n < 100; n++) {
    if (await portFree(5900 + n)) {
      display = n;
      break;
    }
  }
  if (display === null) throw new Error("no free VNC display between :60 and :99");
  const vncPort = 5900 + display;
  const q = spawn(qemu, ["-display", "none", "-nodefaults", "-vga", "std", "-m", "64", "-vnc", `127.0.0.1:${display}`], {
    stdio: ["ignore", "ignore", "inherit"],
  });
  children.push(q);
  for (let i = 0; !(await canConnect(vncPort)); i++) {
    if (i > 200 || q.exitCode !== null) throw new Error("QEMU's VNC server did not come up");
    await sleep(50);
  }

  // 2. Static server: the page and noVNC's modules, nothing else.
  const page = `<!doctype html><meta charset="utf-8"><title>relay test</title><div id="screen"></div>
<script type="module">
import RFB from "/novnc/core/rfb.js";
const params = new URLSearchParams(location.search);
const rfb = new RFB(document.getElementById("screen"), params.get("ws"), { wsProtocols: ["binary"] });
window.rfbState = "connecting";
rfb.addEventListener("connect", () => { window.rfbState = "connected"; });
rfb.addEventListener("disconnect", (e) => { window.rfbState = "disconnected:" + JSON.stringify(e.detail); });
rfb.addEventListener("securityfailure", (e) => { window.rfbState = "securityfailure:" + JSON.stringify(e.detail); });
</script>`;
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, "http://127.0.0.1");
    if (url.pathname === "/") {
      res.writeHead(200, { "content-type": "text/html" }).end(page);
      return;
    }
    if (url.pathname.startsWith("/novnc/")) {
      const file = path.normalize(path.join(novncDir, url.pathname.slice("/novnc/".length)));
      if (file.startsWith(novncDir + path.sep) && file.endsWith(".js") && fs.existsSync(file)) {
        res.writeHead(200, { "content-type": "text/javascript" }).end(fs.readFileSync(file));
        return;
      }
    }
    res.writeHead(404).end();
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  const origin = `http://127.0.0.1:${server.address().port}`;

  // 3. The relay, allowing exactly this page's Origin.
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "onedeck-novnc-"));
  const tokenFile = path.join(tmp, "tokens");
  fs.writeFileSync(tokenFile, `qemu: 127.0.0.1:${vncPort}\n`);
  const relay = spawn(cli, ["relay", "--listen", "127.0.0.1:0", "--token-file", tokenFile, "--allow-origin", origin], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  children.push(relay);
  const relayAddr = await new Promise((resolve, reject) => {
    let err = "";
    const t = setTimeout(() => reject(new Error(`relay did not start: ${err}`)), 10_000);
    relay.stderr.on("data", (d) => {
      err += d;
      // Match only a complete address: stderr may arrive in chunks split mid-line.
      const m = /listening on ws:\/\/(\S+:\d+)\s/.exec(err);
      if (m) {
        clearTimeout(t);
        resolve(m[1]);
      }
    });
  });

  // 4. Chromium renders the console.
  const { chromium } = await import(pathToFileURL(path.join(uiModules, "playwright-core", "index.mjs")).href);
  const browser = await chromium.launch({
    executablePath: chromiumPath,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync"],
  });
  try {
    const tab = await browser.newPage();
    const logs = [];
    tab.on("console", (m) => logs.push(m.text()));
    const ws = `ws://${relayAddr}/websockify?token=qemu`;
    await tab.goto(`${origin}/?ws=${encodeURIComponent(ws)}`);
    const started = Date.now();
    let result = null;
    while (Date.now() - started < DEADLINE_MS) {
      result = await tab.evaluate(() => {
        const c = document.querySelector("#screen canvas");
        if (!c || c.width === 0 || c.height === 0) return { state: window.rfbState, lit: 0 };
        const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
        let lit = 0;
        for (let i = 0; i < d.length; i += 4) if (d[i] | d[i + 1] | d[i + 2]) lit++;
        return { state: window.rfbState, width: c.width, height: c.height, lit };
      });
      if (result.state === "connected" && result.lit > 0) break;
      if (String(result.state).startsWith("disconnected") || String(result.state).startsWith("securityfailure")) break;
      await sleep(200);
    }
    if (!(result && result.state === "connected" && result.lit > 0)) {
      throw new Error(`canvas stayed blank: ${JSON.stringify(result)}; console: ${logs.slice(-10).join(" | ")}`);
    }
    console.log(`PASS novnc_qemu: ${result.width}x${result.height} canvas, ${result.lit} non-black pixels via ${relayAddr}`);
  } finally {
    await browser.close();
    server.close();
    cleanup();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(`FAIL novnc_qemu: ${e.message}`);
    cleanup();
    process.exit(1);
  },
);
