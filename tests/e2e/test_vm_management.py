"""VM management in the real app window against the simulator, each state change checked through
the simulator's own API (as alice, over XML-RPC), not only in the DOM.

Create from a template with user inputs → PENDING → RUNNING by itself; power off; resize while
powered off; resume; rename; snapshot create, revert, delete; reinstall, then the new VM's console
works; delete. Then the refusals: a wrong-state action (the state changed behind the window's
back) and an action on a VM alice may see but not manage both show oned's message, and a failing
dialog keeps what was typed.
"""

import sys
import time
import xml.etree.ElementTree as ET
import urllib.request
import xmlrpc.client
from pathlib import Path

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import Select, WebDriverWait

from conftest import ARTIFACTS, in_view, isolated_env, new_session, start_driver, stop_driver

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "python"))
from test_sim_support import free_port_range, simulator, wait_until  # noqa: E402

SESSION = "alice:alice"
# Alice's group (devs, 100) may see, not manage, the VMs of bob's group (ops, 101).
SHARE_RULE = "@100 VM/@101 USE"
BOBS_VM = 10


@pytest.fixture
def sim_url():
    with simulator(
        "--vnc", "builtin", "--vnc-base", str(free_port_range(48)), "--templates", "1",
        "--acl", SHARE_RULE, "--latency", "50",
    ) as url:
        yield url


@pytest.fixture
def app(app_binary, tmp_path):
    """The app in a home of its own (the session's shared home would carry the other test's
    profile, and a home with a profile starts without the demo cloud)."""
    home = tmp_path / "home"
    home.mkdir()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    url, proc, log = start_driver(isolated_env(home), ARTIFACTS / f"vm-management-{tmp_path.name}.log")
    driver = new_session(url, app_binary)
    try:
        yield driver
    finally:
        driver.quit()
        stop_driver(proc, log)


class Sim:
    """The simulator's API as alice sees it: the ground truth the window is checked against."""

    def __init__(self, url):
        self.url = url
        self.rpc = xmlrpc.client.ServerProxy(url)

    def vm(self, vm_id):
        ok, body, *_ = self.rpc.one.vm.info(SESSION, vm_id)
        assert ok, body
        return ET.fromstring(body)

    def state(self, vm_id):
        doc = self.vm(vm_id)
        return int(doc.findtext("STATE")), int(doc.findtext("LCM_STATE"))

    def action(self, name, vm_id):
        ok, body, *_ = self.rpc.one.vm.action(SESSION, name, vm_id)
        assert ok, body

    def pool(self):
        ok, body, *_ = self.rpc.one.vmpool.info(SESSION, -3, -1, -1, -1)
        assert ok, body
        return ET.fromstring(body).findall("VM")

    def transitions(self, vm_id):
        """The STATE/LCM_STATE pairs the VM went through (the simulator's test hook)."""
        url = self.url.replace("/RPC2", f"/sim/vms/{vm_id}/transitions")
        with urllib.request.urlopen(url, timeout=5) as reply:
            return [tuple(int(n) for n in line.split()) for line in reply.read().decode().splitlines()]

    def wait_state(self, vm_id, want, timeout=30):
        wait_until(f"VM {vm_id} in state {want}", lambda: self.state(vm_id) == want, timeout)


RUNNING, POWEROFF, DONE = (3, 3), (8, 0), (6, 0)
HOTPLUG_SNAPSHOT = (3, 24)
PENDING = (1, 0)


def row(app, vm_id):
    """VM `vm_id`'s row, scrolled into the table's view (only rows near the view are rendered)."""
    return in_view(app, app.find_element(By.CSS_SELECTOR, f"[data-testid=vm-row][data-vm-id='{vm_id}']"))


def rows_named(app, name):
    try:
        return [
            r for r in app.find_elements(By.CSS_SELECTOR, "[data-testid=vm-row]")
            if name in r.find_element(By.CSS_SELECTOR, "td.name").text
        ]
    except StaleElementReferenceException:
        return []  # the table re-rendered meanwhile: a wait asks again


def row_state(app, vm_id):
    """The row's state, None once it is gone; "re-rendering" when the row was replaced between
    finding and reading it (a refresh), so a wait asks again."""
    # WebKitWebDriver reports a node removed while it builds the answer as stale, even to a
    # find: both are asked again.
    try:
        found = app.find_elements(By.CSS_SELECTOR, f"[data-testid=vm-row][data-vm-id='{vm_id}']")
        return found[0].get_attribute("data-state") if found else None
    except StaleElementReferenceException:
        return "re-rendering"


def open_details(app, wait, vm_id):
    cell = row(app, vm_id).find_element(By.CSS_SELECTOR, "td.name")
    # WebKitWebDriver does not scroll a pointer action's target into view.
    app.execute_script("arguments[0].scrollIntoView({ block: 'center' })", cell)
    ActionChains(app).double_click(cell).perform()
    panel = wait.until(ec.visibility_of_element_located((By.CSS_SELECTOR, "[data-testid=vm-details]")))
    wait.until(lambda d: f"ID {vm_id}" in panel.text)
    return panel


def act(app, wait, name):
    """Clicks an operation of the open panel once it is enabled (the VM's state allows it)."""
    try:
        button = wait.until(
            lambda d: (b := d.find_element(By.CSS_SELECTOR, f"[data-testid=vm-details] [data-testid=vm-action-{name}]"))
            .is_enabled() and b
        )
    except Exception:
        app.save_screenshot(str(ARTIFACTS / f"stuck-before-{name}.png"))
        raise
    button.click()


def confirm(app, wait):
    wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, "[data-testid=confirm-ok]"))).click()


def fill(app, testid, text):
    field = app.find_element(By.CSS_SELECTOR, f"[data-testid={testid}]")
    field.send_keys(Keys.CONTROL, "a")
    field.send_keys(Keys.DELETE)
    field.send_keys(text)


def add_alice(app, wait, sim_url):
    wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "[data-testid=add-endpoint]")))
    app.find_element(By.CSS_SELECTOR, "[data-testid=add-endpoint]").click()
    wait.until(ec.visibility_of_element_located((By.CSS_SELECTOR, "[data-testid=endpoint-name]")))
    app.find_element(By.CSS_SELECTOR, "[data-testid=endpoint-name]").send_keys("Lab")
    app.find_element(By.CSS_SELECTOR, "[data-testid=endpoint-url]").send_keys(sim_url)
    app.find_element(By.CSS_SELECTOR, "[data-testid=endpoint-user]").send_keys("alice")
    app.find_element(By.CSS_SELECTOR, "[data-testid=endpoint-password]").send_keys("alice")
    Select(app.find_element(By.CSS_SELECTOR, "[data-testid=endpoint-vm-filter]")).select_by_value("all")
    app.find_element(By.CSS_SELECTOR, "[data-testid=endpoint-save]").click()
    item = wait.until(
        ec.presence_of_element_located(
            (By.CSS_SELECTOR, "[data-testid=endpoint-item][data-signed-in=true]:not([data-profile-id=demo])")
        )
    )
    item.find_element(By.CSS_SELECTOR, "[data-testid=endpoint-select]").click()
    wait.until(lambda d: row_state(d, BOBS_VM) is not None)


def test_create_act_reinstall_delete_each_checked_through_the_api(app, sim_url):
    wait = WebDriverWait(app, 30)
    sim = Sim(sim_url)
    add_alice(app, wait, sim_url)
    before = {int(v.findtext("ID")) for v in sim.pool()}

    # Create from the template whose USER_INPUTS ask every type; the defaults fill the rest.
    app.find_element(By.CSS_SELECTOR, "[data-testid=vm-create]").click()
    wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, "[data-testid=template-option][data-template-id='3']"))).click()
    wait.until(ec.visibility_of_element_located((By.CSS_SELECTOR, "[data-testid=user-input-ADMIN_PASSWORD]")))
    app.find_element(By.CSS_SELECTOR, "[data-testid=user-input-ADMIN_PASSWORD]").send_keys("pw-e2e")
    fill(app, "user-input-WORKERS", "6")
    fill(app, "create-name", "e2e-web")
    app.save_screenshot(str(ARTIFACTS / "create-dialog.png"))
    app.find_element(By.CSS_SELECTOR, "[data-testid=create-submit]").click()
    first = wait.until(lambda d: rows_named(d, "e2e-web"))
    assert first[0].get_attribute("data-state") == "PENDING", "the new VM shows as PENDING at once"
    new = wait_until("the new VM in the API", lambda: {int(v.findtext("ID")) for v in sim.pool()} - before)
    (vm,) = new
    doc = sim.vm(vm)
    assert doc.findtext("NAME") == "e2e-web"
    assert doc.findtext("USER_TEMPLATE/WORKERS") == "6", "the typed answer reached oned"
    assert doc.findtext("USER_TEMPLATE/BLOG_TITLE") == "My blog", "a default answer too"
    sim.wait_state(vm, RUNNING)
    wait.until(lambda d: row_state(d, vm) == "RUNNING")
    states = sim.transitions(vm)
    assert states.index(PENDING) < states.index(RUNNING), f"PENDING, then RUNNING by itself: {states}"

    open_details(app, wait, vm)
    act(app, wait, "poweroff")
    sim.wait_state(vm, POWEROFF)
    wait.until(lambda d: row_state(d, vm) == "POWEROFF")

    act(app, wait, "resize")
    wait.until(ec.visibility_of_element_located((By.CSS_SELECTOR, "[data-testid=resize-memory]")))
    fill(app, "resize-memory", "256")
    app.find_element(By.CSS_SELECTOR, "[data-testid=dialog-submit]").click()
    wait_until("MEMORY 256 in the API", lambda: sim.vm(vm).findtext("TEMPLATE/MEMORY") == "256")

    act(app, wait, "resume")
    sim.wait_state(vm, RUNNING)
    wait.until(lambda d: row_state(d, vm) == "RUNNING")

    act(app, wait, "rename")
    wait.until(ec.visibility_of_element_located((By.CSS_SELECTOR, "[data-testid=rename-input]")))
    fill(app, "rename-input", "e2e-renamed")
    app.find_element(By.CSS_SELECTOR, "[data-testid=dialog-submit]").click()
    wait_until("the new name in the API", lambda: sim.vm(vm).findtext("NAME") == "e2e-renamed")
    wait.until(lambda d: rows_named(d, "e2e-renamed"))

    act(app, wait, "snapshot-create")
    wait.until(ec.visibility_of_element_located((By.CSS_SELECTOR, "[data-testid=snapshot-name]")))
    fill(app, "snapshot-name", "before-upgrade")
    app.find_element(By.CSS_SELECTOR, "[data-testid=dialog-submit]").click()
    wait_until("a snapshot in the API", lambda: sim.vm(vm).findtext("TEMPLATE/SNAPSHOT/NAME") == "before-upgrade")
    sim.wait_state(vm, RUNNING)
    snap = wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "[data-testid=snapshot-row]"))[0]
    wait.until(lambda d: snap.find_element(By.CSS_SELECTOR, "[data-testid=snapshot-revert]").is_enabled())
    hotplugs = sim.transitions(vm).count(HOTPLUG_SNAPSHOT)
    snap.find_element(By.CSS_SELECTOR, "[data-testid=snapshot-revert]").click()
    confirm(app, wait)
    # The revert passes through HOTPLUG_SNAPSHOT for ~50 ms: read it from the state log.
    wait_until("the revert in the API", lambda: sim.transitions(vm).count(HOTPLUG_SNAPSHOT) > hotplugs)
    sim.wait_state(vm, RUNNING)
    snap = wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "[data-testid=snapshot-row]"))[0]
    wait.until(lambda d: snap.find_element(By.CSS_SELECTOR, "[data-testid=snapshot-delete]").is_enabled())
    snap.find_element(By.CSS_SELECTOR, "[data-testid=snapshot-delete]").click()
    confirm(app, wait)
    wait_until("no snapshot in the API", lambda: sim.vm(vm).find("TEMPLATE/SNAPSHOT") is None)

    # Alice may not recover: reinstall makes a new VM from the same template and ends the old one.
    sim.wait_state(vm, RUNNING)
    act(app, wait, "reinstall")
    confirm(app, wait)
    sim.wait_state(vm, DONE)
    replacement = wait_until(
        "the replacement VM",
        lambda: [int(v.findtext("ID")) for v in sim.pool() if v.findtext("NAME") == "e2e-renamed"
                 and int(v.findtext("ID")) != vm],
    )[0]
    sim.wait_state(replacement, RUNNING)
    wait.until(lambda d: row_state(d, replacement) == "RUNNING")
    wait.until(lambda d: row_state(d, vm) is None)

    # The replacement's console works.
    main = app.current_window_handle
    console_button = "[data-testid=vm-console]"
    wait.until(lambda d: row(d, replacement).find_element(By.CSS_SELECTOR, console_button).is_enabled())
    # The button itself scrolled in (beside the details panel the table scrolls sideways too).
    in_view(app, row(app, replacement).find_element(By.CSS_SELECTOR, console_button)).click()
    wait.until(lambda d: len(d.window_handles) == 2)
    app.switch_to.window(next(h for h in app.window_handles if h != main))
    wait.until(
        lambda d: d.find_element(By.CSS_SELECTOR, "[data-testid=console-state]").get_attribute("data-state")
        == "connected"
    )
    app.close()
    app.switch_to.window(main)

    # Delete: confirmed, then gone from the window and DONE in the API.
    open_details(app, wait, replacement)
    app.save_screenshot(str(ARTIFACTS / "vm-details.png"))
    act(app, wait, "terminate")
    confirm(app, wait)
    sim.wait_state(replacement, DONE)
    wait.until(lambda d: row_state(d, replacement) is None)


def test_refusals_show_oned_message_and_keep_what_was_typed(app, sim_url):
    wait = WebDriverWait(app, 30)
    sim = Sim(sim_url)
    add_alice(app, wait, sim_url)

    # The window lists VM 5 as RUNNING; behind its back it is powered off, then the window asks to
    # suspend it: oned's wrong-state message is shown.
    vm = 5
    wait.until(lambda d: row_state(d, vm) == "RUNNING")
    open_details(app, wait, vm)
    sim.action("poweroff", vm)
    sim.wait_state(vm, POWEROFF)
    act(app, wait, "suspend")
    error = wait.until(ec.visibility_of_element_located((By.CSS_SELECTOR, "[data-testid=action-error]")))
    assert 'Error performing action "suspend": This action is not available for state POWEROFF' in error.text, error.text
    assert sim.state(vm) == POWEROFF, "nothing changed"

    # Bob's VM is visible (the ACL rule) but not alice's to manage: AUTHORIZATION, and the rename
    # dialog stays open with the typed name.
    app.find_element(By.CSS_SELECTOR, "[data-testid=vm-details-close]").click()
    open_details(app, wait, BOBS_VM)
    act(app, wait, "rename")
    wait.until(ec.visibility_of_element_located((By.CSS_SELECTOR, "[data-testid=rename-input]")))
    fill(app, "rename-input", "not-yours")
    app.find_element(By.CSS_SELECTOR, "[data-testid=dialog-submit]").click()
    error = wait.until(
        lambda d: [e for e in d.find_elements(By.CSS_SELECTOR, "[data-testid=action-error]")
                   if "Not authorized" in e.text]
    )[0]
    assert f"Not authorized to perform MANAGE VM [{BOBS_VM}]" in error.text, error.text
    assert app.find_element(By.CSS_SELECTOR, "[data-testid=rename-input]").get_attribute("value") == "not-yours"
    assert sim.vm(BOBS_VM).findtext("NAME") == "bob-run", "nothing changed"
    time.sleep(0.2)
    app.save_screenshot(str(ARTIFACTS / "refusal.png"))
