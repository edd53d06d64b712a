#!/usr/bin/env python3
"""Benchmarks of the inventory at scale in the real app window (WebKitGTK through tauri-driver,
the release build), not timed tests. For each size (default 10,000 and 100,000 generated VMs):

  1. add the endpoint through the dialog → the count and the rows shown: from the Save click to
     the frame after the count shows every VM (call + decode + IPC + paint; a fresh app and data
     directory each run, so nothing is cached);
     "after a restart" is from the page's start (the window opening) to the frame after the count
     shows every VM, the cached snapshot first;
  2. DOM rows in the table once listed;
  3. filter keystroke → next frame: each key typed into the filter, from its keydown to the frame
     after the table changed (in the page: a capture listener, then requestAnimationFrame),
     median and max over every key of several queries;
  4. memory: proportional set size (PSS, /proc/PID/smaps_rollup) of the app and its WebKit
     processes once listed.

The simulator is the release onedeck-cli (`--vms N`). Prints a Markdown table (for
docs/PERFORMANCE.md) and the raw runs.

Usage: scripts/with-display.sh scripts/with-keyring.sh .venv/bin/python scripts/bench-inventory.py \
           [--app target/release/onedeck] [--cli target/release/onedeck-cli] [--sizes 10000,100000] [--runs 3]
(`make bench-ui` builds both and runs this after scripts/bench-ui.py.)
"""

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import xmlrpc.client
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "e2e"))
from conftest import isolated_env, new_session, start_driver, stop_driver  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions as ec  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402

USER, PASSWORD = "bench", "Bench-pw-41c7"
QUERIES = ["vm-1234", "alice", "10.0.1"]

# Clicks Save and resolves with the ms to the frame after the count shows `total` VMs.
SAVE_AND_LIST = """
const [total, done] = arguments;
const t0 = performance.now();
const shows = () => {
  const text = document.querySelector('[data-testid=inventory-count]')?.textContent ?? '';
  return Number(text.replace(/[^0-9]/g, '')) === total && document.querySelector('[data-testid=vm-row]');
};
const check = () => {
  if (shows()) requestAnimationFrame(() => done(performance.now() - t0));
  else setTimeout(check, 2);
};
document.querySelector('[data-testid=endpoint-save]').click();
check();
setTimeout(() => done(null), 600000);
"""

# After a restart: the ms from the page's start (the window opening) to the frame after the count
# shows `total` (the cached snapshot, then the live answer).
SHOWN_SINCE_START = """
const [total, done] = arguments;
const check = () => {
  const text = document.querySelector('[data-testid=inventory-count]')?.textContent ?? '';
  if (Number(text.replace(/[^0-9]/g, '')) === total && document.querySelector('[data-testid=vm-row]')) {
    requestAnimationFrame(() => done(performance.now()));
  } else setTimeout(check, 2);
};
check();
setTimeout(() => done(null), 600000);
"""

# Records, for every keydown in the filter, the ms to the frame after the table changed.
KEY_PROBE = """
window.__keyMs = [];
const box = document.querySelector('[data-testid=inventory-filter]');
box.addEventListener('keydown', () => {
  const t0 = performance.now();
  // The input event runs after keydown; the table updates in Svelte's microtask; the frame after.
  setTimeout(() => requestAnimationFrame(() => window.__keyMs.push(performance.now() - t0)), 0);
}, { capture: true });
"""


def listed(url: str) -> int:
    proxy = xmlrpc.client.ServerProxy(url)
    # Paged like the app, so a 100,000-VM pool is not one reply.
    total, offset = 0, 0
    while True:
        ok, body, *_ = proxy.one.vmpool.info(f"{USER}:{PASSWORD}", -2, offset, -10000, -1)
        assert ok, body
        n = body.count("<VM>")
        total += n
        offset += 10000
        if n < 10000:
            return total


def pss_kib(pids) -> int:
    total = 0
    for pid in pids:
        try:
            text = Path(f"/proc/{pid}/smaps_rollup").read_text()
        except OSError:
            continue
        m = re.search(r"^Pss:\s+(\d+) kB", text, re.M)
        total += int(m.group(1)) if m else 0
    return total


def family(binary: Path, home: Path) -> list[int]:
    """The app started with this HOME and every process below it (WebKit's web and network
    processes)."""
    parents = {}
    roots = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
            if Path(os.readlink(entry / "exe")) == binary and f"HOME={home}".encode() in (entry / "environ").read_bytes():
                roots.append(int(entry.name))
        except (OSError, ValueError, IndexError):
            continue
    found = set(roots)
    grew = True
    while grew:
        grew = False
        for pid, parent in parents.items():
            if parent in found and pid not in found:
                found.add(pid)
                grew = True
    return sorted(found)


def fill_dialog(app, wait, url):
    wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "[data-testid=add-endpoint]"))).click()
    wait.until(ec.visibility_of_element_located((By.CSS_SELECTOR, "[data-testid=endpoint-name]")))
    app.find_element(By.CSS_SELECTOR, "[data-testid=endpoint-name]").send_keys("Bench")
    app.find_element(By.CSS_SELECTOR, "[data-testid=endpoint-url]").send_keys(url)
    app.find_element(By.CSS_SELECTOR, "[data-testid=endpoint-user]").send_keys(USER)
    app.find_element(By.CSS_SELECTOR, "[data-testid=endpoint-password]").send_keys(PASSWORD)
    Select(app.find_element(By.CSS_SELECTOR, "[data-testid=endpoint-vm-filter]")).select_by_value("all")


def step(what: str) -> None:
    """Progress on stderr (a run at 100,000 VMs takes minutes)."""
    print(f"{time.strftime('%H:%M:%S')} {what}", file=sys.stderr, flush=True)


def one_run(app_binary: Path, url: str, total: int) -> dict:
    home = Path(tempfile.mkdtemp(prefix="onedeck-bench-inv-"))
    try:
        out = {}
        driver_url, proc, log = start_driver(isolated_env(home), home / "driver.log")
        try:
            app = new_session(driver_url, app_binary)
            app.set_script_timeout(600)
            wait = WebDriverWait(app, 600)
            fill_dialog(app, wait, url)
            step(f"adding the endpoint ({total:,} VMs)")
            out["first"] = app.execute_async_script(SAVE_AND_LIST, total)
            assert out["first"] is not None, "the inventory was not listed"
            # Let the background snapshot write and WebKit settle before measuring memory.
            wait.until(lambda d: not d.find_elements(By.CSS_SELECTOR, "[data-testid=inventory-progress]"))
            time.sleep(3)
            out["dom_rows"] = len(app.find_elements(By.CSS_SELECTOR, "[data-testid=vm-row]"))
            out["pss_mib"] = pss_kib(family(app_binary, home)) / 1024
            step(f"listed in {out['first']:.0f} ms; typing")
            app.execute_script(KEY_PROBE)
            box = app.find_element(By.CSS_SELECTOR, "[data-testid=inventory-filter]")
            for query in QUERIES:
                for ch in query:
                    box.send_keys(ch)
                    time.sleep(0.15)
                box.clear()
                box.send_keys(" ")
                box.send_keys("\ue003")  # Backspace: the filter is empty again
                time.sleep(0.5)
            out["keys"] = app.execute_script("return window.__keyMs;")
            app.quit()
            step("restarting")
            # A restart: the cached snapshot is on disk now.
            app = new_session(driver_url, app_binary)
            step("restarted")
            app.set_script_timeout(600)
            wait = WebDriverWait(app, 600)
            # With an endpoint saved there is no demo cloud: the app opens on it, cache first.
            out["cached"] = app.execute_async_script(SHOWN_SINCE_START, total)
            app.quit()
        finally:
            stop_driver(proc, log)
        return out
    finally:
        shutil.rmtree(home, ignore_errors=True)


def med_max(values) -> str:
    return f"{statistics.median(values):,.0f} / {max(values):,.0f}"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--app", default=str(REPO / "target" / "release" / "onedeck"))
    parser.add_argument("--cli", default=str(REPO / "target" / "release" / "onedeck-cli"))
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    app_binary = Path(args.app).resolve()
    results = {}
    for size in [int(s) for s in args.sizes.split(",")]:
        sim = subprocess.Popen(
            [args.cli, "sim", "--listen", "127.0.0.1:0", "--vms", str(size), "--vnc", "none",
             "--user", f"{USER}:{PASSWORD}:admin"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            url = sim.stdout.readline().strip()
            total = listed(url)
            runs = [one_run(app_binary, url, total) for _ in range(args.runs)]
            results[size] = (total, runs)
        finally:
            sim.terminate()
            sim.wait(timeout=30)
    load = os.getloadavg()
    print(f"| figure ({args.runs} runs each, release build, load {load[0]:.1f}) | "
          + " | ".join(f"{s:,} VMs ({t:,} listed)" for s, (t, _) in results.items()) + " |")
    print("|---|" + "---|" * len(results))
    rows = [
        ("add the endpoint → count and rows shown, median / max (ms)", lambda r: med_max([x["first"] for x in r])),
        ("after a restart: the window opens → its rows shown, from the cache (ms)", lambda r: med_max([x["cached"] for x in r])),
        ("DOM rows in the table", lambda r: str(max(x["dom_rows"] for x in r))),
        ("filter keystroke → next frame, median / max (ms)", lambda r: med_max([k for x in r for k in x["keys"]])),
        ("PSS of app + WebKit processes (MiB)", lambda r: f"{statistics.median([x['pss_mib'] for x in r]):,.0f}"),
    ]
    for label, fn in rows:
        print(f"| {label} | " + " | ".join(fn(runs) for _, runs in results.values()) + " |")
    for size, (_, runs) in results.items():
        print(f"\n{size:,} VMs, each run: " + "; ".join(
            f"first {x['first']:.0f} ms, cached {x['cached']:.0f} ms, {x['dom_rows']} rows, {x['pss_mib']:.0f} MiB, "
            f"keys {', '.join(f'{k:.0f}' for k in x['keys'])}" for x in runs))


if __name__ == "__main__":
    main()
