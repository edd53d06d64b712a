"""Real-window end-to-end tests: the built app driven through tauri-driver + WebKitWebDriver.

The app binary must embed ui/dist (a plain `cargo build -p onedeck` does: no devUrl is set).
A display must exist (scripts/with-display.sh starts Xvfb) and the app should run inside a
D-Bus session (scripts/with-keyring.sh), as `make test` arranges.
"""

import os
import shutil
import signal
import socket
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.remote.client_config import ClientConfig
from selenium.webdriver.remote.remote_connection import RemoteConnection
from selenium.webdriver.common.by import By
from selenium.webdriver.common.options import ArgOptions
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import Select

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts" / "e2e"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_port(port: int, proc: subprocess.Popen, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"tauri-driver exited early with {proc.returncode}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"tauri-driver did not listen on {port} within {timeout}s")


@pytest.fixture(scope="session")
def app_binary() -> Path:
    target = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
    binary = Path(os.environ.get("ONEDECK_APP", target / "debug" / "onedeck"))
    if not binary.is_file():
        pytest.fail(f"app binary {binary} is missing: build it with `cargo build -p onedeck`")
    return binary.resolve()


def isolated_env(home: Path) -> dict:
    """The environment for an app whose every per-user directory lies under `home`.

    The D-Bus session (and so the keyring daemon) is inherited: it is the test session's own.
    """
    env = dict(os.environ)
    for var in ("ONEDECK_CONFIG_DIR", "ONEDECK_DATA_DIR"):
        env.pop(var, None)
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_DATA_HOME=str(home / ".local" / "share"),
        XDG_CACHE_HOME=str(home / ".cache"),
        XDG_STATE_HOME=str(home / ".local" / "state"),
        ONEDECK_LOG="info",
    )
    return env


def start_driver(env: dict, log_path: Path):
    """Starts tauri-driver (and so, per session, the app) with `env`; returns (url, process, log)."""
    if not os.environ.get("DISPLAY"):
        pytest.fail("no DISPLAY: run through scripts/with-display.sh (make test does)")
    exe = shutil.which("tauri-driver") or str(Path.home() / ".cargo" / "bin" / "tauri-driver")
    native = shutil.which("WebKitWebDriver")
    if not native:
        pytest.fail("WebKitWebDriver is missing: install Debian's webkit2gtk-driver")
    port, native_port = _free_port(), _free_port()
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log = open(log_path, "w")
    proc = subprocess.Popen(
        [exe, "--port", str(port), "--native-port", str(native_port), "--native-driver", native],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
    )
    try:
        _wait_port(port, proc)
    except Exception:
        proc.kill()
        log.close()
        raise
    return f"http://127.0.0.1:{port}", proc, log


def stop_driver(proc: subprocess.Popen, log) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


def _app_processes(app_binary: Path) -> list[int]:
    """Pids of running copies of the app binary (Linux /proc)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv0 = (entry / "cmdline").read_bytes().split(b"\0", 1)[0]
        except OSError:
            continue
        if argv0 == bytes(app_binary):
            pids.append(int(entry.name))
    return pids


def new_session(driver_url: str, app_binary: Path):
    """A WebDriver session: tauri-driver launches the app for it."""
    # The app runs once per user session (a second launch hands over to the first and exits):
    # an earlier test's app must be gone before this one starts.
    deadline = time.monotonic() + 15
    while _app_processes(app_binary) and time.monotonic() < deadline:
        time.sleep(0.2)
    # One still there (its WebKit web process died, so the driver could not close it) would take
    # this test's launch over: it goes now.
    for pid in _app_processes(app_binary):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    options = ArgOptions()
    options.set_capability("browserName", "wry")
    options.set_capability("tauri:options", {"application": str(app_binary)})
    # A WebKit web process that dies leaves WebKitWebDriver waiting for it without end: every
    # command is bounded, so such a test fails in minutes instead of holding the run.
    config = ClientConfig(remote_server_addr=driver_url, timeout=180)
    # A loaded 2-core machine occasionally drops the very first session request; retry twice.
    for attempt in range(3):
        try:
            return webdriver.Remote(command_executor=RemoteConnection(client_config=config), options=options)
        except Exception:  # noqa: BLE001 - any failure to open a session is retried the same way
            if attempt == 2:
                raise
            time.sleep(1.0)
    raise AssertionError("unreachable")


@pytest.fixture(scope="session")
def tauri_driver(tmp_path_factory):
    """A tauri-driver whose apps see a private, empty home: they start with the demo cloud."""
    home = tmp_path_factory.mktemp("home")
    url, proc, log = start_driver(isolated_env(home), ARTIFACTS.parent / "tauri-driver.log")
    try:
        yield url
    finally:
        stop_driver(proc, log)


@pytest.fixture
def app(tauri_driver, app_binary):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    driver = new_session(tauri_driver, app_binary)
    try:
        yield driver
    finally:
        driver.quit()


@contextmanager
def app_session(app_binary: Path, env: dict, log_name: str):
    """The app started for one test through its own tauri-driver (app log in
    test-artifacts/e2e/`log_name`); yields the WebDriver session, then quits and stops both."""
    driver_url, driver_proc, log = start_driver(env, ARTIFACTS / log_name)
    try:
        app = new_session(driver_url, app_binary)
        try:
            yield app
        finally:
            try:
                app.quit()
            except WebDriverException:
                pass  # the session may have ended with its page (a crashed web process)
    finally:
        stop_driver(driver_proc, log)


def fill_endpoint_dialog(app, wait, name: str, url: str, user: str, password: str) -> None:
    """Opens the endpoint dialog and fills it in (every VM shown); the caller saves it."""
    app.find_element(By.CSS_SELECTOR, "[data-testid=add-endpoint]").click()
    wait.until(ec.visibility_of_element_located((By.CSS_SELECTOR, "[data-testid=endpoint-name]")))
    app.find_element(By.CSS_SELECTOR, "[data-testid=endpoint-name]").send_keys(name)
    app.find_element(By.CSS_SELECTOR, "[data-testid=endpoint-url]").send_keys(url)
    app.find_element(By.CSS_SELECTOR, "[data-testid=endpoint-user]").send_keys(user)
    app.find_element(By.CSS_SELECTOR, "[data-testid=endpoint-password]").send_keys(password)
    Select(app.find_element(By.CSS_SELECTOR, "[data-testid=endpoint-vm-filter]")).select_by_value("all")


def add_endpoint_and_list(app, wait, name: str, url: str, user: str, password: str) -> list:
    """Adds and signs in to an endpoint through the dialog, selects it and lists its VMs; returns
    the rows whose Console button is enabled (running VMs)."""
    wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "[data-testid=endpoint-item][data-profile-id=demo]")))
    fill_endpoint_dialog(app, wait, name, url, user, password)
    app.find_element(By.CSS_SELECTOR, "[data-testid=endpoint-save]").click()
    # This endpoint's item (there may be others already), once the dialog has closed.
    wait.until(ec.invisibility_of_element_located((By.CSS_SELECTOR, "[data-testid=endpoint-name]")))
    item = wait.until(
        lambda d: next(
            (
                i
                for i in d.find_elements(
                    By.CSS_SELECTOR, "[data-testid=endpoint-item][data-signed-in=true]:not([data-profile-id=demo])"
                )
                if i.find_element(By.CSS_SELECTOR, ".name").text.strip() == name
            ),
            None,
        )
    )
    item.find_element(By.CSS_SELECTOR, "[data-testid=endpoint-select]").click()
    app.find_element(By.CSS_SELECTOR, "[data-testid=refresh]").click()
    wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "[data-testid=vm-row]")) >= 5)
    # A big inventory arrives in pages: the rows settle once the load is over.
    wait.until(
        lambda d: not d.find_elements(By.CSS_SELECTOR, "[data-testid=inventory-progress]")
        and d.find_element(By.CSS_SELECTOR, "[data-testid=refresh]").is_enabled()
    )
    for attempt in range(3):
        try:
            # A SPICE row has no VNC Console button at all.
            return [
                r
                for r in app.find_elements(By.CSS_SELECTOR, "[data-testid=vm-row]")
                if any(b.is_enabled() for b in r.find_elements(By.CSS_SELECTOR, "[data-testid=vm-console]"))
            ]
        except StaleElementReferenceException:
            # A poll re-rendered a row while it was read: read them again.
            if attempt == 2:
                raise
            time.sleep(0.5)
    raise AssertionError("unreachable")


def in_view(app, element):
    """Scrolls `element` into the middle of its scroll area and returns it: the VM table renders
    only the rows near its view, and WebKitWebDriver does not scroll a nested area for a click."""
    app.execute_script("arguments[0].scrollIntoView({block: 'center'});", element)
    return element


def open_console(app, wait, row, main: str) -> str:
    """Opens `row`'s console window, switches to it and waits until it is connected; returns its
    handle."""
    in_view(app, row).find_element(By.CSS_SELECTOR, "[data-testid=vm-console]").click()
    wait.until(lambda d: len(d.window_handles) == 2)
    console = next(h for h in app.window_handles if h != main)
    app.switch_to.window(console)
    wait.until(
        lambda d: d.find_element(By.CSS_SELECTOR, "[data-testid=console-state]").get_attribute("data-state")
        == "connected"
    )
    return console
