// Creating VMs from a template in headless Chromium with IPC mocked: every USER_INPUTS type as a
// field, validation before the call, the exact request, and a refused create keeping the dialog.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { docsScreenshot, emitEvent, ipcCalls, openApp, serveDist, setHandler } from "./harness.mjs";
import { vm, shell, row, ready, callCount } from "./vm-fixtures.mjs";

let server;
before(async () => {
  server = await serveDist();
});
after(async () => {
  await server?.close();
});

function input(name, type, overrides = {}) {
  return { name, type, mandatory: false, description: "", min: null, max: null, options: [], default: null, ...overrides };
}

const userInputs = [
  input("APP_NAME", "text", { mandatory: true, description: "Application name" }),
  input("MOTD", "text64", { description: "Message of the day" }),
  input("ROOT_PASSWORD", "password", { mandatory: true, description: "Root password" }),
  input("WORKERS", "number", { description: "Worker processes", default: "4" }),
  input("RATIO", "number-float", { description: "Cache ratio", default: "0.5" }),
  input("DISK_GB", "range", { description: "Data disk (GB)", min: 10, max: 100, default: "20" }),
  input("CPU_SHARE", "range-float", { description: "CPU share", min: 0.1, max: 1, default: "0.5" }),
  input("FLAVOUR", "list", { mandatory: true, description: "Flavour", options: ["small", "medium", "large"], default: "medium" }),
  input("ZONES", "list-multiple", { description: "Zones", options: ["eu-1", "eu-2", "us-1"], default: "eu-1" }),
  input("SSH", "boolean", { description: "Enable SSH", default: "YES" }),
  input("ROLE", "fixed", { description: "Role", default: "frontend" }),
];

const templates = [
  { id: 0, name: "ubuntu-24.04", owner: "oneadmin", group: "oneadmin", cpu: 1, vcpu: 2, memoryMib: 2048, description: "Ubuntu", userInputs },
  { id: 4, name: "alpine", owner: "alice", group: "users", cpu: 0.5, vcpu: 1, memoryMib: 512, description: null, userInputs: [] },
  ...Array.from({ length: 14 }, (_, i) => ({
    id: 10 + i,
    name: `service-${i}`,
    owner: "oneadmin",
    group: "oneadmin",
    cpu: 1,
    vcpu: 1,
    memoryMib: 1024,
    description: null,
    userInputs: [],
  })),
];

test("create from a template: every input type, validation before the call, the exact request", async () => {
  const { browser, page, problems } = await openApp(server.url, shell({ template_list: templates, vm_create: { ids: [40, 41] } }));
  try {
    await ready(page);
    await page.getByTestId("vm-create").click();
    const dialog = page.getByTestId("create-dialog");
    await page.getByTestId("template-option").first().waitFor();
    assert.equal(await page.getByTestId("template-option").count(), 16);
    assert.equal(await page.getByTestId("create-submit").isDisabled(), true, "nothing to create before a template");
    await page.getByTestId("create-filter").fill("ubuntu");
    assert.equal(await page.getByTestId("template-option").count(), 1);
    const ubuntu = page.locator('[data-testid="template-option"][data-template-id="0"]');
    assert.match(await ubuntu.innerText(), /ubuntu-24\.04[\s\S]*ID 0[\s\S]*1 CPU[\s\S]*2 GiB[\s\S]*oneadmin/);
    await ubuntu.click();

    // Every type rendered as its field, defaults filled in.
    const field = (name) => page.getByTestId(`user-input-${name}`);
    assert.equal(await field("APP_NAME").getAttribute("type"), "text");
    assert.equal(await field("MOTD").evaluate((e) => e.tagName), "TEXTAREA");
    assert.equal(await field("ROOT_PASSWORD").getAttribute("type"), "password");
    assert.equal(await field("WORKERS").inputValue(), "4");
    assert.equal(await field("RATIO").inputValue(), "0.5");
    assert.equal(await field("DISK_GB").inputValue(), "20");
    assert.equal(await page.getByTestId("user-input-DISK_GB-slider").getAttribute("max"), "100");
    assert.equal(await field("CPU_SHARE").inputValue(), "0.5");
    assert.equal(await field("FLAVOUR").evaluate((e) => e.tagName), "SELECT");
    assert.equal(await field("FLAVOUR").inputValue(), "medium");
    assert.equal(await field("ZONES").locator('input[value="eu-1"]').isChecked(), true);
    assert.equal(await field("ZONES").locator('input[value="us-1"]').isChecked(), false);
    assert.equal(await field("SSH").isChecked(), true);
    assert.equal(await field("ROLE").getAttribute("readonly"), "");
    assert.equal(await field("ROLE").inputValue(), "frontend");
    assert.match(await dialog.innerText(), /Application name[\s\S]*required/);

    const creates = () => callCount(page, "vm_create");
    const problemOf = (name) => page.locator(`[data-testid="field-problem"][data-field="${name}"]`);

    // Empty mandatory.
    await page.getByTestId("create-submit").click();
    assert.equal(await problemOf("APP_NAME").innerText(), "Required");
    assert.equal(await problemOf("ROOT_PASSWORD").innerText(), "Required");
    await page.getByTestId("create-invalid").waitFor();
    assert.equal(await creates(), 0);
    await field("APP_NAME").fill("shop");
    await field("ROOT_PASSWORD").fill("s3cret!");

    // A non-number in a NUMBER.
    await field("WORKERS").fill("four");
    await page.getByTestId("create-submit").click();
    assert.equal(await problemOf("WORKERS").innerText(), "Enter a number");
    assert.equal(await creates(), 0);
    await field("WORKERS").fill("8");

    // Out of RANGE.
    await field("DISK_GB").fill("500");
    await page.getByTestId("create-submit").click();
    assert.equal(await problemOf("DISK_GB").innerText(), "Enter a value from 10 to 100");
    assert.equal(await creates(), 0);
    await field("DISK_GB").fill("50");

    // A LIST value that is not offered: the page gets an option the template does not have.
    await page.evaluate(() => {
      const select = document.querySelector('[data-testid="user-input-FLAVOUR"]');
      const option = document.createElement("option");
      option.value = "huge";
      option.textContent = "huge";
      select.append(option);
    });
    await field("FLAVOUR").selectOption("huge");
    await page.getByTestId("create-submit").click();
    assert.equal(await problemOf("FLAVOUR").innerText(), "“huge” is not one of the choices");
    assert.equal(await creates(), 0, "no invalid value reaches the endpoint");
    await field("FLAVOUR").selectOption("large");

    // Count out of 1..100.
    await page.getByTestId("create-count").fill("101");
    await page.getByTestId("create-submit").click();
    assert.equal(await problemOf("count").innerText(), "Enter a value from 1 to 100");
    assert.equal(await creates(), 0);

    await page.getByTestId("create-name").fill("shop-%i");
    await page.getByTestId("create-count").fill("2");
    await page.getByTestId("create-hold").check();
    await field("MOTD").fill("Welcome");
    await field("ZONES").locator('input[value="us-1"]').check();
    await field("SSH").uncheck();
    await page.getByTestId("user-input-CPU_SHARE-slider").fill("0.75");
    assert.equal(await field("CPU_SHARE").inputValue(), "0.75", "the slider drives the number");
    // A taller window shows the whole dialog.
    await page.setViewportSize({ width: 1280, height: 1450 });
    await page.getByTestId("create-filter").scrollIntoViewIfNeeded();
    await docsScreenshot(page, "create-dialog");
    await page.setViewportSize({ width: 1200, height: 780 });
    await page.getByTestId("create-submit").click();
    await dialog.waitFor({ state: "detached" });
    assert.deepEqual((await ipcCalls(page, "vm_create")).map((c) => c.args), [
      {
        id: "demo",
        request: {
          templateId: 0,
          name: "shop-%i",
          count: 2,
          hold: true,
          inputs: {
            APP_NAME: "shop",
            MOTD: "Welcome",
            ROOT_PASSWORD: "s3cret!",
            WORKERS: "8",
            RATIO: "0.5",
            DISK_GB: "50",
            CPU_SHARE: "0.75",
            FLAVOUR: "large",
            ZONES: "eu-1,us-1",
            SSH: "NO",
            ROLE: "frontend",
          },
        },
      },
    ]);
    // The new VMs are listed at once as PENDING, then events move them on.
    for (const [id, name] of [
      [40, "shop-0"],
      [41, "shop-1"],
    ]) {
      const newRow = row(page, id);
      await newRow.waitFor();
      assert.equal(await newRow.getAttribute("data-state"), "PENDING");
      assert.equal(await newRow.getAttribute("data-pending"), "true");
      assert.equal(await newRow.locator("td.name").innerText(), name);
    }
    assert.match(await page.getByTestId("action-notice").innerText(), /Creating 2 VMs: 40 and 41/);
    assert.equal(await page.evaluate(() => document.body.innerText.includes("s3cret!")), false, "the password is not shown");
    await emitEvent(page, "vm-changed", {
      profileId: "demo",
      vmId: 40,
      vm: vm(40, "shop-0", { state: "HOLD", stateClass: "pending", console: false }),
      settled: true,
    });
    await page.locator('[data-testid="vm-row"][data-vm-id="40"][data-state="HOLD"][data-pending="false"]').waitFor();
    assert.equal(await row(page, 41).getAttribute("data-pending"), "true");
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
  }
});

test("a refused create keeps the dialog, the typed values, and marks the field oned named", async () => {
  const { browser, page, problems } = await openApp(
    server.url,
    shell({
      template_list: templates,
      vm_create: {
        reject: {
          kind: "allocation",
          message: "Allocation failed.",
          params: { oned: "[one.template.instantiate] Quota exceeded: VMS", code: 8192 },
        },
      },
    }),
  );
  try {
    await ready(page);
    await page.getByTestId("vm-create").click();
    await page.locator('[data-testid="template-option"][data-template-id="4"]').click();
    await page.getByTestId("create-name").fill("tiny");
    await page.getByTestId("create-submit").click();
    const error = page.getByTestId("create-dialog").getByTestId("action-error");
    await error.waitFor();
    assert.equal(await error.getAttribute("data-kind"), "allocation");
    assert.match(await error.innerText(), /OpenNebula could not allocate the VM/);
    assert.match(await error.innerText(), /Quota exceeded: VMS/);
    assert.equal(await page.getByTestId("create-name").inputValue(), "tiny");
    assert.equal(await row(page, 40).count(), 0, "no placeholder for a refused create");

    await setHandler(page, "vm_create", {
      reject: { kind: "invalidInput", message: "bad count", params: { field: "count", problem: "outOfRange", min: 1, max: 10 } },
    });
    await page.getByTestId("create-submit").click();
    await page.locator('[data-testid="field-problem"][data-field="count"]').getByText("Enter a value from 1 to 10").waitFor();
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
  }
});
