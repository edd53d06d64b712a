// The inventory at scale in headless Chromium with IPC mocked: 100,000 rows (virtual, sorted,
// faceted), refreshes that change a few rows, the column chooser and remembered views, and the
// "All endpoints" view.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { ipcCalls, openApp, screenshot, serveDist } from "./harness.mjs";
import { delta, vm } from "./vm-fixtures.mjs";

let server;
before(async () => {
  server = await serveDist();
});
after(async () => {
  await server?.close();
});

const appInfo = { version: "0.1.0-test", platform: "linux" };

function profile(id, name, overrides = {}) {
  return {
    id,
    name,
    url: `https://${id}.example:2633/RPC2`,
    user: "alice",
    authMode: "password",
    vmFilter: "all",
    demo: false,
    signedIn: true,
    secretStorage: "keyring",
    ...overrides,
  };
}

const demo = profile("demo", "Demo", { demo: true, secretStorage: "none" });

function inventory(overrides = {}) {
  return delta(overrides);
}

/** The app with the demo endpoint listing `vms`, once its first row is shown. */
async function openWithVms(vms) {
  const opened = await openApp(server.url, {
    app_info: appInfo,
    profiles_list: [demo],
    inventory_cached: null,
    inventory_sync: inventory({ vms }),
  });
  await opened.page.getByTestId("vm-row").first().waitFor();
  return opened;
}

/** The ids of the rows in the DOM, in order. */
function domIds(page) {
  return page.evaluate(() => [...document.querySelectorAll('[data-testid="vm-row"]')].map((r) => Number(r.dataset.vmId)));
}

test("100,000 VMs: only the rows in view are in the DOM, while scrolling and moving by keyboard", async () => {
  const many = Array.from({ length: 100_000 }, (_, i) =>
    vm(i, `vm-${String(i).padStart(6, "0")}`, i % 7 === 0 ? { state: "POWEROFF", stateClass: "stopped", console: false } : {}),
  );
  const { browser, page, problems } = await openWithVms(many);
  try {
    assert.equal(await page.getByTestId("inventory-count").innerText(), "100,000 VMs");
    const domRows = () => page.getByTestId("vm-row").count();
    assert.ok((await domRows()) <= 200, `${await domRows()} rows in the DOM`);
    const scroller = page.getByTestId("vm-table-scroll");
    // Scroll to the middle and to the end: the rows there are rendered, still at most 200.
    for (const fraction of [0.5, 1]) {
      await scroller.evaluate((el, f) => {
        el.scrollTop = (el.scrollHeight - el.clientHeight) * f;
      }, fraction);
      await page.waitForFunction(
        (f) => {
          const ids = [...document.querySelectorAll('[data-testid="vm-row"]')].map((r) => Number(r.dataset.vmId));
          return ids.length > 0 && (f < 1 ? Math.min(...ids) > 40_000 : ids.includes(99_999));
        },
        fraction,
      );
      assert.ok((await domRows()) <= 200, `${await domRows()} rows after scrolling to ${fraction}`);
    }
    // Keyboard: Home from the last row goes back to the first, which is rendered and focused.
    await page.locator('[data-testid="vm-row"][data-vm-id="99999"]').click();
    await page.keyboard.press("Home");
    await page.waitForFunction(() => document.activeElement?.getAttribute("data-vm-id") === "0");
    await page.keyboard.press("End");
    await page.waitForFunction(() => document.activeElement?.getAttribute("data-vm-id") === "99999");
    assert.ok((await domRows()) <= 200);
    // The filter works on all 100,000.
    await page.getByTestId("inventory-filter").fill("vm-099998");
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="vm-row"]').length === 1);
    assert.equal(await page.getByTestId("inventory-count").innerText(), "1 of 100,000 VMs");
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
  }
});

test("sorting by every column and state facets with counts, over 100,000 VMs", async () => {
  const states = [
    ["RUNNING", "running"],
    ["POWEROFF", "stopped"],
    ["FAILED", "failed"],
  ];
  const many = Array.from({ length: 100_000 }, (_, i) => {
    const [state, stateClass] = states[i % 10 === 0 ? 1 : i % 97 === 0 ? 2 : 0];
    return vm(i, `vm-${(i * 7919) % 100_000}`, {
      state,
      stateClass,
      owner: `user${i % 13}`,
      host: i % 5 === 0 ? null : `node${i % 17}`,
      ips: [`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`],
      vcpu: (i % 8) + 1,
      memoryMib: ((i * 31) % 64) * 256,
    });
  });
  const { browser, page, problems } = await openWithVms(many);
  try {
    const firstIds = () =>
      page.evaluate(() =>
        [...document.querySelectorAll('[data-testid="vm-row"]')].slice(0, 5).map((r) => Number(r.dataset.vmId)),
      );
    const expectFirst = (key, dir) => {
      const f = {
        id: (v) => v.id,
        name: (v) => Number(v.name.slice(3)),
        owner: (v) => Number(v.owner.slice(4)),
        vcpu: (v) => v.vcpu,
        memory: (v) => v.memoryMib,
      }[key];
      const sorted = [...many].sort((a, b) => (dir === "asc" ? 1 : -1) * (f(a) - f(b)) || a.id - b.id);
      return sorted.slice(0, 5).map((v) => v.id);
    };
    assert.deepEqual(await firstIds(), [0, 1, 2, 3, 4]);
    assert.equal(await page.getByTestId("sort-id").getAttribute("data-sort"), "asc");
    for (const key of ["name", "owner", "vcpu", "memory"]) {
      await page.getByTestId(`sort-${key}`).click();
      await page.waitForFunction((k) => document.querySelector(`[data-testid="sort-${k}"]`)?.dataset.sort === "asc", key);
      assert.deepEqual(await firstIds(), expectFirst(key, "asc"), `${key} ascending`);
      await page.getByTestId(`sort-${key}`).click();
      await page.waitForFunction((k) => document.querySelector(`[data-testid="sort-${k}"]`)?.dataset.sort === "desc", key);
      assert.deepEqual(await firstIds(), expectFirst(key, "desc"), `${key} descending`);
    }
    // Host: VMs without one come last either way; IPs sort by number.
    await page.getByTestId("sort-host").click();
    const hostOrder = await page.evaluate(() =>
      [...document.querySelectorAll('[data-testid="vm-row"]')].slice(0, 3).map((r) => r.querySelector("td.extra:nth-of-type(6)")?.textContent),
    );
    assert.ok(hostOrder.every((h) => h?.startsWith("node")), String(hostOrder));
    await page.getByTestId("sort-ips").click();
    assert.deepEqual(await firstIds(), [0, 1, 2, 3, 4]);
    await page.getByTestId("sort-state").click();
    await page.waitForFunction(() => document.querySelector('[data-testid="vm-row"] [data-testid="vm-state"]')?.textContent === "FAILED");
    assert.equal(await page.locator('th[aria-sort="ascending"]').count(), 1);

    // Facets: each state with its count; choosing narrows, and the count says "shown of total".
    const facet = (state) => page.locator(`[data-testid="facet-state"][data-state="${state}"]`);
    const running = many.filter((v) => v.state === "RUNNING").length;
    const poweroff = many.filter((v) => v.state === "POWEROFF").length;
    const failed = many.filter((v) => v.state === "FAILED").length;
    assert.equal(await facet("RUNNING").getAttribute("data-count"), String(running));
    assert.equal(await facet("POWEROFF").getAttribute("data-count"), String(poweroff));
    assert.equal(await facet("FAILED").getAttribute("data-count"), String(failed));
    assert.match(await facet("POWEROFF").innerText(), /POWEROFF 10,000/);
    await facet("FAILED").click();
    assert.equal(await facet("FAILED").getAttribute("aria-pressed"), "true");
    await page.waitForFunction(
      (n) => document.querySelector('[data-testid="inventory-count"]')?.textContent?.startsWith(`${n} of`),
      failed,
    );
    assert.ok(
      await page.evaluate(() =>
        [...document.querySelectorAll('[data-testid="vm-row"]')].every((r) => r.dataset.state === "FAILED"),
      ),
    );
    await facet("POWEROFF").click();
    await page.waitForFunction(
      (n) => document.querySelector('[data-testid="inventory-count"]')?.textContent?.startsWith(`${n.toLocaleString("en")} of`),
      failed + poweroff,
    );
    await facet("FAILED").click();
    await facet("POWEROFF").click();
    await page.waitForFunction(() => document.querySelector('[data-testid="inventory-count"]')?.textContent === "100,000 VMs");
    assert.ok((await page.getByTestId("vm-row").count()) <= 200);
    await screenshot(page, "inventory-100k-facets");
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
  }
});

test("a refresh that changes 50 of 100,000 VMs keeps the selection, the focus and the scroll position", async () => {
  const many = Array.from({ length: 100_000 }, (_, i) => vm(i, `vm-${i}`));
  const first = inventory({ vms: many });
  const { browser, page, problems } = await openApp(server.url, {
    app_info: appInfo,
    profiles_list: [demo],
    inventory_cached: null,
    inventory_sync: { sequence: [first] },
  });
  try {
    await page.getByTestId("vm-row").first().waitFor();
    const scroller = page.getByTestId("vm-table-scroll");
    await scroller.evaluate((el) => {
      el.scrollTop = (el.scrollHeight - el.clientHeight) / 2;
    });
    await page.waitForFunction(() => {
      const ids = [...document.querySelectorAll('[data-testid="vm-row"]')].map((r) => Number(r.dataset.vmId));
      return ids.length > 0 && Math.min(...ids) > 40_000;
    });
    // The rows in the middle of the view: select two, focus a third.
    const inView = await scroller.evaluate((el) => {
      const box = el.getBoundingClientRect();
      return [...el.querySelectorAll('[data-testid="vm-row"]')]
        .filter((r) => {
          const b = r.getBoundingClientRect();
          return b.top >= box.top + 40 && b.bottom <= box.bottom;
        })
        .map((r) => Number(r.dataset.vmId));
    });
    assert.ok(inView.length >= 5, `${inView.length} rows in view`);
    const [a, b, focused] = inView;
    const row = (id) => page.locator(`[data-testid="vm-row"][data-vm-id="${id}"]`);
    await row(a).getByTestId("vm-select").check();
    await row(b).getByTestId("vm-select").check();
    await row(focused).click();
    const scrollTop = await scroller.evaluate((el) => el.scrollTop);

    // 50 VMs change: the selected one, one in view, and 48 elsewhere; the next sync says only that.
    const changedIds = [a, inView[3], ...Array.from({ length: 48 }, (_, i) => i * 1000 + 7)];
    const changed = changedIds.map((id) => vm(id, `vm-${id}`, { state: "POWEROFF", stateClass: "stopped", console: false }));
    const second = inventory({ vms: changed, reset: false, loaded: 100_000 });
    await page.evaluate(([d]) => window.__setHandler("inventory_sync", d), [second]);
    await page.getByTestId("refresh").click();
    await page.waitForFunction((id) => document.querySelector(`[data-testid="vm-row"][data-vm-id="${id}"]`)?.dataset.state === "POWEROFF", a);

    const syncs = await ipcCalls(page, "inventory_sync");
    assert.equal(syncs.at(-1).args.since, first.revision, "the second sync asks for changes since the first");
    assert.equal(await scroller.evaluate((el) => el.scrollTop), scrollTop, "the view did not move");
    assert.equal(await row(a).getAttribute("aria-selected"), "true");
    assert.equal(await row(b).getAttribute("aria-selected"), "true");
    assert.equal(await row(focused).getAttribute("tabindex"), "0", "the focused row keeps the focus");
    assert.equal(await row(inView[3]).getAttribute("data-state"), "POWEROFF");
    assert.equal(await row(inView[4]).getAttribute("data-state"), "RUNNING");
    assert.equal(await page.getByTestId("inventory-count").innerText(), "100,000 VMs");
    const poweroff = page.locator('[data-testid="facet-state"][data-state="POWEROFF"]');
    assert.equal(await poweroff.getAttribute("data-count"), "50");
    assert.ok((await page.getByTestId("vm-row").count()) <= 200);
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
  }
});

test("a first load shows its first page, with progress, before the rest arrives", async () => {
  const many = Array.from({ length: 3_000 }, (_, i) => vm(i, `vm-${i}`));
  const page1 = inventory({ vms: many.slice(2_000), done: false, loaded: 1_000, pages: 1 });
  const page2 = inventory({ vms: many.slice(0, 2_000), reset: false, done: false, loaded: 3_000, pages: 2 });
  page2.revision = page1.revision;
  const last = inventory({ reset: false, loaded: 3_000, pages: 2 });
  const { browser, page, problems } = await openApp(server.url, {
    app_info: appInfo,
    profiles_list: [demo],
    inventory_cached: null,
    inventory_sync: { stream: [page1], last, lastDelayMs: 60_000 },
  });
  try {
    await page.getByTestId("vm-row").first().waitFor();
    assert.equal(await page.getByTestId("inventory-count").innerText(), "1,000 VMs");
    assert.match(await page.getByTestId("inventory-progress").innerText(), /1,000/);
    assert.deepEqual((await domIds(page)).slice(0, 3), [2000, 2001, 2002]);
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
  }
  // With both pages and the answer: every row, no progress left.
  const done = await openApp(server.url, {
    app_info: appInfo,
    profiles_list: [demo],
    inventory_cached: null,
    inventory_sync: { stream: [page1, page2], last },
  });
  try {
    await done.page.waitForFunction(() => document.querySelector('[data-testid="inventory-count"]')?.textContent === "3,000 VMs");
    assert.equal(await done.page.getByTestId("inventory-progress").count(), 0);
    assert.deepEqual((await domIds(done.page)).slice(0, 3), [0, 1, 2]);
    assert.deepEqual(done.problems, []);
  } finally {
    await done.browser.close();
  }
});

test("owner and host facets, the column chooser, and a view remembered per endpoint", async () => {
  const lab = profile("lab", "Lab cloud");
  const prod = profile("prod", "Prod cloud");
  const labVms = [
    vm(1, "alpha", { owner: "alice", host: "node-1" }),
    vm(2, "bravo", { owner: "bob", host: "node-2" }),
    vm(3, "charlie", { owner: "bob", host: "node-1" }),
    vm(4, "delta", { owner: "carol", host: null, state: "PENDING", stateClass: "pending" }),
  ];
  const saved = {
    sort: "name",
    dir: "desc",
    states: [],
    owners: ["bob"],
    hosts: [],
    endpoints: [],
    columns: ["id", "name", "owner", "group"],
  };
  const { browser, page, problems } = await openApp(server.url, {
    app_info: appInfo,
    profiles_list: [lab, prod],
    inventory_cached: null,
    table_view: { by: "id", cases: { lab: saved } },
    inventory_sync: {
      by: "id",
      cases: {
        lab: inventory({ profileId: "lab", vms: labVms }),
        prod: inventory({ profileId: "prod", vms: [vm(9, "zulu")] }),
      },
    },
  });
  const columns = () => page.locator("th[data-column]").evaluateAll((ths) => ths.map((th) => th.dataset.column));
  try {
    // The saved view comes back: bob's VMs by name descending, four columns.
    await page.waitForFunction(() => document.querySelectorAll("th[data-column]").length === 4);
    assert.deepEqual(await columns(), ["id", "name", "owner", "group"]);
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="vm-row"]').length === 2);
    assert.deepEqual(await domIds(page), [3, 2]);
    const owner = (v) => page.locator(`[data-testid="facet-owner"][data-value="${v}"]`);
    assert.equal(await owner("bob").getAttribute("aria-pressed"), "true");
    assert.equal(await owner("bob").getAttribute("data-count"), "2");
    assert.equal(await page.getByTestId("inventory-count").innerText(), "2 of 4 VMs");

    // A host facet narrows further; "(no host)" is a value too.
    const host = (v) => page.locator(`[data-testid="facet-host"][data-value="${v}"]`);
    assert.equal(await host("").getAttribute("data-count"), "1");
    assert.match(await host("").innerText(), /no host/);
    await host("node-1").click();
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="vm-row"]').length === 1);
    assert.deepEqual(await domIds(page), [3]);
    let saves = await ipcCalls(page, "table_view_save");
    assert.deepEqual(saves.at(-1).args, { id: "lab", view: { ...saved, hosts: ["node-1"] } });

    // The column chooser adds a column where the table has it, and remembers it.
    await page.getByTestId("columns-toggle").click();
    await page.getByTestId("column-host").check();
    await page.waitForFunction(() => document.querySelectorAll("th[data-column]").length === 5);
    assert.deepEqual(await columns(), ["id", "name", "owner", "group", "host"]);
    await page.getByTestId("column-owner").uncheck();
    assert.deepEqual(await columns(), ["id", "name", "group", "host"]);
    saves = await ipcCalls(page, "table_view_save");
    assert.deepEqual(saves.at(-1).args.view.columns, ["id", "name", "group", "host"]);
    assert.equal(await page.getByTestId("column-endpoint").count(), 0, "no endpoint column for one endpoint");
    await page.getByTestId("facets-clear").click();
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="vm-row"]').length === 4);

    // Another endpoint has its own (here: the default) view.
    await page.locator('[data-testid="endpoint-item"][data-profile-id="prod"] [data-testid="endpoint-select"]').click();
    await page.waitForFunction(() => document.querySelector('[data-testid="vm-row"]')?.dataset.vmId === "9");
    assert.deepEqual(await columns(), ["id", "name", "owner", "state", "host", "ips", "vcpu", "memory"]);
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
  }
});

test("All endpoints: every endpoint's rows, an endpoint column and facet, only the one away marked stale", async () => {
  const lab = profile("lab", "Lab cloud");
  const prod = profile("prod", "Prod cloud");
  const { browser, page, problems } = await openApp(server.url, {
    app_info: appInfo,
    profiles_list: [lab, prod],
    inventory_cached: null,
    vm_details: { reject: { kind: "notFound", message: "not in this test" } },
    inventory_sync: {
      by: "id",
      cases: {
        lab: inventory({ profileId: "lab", vms: [vm(1, "lab-a"), vm(2, "lab-b", { group: "ops" })] }),
        prod: inventory({
          profileId: "prod",
          vms: [vm(1, "prod-a"), vm(5, "prod-b"), vm(6, "prod-c")],
          stale: true,
          staleReason: "Cannot reach prod.example:2633: connection refused.",
          fetchedAt: Date.now() - 10 * 60_000,
        }),
      },
    },
  });
  const names = () => page.locator('[data-testid="vm-row"] td.name').allInnerTexts();
  try {
    await page.getByTestId("endpoint-all").click();
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="vm-row"]').length === 5);
    assert.equal(await page.getByTestId("inventory-count").innerText(), "5 VMs");
    assert.equal(await page.locator('th[data-column="endpoint"]').count(), 1);
    assert.equal(await page.getByTestId("vm-select").count(), 0, "no bulk selection across endpoints");
    // Only prod is stale: its banner and its rows.
    const stale = page.getByTestId("inventory-stale");
    assert.equal(await stale.count(), 1);
    assert.equal(await stale.getAttribute("data-profile-id"), "prod");
    assert.match(await stale.innerText(), /Prod cloud/);
    const staleRows = await page.locator('[data-testid="vm-row"][data-stale="true"]').evaluateAll((rs) => rs.map((r) => r.dataset.profileId));
    assert.deepEqual(staleRows, ["prod", "prod", "prod"]);
    // Endpoint facet and sort.
    const facet = (v) => page.locator(`[data-testid="facet-endpoint"][data-value="${v}"]`);
    assert.equal(await facet("lab").getAttribute("data-count"), "2");
    assert.match(await facet("prod").innerText(), /Prod cloud 3/);
    await page.getByTestId("sort-endpoint").click();
    assert.deepEqual(await names(), ["lab-a", "lab-b", "prod-a", "prod-b", "prod-c"]);
    await page.getByTestId("sort-endpoint").click();
    assert.deepEqual(await names(), ["prod-a", "prod-b", "prod-c", "lab-a", "lab-b"]);
    await page.getByTestId("columns-toggle").click();
    await page.getByTestId("column-group").check();
    await page.getByTestId("sort-group").click();
    assert.deepEqual((await names())[0], "lab-b", "ops before users");
    await facet("lab").click();
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="vm-row"]').length === 2);
    assert.equal(await page.getByTestId("inventory-count").innerText(), "2 of 5 VMs");
    const saves = await ipcCalls(page, "table_view_save");
    assert.equal(saves.at(-1).args.id, null, "the All view's own view");
    assert.deepEqual(saves.at(-1).args.view.endpoints, ["lab"]);
    await screenshot(page, "inventory-all-endpoints");

    // A row opens in its own endpoint's view, with its details asked for there.
    await page.locator('[data-testid="vm-row"][data-profile-id="lab"][data-vm-id="2"]').dblclick();
    await page.waitForFunction(
      () =>
        document.querySelector('[data-testid="endpoint-item"][data-profile-id="lab"] [data-testid="endpoint-select"]')?.getAttribute("aria-current") === "true",
    );
    await page.waitForFunction(() => window.__ipcCalls.some((c) => c.cmd === "vm_details"));
    assert.deepEqual((await ipcCalls(page, "vm_details")).at(-1).args, { id: "lab", vmId: 2 });
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
  }
});
