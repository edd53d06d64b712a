#!/usr/bin/env python3
"""Benchmarks of the real app window (WebKitGTK through tauri-driver), not timed tests.

Figures, each over N runs (median, max), written to stdout as a Markdown table:
  0. double-click a row → the details panel with its monitoring charts drawn.
  1. click → pending shown: from a Power off click to the next frame painted with the row marked
     pending (measured in the page: performance.now() around the click, a MutationObserver, and
     requestAnimationFrame).
  2. oned reports the new state → the row shows it: the simulator's API is polled every 5 ms for
     the moment it answers POWEROFF; the page records when the row's data-state becomes POWEROFF.
     Both clocks are this machine's (Date.now() and time.time()).
  3. the create dialog opening with 100 templates: from the Create click to the next frame with
     every template option in the DOM.

Usage: scripts/with-display.sh scripts/with-keyring.sh .venv/bin/python scripts/bench-ui.py \
           [--app target/release/onedeck] [--runs 10]
(`make bench-ui` builds the release app and runs this.)
"""

import argparse
import statistics
import sys
import tempfile
import threading
import time
import xmlrpc.client
import xml.etree.ElementTree as ET
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "e2e"))
sys.path.insert(0, str(REPO / "tests" / "python"))
from conftest import isolated_env, new_session, start_driver, stop_driver  # noqa: E402
from test_sim_support import free_port_range, simulator, wait_until  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions as ec  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402

SESSION = "alice:alice"
VM = 0  # alice-run


def state(rpc, vm):
    ok, body, *_ = rpc.one.vm.info(SESSION, vm)
    assert ok, body
    doc = ET.fromstring(body)
    return int(doc.findtext("STATE")), int(doc.findtext("LCM_STATE"))


def add_endpoint(app, wait, url):
    wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "[data-testid=add-endpoint]"))).click()
    wait.until(ec.visibility_of_element_located((By.CSS_SELECTOR, "[data-testid=endpoint-name]")))
    app.find_element(By.CSS_SELECTOR, "[data-testid=endpoint-name]").send_keys("Bench")
    app.find_element(By.CSS_SELECTOR, "[data-testid=endpoint-url]").send_keys(url)
    app.find_element(By.CSS_SELECTOR, "[data-testid=endpoint-user]").send_keys("alice")
    app.find_element(By.CSS_SELECTOR, "[data-testid=endpoint-password]").send_keys("alice")
    Select(app.find_element(By.CSS_SELECTOR, "[data-testid=endpoint-vm-filter]")).select_by_value("mine")
    app.find_element(By.CSS_SELECTOR, "[data-testid=endpoint-save]").click()
    item = wait.until(ec.presence_of_element_located(
        (By.CSS_SELECTOR, "[data-testid=endpoint-item][data-signed-in=true]:not([data-profile-id=demo])")))
    item.find_element(By.CSS_SELECTOR, "[data-testid=endpoint-select]").click()
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, f"[data-testid=vm-row][data-vm-id='{VM}']"))


# Clicks a button and resolves with [ms to the frame after the row is marked pending, epoch ms at
# which the row's data-state became `target`] (the second waits up to 20 s).
CLICK_AND_WATCH = """
const [selector, vm, target, done] = arguments;
const row = () => document.querySelector(`[data-testid=vm-row][data-vm-id='${vm}']`);
let pendingMs = null, stateAt = null;
const finish = () => { if (pendingMs !== null && pendingMs >= 0 && stateAt !== null) { obs.disconnect(); done([pendingMs, stateAt]); } };
const t0 = performance.now();
const obs = new MutationObserver(() => {
  const r = row();
  if (!r) return;
  if (pendingMs === null && r.dataset.pending === 'true') {
    requestAnimationFrame(() => { pendingMs = performance.now() - t0; finish(); });
    pendingMs = -1;
  }
  if (stateAt === null && r.dataset.state === target) { stateAt = Date.now(); finish(); }
});
obs.observe(document.body, { subtree: true, attributes: true, childList: true,
  attributeFilter: ['data-pending', 'data-state'] });
document.querySelector(selector).click();
setTimeout(() => done([pendingMs, stateAt]), 20000);
"""

# Opens the details panel with a double-click and resolves with the ms to the frame after its
# monitoring charts are drawn.
OPEN_DETAILS = """
const [vm, done] = arguments;
const t0 = performance.now();
const cell = document.querySelector(`[data-testid=vm-row][data-vm-id='${vm}'] td.name`);
cell.dispatchEvent(new MouseEvent('dblclick', { bubbles: true }));
const check = () => {
  if (document.querySelector('[data-testid=vm-details] [data-testid=vm-monitoring-chart] canvas')) {
    requestAnimationFrame(() => done(performance.now() - t0));
  } else { requestAnimationFrame(check); }
};
check();
setTimeout(() => done(null), 20000);
"""

OPEN_CREATE = """
const [count, done] = arguments;
const t0 = performance.now();
const check = () => {
  if (document.querySelectorAll('[data-testid=template-option]').length >= count) {
    requestAnimationFrame(() => done(performance.now() - t0));
  } else { requestAnimationFrame(check); }
};
document.querySelector('[data-testid=vm-create]').click();
check();
setTimeout(() => done(null), 20000);
"""


def poll_state(rpc, vm, want, out):
    """Records in out[0] the epoch ms at which the simulator first answers `want` for `vm`."""
    deadline = time.time() + 20
    while time.time() < deadline:
        if state(rpc, vm) == want:
            out.append(time.time() * 1000)
            return
        time.sleep(0.005)


def summary(values):
    return f"{statistics.median(values):.0f} ms (max {max(values):.0f})"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--app", default=str(REPO / "target" / "release" / "onedeck"))
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    app_binary = Path(args.app).resolve()
    pending, shown, dialog, panel = [], [], [], []
    templates = 0
    with simulator("--vnc", "none", "--vnc-base", str(free_port_range(16)), "--templates", "100") as url:
        rpc = xmlrpc.client.ServerProxy(url)
        home = Path(tempfile.mkdtemp(prefix="onedeck-bench-"))
        driver_url, proc, log = start_driver(isolated_env(home), home / "driver.log")
        try:
            app = new_session(driver_url, app_binary)
            wait = WebDriverWait(app, 30)
            add_endpoint(app, wait, url)
            app.set_script_timeout(30)
            for _ in range(args.runs):
                ms = app.execute_async_script(OPEN_DETAILS, VM)
                assert ms is not None, "the details panel did not draw its charts"
                panel.append(ms)
                time.sleep(0.5)
                app.find_element(By.CSS_SELECTOR, "[data-testid=vm-details-close]").click()
                wait.until(lambda d: not d.find_elements(By.CSS_SELECTOR, "[data-testid=vm-details]"))
            app.execute_async_script(OPEN_DETAILS, VM)
            # As a user would, look at the panel before the first click: right after it opens, the
            # charts keep WebKit's main thread busy for a few hundred milliseconds.
            time.sleep(2)
            for _ in range(args.runs):
                for action, target, want in (("poweroff", "POWEROFF", (8, 0)), ("resume", "RUNNING", (3, 3))):
                    sel = f"[data-testid=vm-details] [data-testid=vm-action-{action}]"
                    wait.until(lambda d: d.find_element(By.CSS_SELECTOR, sel).is_enabled())
                    sim_at = []
                    poller = threading.Thread(target=poll_state, args=(rpc, VM, want, sim_at))
                    poller.start()
                    pending_ms, state_at = app.execute_async_script(CLICK_AND_WATCH, sel, VM, target)
                    poller.join()
                    if action == "poweroff":
                        assert pending_ms and pending_ms > 0 and state_at and sim_at, (pending_ms, state_at, sim_at)
                        pending.append(pending_ms)
                        shown.append(state_at - sim_at[0])
                    wait_until("the VM settled", lambda: state(rpc, VM) == want, 20)
                    wait.until(lambda d: d.find_element(
                        By.CSS_SELECTOR, f"[data-testid=vm-row][data-vm-id='{VM}']").get_attribute("data-pending") != "true")
            app.find_element(By.CSS_SELECTOR, "[data-testid=vm-details-close]").click()
            ok, body, *_ = rpc.one.templatepool.info(SESSION, -2, -1, -1)
            assert ok, body
            templates = len(ET.fromstring(body).findall("VMTEMPLATE"))
            for _ in range(args.runs):
                ms = app.execute_async_script(OPEN_CREATE, templates)
                assert ms is not None, "the create dialog did not list the templates"
                dialog.append(ms)
                app.find_element(By.CSS_SELECTOR, "body").send_keys("\ue00c")  # Esc closes it
                wait.until(lambda d: not d.find_elements(By.CSS_SELECTOR, "[data-testid=template-option]"))
            app.quit()
        finally:
            stop_driver(proc, log)
    print(f"| figure ({args.runs} runs, {app_binary.parent.name} build) | median (max) |")
    print("|---|---|")
    print(f"| double-click a row → next frame with the details panel and its charts drawn | {summary(panel)} |")
    print(f"| click Power off → next frame with the row pending | {summary(pending)} |")
    print(f"| the simulator answers POWEROFF → the row shows POWEROFF | {summary(shown)} |")
    print(f"| click Create → next frame listing all {templates} templates | {summary(dialog)} |")
    each = lambda values: ", ".join(f"{v:.0f}" for v in values)  # noqa: E731
    print(f"\nEach run (ms): panel {each(panel)}; pending {each(pending)}; shown {each(shown)}; dialog {each(dialog)}")


if __name__ == "__main__":
    main()
