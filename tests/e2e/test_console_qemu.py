"""The console window against QEMU's VNC server (the simulator's `--vnc qemu`): scaling modes
change the canvas as expected, and a screenshot saved through the real save dialog (answered
with xdotool) and copied to the clipboard (read back with xclip) is the canvas: its size,
not blank, the same pixels."""

import io
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import Select, WebDriverWait

from conftest import ARTIFACTS, add_endpoint_and_list, isolated_env, new_session, open_console, start_driver, stop_driver

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "python"))
from test_sim_support import free_port_range, simulator  # noqa: E402

PASSWORD = "Qemu-pw-41b0"

# Every 8th pixel of every 8th row of the canvas, RGB, after its size.
SAMPLE = """
const c = document.querySelector('[data-testid=console-screen] canvas');
if (!c || c.width === 0) return null;
const { data } = c.getContext('2d').getImageData(0, 0, c.width, c.height);
const out = [c.width, c.height];
for (let y = 0; y < c.height; y += 8)
  for (let x = 0; x < c.width; x += 8) { const i = (y * c.width + x) * 4; out.push(data[i], data[i + 1], data[i + 2]); }
return out;
"""


def png_sample(img):
    img = img.convert("RGB")
    w, h = img.size
    px = img.load()
    out = [w, h]
    for y in range(0, h, 8):
        for x in range(0, w, 8):
            out.extend(px[x, y])
    return out


def mean_diff(a, b):
    return sum(abs(x - y) for x, y in zip(a[2:], b[2:])) / max(1, len(a) - 2)


@pytest.fixture
def sim_url():
    if not shutil.which("qemu-system-x86_64"):
        assert not os.environ.get("ONEDECK_REQUIRE_QEMU"), "qemu-system-x86_64 is required"
        pytest.skip("qemu-system-x86_64 is not installed")
    for tool in ("xdotool", "xclip"):
        if not shutil.which(tool):
            assert not os.environ.get("ONEDECK_REQUIRE_QEMU"), f"{tool} is required (scripts/ensure-deps.sh)"
            pytest.skip(f"{tool} is not installed")
    with simulator("--vnc", "qemu", "--vnc-base", str(free_port_range(32)), "--user", f"erin:{PASSWORD}:admin") as url:
        yield url


def test_scaling_and_screenshots_of_a_qemu_console(app_binary, sim_url, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    shot = tmp_path / "shots" / "qemu-screen.png"
    shot.parent.mkdir()
    driver_url, driver_proc, log = start_driver(isolated_env(home), ARTIFACTS / "console-qemu-app.log")
    try:
        app = new_session(driver_url, app_binary)
        try:
            wait = WebDriverWait(app, 30)
            main = app.current_window_handle
            rows = add_endpoint_and_list(app, wait, "QEMU lab", sim_url, "erin", PASSWORD)
            open_console(app, wait, rows[0], main)
            res = wait.until(ec.visibility_of_element_located((By.CSS_SELECTOR, "[data-testid=console-resolution]")))
            # The BIOS has drawn something.
            wait.until(lambda d: (s := d.execute_script(SAMPLE)) and any(v > 0 for v in s[2:]))
            width, height = app.execute_script(SAMPLE)[:2]
            assert res.text == f"{width}×{height}", res.text
            canvas_box = "const r = document.querySelector('[data-testid=console-screen] canvas').getBoundingClientRect(); return [r.width, r.height];"

            # Scaling: 1:1 shows the canvas at its size; fit to window scales it.
            scale = Select(app.find_element(By.CSS_SELECTOR, "[data-testid=console-scale-mode]"))
            scale.select_by_value("off")
            wait.until(lambda d: d.execute_script(canvas_box) == [width, height])
            scale.select_by_value("fit")
            wait.until(lambda d: d.execute_script(canvas_box) != [width, height])
            fitted = app.execute_script(canvas_box)
            assert abs(fitted[0] / fitted[1] - width / height) < 0.02, "aspect kept"

            # A screenshot through the real save dialog.
            live = app.execute_script(SAMPLE)
            app.find_element(By.CSS_SELECTOR, "[data-testid=console-screenshot]").click()
            # The GTK save dialog (its default title): wait until it is shown, then give it the
            # keyboard; its name field has the focus. On a loaded machine the keys can reach the
            # dialog before it takes them: while it is still open, type the name again.
            def save_dialog():
                found = subprocess.run(
                    ["xdotool", "search", "--onlyvisible", "--name", "^Save File$"],
                    capture_output=True,
                    text=True,
                    timeout=10,
                )
                return found.stdout.split()[-1] if found.stdout.split() else None

            result = None
            for attempt in range(3):
                dialog = None
                deadline = time.monotonic() + 30
                while not dialog and time.monotonic() < deadline:
                    dialog = save_dialog()
                    if not dialog:
                        time.sleep(0.3)
                if not dialog and attempt > 0:
                    break  # it was answered: the result should be on its way
                assert dialog, "the save dialog did not open"
                subprocess.run(["xdotool", "windowactivate", "--sync", dialog], check=False, timeout=10)
                time.sleep(0.5 + attempt)
                subprocess.run(["xdotool", "key", "--clearmodifiers", "ctrl+a"], check=True, timeout=10)
                subprocess.run(["xdotool", "type", "--delay", "20", str(shot)], check=True, timeout=30)
                subprocess.run(["xdotool", "key", "Return"], check=True, timeout=10)
                try:
                    result = WebDriverWait(app, 10).until(
                        ec.visibility_of_element_located((By.CSS_SELECTOR, "[data-testid=console-screenshot-result]"))
                    )
                    break
                except Exception:  # noqa: BLE001 - the dialog may still be open: try again
                    continue
            if result is None:
                result = wait.until(ec.visibility_of_element_located((By.CSS_SELECTOR, "[data-testid=console-screenshot-result]")))
            assert str(shot) in result.text, result.text
            assert shot.stat().st_mode & 0o777 == 0o600
            img = Image.open(shot)
            assert img.size == (width, height)
            saved = png_sample(img)
            assert any(v > 0 for v in saved[2:]), "not blank"
            assert mean_diff(saved, live) < 2.0, "the canvas's pixels"

            # And to the clipboard.
            app.find_element(By.CSS_SELECTOR, "[data-testid=console-screenshot-copy]").click()
            wait.until(
                lambda d: d.find_element(By.CSS_SELECTOR, "[data-testid=console-screenshot-result]").text
                == "The screen is on the clipboard."
            )
            clip = subprocess.run(
                ["xclip", "-selection", "clipboard", "-t", "image/png", "-o"], capture_output=True, timeout=10
            )
            assert clip.returncode == 0, clip.stderr
            copied = Image.open(io.BytesIO(clip.stdout))
            assert copied.size == (width, height)
            assert mean_diff(png_sample(copied), live) < 2.0
            app.save_screenshot(str(ARTIFACTS / "console-qemu.png"))
            app.close()
            app.switch_to.window(main)
        finally:
            app.quit()
    finally:
        stop_driver(driver_proc, log)
