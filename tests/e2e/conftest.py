"""Real-window end-to-end tests: the built app driven through tauri-driver + WebKitWebDriver.

The app binary must embed ui/dist (a plain `cargo build -p onedeck` does: no devUrl is set).
A display must exist (scripts/with-display.sh starts Xvfb) and the app should run inside a
D-Bus session (scripts/with-keyring.sh), as `make test` arranges.
"""

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.common.options import ArgOptions

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


@pytest.fixture(scope="session")
def tauri_driver():
    if not os.environ.get("DISPLAY"):
        pytest.fail("no DISPLAY: run through scripts/with-display.sh (make test does)")
    exe = shutil.which("tauri-driver") or str(Path.home() / ".cargo" / "bin" / "tauri-driver")
    native = shutil.which("WebKitWebDriver")
    if not native:
        pytest.fail("WebKitWebDriver is missing: install Debian's webkit2gtk-driver")
    port, native_port = _free_port(), _free_port()
    log = open(ARTIFACTS.parent / "tauri-driver.log", "w") if ARTIFACTS.parent.is_dir() else subprocess.DEVNULL
    proc = subprocess.Popen(
        [exe, "--port", str(port), "--native-port", str(native_port), "--native-driver", native],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        _wait_port(port, proc)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture
def app(tauri_driver, app_binary):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    options = ArgOptions()
    options.set_capability("browserName", "wry")
    options.set_capability("tauri:options", {"application": str(app_binary)})
    # A loaded 2-core machine occasionally drops the very first session request; retry twice.
    for attempt in range(3):
        try:
            driver = webdriver.Remote(command_executor=tauri_driver, options=options)
            break
        except Exception:  # noqa: BLE001 - any failure to open a session is retried the same way
            if attempt == 2:
                raise
            time.sleep(1.0)
    try:
        yield driver
    finally:
        driver.quit()
