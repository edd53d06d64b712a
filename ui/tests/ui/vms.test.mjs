// VM management in the main window, in headless Chromium with IPC and events mocked: the details
// panel, operations as core allows them, confirmations and form dialogs, pending feedback cleared
// by `vm-changed`, errors in OpenNebula's words, bulk actions, the context menu and keyboard, and
// the monitoring charts.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { docsScreenshot, emitEvent, ipcCalls, openApp, screenshot, serveDist, setHandler } from "./harness.mjs";
import { vm, vms, inventory, details, detailsById, monitoring, oned, shell, row, panel, ready, openDetails, until, callCount } from "./vm-fixtures.mjs";

let server;
before(async () => {
  server = await serveDist();
});
after(async () => {
  await server?.close();
});

test("the details panel opens with Enter or a double-click, shows the VM and closes with Esc or its button", async () => {
  const { browser, page, problems } = await openApp(server.url, shell());
  try {
    await ready(page);
    // Enter on a focused row.
    await row(page, 3).locator("td.name").click();
    await page.keyboard.press("ArrowDown");
    assert.equal(await page.evaluate(() => document.activeElement?.dataset.vmId), "7", "ArrowDown moved the focus");
    await page.keyboard.press("ArrowUp");
    await page.keyboard.press("Enter");
    await panel(page).getByText("web-01").first().waitFor();
    await panel(page).locator('[data-testid="vm-action-terminate"]').waitFor();
    const text = await panel(page).innerText();
    for (const expected of [
      "ID 3",
      "alice / users",
      "Active (ACTIVE)",
      "Running (RUNNING)",
      "node-1",
      "10.0.0.3",
      "ubuntu-24.04",
      "20 GiB",
      "vda",
      "public",
      "02:00:0a:00:00:03",
      "VNC, port 5903",
      "node-2",
      "poweroff",
      "current",
      "before-upgrade",
    ]) {
      assert.ok(text.includes(expected), `the panel shows ${expected}`);
    }
    assert.match(await panel(page).getByTestId("vm-user-template").evaluate((e) => e.tagName), /PRE/);
    assert.match(await panel(page).getByTestId("vm-user-template").innerText(), /SSH_PUBLIC_KEY/);
    assert.notEqual(await panel(page).getByTestId("vm-details-last-poll").innerText(), "Never");
    assert.deepEqual(
      (await ipcCalls(page, "vm_details")).map((c) => c.args),
      [{ id: "demo", vmId: 3 }],
    );
    // The panel's console action opens the console of this VM.
    await panel(page).getByTestId("vm-details-console").click();
    await until(page, () => window.__ipcCalls.some((c) => c.cmd === "console_open"));
    assert.deepEqual((await ipcCalls(page, "console_open")).map((c) => c.args), [{ id: "demo", vmId: 3 }]);

    // Esc closes it and the row has the focus again.
    await row(page, 3).focus();
    await page.keyboard.press("Escape");
    await panel(page).waitFor({ state: "detached" });
    assert.equal(await page.evaluate(() => document.activeElement?.dataset.vmId), "3");

    // A double-click opens it; the close button closes it.
    await row(page, 12).locator("td.name").dblclick();
    await panel(page).getByText("build-agent").first().waitFor();
    assert.equal(await panel(page).getAttribute("data-vm-id"), "12");
    await panel(page).getByTestId("vm-details-close").click();
    await panel(page).waitFor({ state: "detached" });
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
  }
});

test("operations follow VmDetails.operations: a disallowed one is disabled with the reason", async () => {
  const { browser, page, problems } = await openApp(server.url, shell({ vm_action: { vmId: 12 } }));
  try {
    await ready(page);
    await openDetails(page, 12);
    for (const op of ["poweroff", "suspend", "reboot", "snapshot-create"]) {
      const button = panel(page).getByTestId(`vm-action-${op}`);
      assert.equal(await button.isDisabled(), true, `${op} is not offered while POWEROFF`);
      assert.equal(await button.locator("xpath=..").getAttribute("title"), "Not available while POWEROFF");
    }
    await panel(page).getByTestId("vm-actions-reason").getByText("Not available while POWEROFF").waitFor();
    for (const op of ["resume", "terminate", "resize", "rename"]) {
      assert.equal(await panel(page).getByTestId(`vm-action-${op}`).isDisabled(), false, `${op} is offered`);
    }
    // A non-destructive operation runs at once.
    await panel(page).getByTestId("vm-action-resume").click();
    await until(page, () => window.__ipcCalls.some((c) => c.cmd === "vm_action"));
    assert.deepEqual((await ipcCalls(page, "vm_action")).map((c) => c.args), [
      { id: "demo", vmId: 12, action: "resume" },
    ]);
    assert.equal(await page.getByTestId("confirm-dialog").count(), 0, "no confirmation for resume");

    // The PENDING VM offers hold and terminate, not power actions.
    await panel(page).getByTestId("vm-details-close").click();
    await openDetails(page, 20);
    assert.equal(await panel(page).getByTestId("vm-action-hold").isDisabled(), false);
    assert.equal(await panel(page).getByTestId("vm-action-poweroff").isDisabled(), true);
    assert.equal(
      await panel(page).getByTestId("vm-action-poweroff").locator("xpath=..").getAttribute("title"),
      "Not available while PENDING",
    );
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
  }
});

test("terminate asks first, naming the VM: cancel sends nothing, confirm sends the action", async () => {
  const { browser, page, problems } = await openApp(server.url, shell({ vm_action: { vmId: 3 } }));
  try {
    await ready(page);
    await openDetails(page, 3);
    const terminate = panel(page).getByTestId("vm-action-terminate");
    await terminate.click();
    const dialog = page.getByTestId("confirm-dialog");
    await dialog.waitFor();
    assert.match(await dialog.innerText(), /Terminate web-01\?/);
    assert.match(await dialog.getByTestId("confirm-body").innerText(), /web-01 \(ID 3\).*cannot be undone/);
    await screenshot(page, "vm-confirm-terminate");
    await page.getByTestId("confirm-cancel").click();
    await dialog.waitFor({ state: "detached" });
    assert.equal(await callCount(page, "vm_action"), 0, "cancel made no call");
    assert.equal(
      await page.evaluate(() => document.activeElement?.dataset.testid),
      "vm-action-terminate",
      "the focus went back to the button",
    );

    // Esc cancels too, and leaves the panel open.
    await terminate.click();
    await dialog.waitFor();
    await page.keyboard.press("Escape");
    await dialog.waitFor({ state: "detached" });
    assert.equal(await panel(page).count(), 1, "Esc closed the dialog, not the panel");
    assert.equal(await callCount(page, "vm_action"), 0);

    await terminate.click();
    await page.getByTestId("confirm-ok").click();
    await dialog.waitFor({ state: "detached" });
    assert.deepEqual((await ipcCalls(page, "vm_action")).map((c) => c.args), [
      { id: "demo", vmId: 3, action: "terminate" },
    ]);
    assert.equal(await row(page, 3).getAttribute("data-pending"), "true");
    // The VM is gone: its row goes, the panel says so.
    await emitEvent(page, "vm-changed", { profileId: "demo", vmId: 3, vm: null, settled: true });
    await row(page, 3).waitFor({ state: "detached" });
    await page.getByTestId("vm-details-gone").waitFor();
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
  }
});

test("reinstall is confirmed and says which way it happened", async () => {
  const { browser, page, problems } = await openApp(
    server.url,
    shell({ vm_reinstall: { sequence: [{ way: "recreated", vmId: 3, oldVmId: 3 }, { way: "replaced", vmId: 31, oldVmId: 7 }] } }),
  );
  try {
    await ready(page);
    await openDetails(page, 3);
    await panel(page).getByTestId("vm-action-reinstall").click();
    assert.match(await page.getByTestId("confirm-body").innerText(), /web-01 \(ID 3\) is rebuilt from its template/);
    await page.getByTestId("confirm-ok").click();
    const notice = page.getByTestId("action-notice");
    await notice.waitFor();
    assert.equal(await notice.getAttribute("data-way"), "recreated");
    assert.match(await notice.innerText(), /reinstalled in place: it keeps ID 3/);
    await emitEvent(page, "vm-changed", { profileId: "demo", vmId: 3, vm: vms[0], settled: true });

    await panel(page).getByTestId("vm-details-close").click();
    await openDetails(page, 7);
    await panel(page).getByTestId("vm-action-reinstall").click();
    await page.getByTestId("confirm-ok").click();
    await page.locator('[data-testid="action-notice"][data-way="replaced"]').waitFor();
    assert.match(await notice.innerText(), /new VM with ID 31; the old VM 7 is being terminated/);
    assert.deepEqual((await ipcCalls(page, "vm_reinstall")).map((c) => c.args), [
      { id: "demo", vmId: 3 },
      { id: "demo", vmId: 7 },
    ]);
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
  }
});

test("resize and rename dialogs send what was typed", async () => {
  const { browser, page, problems } = await openApp(
    server.url,
    shell({ vm_resize: { vmId: 12 }, vm_rename: { vmId: 12 } }),
  );
  try {
    await ready(page);
    await openDetails(page, 12);
    await panel(page).getByTestId("vm-action-resize").click();
    const resize = page.getByTestId("resize-dialog");
    await resize.waitFor();
    assert.equal(await page.getByTestId("resize-cpu").inputValue(), "1", "starts from the current values");
    assert.equal(await page.getByTestId("resize-memory").inputValue(), "2048");
    await page.getByTestId("resize-vcpu").fill("2.5");
    await page.getByTestId("dialog-submit").click();
    await resize.getByText("Enter a whole number").waitFor();
    assert.equal(await callCount(page, "vm_resize"), 0, "a bad value is not sent");
    await page.getByTestId("resize-cpu").fill("2");
    await page.getByTestId("resize-vcpu").fill("4");
    await page.getByTestId("resize-memory").fill("4096");
    await page.getByTestId("resize-enforce").check();
    await page.getByTestId("dialog-submit").click();
    await resize.waitFor({ state: "detached" });
    assert.deepEqual((await ipcCalls(page, "vm_resize")).map((c) => c.args), [
      { id: "demo", vmId: 12, capacity: { cpu: 2, vcpu: 4, memoryMib: 4096 }, enforce: true },
    ]);
    await emitEvent(page, "vm-changed", { profileId: "demo", vmId: 12, vm: vms[2], settled: true });

    await panel(page).getByTestId("vm-action-rename").click();
    const rename = page.getByTestId("rename-dialog");
    await rename.waitFor();
    assert.equal(await page.getByTestId("rename-input").inputValue(), "build-agent");
    await page.getByTestId("rename-input").fill("  ");
    await page.getByTestId("dialog-submit").click();
    await rename.getByText("Required").waitFor();
    assert.equal(await callCount(page, "vm_rename"), 0);
    await page.getByTestId("rename-input").fill("builder-02");
    await page.keyboard.press("Enter");
    await rename.waitFor({ state: "detached" });
    assert.deepEqual((await ipcCalls(page, "vm_rename")).map((c) => c.args), [
      { id: "demo", vmId: 12, name: "builder-02" },
    ]);
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
  }
});

test("snapshots: take one, revert to one and delete one (both confirmed)", async () => {
  const { browser, page, problems } = await openApp(
    server.url,
    shell({
      vm_snapshot_create: { vmId: 3, snapshotId: 2 },
      vm_snapshot_revert: { vmId: 3 },
      vm_snapshot_delete: { vmId: 3 },
    }),
  );
  try {
    await ready(page);
    await openDetails(page, 3);
    const settle = () => emitEvent(page, "vm-changed", { profileId: "demo", vmId: 3, vm: vms[0], settled: true });

    await panel(page).getByTestId("vm-action-snapshot-create").click();
    await page.getByTestId("snapshot-dialog").waitFor();
    await page.getByTestId("snapshot-name").fill("pre-deploy");
    await page.getByTestId("dialog-submit").click();
    await page.getByTestId("snapshot-dialog").waitFor({ state: "detached" });
    assert.deepEqual((await ipcCalls(page, "vm_snapshot_create")).map((c) => c.args), [
      { id: "demo", vmId: 3, name: "pre-deploy" },
    ]);
    await settle();

    const nightly = panel(page).locator('[data-testid="snapshot-row"][data-snapshot-id="1"]');
    assert.match(await nightly.innerText(), /nightly/);
    await nightly.getByTestId("snapshot-revert").click();
    assert.match(await page.getByTestId("confirm-body").innerText(), /back to the snapshot “nightly”/);
    await page.getByTestId("confirm-cancel").click();
    assert.equal(await callCount(page, "vm_snapshot_revert"), 0);
    await nightly.getByTestId("snapshot-revert").click();
    await page.getByTestId("confirm-ok").click();
    await page.getByTestId("confirm-dialog").waitFor({ state: "detached" });
    assert.deepEqual((await ipcCalls(page, "vm_snapshot_revert")).map((c) => c.args), [
      { id: "demo", vmId: 3, snapshotId: 1 },
    ]);
    await settle();

    const first = panel(page).locator('[data-testid="snapshot-row"][data-snapshot-id="0"]');
    await first.getByTestId("snapshot-delete").click();
    assert.match(await page.getByTestId("confirm-body").innerText(), /“before-upgrade” of web-01 \(ID 3\) is deleted/);
    await page.getByTestId("confirm-ok").click();
    await page.getByTestId("confirm-dialog").waitFor({ state: "detached" });
    assert.deepEqual((await ipcCalls(page, "vm_snapshot_delete")).map((c) => c.args), [
      { id: "demo", vmId: 3, snapshotId: 0 },
    ]);
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
  }
});

test("pending shows at once and vm-changed events move the row on until settled", async () => {
  const { browser, page, problems } = await openApp(
    server.url,
    shell({ vm_action: { delayMs: 300, answer: { vmId: 3 } } }),
  );
  try {
    await ready(page);
    await openDetails(page, 3);
    const button = panel(page).getByTestId("vm-action-poweroff");
    await button.click();
    // Before the shell even answered.
    assert.equal(await row(page, 3).getAttribute("data-pending"), "true");
    assert.equal(await button.getAttribute("data-pending"), "true");
    await screenshot(page, "vm-pending");
    assert.match(await button.innerText(), /Power off…/);
    await until(page, () => window.__ipcCalls.some((c) => c.cmd === "vm_action"));
    const detailsReads = await callCount(page, "vm_details");

    // Not settled yet: the row changes in place and stays pending.
    const shutting = vm(3, "web-01", { state: "SHUTDOWN_POWEROFF", stateClass: "transitional" });
    await setHandler(page, "vm_details", { by: "vmId", cases: { ...detailsById, 3: details(3, "web-01", "POWEROFF") } });
    await emitEvent(page, "vm-changed", { profileId: "demo", vmId: 3, vm: shutting, settled: false });
    await page.locator('[data-testid="vm-row"][data-vm-id="3"][data-state="SHUTDOWN_POWEROFF"]').waitFor();
    assert.equal(await row(page, 3).getAttribute("data-pending"), "true");
    // The open panel re-reads its VM on the event.
    await until(page, (n) => window.__ipcCalls.filter((c) => c.cmd === "vm_details").length > n, detailsReads);

    // Another profile's event changes nothing here.
    await emitEvent(page, "vm-changed", { profileId: "lab", vmId: 3, vm: vms[0], settled: true });
    const off = vm(3, "web-01", { state: "POWEROFF", stateClass: "stopped", console: false });
    await emitEvent(page, "vm-changed", { profileId: "demo", vmId: 3, vm: off, settled: true });
    await page.locator('[data-testid="vm-row"][data-vm-id="3"][data-pending="false"]').waitFor();
    assert.equal(await row(page, 3).getAttribute("data-state"), "POWEROFF");
    await panel(page).locator('[data-testid="vm-details-state"]').getByText("POWEROFF").waitFor();
    assert.equal(await panel(page).getByTestId("vm-action-poweroff").isDisabled(), true, "the panel updated in place");
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
  }
});

test("a wrong-state error shows oned's message; a failing dialog keeps what was typed", async () => {
  const wrongState = { kind: "wrongState", message: "The VM cannot do that now.", params: { oned, code: 2048 } };
  const { browser, page, problems } = await openApp(
    server.url,
    shell({
      vm_action: { reject: wrongState },
      vm_rename: {
        reject: {
          kind: "wrongState",
          message: "Rename refused.",
          params: { oned: "[one.vm.rename] Cannot rename a VM in state HOTPLUG", code: 2048 },
        },
      },
    }),
  );
  try {
    await ready(page);
    await openDetails(page, 3);
    await panel(page).getByTestId("vm-action-suspend").click();
    const error = panel(page).getByTestId("action-error");
    await error.waitFor();
    assert.equal(await error.getAttribute("data-kind"), "wrongState");
    const text = await error.innerText();
    assert.ok(text.includes(oned), "oned's own words");
    assert.match(text, /Suspend failed for web-01/);
    assert.match(text, /Not possible in the VM’s current state/);
    assert.equal(await row(page, 3).getAttribute("data-pending"), "false", "a failure clears pending");
    await screenshot(page, "vm-action-error");
    await error.getByTestId("action-error-dismiss").click();
    await error.waitFor({ state: "detached" });

    await panel(page).getByTestId("vm-action-rename").click();
    await page.getByTestId("rename-input").fill("web-01-renamed");
    await page.getByTestId("dialog-submit").click();
    const dialogError = page.getByTestId("rename-dialog").getByTestId("action-error");
    await dialogError.waitFor();
    assert.match(await dialogError.innerText(), /Cannot rename a VM in state HOTPLUG/);
    assert.equal(await page.getByTestId("rename-input").inputValue(), "web-01-renamed", "the typed name is kept");
    assert.equal(await page.getByTestId("action-error").count(), 1, "one error element at a time");
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
  }
});

test("a Chinese window words the error itself and quotes only oned's message", async () => {
  const { browser, page, problems } = await openApp(
    server.url,
    shell({ vm_action: { reject: { kind: "wrongState", message: "English sentence from Rust", params: { oned } } } }),
    { initScript: "Object.defineProperty(navigator, 'language', { get: () => 'zh-CN' });" },
  );
  try {
    await ready(page);
    await openDetails(page, 3);
    assert.equal(await panel(page).getByTestId("vm-action-suspend").innerText(), "挂起");
    await panel(page).getByTestId("vm-action-suspend").click();
    const error = panel(page).getByTestId("action-error");
    await error.waitFor();
    const text = await error.innerText();
    assert.match(text, /虚拟机当前状态下无法执行/);
    assert.ok(text.includes(oned));
    assert.ok(!text.includes("English sentence from Rust"), "Rust's message is not shown when oned's is there");
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
  }
});

test("bulk actions report one result per VM, and delete is confirmed", async () => {
  const { browser, page, problems } = await openApp(
    server.url,
    shell({
      vm_bulk_action: {
        sequence: [
          [
            { vmId: 3, ok: true, error: null },
            {
              vmId: 7,
              ok: false,
              error: {
                kind: "authorization",
                message: "Not authorized.",
                params: { oned: "[one.vm.action] User [5] : Not authorized to perform MANAGE VM [7].", code: 512 },
              },
            },
          ],
          [
            { vmId: 3, ok: true, error: null },
            { vmId: 12, ok: true, error: null },
          ],
        ],
      },
    }),
  );
  try {
    await ready(page);
    await row(page, 3).getByTestId("vm-select").check();
    await row(page, 7).locator("td.name").click({ modifiers: ["Control"] });
    assert.equal(await page.getByTestId("bulk-count").innerText(), "2 VMs selected");
    assert.equal(await row(page, 7).getAttribute("aria-selected"), "true");
    await page.getByTestId("bulk-poweroff").click();
    const results = page.getByTestId("bulk-result");
    await results.first().waitFor();
    assert.deepEqual((await ipcCalls(page, "vm_bulk_action")).map((c) => c.args), [
      { id: "demo", vmIds: [3, 7], action: "poweroff" },
    ]);
    const ok = page.locator('[data-testid="bulk-result"][data-vm-id="3"]');
    const failed = page.locator('[data-testid="bulk-result"][data-vm-id="7"]');
    assert.equal(await ok.getAttribute("data-ok"), "true");
    assert.match(await ok.innerText(), /web-01 \(ID 3\)\s*Done/);
    assert.equal(await failed.getAttribute("data-ok"), "false");
    assert.match(await failed.innerText(), /Not authorized: your OpenNebula user may not do this/);
    assert.match(await failed.innerText(), /Not authorized to perform MANAGE VM \[7\]/);
    assert.match(await page.getByTestId("bulk-results").innerText(), /Power off: 1 done, 1 failed/);
    await screenshot(page, "vm-bulk-results");
    assert.equal(await row(page, 3).getAttribute("data-pending"), "true", "the accepted one waits for its event");
    assert.equal(await row(page, 7).getAttribute("data-pending"), "false", "the refused one does not");

    // Shift-click selects a range; delete asks first and names the VMs.
    await page.getByTestId("bulk-clear").click();
    await row(page, 3).locator("td.name").click({ modifiers: ["Control"] });
    await row(page, 12).locator("td.name").click({ modifiers: ["Shift"] });
    assert.equal(await page.getByTestId("bulk-count").innerText(), "3 VMs selected");
    await row(page, 7).getByTestId("vm-select").uncheck();
    await page.getByTestId("bulk-terminate").click();
    const confirm = page.getByTestId("confirm-dialog");
    await confirm.waitFor();
    assert.match(await confirm.innerText(), /Terminate 2 VMs\?/);
    assert.match(await confirm.innerText(), /web-01 \(ID 3\) and build-agent \(ID 12\)/);
    await page.getByTestId("confirm-cancel").click();
    assert.equal(await callCount(page, "vm_bulk_action"), 1, "cancel sent nothing");
    await page.getByTestId("bulk-terminate").click();
    await page.getByTestId("confirm-ok").click();
    await until(page, () => window.__ipcCalls.filter((c) => c.cmd === "vm_bulk_action").length === 2);
    assert.deepEqual((await ipcCalls(page, "vm_bulk_action"))[1].args, {
      id: "demo",
      vmIds: [3, 12],
      action: "terminate",
    });
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
  }
});

test("keyboard: arrows, Space, the context menu key and Esc", async () => {
  const slow = { by: "vmId", cases: Object.fromEntries(Object.entries(detailsById).map(([k, v]) => [k, { delayMs: 400, answer: v }])) };
  const { browser, page, problems } = await openApp(server.url, shell({ vm_details: slow, vm_action: { vmId: 7 } }));
  try {
    await ready(page);
    // After the header's sort buttons, the rows have one tab stop: the first row.
    await page.getByTestId("sort-memory").focus();
    await page.keyboard.press("Tab");
    const focused = () => page.evaluate(() => document.activeElement?.dataset.vmId ?? document.activeElement?.dataset.testid);
    assert.equal(await focused(), "3");
    await page.keyboard.press("ArrowDown");
    assert.equal(await focused(), "7");
    await page.keyboard.press("End");
    assert.equal(await focused(), "20");
    await page.keyboard.press("Home");
    await page.keyboard.press("ArrowDown");
    await page.keyboard.press("Space");
    assert.equal(await row(page, 7).getAttribute("aria-selected"), "true", "Space selects");
    await page.keyboard.press("Space");
    assert.equal(await row(page, 7).getAttribute("aria-selected"), "false", "and unselects");

    // The ContextMenu key opens the menu; its operations wait for vm_details.
    await page.keyboard.press("ContextMenu");
    const menu = page.getByTestId("vm-menu");
    await menu.waitFor();
    assert.equal(await menu.getAttribute("data-vm-id"), "7");
    assert.equal(await menu.getByTestId("vm-action-poweroff").isDisabled(), true, "disabled until vm_details answers");
    await page.locator('[data-testid="vm-menu"][data-ready="true"]').waitFor();
    assert.equal(await menu.getByTestId("vm-action-poweroff").isDisabled(), false);
    assert.equal(await menu.getByTestId("vm-action-resume").isDisabled(), true);
    assert.equal(await menu.getByTestId("vm-action-resume").getAttribute("title"), "Not available while RUNNING");
    await screenshot(page, "vm-context-menu");
    await page.keyboard.press("Escape");
    await menu.waitFor({ state: "detached" });
    assert.equal(await focused(), "7", "Esc gave the focus back to the row");

    // Shift+F10 too, then arrows and Enter run an item.
    await page.keyboard.press("Shift+F10");
    await page.locator('[data-testid="vm-menu"][data-ready="true"]').waitFor();
    assert.equal(await focused(), "vm-menu-details");
    await page.keyboard.press("ArrowDown");
    await page.keyboard.press("ArrowDown");
    assert.equal(await focused(), "vm-action-poweroff", "details, console, then the first allowed operation");
    await page.keyboard.press("Enter");
    await menu.waitFor({ state: "detached" });
    await until(page, () => window.__ipcCalls.some((c) => c.cmd === "vm_action"));
    assert.deepEqual((await ipcCalls(page, "vm_action")).map((c) => c.args), [{ id: "demo", vmId: 7, action: "poweroff" }]);

    // A right-click opens it at the pointer; "Details" opens the panel; Esc closes the panel.
    await row(page, 12).locator("td.name").click({ button: "right" });
    await page.locator('[data-testid="vm-menu"][data-vm-id="12"]').waitFor();
    await page.getByTestId("vm-menu-details").click();
    await panel(page).locator('[data-testid="vm-action-terminate"]').waitFor();
    assert.equal(await panel(page).getAttribute("data-vm-id"), "12");
    await row(page, 12).locator("td.name").click({ button: "right" });
    await page.locator('[data-testid="vm-menu"][data-ready="true"]').waitFor();
    assert.equal(await page.getByTestId("vm-action-terminate").count(), 1, "one vm-action-terminate while the menu is open");
    await page.keyboard.press("Escape");
    await menu.waitFor({ state: "detached" });
    assert.equal(await panel(page).count(), 1, "the first Esc closed only the menu");
    await page.keyboard.press("Escape");
    await panel(page).waitFor({ state: "detached" });
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
  }
});

test("the monitoring charts draw the series, follow the range and say when there is no data", async () => {
  const { browser, page, problems } = await openApp(
    server.url,
    shell({ vm_monitoring: { by: "vmId", cases: { 3: monitoring(), 12: { vmId: 12, points: [] } } } }),
  );
  try {
    await ready(page);
    await openDetails(page, 3);
    const chart = panel(page).getByTestId("vm-monitoring-chart");
    await chart.locator("canvas").first().waitFor();
    assert.equal(await chart.locator("canvas").count(), 4, "CPU, memory, network and disk");
    assert.equal(await chart.getAttribute("data-points"), "24");
    for (const title of ["CPU %", "Memory", "Network", "Disk", "Received", "Sent", "Read", "Written"]) {
      assert.ok((await chart.innerText()).includes(title), `the charts name ${title}`);
    }
    // The canvas really has something drawn on it.
    const painted = await chart
      .locator("canvas")
      .first()
      .evaluate((canvas) => {
        const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
        let n = 0;
        for (let i = 3; i < data.length; i += 4) if (data[i] > 0) n += 1;
        return n;
      });
    assert.ok(painted > 100, `the CPU chart is drawn (${painted} pixels)`);
    assert.deepEqual((await ipcCalls(page, "vm_monitoring")).map((c) => c.args), [{ id: "demo", vmId: 3, rangeSecs: 3600 }]);
    await panel(page).getByTestId("monitoring-range").selectOption("86400");
    await until(page, () => window.__ipcCalls.filter((c) => c.cmd === "vm_monitoring").length === 2);
    assert.deepEqual((await ipcCalls(page, "vm_monitoring"))[1].args, { id: "demo", vmId: 3, rangeSecs: 86400 });
    await chart.locator("canvas").first().waitFor();
    // A taller window shows the whole panel down to the charts.
    await page.setViewportSize({ width: 1280, height: 1150 });
    await chart.locator("canvas").nth(3).waitFor();
    await docsScreenshot(page, "vm-details");
    await page.emulateMedia({ colorScheme: "dark" });
    await chart.locator("canvas").first().waitFor();
    await docsScreenshot(page, "vm-details-dark");
    await page.emulateMedia({ colorScheme: "light" });
    await page.setViewportSize({ width: 1200, height: 780 });

    await panel(page).getByTestId("vm-details-close").click();
    await openDetails(page, 12);
    await panel(page).getByTestId("monitoring-empty").waitFor();
    assert.equal(await panel(page).getByTestId("monitoring-empty").innerText(), "No monitoring data yet");
    assert.equal(await panel(page).getByTestId("vm-monitoring-chart").locator("canvas").count(), 0);
    assert.deepEqual(problems, [], "uPlot runs under the app's CSP");
  } finally {
    await browser.close();
  }
});

test("a VM name that is HTML renders as text in the table and the details panel", async () => {
  const XSS = '<img src=x onerror="window.__xss = 1">';
  const hostile = vm(3, XSS);
  const { browser, page, problems } = await openApp(
    server.url,
    shell({
      inventory_sync: inventory([hostile, ...vms.slice(1)]),
      vm_details: details(3, XSS),
    }),
  );
  try {
    await ready(page);
    assert.equal(await row(page, 3).locator("td.name").innerText(), XSS);
    await openDetails(page, 3);
    assert.ok((await panel(page).innerText()).includes(XSS), "the panel shows the name as text");
    assert.equal(await page.evaluate(() => window.__xss), undefined, "no handler ran");
    assert.equal(await page.locator('img[src="x"]').count(), 0, "no element was made from it");
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
  }
});
