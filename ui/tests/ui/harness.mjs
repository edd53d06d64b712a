// Shared harness for UI tests: serves the built ui/dist over loopback with the app's own CSP and
// drives Debian's Chromium through playwright-core, with Tauri's IPC replaced by @tauri-apps/api/mocks.
import { createServer } from "node:http";
import { copyFile, mkdir, readdir, readFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { extname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = fileURLToPath(new URL(".", import.meta.url));
export const uiRoot = resolve(here, "../..");
export const repoRoot = resolve(uiRoot, "..");
export const distDir = join(uiRoot, "dist");
export const artifactsDir = join(repoRoot, "test-artifacts", "ui");
/** Screenshots the docs show (moved to docs/screenshots/ by whoever commits them). */
// The docs screenshots (README, docs/screenshots) are written by the tests themselves.
export const docsShotsDir = join(uiRoot, "..", "docs", "screenshots");

const mime = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript",
  ".css": "text/css",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".json": "application/json",
};

/** The app's tauri.conf.json. */
async function tauriConf() {
  return JSON.parse(await readFile(join(repoRoot, "tauri.conf.json"), "utf8"));
}

/** The CSP from tauri.conf.json, as one header value, so the page runs under the app's policy. */
export async function appCsp() {
  const conf = await tauriConf();
  return Object.entries(conf.app.security.csp)
    .map(([directive, sources]) => `${directive} ${sources}`)
    .join("; ");
}

/** Every file under `dir`, keyed by its URL path ("/assets/x.js"). */
async function snapshot(dir, prefix = "") {
  const files = new Map();
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = `${prefix}/${entry.name}`;
    if (entry.isDirectory()) {
      for (const [sub, body] of await snapshot(join(dir, entry.name), path)) files.set(sub, body);
    } else {
      files.set(path, await readFile(join(dir, entry.name)));
    }
  }
  return files;
}

/**
 * Serves ui/dist on 127.0.0.1 with an ephemeral port. The files are read once at start, so a
 * `npm run build` running meanwhile (it empties dist/ first) cannot break a test half-way.
 */
export async function serveDist() {
  if (!existsSync(join(distDir, "index.html"))) {
    throw new Error("ui/dist is missing: run `npm run build` in ui/ first");
  }
  const csp = await appCsp();
  const files = await snapshot(distDir);
  const server = createServer((req, res) => {
    const requested = new URL(req.url ?? "/", "http://x").pathname;
    const path = requested === "/" ? "/index.html" : requested;
    const body = files.get(path);
    if (body === undefined) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, {
      "content-type": mime[extname(path)] ?? "application/octet-stream",
      "content-security-policy": csp,
    });
    res.end(body);
  });
  await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
  const { port } = server.address();
  return { url: `http://127.0.0.1:${port}/`, close: () => new Promise((ok) => server.close(ok)) };
}

/**
 * Opens a page with Tauri's IPC mocked. `handlers` maps a command name to its result, to a
 * `{ reject: value }` object to make the command fail with that value, to `{ sequence: [...] }`
 * whose items answer successive calls (the last one repeating), to `{ by: "vmId", cases: {...} }`
 * that answers by one argument's value, to `{ delayMs, answer }` that answers later, or to
 * `{ stream: [...], last, lastDelayMs? }` that sends the items through the call's `onPage` channel,
 * then answers `last` (`lastDelayMs` later). These nest. Table views are not remembered unless a test mocks `table_view`.
 * Events are mocked too (`shouldMockEvents`): the page's `listen` calls never reach the handlers,
 * and `emitEvent` delivers an event as the shell would; `setHandler` changes an answer mid-test.
 * `initScript` (source text) runs before the page's own scripts.
 * Returns `problems` (console errors, page errors, CSP violations) and every console line in `messages`.
 */
export async function openApp(url, givenHandlers, { initScript } = {}) {
  const conf = await tauriConf();
  const handlers = {
    table_view: { reject: { kind: "notFound", message: "no table view saved" } },
    table_view_save: null,
    ...givenHandlers,
  };
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  const context = await browser.newContext({ viewport: { width: 1200, height: 780 } });
  const page = await context.newPage();
  const problems = [];
  const messages = [];
  page.on("console", (msg) => {
    messages.push(msg.text());
    if (msg.type() === "error") problems.push(msg.text());
  });
  page.on("pageerror", (error) => problems.push(String(error)));

  // The mocks module has no imports: strip its export line and run it before the app's modules.
  const mocks = (await readFile(join(uiRoot, "node_modules/@tauri-apps/api/mocks.js"), "utf8")).replace(
    /^export \{[^}]*\};?\s*$/m,
    "",
  );
  await page.addInitScript(
    `${mocks}
     const __handlers = ${JSON.stringify(handlers)};
     const __turns = {};
     window.__ipcCalls = [];
     window.__setHandler = (cmd, h) => {
       __handlers[cmd] = h;
       for (const key of Object.keys(__turns)) if (key === cmd || key.startsWith(cmd + ":")) delete __turns[key];
     };
     const __answer = (cmd, key, h, args) => {
       if (typeof h === "function") return h(args);
       if (h && typeof h === "object" && typeof h.by === "string" && h.cases) {
         const value = String(args?.[h.by]);
         if (!(value in h.cases)) throw { kind: "notFound", message: "no mocked case " + h.by + "=" + value, params: {} };
         return __answer(cmd, key + ":" + value, h.cases[value], args);
       }
       if (h && typeof h === "object" && Array.isArray(h.sequence)) {
         const turn = __turns[key] ?? 0;
         __turns[key] = turn + 1;
         return __answer(cmd, key + "#", h.sequence[Math.min(turn, h.sequence.length - 1)], args);
       }
       if (h && typeof h === "object" && typeof h.delayMs === "number") {
         return new Promise((ok) => setTimeout(ok, h.delayMs)).then(() => __answer(cmd, key, h.answer, args));
       }
       if (h && typeof h === "object" && "reject" in h) throw h.reject;
       if (h && typeof h === "object" && Array.isArray(h.stream) && "last" in h) {
         // A command with a Channel argument (\`onPage\`): the pages first, then the reply.
         const channel = args?.onPage;
         h.stream.forEach((message, index) => window.__TAURI_INTERNALS__.runCallback(channel.id, { index, message }));
         if (typeof h.lastDelayMs === "number") return new Promise((ok) => setTimeout(() => ok(h.last), h.lastDelayMs));
         return h.last;
       }
       return h;
     };
     mockIPC((cmd, args) => {
       window.__ipcCalls.push({ cmd, args });
       if (!(cmd in __handlers)) throw { kind: "internal", message: "unmocked command " + cmd };
       return __answer(cmd, cmd, __handlers[cmd], args);
     }, { shouldMockEvents: true });`,
  );
  // tauri.conf.json sets freezePrototype: the app must run with a frozen Object.prototype.
  if (conf.app.security.freezePrototype) await page.addInitScript("Object.freeze(Object.prototype);");
  if (initScript) await page.addInitScript(initScript);
  try {
    await page.goto(url);
  } catch (error) {
    // The caller never gets the browser to close: close it here or the test process hangs.
    await browser.close();
    throw error;
  }
  return { browser, page, problems, messages };
}

/** The IPC calls the page made so far, as `{ cmd, args }`, optionally only those named `cmd`. */
export async function ipcCalls(page, cmd) {
  const calls = await page.evaluate(() => window.__ipcCalls);
  return cmd === undefined ? calls : calls.filter((c) => c.cmd === cmd);
}

/** Delivers the shell event `event` with `payload` to the page's listeners. */
export async function emitEvent(page, event, payload) {
  await page.evaluate(
    ([name, body]) => window.__TAURI_INTERNALS__.invoke("plugin:event|emit", { event: name, payload: body }),
    [event, payload],
  );
}

/** Makes `cmd` answer with `handler` (same forms as `openApp`'s) from now on. */
export async function setHandler(page, cmd, handler) {
  await page.evaluate(([name, h]) => window.__setHandler(name, h), [cmd, handler]);
}

/** Saves a screenshot under test-artifacts/ui/. */
export async function screenshot(page, name) {
  await mkdir(artifactsDir, { recursive: true });
  const path = join(artifactsDir, `${name}.png`);
  await page.screenshot({ path });
  return path;
}

/** Saves a screenshot under test-artifacts/ui/ and a copy for the docs under docs/screenshots/. */
export async function docsScreenshot(page, name) {
  const path = await screenshot(page, name);
  await mkdir(docsShotsDir, { recursive: true });
  await copyFile(path, join(docsShotsDir, `${name}.png`));
  return path;
}
