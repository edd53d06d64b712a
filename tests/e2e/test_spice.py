"""The SPICE hand-off in the real window. The simulator runs a SPICE VM's console with QEMU's
SPICE server; the row says "SPICE console"; a click starts the real remote-viewer, which connects
through the relay's one-shot forward (its window appears with the VM's title and shows QEMU's
screen) and the .vv file is gone; with no remote-viewer the window says what to install and
writes nothing."""

import os
import shutil
import subprocess
import sys
import time
import xmlrpc.client
from pathlib import Path

import pytest
from PIL import Image
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from conftest import ARTIFACTS, add_endpoint_and_list, in_view, isolated_env, new_session, start_driver, stop_driver

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "python"))
from test_sim_support import free_port_range, simulator, wait_until  # noqa: E402

USER, PASSWORD = "frank", "Spice-pw-5c1d"
VM_NAME = "spice-e2e"


@pytest.fixture
def spice_vm():
    """A simulator with a running SPICE VM: (endpoint URL, VM id)."""
    for tool in ("qemu-system-x86_64", "remote-viewer", "xdotool"):
        if not shutil.which(tool):
            assert not os.environ.get("ONEDECK_REQUIRE_QEMU"), f"{tool} is required (scripts/ensure-deps.sh)"
            pytest.skip(f"{tool} is not installed")
    with simulator("--vnc-base", str(free_port_range(32)), "--user", f"{USER}:{PASSWORD}:admin") as url:
        one = xmlrpc.client.ServerProxy(url)
        ok, vm_id, *_ = one.one.template.instantiate(
            f"{USER}:{PASSWORD}", 0, VM_NAME, False, 'GRAPHICS=[TYPE="SPICE",LISTEN="0.0.0.0"]'
        )
        assert ok, vm_id

        def running():
            ok, body, *_ = one.one.vm.info(f"{USER}:{PASSWORD}", vm_id)
            return ok and "<STATE>3</STATE>" in body and "<LCM_STATE>3</LCM_STATE>" in body

        wait_until("the SPICE VM runs", running, timeout=30)
        yield url, vm_id


def app_env(home: Path, **extra) -> dict:
    env = isolated_env(home)
    run = home / "run"
    run.mkdir(mode=0o700)
    env["XDG_RUNTIME_DIR"] = str(run)
    env.update(extra)
    return env


def spice_button(app, wait, url: str, vm_id: int):
    add_endpoint_and_list(app, wait, "Spice lab", url, USER, PASSWORD)
    row = wait.until(
        ec.presence_of_element_located((By.CSS_SELECTOR, f"[data-testid=vm-row][data-vm-id='{vm_id}']"))
    )
    assert row.find_elements(By.CSS_SELECTOR, "[data-testid=vm-console]") == [], "no VNC button"
    button = in_view(app, row).find_element(By.CSS_SELECTOR, "[data-testid=vm-spice]")
    assert button.text.strip() == "SPICE console"
    return button


def viewer_windows() -> list[str]:
    found = subprocess.run(["xdotool", "search", "--name", VM_NAME], capture_output=True, text=True)
    return found.stdout.split()


def test_a_spice_console_opens_in_remote_viewer(app_binary, spice_vm, tmp_path):
    url, vm_id = spice_vm
    home = tmp_path / "home"
    home.mkdir()
    env = app_env(home)
    driver_url, driver_proc, log = start_driver(env, ARTIFACTS / "spice-app.log")
    viewer_pid = None
    try:
        app = new_session(driver_url, app_binary)
        try:
            wait = WebDriverWait(app, 30)
            spice_button(app, wait, url, vm_id).click()
            windows = wait_until("remote-viewer's window", viewer_windows, timeout=30)
            viewer_pid = subprocess.run(
                ["xdotool", "getwindowpid", windows[0]], capture_output=True, text=True
            ).stdout.strip()
            assert app.find_elements(By.CSS_SELECTOR, "[data-testid=error-banner]") == []
            # The viewer shows QEMU's screen (SeaBIOS text on black), not an error dialog.
            shot = ARTIFACTS / "spice-remote-viewer.png"

            def screen_drawn():
                subprocess.run(["import", "-window", windows[-1], str(shot)], capture_output=True)
                if not shot.is_file():
                    return False
                colours = Image.open(shot).convert("RGB").getcolors(maxcolors=1 << 16)
                return colours is None or len(colours) > 2

            wait_until("remote-viewer draws the guest's screen", screen_drawn, timeout=30)
            vv_dir = home / "run" / "onedeck"
            assert vv_dir.is_dir() and (vv_dir.stat().st_mode & 0o777) == 0o700
            wait_until("the .vv file is gone", lambda: list(vv_dir.iterdir()) == [], timeout=10)
        finally:
            app.quit()
    finally:
        if viewer_pid:
            subprocess.run(["kill", viewer_pid], capture_output=True)
        stop_driver(driver_proc, log)


def test_without_remote_viewer_the_window_says_what_to_install(app_binary, spice_vm, tmp_path):
    url, vm_id = spice_vm
    home = tmp_path / "home"
    home.mkdir()
    env = app_env(home, ONEDECK_REMOTE_VIEWER=str(tmp_path / "no-such-viewer"))
    driver_url, driver_proc, log = start_driver(env, ARTIFACTS / "spice-missing-app.log")
    try:
        app = new_session(driver_url, app_binary)
        try:
            wait = WebDriverWait(app, 30)
            spice_button(app, wait, url, vm_id).click()
            banner = wait.until(ec.visibility_of_element_located((By.CSS_SELECTOR, "[data-testid=error-banner]")))
            assert banner.get_attribute("data-kind") == "remoteViewer"
            assert "apt install virt-viewer" in banner.text, banner.text
            time.sleep(0.5)
            assert viewer_windows() == [], "no viewer was started"
            vv_dir = home / "run" / "onedeck"
            assert not vv_dir.exists() or list(vv_dir.iterdir()) == [], "nothing was written"
        finally:
            app.quit()
    finally:
        stop_driver(driver_proc, log)
