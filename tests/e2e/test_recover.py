"""A window whose WebKit web process dies comes back: the app reloads it (src-tauri/recover.rs) in
a new web process instead of leaving it blank. (WebKitWebDriver ends its session with the crashed
page, so the reloaded page itself is not driven here.)"""

import os
import re
import signal
import sys
from pathlib import Path

from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from conftest import ARTIFACTS, app_session, isolated_env

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "python"))
from test_sim_support import wait_until  # noqa: E402


def web_processes(app_pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            name = (entry / "comm").read_text().strip()
        except (OSError, ValueError, IndexError):
            continue
        if parent == app_pid and name.startswith("WebKitWebProces"):
            found.append(int(entry.name))
    return found


def app_pid(binary: Path, home: Path) -> int:
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if Path(os.readlink(entry / "exe")) == binary and f"HOME={home}".encode() in (entry / "environ").read_bytes():
                return int(entry.name)
        except OSError:
            continue
    raise AssertionError("the app is not running")


def test_a_crashed_web_process_reloads_the_window(app_binary, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    with app_session(app_binary, isolated_env(home), "recover-app.log") as app:
        wait = WebDriverWait(app, 60)
        wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "[data-testid=endpoint-item][data-profile-id=demo]")))
        pid = app_pid(app_binary, home)
        victims = wait_until("the window's web process", lambda: web_processes(pid), timeout=10)
        for victim in victims:
            os.kill(victim, signal.SIGKILL)
        # WebKitWebDriver ends its session with the page; the app lives on and reloads the
        # window in a new web process.
        wait_until("a new web process", lambda: set(web_processes(pid)) - set(victims), timeout=30)
        wait_until(
            "the app to say why it reloaded",
            lambda: re.search(
                r"window's web process (crashed|ended)[^\n]*reloading it",
                (ARTIFACTS / "recover-app.log").read_text(errors="replace"),
            ),
            timeout=10,
        )
        assert app_pid(app_binary, home) == pid, "the same app, not a new one"
