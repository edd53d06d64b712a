// UI flows of the app shell in headless Chromium, IPC mocked.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { openApp, screenshot, serveDist } from "./harness.mjs";

let server;
before(async () => {
  server = await serveDist();
});
after(async () => {
  await server?.close();
});

test("the shell renders header, empty inventory and the version from app_info", async () => {
  const { browser, page, problems } = await openApp(server.url, {
    app_info: { version: "0.1.0-test", platform: "linux" },
    profiles_list: [],
  });
  try {
    await page.getByTestId("app-header").waitFor();
    assert.equal(await page.title(), "OneDeck");
    assert.equal((await page.locator("h1").textContent())?.trim(), "OneDeck");
    assert.match(await page.getByTestId("inventory-empty").innerText(), /No endpoint selected/);
    await page.getByText("OneDeck 0.1.0-test on linux").waitFor({ timeout: 5000 });
    await page.getByText("No endpoints yet.").waitFor();
    const calls = await page.evaluate(() => window.__ipcCalls.map((c) => c.cmd).sort());
    assert.deepEqual(calls, ["app_info", "profiles_list"], "the shell asks for app_info and the profiles once");
    assert.equal(await page.evaluate(() => Object.isFrozen(Object.prototype)), true, "runs as under freezePrototype");
    await screenshot(page, "shell");
    assert.deepEqual(problems, [], "no console errors or CSP violations");
  } finally {
    await browser.close();
  }
});

test("a failing command shows the shell's message, not a blank bar", async () => {
  const { browser, page } = await openApp(server.url, {
    app_info: { reject: { kind: "internal", message: "the shell is unwell" } },
    profiles_list: [],
  });
  try {
    const alert = page.getByRole("alert");
    await alert.waitFor({ timeout: 5000 });
    assert.match(await alert.innerText(), /the shell is unwell/);
  } finally {
    await browser.close();
  }
});

test("dark mode follows the OS preference", async () => {
  const { browser, page } = await openApp(server.url, {
    app_info: { version: "0.1.0", platform: "linux" },
    profiles_list: [],
  });
  try {
    await page.getByTestId("app-header").waitFor();
    const light = await page.evaluate(() => getComputedStyle(document.documentElement).backgroundColor);
    await page.emulateMedia({ colorScheme: "dark" });
    const dark = await page.evaluate(() => getComputedStyle(document.documentElement).backgroundColor);
    assert.notEqual(light, dark, "the background changes with prefers-color-scheme");
    await screenshot(page, "shell-dark");
  } finally {
    await browser.close();
  }
});
