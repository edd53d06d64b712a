"""The inventory at scale in the real app: two simulators of 20,000 generated VMs each, both
added through the endpoint dialog, then the "All endpoints" view.

It lists both (per-endpoint counts from the endpoint facet match what each simulator serves),
keeps the DOM small, sorts and narrows by a facet; a refresh after three VMs changed on one
endpoint touches only those rows in the page (a MutationObserver on the table says which rows
changed); a stopped simulator marks only its own endpoint and rows stale.
"""

import re
import sys
import xmlrpc.client
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from conftest import add_endpoint_and_list, app_session, isolated_env

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "python"))
from test_sim_support import start_simulator, stop_simulator, wait_until  # noqa: E402

VMS = 20_000
USER, PASSWORD = "carol", "Scale-pw-5b21"
SESSION = f"{USER}:{PASSWORD}"


@pytest.fixture
def sims():
    started = []
    try:
        for seed in (11, 12):
            started.append(
                start_simulator(
                    "--vms", str(VMS), "--seed", str(seed), "--vnc", "none", "--user", f"{USER}:{PASSWORD}:admin"
                )
            )
        yield started
    finally:
        for proc, _ in started:
            stop_simulator(proc)


def listed(url: str) -> int:
    """How many VMs (not DONE) the simulator lists to carol: what the window must count."""
    ok, body, *_ = xmlrpc.client.ServerProxy(url).one.vmpool.info(SESSION, -2, -1, -1, -1)
    assert ok, body
    return body.count("<VM>")


def rpc(url: str, method: str, *args):
    proxy = xmlrpc.client.ServerProxy(url)
    ok, body, *_ = getattr(proxy, method)(SESSION, *args)
    assert ok, body
    return body


def count_text(app) -> str:
    return app.find_element(By.CSS_SELECTOR, "[data-testid=inventory-count]").text


def number(text: str) -> int:
    return int(re.sub(r"[^\d]", "", text))


def rows(app) -> list[dict]:
    return app.execute_script(
        """return [...document.querySelectorAll('[data-testid="vm-row"]')].map((r) => ({
             id: Number(r.dataset.vmId), profile: r.dataset.profileId, state: r.dataset.state,
             stale: r.dataset.stale, name: r.querySelector('td.name')?.textContent ?? '' }));"""
    )


def natural(name: str):
    return [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", name.lower())]


def test_all_endpoints_at_20000_vms_each(app_binary, sims, tmp_path):
    (_, url_a), (proc_b, url_b) = sims
    want_a, want_b = listed(url_a), listed(url_b)
    home = tmp_path / "home"
    home.mkdir()
    with app_session(app_binary, isolated_env(home), "inventory-scale-app.log") as app:
        wait = WebDriverWait(app, 120)
        add_endpoint_and_list(app, wait, "Alpha", url_a, USER, PASSWORD)
        add_endpoint_and_list(app, wait, "Beta", url_b, USER, PASSWORD)
        ids = {
            item.find_element(By.CSS_SELECTOR, ".name").text.strip(): item.get_attribute("data-profile-id")
            for item in app.find_elements(By.CSS_SELECTOR, "[data-testid=endpoint-item]:not([data-profile-id=demo])")
        }
        alpha, beta = ids["Alpha"], ids["Beta"]

        # The All view lists both, with their counts, and keeps the DOM small.
        app.find_element(By.CSS_SELECTOR, "[data-testid=endpoint-all]").click()
        facet = "[data-testid=facet-endpoint][data-value='{}']"
        wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, facet.format(beta))) == 1)
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "[data-testid=inventory-progress]") == [])
        demo_count = number(app.find_element(By.CSS_SELECTOR, facet.format("demo")).get_attribute("data-count"))
        wait.until(lambda d: number(count_text(d)) == want_a + want_b + demo_count)
        assert number(app.find_element(By.CSS_SELECTOR, facet.format(alpha)).get_attribute("data-count")) == want_a
        assert number(app.find_element(By.CSS_SELECTOR, facet.format(beta)).get_attribute("data-count")) == want_b
        assert len(rows(app)) <= 200
        assert {r["profile"] for r in rows(app)} >= {alpha, beta}, "both endpoints' VM 0 … at the top"

        # Sorting by name: natural order across both endpoints.
        app.find_element(By.CSS_SELECTOR, "[data-testid=sort-name]").click()
        wait.until(
            lambda d: d.find_element(By.CSS_SELECTOR, "[data-testid=sort-name]").get_attribute("data-sort") == "asc"
        )
        names = [r["name"] for r in rows(app)][:40]
        assert names == sorted(names, key=natural), names

        # A state facet narrows both endpoints' rows to that state.
        poweroff = app.find_element(By.CSS_SELECTOR, "[data-testid=facet-state][data-state=POWEROFF]")
        expected = number(poweroff.get_attribute("data-count"))
        poweroff.click()
        wait.until(lambda d: count_text(d).startswith(f"{expected:,} of"))
        shown = rows(app)
        assert shown and all(r["state"] == "POWEROFF" for r in shown)
        assert {r["profile"] for r in shown} >= {alpha, beta}
        app.find_element(By.CSS_SELECTOR, "[data-testid=facets-clear]").click()
        app.find_element(By.CSS_SELECTOR, "[data-testid=sort-id]").click()
        wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "[data-testid=sort-id]").get_attribute("data-sort") == "asc")

        # Three VMs of Alpha change behind the app's back; the refresh rewrites only their rows.
        running = [r for r in rows(app) if r["profile"] == alpha and r["state"] == "RUNNING"][:3]
        assert len(running) == 3, rows(app)[:10]
        renamed, stopped = running[0]["id"], [r["id"] for r in running[1:]]
        rpc(url_a, "one.vm.rename", renamed, "renamed-by-e2e")
        for vm in stopped:
            rpc(url_a, "one.vm.action", "poweroff-hard", vm)
        app.execute_script(
            """window.__touched = new Set();
               const tbody = document.querySelector('[data-testid="vm-table"] tbody');
               window.__observer = new MutationObserver((records) => {
                 for (const rec of records) {
                   const node = rec.target.nodeType === 1 ? rec.target : rec.target.parentElement;
                   const row = node?.closest('[data-testid="vm-row"]');
                   if (row) window.__touched.add(row.dataset.profileId + '/' + row.dataset.vmId);
                 }
               });
               window.__observer.observe(tbody, { subtree: true, childList: true, attributes: true, characterData: true });"""
        )
        app.find_element(By.CSS_SELECTOR, "[data-testid=refresh]").click()

        def changed():
            by_id = {r["id"]: r for r in rows(app) if r["profile"] == alpha}
            return by_id[renamed]["name"] == "renamed-by-e2e" and all(by_id[v]["state"] != "RUNNING" for v in stopped)

        wait_until("the changed rows", changed, timeout=60)
        wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, "[data-testid=refresh]")))
        # The demo cloud is in the All view too and may change on its own: its rows do not count.
        touched = {
            row
            for row in app.execute_script("window.__observer.disconnect(); return [...window.__touched];")
            if not row.startswith("demo/")
        }
        allowed = {f"{alpha}/{vm}" for vm in [renamed, *stopped]}
        assert touched and touched <= allowed, f"rows rewritten: {sorted(touched - allowed)[:10]}"
        assert number(count_text(app)) == want_a + want_b + demo_count

        # Beta goes away: only Beta is marked stale, its rows stay, Alpha's are fresh.
        stop_simulator(proc_b)
        app.find_element(By.CSS_SELECTOR, "[data-testid=refresh]").click()
        stale = wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "[data-testid=inventory-stale]")))
        assert stale.get_attribute("data-profile-id") == beta
        assert "Beta" in stale.text
        assert len(app.find_elements(By.CSS_SELECTOR, "[data-testid=inventory-stale]")) == 1
        shown = rows(app)
        assert all(r["stale"] == ("true" if r["profile"] == beta else "false") for r in shown)
        assert {r["profile"] for r in shown} >= {alpha, beta}
        assert number(count_text(app)) == want_a + want_b + demo_count
