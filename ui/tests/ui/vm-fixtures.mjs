// Shared fixtures of the VM management flows (vms.test.mjs, create-vm.test.mjs): the mocked shell's
// answers (inventory, details per state, monitoring) and page helpers. Not a test file.
import assert from "node:assert/strict";
import { ipcCalls } from "./harness.mjs";

export const appInfo = { version: "0.1.0-test", platform: "linux" };
export const demo = {
  id: "demo",
  name: "Demo",
  url: "http://127.0.0.1:2633/RPC2",
  user: "oneadmin",
  authMode: "password",
  vmFilter: "mine",
  demo: true,
  signedIn: true,
  secretStorage: "none",
};

export function vm(id, name, overrides = {}) {
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

export const vms = [
  vm(3, "web-01"),
  vm(7, "db-primary", { owner: "bob" }),
  vm(12, "build-agent", { state: "POWEROFF", stateClass: "stopped", host: null, ips: [], console: false }),
  vm(20, "web-02", { state: "PENDING", stateClass: "pending", console: false }),
];

/** A row as `inventory_sync` sends it (docs/IPC.md, "Inventory"). */
export function compactRow(v) {
  return [v.id, v.name, v.owner, v.group, v.state, v.stateClass, v.host, v.ips, v.vcpu, v.memoryMib, (v.console ? 1 : 0) | (v.spice ? 2 : 0)];
}

let revision = 1000;

/** An `inventory_sync` answer: by default every VM of `vms`, replacing what the page holds. */
export function delta({ vms: rows = [], removed = [], ...rest } = {}) {
  return {
    profileId: "demo",
    revision: ++revision,
    reset: true,
    fetchedAt: Date.now(),
    stale: false,
    staleReason: null,
    done: true,
    loaded: rows.length,
    pages: 0,
    ...rest,
    rows: rows.map(compactRow),
    removed,
  };
}

export function inventory(rows = vms) {
  return delta({ vms: rows });
}

// What core would allow per state; the UI only renders these (VmDetails.operations).
export const allOps = [
  "poweroff",
  "poweroff-hard",
  "resume",
  "reboot",
  "reboot-hard",
  "suspend",
  "stop",
  "undeploy",
  "undeploy-hard",
  "hold",
  "release",
  "terminate",
  "terminate-hard",
  "reinstall",
  "resize",
  "rename",
  "snapshot-create",
  "snapshot-revert",
  "snapshot-delete",
];
export const destructive = new Set(["terminate", "terminate-hard", "reinstall", "snapshot-revert", "snapshot-delete"]);
export const allowedIn = {
  RUNNING: [
    "poweroff",
    "poweroff-hard",
    "reboot",
    "reboot-hard",
    "suspend",
    "stop",
    "undeploy",
    "undeploy-hard",
    "terminate",
    "terminate-hard",
    "reinstall",
    "rename",
    "snapshot-create",
    "snapshot-revert",
    "snapshot-delete",
  ],
  POWEROFF: ["resume", "undeploy", "undeploy-hard", "terminate", "terminate-hard", "reinstall", "resize", "rename"],
  PENDING: ["hold", "terminate", "terminate-hard", "rename"],
};

export function operations(label) {
  const allowed = new Set(allowedIn[label] ?? []);
  return allOps.map((op) => ({ op, allowed: allowed.has(op), destructive: destructive.has(op) }));
}

export const now = Math.floor(Date.now() / 1000);

export function details(id, name, label = "RUNNING", overrides = {}) {
  const running = label === "RUNNING";
  return {
    profileId: "demo",
    id,
    name,
    owner: "alice",
    group: "users",
    uid: 5,
    gid: 100,
    state: running ? "ACTIVE" : label,
    lcmState: running ? "RUNNING" : null,
    stateLabel: label,
    stateClass: running ? "running" : label === "POWEROFF" ? "stopped" : "pending",
    host: running ? "node-1" : null,
    ips: running ? [`10.0.0.${id}`] : [],
    cpu: 1,
    vcpu: 2,
    memoryMib: 2048,
    disks: [
      {
        diskId: 0,
        image: "ubuntu-24.04",
        sizeMib: 20480,
        target: "vda",
        datastore: "default",
        persistent: false,
        type: "FILE",
      },
      { diskId: 1, image: null, sizeMib: 1, target: "hda", datastore: null, persistent: false, type: "CDROM" },
    ],
    nics: [{ nicId: 0, network: "public", ip: `10.0.0.${id}`, ip6: null, mac: "02:00:0a:00:00:03" }],
    graphics: { type: "VNC", port: 5903, listen: "0.0.0.0", keymap: "en-us", hasPassword: true },
    history: [
      { seq: 0, host: "node-2", start: now - 7200, end: now - 3600, action: "poweroff" },
      { seq: 1, host: "node-1", start: now - 3500, end: null, action: null },
    ],
    snapshots: [
      { snapshotId: 0, name: "before-upgrade", time: now - 86_400 },
      { snapshotId: 1, name: "nightly", time: now - 3600 },
    ],
    startTime: now - 7200,
    lastPoll: now - 30,
    userTemplate: 'DESCRIPTION = "web front"\nSSH_PUBLIC_KEY = "ssh-ed25519 AAAA… alice"',
    locked: false,
    operations: operations(label),
    fetchedAt: Date.now(),
    ...overrides,
  };
}

export const detailsById = {
  3: details(3, "web-01"),
  7: details(7, "db-primary"),
  12: details(12, "build-agent", "POWEROFF", { snapshots: [] }),
  20: details(20, "web-02", "PENDING", { snapshots: [], history: [], graphics: null, lastPoll: null }),
};

export function monitoring(points = 24) {
  return {
    vmId: 3,
    points: Array.from({ length: points }, (_, i) => ({
      t: now - (points - i) * 150,
      cpu: 20 + 15 * Math.sin(i / 3),
      memoryMib: 1200 + i * 10,
      netRxBps: 40_000 + 5000 * Math.cos(i / 2),
      netTxBps: 12_000 + 3000 * Math.sin(i / 4),
      diskReadBps: i % 5 === 0 ? 2_000_000 : 100_000,
      diskWriteBps: 300_000 + i * 1000,
    })),
  };
}

export const oned = '[one.vm.action] Error performing action "suspend": This action is not available for state POWEROFF';

/** The mocked shell: inventory, details per VM, monitoring; `extra` adds or replaces commands. */
export function shell(extra = {}) {
  return {
    app_info: appInfo,
    profiles_list: [demo],
    inventory_cached: null,
    inventory_sync: inventory(),
    vm_details: { by: "vmId", cases: detailsById },
    vm_monitoring: monitoring(),
    console_open: null,
    ...extra,
  };
}

export const row = (page, id) => page.locator(`[data-testid="vm-row"][data-vm-id="${id}"]`);
export const panel = (page) => page.getByTestId("vm-details");

export async function ready(page) {
  await page.getByTestId("vm-row").first().waitFor();
}

export async function openDetails(page, id) {
  await row(page, id).locator("td.name").dblclick();
  await panel(page).locator(`[data-testid="vm-action-terminate"]`).waitFor();
  assert.equal(await panel(page).getAttribute("data-vm-id"), String(id));
}

export async function until(page, predicate, arg) {
  await page.waitForFunction(predicate, arg, { timeout: 5000 });
}

export async function callCount(page, cmd) {
  return (await ipcCalls(page, cmd)).length;
}
