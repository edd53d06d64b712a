// noVNC 1.7 in headless Chromium against the simulator's built-in RFB server (issue 13, Tests:
// "the built-in server completes a handshake ... with noVNC in Chromium").
//
// Run from the repository root after `cargo build -p onedeck-cli` and `npm ci` in ui/:
//   node tests/sim/novnc_builtin.mjs
// Env: ONEDECK_CLI (default target/debug/onedeck-cli), CHROMIUM (default /usr/bin/chromium),
// WEBSOCKIFY (default .venv/bin/websockify, from tests/python/requirements.txt).
// Exits 0 on success, 1 on failure, 77 (skipped) when Chromium, noVNC or websockify is missing.
//
// Pieces: `onedeck-cli sim` (built-in consoles), websockify (the WebSocket bridge noVNC needs;
// independent of onedeck-relay so that this test checks the simulator alone), a static server for
// a tiny page plus noVNC's ESM modules, and Chromium via playwright-core. For VM 0 (security None)
// and VM 5 (VNC authentication with its GRAPHICS/PASSWD): noVNC connects, the canvas gets the
// console's 640x400 and text pixels, and keys sent by noVNC reach the console (its typed hook).

import { spawn } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import net from "node:net";
import path from "node:path";
import readline from "node:readline";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const uiModules = path.join(root, "ui", "node_modules");
const novncDir = path.join(uiModules, "@novnc", "novnc");
const cli = process.env.ONEDECK_CLI ?? path.join(root, "target", "debug", "onedeck-cli");
const chromiumPath = process.env.CHROMIUM ?? "/usr/bin/chromium";
const websockify = process.env.WEBSOCKIFY ?? path.join(root, ".venv", "bin", "websockify");
const DEADLINE_MS = 30_000;
// The fixture's consoles: VM 0 without a password, VM 5 with PASSWD s3cretpa (API.md §4).
const CONSOLES = [
  { vm: 0, password: null, keys: "ok" },
  { vm: 5, password: "s3cretpa", keys: "hi" },
];

const children = [];
function cleanup() {
  for (const c of children) {
    try {
      c.kill("SIGTERM");
    } catch {
      // already gone
    }
  }
}
process.on("exit", cleanup);

function skip(why) {
  console.log(`SKIPPED novnc_builtin: ${why}`);
  process.exit(77);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function portFree(port) {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once("error", () => resolve(false));
    srv.listen(port, "127.0.0.1", () => srv.close(() => resolve(true)));
  });
}

/// A base with 16 free consecutive loopback ports below the ephemeral range.
async function freeBase() {
  for (let base = 20000 + (process.pid % 500) * 16; base < 32000; base += 16) {
    let ok = true;
    for (let i = 0; i < 16 && ok; i++) ok = await portFree(base + i);
    if (ok) return base;
  }
  throw new Error("no free VNC port range");
}

function ephemeralPort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
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

async function typed(simUrl, vm) {
  const res = await fetch(simUrl.replace("/RPC2", `/sim/consoles/${vm}/typed`));
  return res.ok ? res.text() : `HTTP ${res.status}`;
}

async function main() {
  if (!fs.existsSync(chromiumPath)) skip(`no Chromium at ${chromiumPath}`);
  if (!fs.existsSync(path.join(novncDir, "core", "rfb.js"))) skip("ui/node_modules has no @novnc/novnc (run npm ci in ui/)");
  if (!fs.existsSync(websockify)) skip(`no websockify at ${websockify} (pip install -r tests/python/requirements.txt)`);
  if (!fs.existsSync(cli)) throw new Error(`no simulator binary at ${cli} (cargo build -p onedeck-cli)`);

  // 1. The simulator with built-in consoles on a free port range.
  const base = await freeBase();
  const sim = spawn(cli, ["sim", "--listen", "127.0.0.1:0", "--vnc-base", String(base)], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  children.push(sim);
  const simUrl = await new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error("the simulator printed no endpoint")), 20_000);
    readline.createInterface({ input: sim.stdout }).once("line", (line) => {
      clearTimeout(t);
      resolve(line.trim());
    });
  });
  if (!/^http:\/\/127\.0\.0\.1:\d+\/RPC2$/.test(simUrl)) throw new Error(`simulator said ${simUrl}`);

  // 2. One WebSocket bridge per console.
  for (const c of CONSOLES) {
    c.wsPort = await ephemeralPort();
    const w = spawn(websockify, [`127.0.0.1:${c.wsPort}`, `127.0.0.1:${base + c.vm}`], {
      stdio: ["ignore", "ignore", "ignore"],
    });
    children.push(w);
    for (let i = 0; !(await canConnect(c.wsPort)); i++) {
      if (i > 200 || w.exitCode !== null) throw new Error(`websockify for VM ${c.vm} did not come up`);
      await sleep(50);
    }
  }

  // 3. Static server: the page and noVNC's modules, nothing else.
  const page = `<!doctype html><meta charset="utf-8"><title>sim console test</title><div id="screen"></div>
<script type="module">
import RFB from "/novnc/core/rfb.js";
const params = new URLSearchParams(location.search);
const options = { wsProtocols: ["binary"] };
if (params.get("pw")) options.credentials = { password: params.get("pw") };
const rfb = new RFB(document.getElementById("screen"), params.get("ws"), options);
window.rfb = rfb;
window.rfbState = "connecting";
rfb.addEventListener("connect", () => { window.rfbState = "connected"; });
rfb.addEventListener("disconnect", (e) => { window.rfbState = "disconnected:" + JSON.stringify(e.detail); });
rfb.addEventListener("securityfailure", (e) => { window.rfbState = "securityfailure:" + JSON.stringify(e.detail); });
rfb.addEventListener("credentialsrequired", () => { window.rfbState = "credentialsrequired"; });
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

  // 4. Chromium renders each console and types into it.
  const { chromium } = await import(pathToFileURL(path.join(uiModules, "playwright-core", "index.mjs")).href);
  const browser = await chromium.launch({
    executablePath: chromiumPath,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync"],
  });
  try {
    for (const c of CONSOLES) {
      const tab = await browser.newPage();
      const logs = [];
      tab.on("console", (m) => logs.push(m.text()));
      const ws = `ws://127.0.0.1:${c.wsPort}/`;
      const query = `ws=${encodeURIComponent(ws)}${c.password ? `&pw=${encodeURIComponent(c.password)}` : ""}`;
      await tab.goto(`${origin}/?${query}`);
      const started = Date.now();
      let result = null;
      while (Date.now() - started < DEADLINE_MS) {
        result = await tab.evaluate(() => {
          const cv = document.querySelector("#screen canvas");
          if (!cv || cv.width === 0 || cv.height === 0) return { state: window.rfbState, lit: 0 };
          const d = cv.getContext("2d").getImageData(0, 0, cv.width, cv.height).data;
          // The console draws text on a #101820 background: both must be there (a canvas not yet
          // painted is all black, which would count as "text" alone).
          let lit = 0;
          let bg = 0;
          for (let i = 0; i < d.length; i += 4) {
            if (d[i] === 0x10 && d[i + 1] === 0x18 && d[i + 2] === 0x20) bg++;
            else lit++;
          }
          if (bg * 2 < d.length / 4) lit = 0;
          return { state: window.rfbState, width: cv.width, height: cv.height, lit, bg };
        });
        if (result.state === "connected" && result.lit > 0) break;
        if (/^(disconnected|securityfailure|credentialsrequired)/.test(String(result.state))) break;
        await sleep(200);
      }
      if (!(result && result.state === "connected" && result.lit > 0)) {
        throw new Error(`VM ${c.vm}: no console: ${JSON.stringify(result)}; browser console: ${logs.slice(-10).join(" | ")}`);
      }
      if (result.width !== 640 || result.height !== 400) {
        throw new Error(`VM ${c.vm}: canvas ${result.width}x${result.height}, the console is 640x400`);
      }
      // Keys typed in noVNC reach the console (KeyEvent down and up for each).
      await tab.evaluate((keys) => {
        for (const ch of keys) window.rfb.sendKey(ch.charCodeAt(0), "Key" + ch.toUpperCase());
      }, c.keys);
      let seen = "";
      for (let i = 0; i < 100 && seen !== c.keys; i++) {
        seen = await typed(simUrl, c.vm);
        if (seen !== c.keys) await sleep(50);
      }
      if (seen !== c.keys) throw new Error(`VM ${c.vm}: the console received ${JSON.stringify(seen)}, noVNC typed ${JSON.stringify(c.keys)}`);
      console.log(`ok VM ${c.vm} (${c.password ? "VNC auth" : "no auth"}): ${result.width}x${result.height}, ${result.lit} text pixels, keys echoed`);
      await tab.close();
    }
    console.log("PASS novnc_builtin");
  } finally {
    await browser.close();
    server.close();
    cleanup();
  }
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(`FAIL novnc_builtin: ${e.message}`);
    cleanup();
    process.exit(1);
  },
);
