// Opens the bundled noVNC in headless Chromium against a relay URL and prints what it shows, as
// JSON on stdout: { width, height, nonblank, desktop }. For tests and benchmarks that drive a
// relay from outside the app (tests/python/test_relay_ssh.py).
//
//   node tests/tools/novnc-connect.mjs WS_URL PORT [TIMEOUT_MS]
//
// The page is served from http://127.0.0.1:PORT (give the relay that Origin); noVNC comes from
// node_modules, as the app bundles it.
import { readFile } from "node:fs/promises";
import { createServer } from "node:http";
import { extname, join, normalize } from "node:path";
import { chromium } from "playwright-core";
import { uiRoot } from "../ui/harness.mjs";

const [url, portArg, timeoutArg] = process.argv.slice(2);
if (!url || !portArg) {
  console.error("usage: novnc-connect.mjs WS_URL PORT [TIMEOUT_MS]");
  process.exit(2);
}
const timeout = Number(timeoutArg ?? 30000);
const novnc = join(uiRoot, "node_modules/@novnc/novnc");
const page = `<!doctype html><meta charset="utf-8"><div id="screen" style="width:1024px;height:768px"></div>
<script type="module">
import RFB from "/novnc/core/rfb.js";
const rfb = new RFB(document.getElementById("screen"), ${JSON.stringify(url)});
window.__desktop = null; window.__failed = null;
rfb.addEventListener("desktopname", (e) => { window.__desktop = e.detail.name; });
rfb.addEventListener("disconnect", (e) => { window.__failed = e.detail.clean ? "closed" : "failed"; });
</script>`;
const server = createServer(async (req, res) => {
  try {
    if (req.url === "/") {
      res.writeHead(200, { "content-type": "text/html" }).end(page);
      return;
    }
    if (req.url?.startsWith("/novnc/")) {
      const path = normalize(join(novnc, req.url.slice("/novnc/".length).split("?")[0]));
      if (!path.startsWith(novnc)) throw new Error("outside");
      const type = extname(path) === ".js" ? "text/javascript" : "application/octet-stream";
      res.writeHead(200, { "content-type": type }).end(await readFile(path));
      return;
    }
    res.writeHead(404).end();
  } catch {
    res.writeHead(404).end();
  }
});
await new Promise((ok) => server.listen(Number(portArg), "127.0.0.1", ok));
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium", args: ["--no-sandbox"] });
let result;
try {
  // A network change on this machine (a test's namespaces appearing) aborts Chromium's loads with
  // ERR_NETWORK_CHANGED: load the page again, up to three times.
  for (let attempt = 0; attempt < 3; attempt++) {
    const tab = await browser.newPage();
    tab.on("console", (m) => console.error(`page: ${m.text()}`));
    tab.on("pageerror", (e) => console.error(`page error: ${e.message}`));
    try {
      await tab.goto(`http://127.0.0.1:${portArg}/`);
      result = await tab.evaluate(async (limit) => {
        const until = Date.now() + limit;
        for (;;) {
          const c = document.querySelector("#screen canvas");
          if (window.__failed) return { width: 0, height: 0, nonblank: false, desktop: null, error: window.__failed };
          if (c && c.width > 0) {
            const data = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
            let lit = 0;
            for (let i = 0; i < data.length; i += 4) if (data[i] + data[i + 1] + data[i + 2] > 0) lit += 1;
            if (lit > 0) return { width: c.width, height: c.height, nonblank: true, desktop: window.__desktop, error: null };
          }
          if (Date.now() > until) return { width: c?.width ?? 0, height: c?.height ?? 0, nonblank: false, desktop: window.__desktop, error: "timeout" };
          await new Promise((r) => setTimeout(r, 100));
        }
      }, timeout / 3);
    } catch (e) {
      result = { width: 0, height: 0, nonblank: false, desktop: null, error: String(e) };
    }
    await tab.close();
    if (result.error === null) break;
    console.error(`attempt ${attempt + 1}: ${result.error}`);
  }
} finally {
  await browser.close();
  server.close();
}
console.log(JSON.stringify(result));
