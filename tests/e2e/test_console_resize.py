"""Remote resize in the real window against the simulator's built-in console, which honours
SetDesktopSize (ExtendedDesktopSize) as a guest's display driver would: in "remote" mode the
guest's screen takes the window's size and follows it when the window is resized; "off" leaves
the screen as it is and shows it 1:1. (QEMU's answer to the same request is in
crates/relay/tests/relay/qemu.rs: a BIOS cannot change its mode.)"""

import sys
import time
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import Select, WebDriverWait

from conftest import ARTIFACTS, add_endpoint_and_list, isolated_env, new_session, open_console, start_driver, stop_driver

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "python"))
from test_sim_support import free_port_range, simulator  # noqa: E402

PASSWORD = "Resize-pw-3f81"

CANVAS = "const c = document.querySelector('[data-testid=console-screen] canvas'); return c ? [c.width, c.height] : null;"
# noVNC asks for the size of the element the canvas sits in.
AREA = """
const c = document.querySelector('[data-testid=console-screen] canvas');
const r = c.parentElement.getBoundingClientRect();
return [Math.floor(r.width), Math.floor(r.height)];
"""
BOX = "const r = document.querySelector('[data-testid=console-screen] canvas').getBoundingClientRect(); return [r.width, r.height];"


@pytest.fixture
def sim_url():
    with simulator("--vnc", "builtin", "--vnc-base", str(free_port_range(32)), "--user", f"gina:{PASSWORD}:admin") as url:
        yield url


def near(a, b, slack=2):
    return a and b and all(abs(x - y) <= slack for x, y in zip(a, b))


def test_remote_resize_makes_the_guest_follow_the_window(app_binary, sim_url, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    driver_url, driver_proc, log = start_driver(isolated_env(home), ARTIFACTS / "console-resize-app.log")
    try:
        app = new_session(driver_url, app_binary)
        try:
            wait = WebDriverWait(app, 30)
            main = app.current_window_handle
            rows = add_endpoint_and_list(app, wait, "Resize lab", sim_url, "gina", PASSWORD)
            open_console(app, wait, rows[0], main)
            resolution = wait.until(ec.visibility_of_element_located((By.CSS_SELECTOR, "[data-testid=console-resolution]")))
            wait.until(lambda d: d.execute_script(CANVAS) == [640, 400])
            assert resolution.text == "640×400"

            scale = Select(app.find_element(By.CSS_SELECTOR, "[data-testid=console-scale-mode]"))
            scale.select_by_value("remote")
            wait.until(lambda d: near(d.execute_script(CANVAS), d.execute_script(AREA)))
            first = app.execute_script(CANVAS)
            assert first != [640, 400], "the guest took the window's size"
            wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "[data-testid=console-resolution]").text == f"{first[0]}×{first[1]}")

            # The window grows: the guest follows.
            size = app.get_window_size()
            app.set_window_size(size["width"] + 160, size["height"] + 120)
            wait.until(lambda d: d.execute_script(CANVAS) != first and near(d.execute_script(CANVAS), d.execute_script(AREA)))
            second = app.execute_script(CANVAS)
            assert second[0] > first[0] and second[1] > first[1], (first, second)

            # Off: the guest keeps its size and is shown 1:1.
            scale.select_by_value("off")
            wait.until(lambda d: d.execute_script(BOX) == second)
            app.set_window_size(size["width"], size["height"])
            time.sleep(1.0)
            assert app.execute_script(CANVAS) == second, "no resize request outside remote mode"
            app.save_screenshot(str(ARTIFACTS / "console-remote-resize.png"))
            app.close()
            app.switch_to.window(main)
        finally:
            app.quit()
    finally:
        stop_driver(driver_proc, log)
