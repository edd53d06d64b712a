// The main window's flows in headless Chromium with IPC mocked: endpoints, sign-in, inventory, console buttons.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { ipcCalls, openApp, screenshot, serveDist } from "./harness.mjs";
import { delta } from "./vm-fixtures.mjs";

let server;
before(async () => {
  server = await serveDist();
});
after(async () => {
  await server?.close();
});

const appInfo = { version: "0.1.0-test", platform: "linux" };

function profile(overrides = {}) {
  return {
    id: "lab",
    name: "Lab cloud",
    url: "https://one.lab.example:2633/RPC2",
    user: "alice",
    authMode: "password",
    vmFilter: "mine",
    demo: false,
    signedIn: true,
    secretStorage: "keyring",
    ...overrides,
  };
}

const demo = profile({ id: "demo", name: "Demo", url: "http://127.0.0.1:2633/RPC2", user: "oneadmin", demo: true });

function vm(id, name, overrides = {}) {
  return {
    id,
    name,
    owner: "alice",
    group: "users",
    state: "RUNNING",
    stateClass: "running",
    host: "node-1",
    ips: [`10.0.0.${id}`],
    vcpu: 2,
    memoryMib: 2048,
    console: true,
    spice: false,
    ...overrides,
  };
}

const vms = [
  vm(3, "web-01"),
  vm(7, "db-primary", { owner: "bob", ips: ["10.0.1.7", "fd00::7"], memoryMib: 512 }),
  vm(12, "build-agent", { state: "POWEROFF", stateClass: "stopped", host: null, ips: [], console: false }),
  vm(20, "web-02", { state: "PENDING", stateClass: "pending", vcpu: null, memoryMib: null, console: false }),
];

function inventory(overrides = {}) {
  return delta({ vms, ...overrides });
}

async function rowIds(page) {
  return page.getByTestId("vm-row").evaluateAll((rows) => rows.map((r) => Number(r.dataset.vmId)));
}

async function fillDialog(page) {
  await page.getByTestId("add-endpoint").click();
  await page.getByTestId("endpoint-name").fill("  Lab cloud ");
  await page.getByTestId("endpoint-url").fill("https://one.lab.example:2633/RPC2");
  await page.getByTestId("endpoint-user").fill("alice");
  await page.getByTestId("endpoint-password").fill("correct horse");
}

test("adding an endpoint sends the form, signs in and shows its inventory", async () => {
  const saved = profile({ authMode: "loginToken", vmFilter: "all" });
  const { browser, page, problems } = await openApp(server.url, {
    app_info: appInfo,
    profiles_list: [],
    profile_save: saved,
    inventory_cached: null,
    inventory_sync: inventory({ profileId: "lab" }),
  });
  try {
    await page.getByText("No endpoints yet.").waitFor();
    await fillDialog(page);
    const password = page.getByTestId("endpoint-password");
    assert.equal(await password.getAttribute("type"), "password");
    assert.equal(await password.getAttribute("autocomplete"), "off");
    assert.equal(await page.getByTestId("endpoint-auth-token").isChecked(), true, "login tokens by default");
    assert.equal(await page.getByTestId("endpoint-allow-http").count(), 0, "no http opt-in for https");
    await page.getByTestId("endpoint-vm-filter").selectOption("all");
    await page.getByTestId("endpoint-pin").fill("AB:CD");
    // Recording is off by default; turned on, the dialog says what it records.
    assert.equal(await page.getByTestId("endpoint-record-consoles").isChecked(), false);
    assert.equal(await page.getByTestId("endpoint-record-consoles-warning").count(), 0);
    await page.getByTestId("endpoint-record-consoles").check();
    assert.match(await page.getByTestId("endpoint-record-consoles-warning").innerText(), /passwords/);
    await page.getByTestId("endpoint-record-consoles").uncheck();
    await screenshot(page, "endpoint-dialog");
    await page.getByTestId("endpoint-save").click();

    const item = page.locator('[data-testid="endpoint-item"][data-profile-id="lab"]');
    await item.waitFor();
    assert.equal(await item.getAttribute("data-signed-in"), "true");
    await page.getByTestId("endpoint-dialog").waitFor({ state: "detached" });
    await page.getByTestId("vm-row").first().waitFor();
    assert.equal(await page.getByTestId("endpoint-indicator").innerText(), "Lab cloud");

    const [save] = await ipcCalls(page, "profile_save");
    assert.deepEqual(save.args, {
      input: {
        id: null,
        name: "Lab cloud",
        url: "https://one.lab.example:2633/RPC2",
        user: "alice",
        authMode: "loginToken",
        vmFilter: "all",
        pinnedSha256: "AB:CD",
        caFile: null,
        allowPlainHttp: false,
        recordConsoles: false,
        consoleTransport: { kind: "direct" },
      },
      password: "correct horse",
      sessionOnly: false,
    });
    const order = (await ipcCalls(page)).map((c) => c.cmd).filter((c) => c.startsWith("inventory"));
    assert.deepEqual(order, ["inventory_cached", "inventory_sync"], "cached first, then live");
    assert.equal(
      await page.evaluate(() => document.body.innerText.includes("correct horse")),
      false,
      "the password is not shown anywhere",
    );
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
  }
});

test("keyringUnavailable offers a session-only password and retries with it", async () => {
  const { browser, page, problems } = await openApp(server.url, {
    app_info: appInfo,
    profiles_list: [],
    profile_save: {
      sequence: [
        { reject: { kind: "keyringUnavailable", message: "No Secret Service is running: unlock or install a keyring." } },
        profile({ secretStorage: "session" }),
      ],
    },
    inventory_cached: null,
    inventory_sync: inventory({ profileId: "lab" }),
  });
  try {
    await fillDialog(page);
    await page.getByTestId("endpoint-save").click();
    const error = page.getByTestId("endpoint-error");
    await error.waitFor();
    assert.match(await error.innerText(), /No Secret Service is running/);
    const sessionOnly = page.getByTestId("endpoint-session-only");
    assert.equal(await sessionOnly.isChecked(), false, "never opted in silently");
    await screenshot(page, "endpoint-keyring-unavailable");
    await sessionOnly.check();
    await page.getByTestId("endpoint-save").click();
    await page.locator('[data-testid="endpoint-item"][data-profile-id="lab"]').waitFor();
    await page.getByText("Password kept for this session only").first().waitFor();

    const saves = await ipcCalls(page, "profile_save");
    assert.deepEqual(
      saves.map((c) => [c.args.password, c.args.sessionOnly]),
      [
        ["correct horse", false],
        ["correct horse", true],
      ],
    );
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
  }
});

test("a tls error shows the fingerprint and can pin it", async () => {
  const fp = Array.from({ length: 32 }, (_, i) => (i * 7 + 16).toString(16).padStart(2, "0").toUpperCase()).join(":");
  const { browser, page, problems } = await openApp(server.url, {
    app_info: appInfo,
    profiles_list: [],
    profile_save: {
      reject: {
        kind: "tls",
        message: `TLS handshake failed: the server presented a certificate with SHA-256 ${fp} but this endpoint is pinned to ${"00:".repeat(31)}00`,
        params: { fingerprint: fp },
      },
    },
  });
  try {
    await fillDialog(page);
    await page.getByTestId("endpoint-save").click();
    await page.getByTestId("endpoint-error").waitFor();
    assert.match(await page.getByTestId("endpoint-error").innerText(), new RegExp(fp));
    assert.equal(await page.getByTestId("endpoint-session-only").count(), 0);
    assert.match(await page.getByTestId("endpoint-pin-compare").innerText(), /openssl x509 -noout -fingerprint -sha256/);
    await page.getByTestId("endpoint-pin-offer").click();
    assert.equal(await page.getByTestId("endpoint-pin").inputValue(), fp, "the presented certificate's, from params");
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
  }
});

test("the inventory renders rows, filters them and labels the demo cloud", async () => {
  const { browser, page, problems } = await openApp(server.url, {
    app_info: appInfo,
    profiles_list: [demo, profile({ signedIn: false })],
    inventory_cached: null,
    inventory_sync: inventory(),
    console_open: null,
  });
  try {
    await page.getByTestId("vm-row").first().waitFor();
    const demoItem = page.locator('[data-testid="endpoint-item"][data-profile-id="demo"]');
    assert.match(await demoItem.innerText(), /Demo cloud/);
    assert.equal(await demoItem.getAttribute("data-signed-in"), "true");
    assert.equal(
      await page.locator('[data-testid="endpoint-item"][data-profile-id="lab"]').getAttribute("data-signed-in"),
      "false",
    );
    assert.deepEqual(await rowIds(page), [3, 7, 12, 20]);
    assert.equal(await page.getByTestId("inventory-count").innerText(), "4 VMs");
    const row7 = page.locator('[data-testid="vm-row"][data-vm-id="7"]');
    const cells = await row7.locator("td").allInnerTexts();
    // The first column is the row's selection checkbox.
    assert.deepEqual(cells.slice(1, 9).map((c) => c.trim().replace(/\s+/g, " ")), [
      "7",
      "db-primary",
      "bob",
      "RUNNING",
      "node-1",
      "10.0.1.7, fd00::7",
      "2",
      "512 MiB",
    ]);
    assert.equal(
      await page.locator('[data-testid="vm-row"][data-vm-id="20"] [data-testid="vm-state"]').getAttribute("data-state-class"),
      "pending",
    );
    await screenshot(page, "inventory");
    await page.emulateMedia({ colorScheme: "dark" });
    await screenshot(page, "inventory-dark");

    const filter = page.getByTestId("inventory-filter");
    await filter.fill("WEB");
    assert.deepEqual(await rowIds(page), [3, 20]);
    assert.equal(await page.getByTestId("inventory-count").innerText(), "2 of 4 VMs");
    await filter.fill("bob");
    assert.deepEqual(await rowIds(page), [7]);
    await filter.fill("10.0.0.12");
    assert.deepEqual(await rowIds(page), []);
    await page.getByTestId("inventory-no-match").waitFor();
    await filter.fill("12");
    assert.deepEqual(await rowIds(page), [12]);
    await filter.fill("");
    assert.deepEqual(await rowIds(page), [3, 7, 12, 20]);

    await page.getByTestId("refresh").click();
    await page.waitForFunction(
      () => window.__ipcCalls.filter((c) => c.cmd === "inventory_sync").length === 2,
    );
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
  }
});

test("the console button is disabled without a console and opens one otherwise", async () => {
  const { browser, page, problems } = await openApp(server.url, {
    app_info: appInfo,
    profiles_list: [demo],
    inventory_cached: null,
    inventory_sync: inventory(),
    console_open: null,
  });
  try {
    await page.getByTestId("vm-row").first().waitFor();
    const off = page.locator('[data-testid="vm-row"][data-vm-id="12"] [data-testid="vm-console"]');
    assert.equal(await off.isDisabled(), true);
    const why = await off.locator("xpath=..").getAttribute("title");
    assert.match(why ?? "", /not running or has no graphics/);
    await off.click({ force: true });

    // Double-click opens the details panel now (vms.test.mjs); the console is the button's job.
    await page.locator('[data-testid="vm-row"][data-vm-id="7"] [data-testid="vm-console"]').click();
    await page.locator('[data-testid="vm-row"][data-vm-id="3"] [data-testid="vm-console"]').click();
    await page.waitForFunction(() => window.__ipcCalls.filter((c) => c.cmd === "console_open").length === 2);
    assert.deepEqual(
      (await ipcCalls(page, "console_open")).map((c) => c.args),
      [
        { id: "demo", vmId: 7 },
        { id: "demo", vmId: 3 },
      ],
      "the disabled button opened nothing",
    );
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
  }
});

test("a SPICE row hands its console to remote-viewer, and says what to install when there is none", async () => {
  const spiceVm = vm(30, "win-desktop", { console: false, spice: true });
  const { browser, page, problems } = await openApp(server.url, {
    app_info: appInfo,
    profiles_list: [demo],
    inventory_cached: null,
    inventory_sync: inventory({ vms: [...vms, spiceVm] }),
    console_spice_open: {
      sequence: [
      { vmId: 30, vmName: "win-desktop", viewer: "/usr/bin/remote-viewer", connected: true },
      {
        reject: {
          kind: "remoteViewer",
          message: "remote-viewer was not found (looked for remote-viewer on PATH)",
          params: { problem: "missing", looked: "remote-viewer on PATH" },
        },
      },
      ],
    },
  });
  try {
    const row = page.locator('[data-testid="vm-row"][data-vm-id="30"]');
    await row.waitFor();
    assert.equal(await row.getByTestId("vm-console").count(), 0, "no VNC button on a SPICE row");
    const spice = row.getByTestId("vm-spice");
    assert.equal((await spice.innerText()).trim(), "SPICE console");
    assert.match((await spice.getAttribute("title")) ?? "", /remote-viewer/);
    assert.equal(await page.locator('[data-testid="vm-row"][data-vm-id="3"] [data-testid="vm-spice"]').count(), 0);

    await spice.click();
    await page.waitForFunction(() => window.__ipcCalls.filter((c) => c.cmd === "console_spice_open").length === 1);
    assert.deepEqual((await ipcCalls(page, "console_spice_open")).map((c) => c.args), [{ id: "demo", vmId: 30 }]);
    assert.equal(await page.getByTestId("error-banner").count(), 0, "a hand-off that worked shows no error");

    await spice.click();
    const banner = page.getByTestId("error-banner");
    await banner.waitFor();
    const text = await banner.innerText();
    assert.match(text, /could not be opened in remote-viewer/);
    assert.match(text, /apt install virt-viewer/);
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
  }
});

test("the endpoint dialog sets consoles through SSH", async () => {
  const saved = profile({ authMode: "loginToken" });
  const { browser, page, problems } = await openApp(server.url, {
    app_info: appInfo,
    profiles_list: [],
    profile_save: saved,
    inventory_cached: null,
    inventory_sync: inventory({ profileId: "lab" }),
  });
  try {
    await page.getByText("No endpoints yet.").waitFor();
    await fillDialog(page);
    assert.equal(await page.getByTestId("endpoint-transport-direct").isChecked(), true, "direct by default");
    assert.equal(await page.getByTestId("endpoint-ssh").count(), 0);
    await page.getByTestId("endpoint-transport-ssh").check();
    assert.equal(await page.getByTestId("endpoint-ssh-host").getAttribute("placeholder"), "the endpoint's host");
    await page.getByTestId("endpoint-ssh-port").fill("2222");
    await page.getByTestId("endpoint-ssh-user").fill("oneadmin");
    await page.getByTestId("endpoint-ssh-jumps").fill("me@bastion:2200, ops@inner");
    assert.equal(await page.getByTestId("endpoint-ssh-identity").count(), 0);
    await page.getByTestId("endpoint-ssh-auth").selectOption("key");
    await page.getByTestId("endpoint-ssh-identity").fill("/home/alice/.ssh/id_ed25519");
    await screenshot(page, "endpoint-dialog-ssh");
    await page.getByTestId("endpoint-save").click();
    await page.getByTestId("endpoint-dialog").waitFor({ state: "detached" });
    const [save] = await ipcCalls(page, "profile_save");
    assert.deepEqual(save.args.input.consoleTransport, {
      kind: "ssh",
      host: null,
      port: 2222,
      user: "oneadmin",
      jumps: ["me@bastion:2200", "ops@inner"],
      auth: "key",
      identityFile: "/home/alice/.ssh/id_ed25519",
    });
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
  }
});

test("a console through SSH asks to accept an unknown host key, then for the SSH password", async () => {
  const fingerprint = "SHA256:q6n4v0Yk2m8Y4g1d0Jb7o2W4yqv7y9mJ0a1L3m5p7Rk";
  const { browser, page, problems } = await openApp(server.url, {
    app_info: appInfo,
    profiles_list: [demo],
    inventory_cached: null,
    inventory_sync: inventory(),
    console_open: {
      sequence: [
        {
          reject: {
            kind: "ssh",
            message: "SSH host 10.0.0.2:22 is not known",
            params: { problem: "hostKeyUnknown", host: "10.0.0.2", port: 22, fingerprint },
          },
        },
        {
          reject: {
            kind: "secretMissing",
            message: "needs the SSH password",
            params: { profile: "Demo", slot: "ssh" },
          },
        },
        {
          reject: {
            kind: "ssh",
            message: "refused",
            params: { problem: "auth", user: "odssh", host: "10.0.0.2", port: 22, method: "password" },
          },
        },
        {
          reject: {
            kind: "ssh",
            message: "changed",
            params: {
              problem: "hostKeyChanged",
              host: "10.0.0.2",
              port: 22,
              fingerprint,
              file: "/home/alice/.ssh/known_hosts",
              line: 7,
            },
          },
        },
      ],
    },
    ssh_host_key_accept: null,
    ssh_secret_save: null,
  });
  try {
    await page.locator('[data-testid="vm-row"][data-vm-id="3"] [data-testid="vm-console"]').click();
    const dialog = page.getByTestId("ssh-hostkey-dialog");
    await dialog.waitFor();
    assert.equal(await page.getByTestId("ssh-hostkey-fingerprint").innerText(), fingerprint);
    assert.match(await dialog.innerText(), /10\.0\.0\.2:22/);
    assert.match(await dialog.innerText(), /ssh-keygen -lf/);
    await screenshot(page, "ssh-hostkey-dialog");
    await page.getByTestId("ssh-hostkey-accept").click();
    // Accepted by fingerprint, then the console is asked for again: now the password.
    const secret = page.getByTestId("ssh-secret-dialog");
    await secret.waitFor();
    assert.deepEqual((await ipcCalls(page, "ssh_host_key_accept")).map((c) => c.args), [{ id: "demo", fingerprint }]);
    assert.equal(await page.getByTestId("ssh-secret-refused").count(), 0);
    assert.equal(await page.getByTestId("ssh-secret-input").getAttribute("type"), "password");
    await page.getByTestId("ssh-secret-input").fill("ssh pass 1");
    await page.getByTestId("ssh-secret-save").click();
    // Refused: asked again, saying so; this time for the session only.
    await page.getByTestId("ssh-secret-refused").waitFor();
    await page.getByTestId("ssh-secret-input").fill("ssh pass 2");
    await page.getByTestId("ssh-secret-keep").uncheck();
    await page.getByTestId("ssh-secret-save").click();
    assert.deepEqual(
      (await ipcCalls(page, "ssh_secret_save")).map((c) => c.args),
      [
        { id: "demo", secret: "ssh pass 1", sessionOnly: false },
        { id: "demo", secret: "ssh pass 2", sessionOnly: true },
      ],
    );
    // A changed key is never offered for acceptance: the banner says it loudly.
    const banner = page.getByTestId("error-banner");
    await banner.waitFor();
    const text = await banner.innerText();
    assert.match(text, /CHANGED/);
    assert.match(text, /known_hosts, line 7/);
    assert.equal(await page.getByTestId("ssh-hostkey-dialog").count(), 0);
    assert.equal((await ipcCalls(page, "console_open")).length, 4);
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
  }
});

test("a stale inventory says since when and why", async () => {
  const { browser, page, problems } = await openApp(server.url, {
    app_info: appInfo,
    profiles_list: [demo],
    inventory_cached: inventory({ stale: true, fetchedAt: Date.now() - 5 * 60_000 }),
    inventory_sync: inventory({
      stale: true,
      fetchedAt: Date.now() - 5 * 60_000,
      staleReason: "The endpoint did not answer within 10 s.",
    }),
  });
  try {
    const banner = page.getByTestId("inventory-stale");
    await banner.waitFor();
    await page.waitForFunction(() => window.__ipcCalls.some((c) => c.cmd === "inventory_sync"));
    await page.getByText("did not answer within 10 s").waitFor();
    const text = await banner.innerText();
    assert.match(text, /Offline — showing the inventory from 5 minutes ago/);
    assert.deepEqual(await rowIds(page), [3, 7, 12, 20], "the snapshot's rows stay visible");
    assert.equal(await page.getByTestId("error-banner").count(), 0, "stale is not an error");
    await screenshot(page, "inventory-stale");
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
  }
});

test("errors show their message in a dismissable banner, never JSON", async () => {
  const { browser, page, problems } = await openApp(server.url, {
    app_info: appInfo,
    profiles_list: [demo],
    inventory_cached: null,
    inventory_sync: { reject: { kind: "network", message: "Cannot reach 127.0.0.1:2633: connection refused." } },
  });
  try {
    const banner = page.getByTestId("error-banner");
    await banner.waitFor();
    const text = await banner.innerText();
    assert.match(text, /Cannot reach 127\.0\.0\.1:2633: connection refused\./);
    assert.doesNotMatch(text, /[{}]|"kind"/);
    assert.equal(await banner.getAttribute("data-kind"), "network");
    await screenshot(page, "error-banner");
    await page.getByTestId("error-dismiss").click();
    await banner.waitFor({ state: "detached" });
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
  }
});

test("a signed-out endpoint asks for its password and signs in", async () => {
  const { browser, page, problems } = await openApp(server.url, {
    app_info: appInfo,
    profiles_list: [profile({ signedIn: false })],
    sign_in: {
      sequence: [
        // The silent try with the stored secret when the endpoint is selected, then the user's own.
        { reject: { kind: "secretMissing", message: "No password is stored for Lab cloud: enter it." } },
        { reject: { kind: "secretMissing", message: "No password is stored for Lab cloud: enter it." } },
        { reject: { kind: "authentication", message: "[one.user.login] User couldn't be authenticated" } },
        profile(),
      ],
    },
    inventory_cached: null,
    inventory_sync: inventory({ profileId: "lab" }),
  });
  try {
    await page.getByTestId("signin").waitFor();
    assert.equal(await page.getByTestId("vm-row").count(), 0);
    // "Nothing stored" from the silent try is not an error to show.
    assert.equal(await page.getByTestId("signin-error").count(), 0);
    await page.getByTestId("signin-submit").click();
    await page.getByText("No password is stored for Lab cloud").waitFor();
    assert.equal(
      await page.evaluate(() => document.activeElement?.getAttribute("data-testid")),
      "signin-password",
      "the password field asks for the secret",
    );
    await screenshot(page, "signin-secret-missing");
    await page.getByTestId("signin-password").fill("wrong");
    await page.getByTestId("signin-submit").click();
    await page.getByText("couldn't be authenticated").waitFor();
    await page.getByTestId("signin-password").fill("right");
    await page.getByTestId("signin-submit").click();
    await page.getByTestId("vm-row").first().waitFor();
    assert.equal(
      await page.locator('[data-testid="endpoint-item"][data-profile-id="lab"]').getAttribute("data-signed-in"),
      "true",
    );
    assert.deepEqual(
      (await ipcCalls(page, "sign_in")).map((c) => c.args),
      [
        { id: "lab", password: null, sessionOnly: false },
        { id: "lab", password: null, sessionOnly: false },
        { id: "lab", password: "wrong", sessionOnly: false },
        { id: "lab", password: "right", sessionOnly: false },
      ],
    );
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
  }
});

test("an endpoint whose secret is stored signs in by itself when selected", async () => {
  const { browser, page, problems } = await openApp(server.url, {
    app_info: appInfo,
    profiles_list: [profile({ signedIn: false })],
    sign_in: profile(),
    inventory_cached: null,
    inventory_sync: inventory({ profileId: "lab" }),
  });
  try {
    await page.getByTestId("vm-row").first().waitFor();
    assert.deepEqual(
      (await ipcCalls(page, "sign_in")).map((c) => c.args),
      [{ id: "lab", password: null, sessionOnly: false }],
      "one silent try with the stored secret, no password typed",
    );
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
  }
});

test("a stored secret the endpoint refuses is explained on the sign-in form", async () => {
  const { browser, page, problems } = await openApp(server.url, {
    app_info: appInfo,
    profiles_list: [profile({ signedIn: false })],
    sign_in: { reject: { kind: "authentication", message: "The login token of \"Lab cloud\" has expired" } },
    inventory_cached: null,
  });
  try {
    await page.getByTestId("signin-error").waitFor();
    assert.match(await page.getByTestId("signin-error").innerText(), /has expired/);
    assert.equal(await page.getByTestId("signin-error").getAttribute("data-kind"), "authentication");
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
  }
});

test("signing out and removing an endpoint (after confirming)", async () => {
  const { browser, page, problems } = await openApp(server.url, {
    app_info: appInfo,
    profiles_list: [demo, profile()],
    inventory_cached: null,
    inventory_sync: inventory(),
    sign_out: profile({ signedIn: false }),
    profile_remove: null,
  });
  try {
    const lab = page.locator('[data-testid="endpoint-item"][data-profile-id="lab"]');
    await lab.getByTestId("endpoint-select").click();
    await lab.getByTestId("endpoint-sign-out").click();
    await page.getByTestId("signin").waitFor();
    assert.equal(await lab.getAttribute("data-signed-in"), "false");
    assert.equal(await page.getByTestId("connection-status").innerText(), "Not connected");

    await lab.getByTestId("endpoint-remove").click();
    assert.equal((await ipcCalls(page, "profile_remove")).length, 0, "nothing removed before confirming");
    await lab.getByTestId("endpoint-remove-confirm").click();
    await lab.waitFor({ state: "detached" });
    assert.deepEqual((await ipcCalls(page, "profile_remove")).map((c) => c.args), [{ id: "lab" }]);
    assert.deepEqual((await ipcCalls(page, "sign_out")).map((c) => c.args), [{ id: "lab" }]);
    // The demo cloud is selected again and shows its inventory.
    await page.getByTestId("vm-row").first().waitFor();
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
  }
});

test("plain http asks for an explicit opt-in that explains the risk, and refused input keeps the form", async () => {
  const { browser, page, problems } = await openApp(server.url, {
    app_info: appInfo,
    profiles_list: [],
    profile_save: {
      reject: {
        kind: "invalidInput",
        message: "url: plain http:// to another machine sends your password or token in clear",
        params: { field: "url", problem: "invalid", detail: "plain http:// to another machine sends your password or token in clear" },
      },
    },
  });
  try {
    await page.getByText("No endpoints yet.").waitFor();
    await fillDialog(page);
    await page.getByTestId("endpoint-url").fill("http://one.lab.example:2633/RPC2");
    await page.getByTestId("endpoint-allow-http").waitFor();
    assert.match(await page.getByTestId("endpoint-allow-http-hint").innerText(), /unencrypted/);
    await page.getByTestId("endpoint-save").click();
    await page.getByTestId("endpoint-error").waitFor();
    const [first] = await ipcCalls(page, "profile_save");
    assert.equal(first.args.input.allowPlainHttp, false, "not confirmed: the shell refuses");
    assert.equal(await page.getByTestId("endpoint-url").inputValue(), "http://one.lab.example:2633/RPC2");
    await page.getByTestId("endpoint-allow-http").check();
    await page.getByTestId("endpoint-save").click();
    await page.waitForFunction(() => window.__ipcCalls.filter((c) => c.cmd === "profile_save").length === 2);
    const calls = await ipcCalls(page, "profile_save");
    assert.equal(calls.at(-1).args.input.allowPlainHttp, true, "the opt-in is sent");
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
  }
});
