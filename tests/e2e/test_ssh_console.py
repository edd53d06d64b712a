"""A console through SSH in the real window. The lab (tests/python/ssh_lab.py): "front" runs a
real sshd; "hv" runs QEMU's VNC server, which only "front" reaches. The simulator's VM 0 runs on
host "localhost", mapped to hv's address; the profile (made with `onedeck-cli profile add --ssh`)
sends its consoles through front. The window asks for the SSH password, then to accept front's
host key (the fingerprint ssh-keygen prints; nothing is sent before), asks again after a wrong
password, and shows QEMU's screen. sshd killed: the console says so and reconnects once sshd is back."""

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from conftest import ARTIFACTS, isolated_env, new_session, start_driver, stop_driver

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "python"))
from ssh_lab import USER, lab  # noqa: E402
from test_sim_support import CLI, simulator, wait_until  # noqa: E402

PASSWORD = "Ssh-e2e-pw-6d2f"

NONBLANK = """
const c = document.querySelector('[data-testid=console-screen] canvas');
if (!c || c.width === 0) return false;
const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
for (let i = 0; i < d.length; i += 16) if (d[i] + d[i + 1] + d[i + 2] > 0) return true;
return false;
"""


@pytest.fixture
def ssh_lab(tmp_path):
    if not shutil.which("qemu-system-x86_64"):
        assert not os.environ.get("ONEDECK_REQUIRE_QEMU"), "qemu-system-x86_64 is required"
        pytest.skip("qemu-system-x86_64 is not installed")
    with lab(tmp_path / "lab") as lb:
        lb.in_hv("qemu-system-x86_64", "-display", "none", "-nodefaults", "-vga", "std", "-m", "64",
                 "-vnc", f"{lb.hv_ip}:0")
        lb.wait_in_front(lb.hv_ip, 5900)
        yield lb


def state(d):
    return d.find_element(By.CSS_SELECTOR, "[data-testid=console-state]")


def test_a_console_through_ssh(app_binary, ssh_lab, tmp_path):
    lb = ssh_lab
    home = tmp_path / "home"
    home.mkdir()
    env = isolated_env(home)
    # No VNC server of the simulator's own: VM 0's console (port 5900) is QEMU's in hv.
    with simulator("--vnc", "none", "--vnc-base", "5900", "--user", f"ivy:{PASSWORD}:admin") as url:
        add = subprocess.run(
            [CLI, "profile", "add", "--name", "SSH lab", "--url", url, "--user", "ivy", "--password-stdin",
             "--filter", "all", "--console-host", f"localhost={lb.hv_ip}", "--console-host", f"127.0.0.1={lb.hv_ip}",
             "--ssh", f"{USER}@{lb.front_ip}", "--ssh-auth", "password"],
            input=PASSWORD, capture_output=True, text=True, env=env, timeout=60,
        )
        assert add.returncode == 0, add.stderr
        shown = subprocess.run([CLI, "profile", "show", add.stdout.strip()], capture_output=True, text=True, env=env)
        assert f"through ssh {USER}@{lb.front_ip}:22" in shown.stdout, shown.stdout

        driver_url, driver_proc, log = start_driver(env, ARTIFACTS / "ssh-console-app.log")
        try:
            app = new_session(driver_url, app_binary)
            try:
                wait = WebDriverWait(app, 40)
                main = app.current_window_handle
                item = wait.until(ec.presence_of_element_located(
                    (By.CSS_SELECTOR, "[data-testid=endpoint-item][data-signed-in=true]:not([data-profile-id=demo])")))
                item.find_element(By.CSS_SELECTOR, "[data-testid=endpoint-select]").click()
                row = wait.until(ec.presence_of_element_located(
                    (By.CSS_SELECTOR, "[data-testid=vm-row][data-vm-id='0']")))
                wait.until(lambda d: d.find_element(
                    By.CSS_SELECTOR, "[data-testid=vm-row][data-vm-id='0'] [data-testid=vm-console]").is_enabled())
                row.find_element(By.CSS_SELECTOR, "[data-testid=vm-console]").click()

                # No SSH password stored yet: asked first (nothing is sent before the host key
                # is accepted). This one is wrong.
                box = wait.until(ec.visibility_of_element_located((By.CSS_SELECTOR, "[data-testid=ssh-secret-input]")))
                assert app.find_elements(By.CSS_SELECTOR, "[data-testid=ssh-secret-refused]") == []
                box.send_keys("not-the-password")
                app.find_element(By.CSS_SELECTOR, "[data-testid=ssh-secret-save]").click()

                # front's key is not known: compare and accept it.
                fp = wait.until(ec.visibility_of_element_located((By.CSS_SELECTOR, "[data-testid=ssh-hostkey-fingerprint]")))
                assert fp.text == lb.host_fingerprint()
                app.find_element(By.CSS_SELECTOR, "[data-testid=ssh-hostkey-accept]").click()

                # The wrong password is refused and asked again.
                wait.until(ec.visibility_of_element_located((By.CSS_SELECTOR, "[data-testid=ssh-secret-refused]")))
                box = app.find_element(By.CSS_SELECTOR, "[data-testid=ssh-secret-input]")
                box.send_keys(lb.password)
                app.find_element(By.CSS_SELECTOR, "[data-testid=ssh-secret-save]").click()

                wait.until(lambda d: len(d.window_handles) == 2)
                console = next(h for h in app.window_handles if h != main)
                app.switch_to.window(console)
                wait.until(lambda d: state(d).get_attribute("data-state") == "connected")
                wait.until(lambda d: d.execute_script(NONBLANK))
                app.save_screenshot(str(ARTIFACTS / "ssh-console.png"))

                # sshd dies: the console says so, keeps trying, and is back once sshd is.
                lb.kill_sshd()
                wait.until(lambda d: state(d).get_attribute("data-state") != "connected")
                time.sleep(2)
                assert state(app).get_attribute("data-state") in ("disconnected", "connecting"), state(app).text
                lb.start_sshd()
                WebDriverWait(app, 60).until(lambda d: state(d).get_attribute("data-state") == "connected")
                assert int(state(app).get_attribute("data-reconnected")) >= 1
                wait.until(lambda d: d.execute_script(NONBLANK))
                app.close()
                app.switch_to.window(main)
            finally:
                app.quit()
        finally:
            stop_driver(driver_proc, log)
    # What the user accepted went to OneDeck's own known_hosts file, private.
    known = home / ".local" / "share" / "onedeck" / "ssh_known_hosts"
    assert known.read_text().startswith(f"{lb.front_ip} ssh-ed25519 "), known.read_text()
    assert known.stat().st_mode & 0o777 == 0o600
