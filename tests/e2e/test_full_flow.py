"""The whole product in the real app, then a search for every secret it handled.

A private home (config, data, cache, state dirs and the WebView's storage all under it), a
simulator with a user whose password is a fresh random canary, and the app driven through its
real window: add the endpoint in login-token mode, refresh the inventory, open a VM's console
(VNC password and relay ticket included), close it, quit. Then every file under that home and
the app's own log must hold none of: the password, the login token, the relay ticket, the VNC
password.
"""

import os
import secrets
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from conftest import ARTIFACTS, fill_endpoint_dialog, isolated_env, new_session, start_driver, stop_driver

REPO = Path(__file__).resolve().parents[2]
# The simulator helpers of the Python suite (onedeck-cli from $ONEDECK_CLI, as make sets it).
sys.path.insert(0, str(REPO / "tests" / "python"))
from test_sim_support import free_port_range, simulator  # noqa: E402

PASSWORD = "Canary-" + secrets.token_hex(12)


@pytest.fixture
def sim_url():
    """A simulator with a user only this test knows, and built-in consoles on free ports."""
    with simulator(
        "--vnc", "builtin", "--vnc-base", str(free_port_range(32)), "--user", f"carol:{PASSWORD}:admin"
    ) as url:
        yield url


def keyring_lookup(profile_id: str):
    out = subprocess.run(
        ["secret-tool", "lookup", "service", "onedeck", "username", profile_id], capture_output=True, text=True
    )
    return out.stdout if out.returncode == 0 else None


def app_processes(binary: Path, home: Path):
    """Pids of the app started for this test (its binary, with this HOME)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if Path(os.readlink(entry / "exe")) != binary:
                continue
            environ = (entry / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if f"HOME={home}".encode() in environ:
            found.append(int(entry.name))
    return found


def files_under(root: Path):
    return [p for p in root.rglob("*") if p.is_file() and not p.is_symlink()]


def contents(path: Path) -> bytes:
    """A file's bytes; WebKit's helper processes may still delete their temporary files after
    the app has gone, and a file that vanished holds nothing."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return b""


def encodings(secret: str):
    return [secret.encode(), secret.encode("utf-16-le")]


def test_sign_in_inventory_console_quit_leaves_no_secret_behind(app_binary, sim_url, tmp_path):
    if not os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
        pytest.fail("no D-Bus session: run through scripts/with-keyring.sh (make test does)")
    home = tmp_path / "home"
    home.mkdir()
    log_path = ARTIFACTS / "full-flow-app.log"
    driver_url, driver_proc, log = start_driver(isolated_env(home), log_path)
    secrets_seen = {"password": PASSWORD}
    try:
        app = new_session(driver_url, app_binary)
        try:
            wait = WebDriverWait(app, 30)
            main = app.current_window_handle
            # First start: the demo cloud, signed in.
            wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "[data-testid=endpoint-item][data-profile-id=demo]")))

            # Add the endpoint (login-token mode: the password is traded for a token).
            fill_endpoint_dialog(app, wait, "Leak check", sim_url, "carol", PASSWORD)
            app.find_element(By.CSS_SELECTOR, "[data-testid=endpoint-auth-token]").click()
            app.find_element(By.CSS_SELECTOR, "[data-testid=endpoint-save]").click()
            item = wait.until(
                ec.presence_of_element_located(
                    (By.CSS_SELECTOR, "[data-testid=endpoint-item][data-signed-in=true]:not([data-profile-id=demo])")
                )
            )
            profile_id = item.get_attribute("data-profile-id")
            token = keyring_lookup(profile_id)
            assert token, "the login token is in the keyring under service onedeck, account = profile id"
            assert token != PASSWORD, "login-token mode keeps the token, never the password"
            secrets_seen["login token"] = token

            # Inventory: select the endpoint and refresh.
            item.find_element(By.CSS_SELECTOR, "[data-testid=endpoint-select]").click()
            app.find_element(By.CSS_SELECTOR, "[data-testid=refresh]").click()
            wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "[data-testid=vm-row]")) >= 5)
            rows = app.find_elements(By.CSS_SELECTOR, "[data-testid=vm-row]")
            vm_names = [r.find_elements(By.TAG_NAME, "td")[1].text for r in rows]

            # A console: the first running VM whose console has a VNC password.
            target = None
            for row in rows:
                button = row.find_element(By.CSS_SELECTOR, "[data-testid=vm-console]")
                if button.is_enabled():
                    target = row
                    break
            assert target is not None, "no VM with a console in the inventory"
            vm_id = target.get_attribute("data-vm-id")
            target.find_element(By.CSS_SELECTOR, "[data-testid=vm-console]").click()
            wait.until(lambda d: len(d.window_handles) == 2)
            console = next(h for h in app.window_handles if h != main)
            app.switch_to.window(console)
            wait.until(
                lambda d: d.find_element(By.CSS_SELECTOR, "[data-testid=console-state]").get_attribute("data-state")
                == "connected"
            )
            assert app.title.endswith(" — OneDeck"), app.title
            time.sleep(0.5)  # let the first framebuffer update paint
            app.save_screenshot(str(ARTIFACTS / "full-flow-console.png"))
            # What the console window receives over IPC: a relay ticket and the VNC password.
            grant = app.execute_async_script(
                "const done = arguments[arguments.length - 1];"
                "window.__TAURI_INTERNALS__.invoke('console_connect').then(done, (e) => done({error: e}));"
            )
            assert "error" not in grant, grant
            assert str(grant["vmId"]) == vm_id
            ticket = parse_qs(urlparse(grant["wsUrl"]).query)["token"][0]
            assert len(ticket) >= 40
            secrets_seen["relay ticket"] = ticket
            if grant.get("password"):
                secrets_seen["VNC password"] = grant["password"]
            # The console window may not call the main window's commands.
            refused = app.execute_async_script(
                "const done = arguments[arguments.length - 1];"
                "window.__TAURI_INTERNALS__.invoke('profiles_list').then(() => done('allowed'), (e) => done(String(e)));"
            )
            assert "not allowed" in refused, refused

            # Close the console window, then quit from the main window.
            app.close()
            app.switch_to.window(main)
            wait.until(lambda d: len(d.window_handles) == 1)
            app.close()
        finally:
            try:
                app.quit()
            except WebDriverException:
                pass  # the app is already gone: quitting it was the point
        deadline = time.monotonic() + 20
        while app_processes(app_binary.resolve(), home) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not app_processes(app_binary.resolve(), home), "the app did not exit after its main window closed"
    finally:
        stop_driver(driver_proc, log)

    # Where the app keeps things, so the scan is known to cover them.
    files = files_under(home)
    names = {f.name for f in files}
    assert "profiles.toml" in names, sorted(str(f) for f in files)
    assert "state.sqlite3" in names, sorted(str(f) for f in files)
    webview_dir = home / ".local" / "share" / "org.onedeck.desktop"
    assert webview_dir.is_dir(), "the WebView's storage dir is under the scanned home"
    data_blob = b"".join(f.read_bytes() for f in files if f.name.startswith("state.sqlite3"))
    assert any(n.encode() in data_blob for n in vm_names if n), "the inventory cache is where the scan looks"
    assert b"Leak check" in next(f for f in files if f.name == "profiles.toml").read_bytes()

    # The console session is in the audit log. It ended when the test asked for a second ticket
    # from the console window: a window has one live session at a time, so a new ticket (what
    # Reconnect asks for) ends the current one (security finding 5).
    db = next(f for f in files if f.name == "state.sqlite3")
    with sqlite3.connect(db) as conn:
        audit = conn.execute(
            "SELECT profile_id, user_name, vm_id, end_reason, bytes_to_client FROM console_audit"
        ).fetchall()
    assert len(audit) == 1, audit
    assert audit[0][:4] == (profile_id, "carol", int(vm_id), "closed_by_app"), audit
    assert audit[0][4] > 1000, "the framebuffer went through the relay"

    app_log = log_path.read_bytes()
    assert b"relay" in app_log or b"INFO" in app_log, "the app's log was captured"
    for label, secret in secrets_seen.items():
        for needle in encodings(secret):
            for f in files:
                assert needle not in contents(f), f"the {label} leaked into {f}"
            assert needle not in app_log, f"the {label} leaked into the app's log"
