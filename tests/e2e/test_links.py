"""`onedeck://console/<endpoint>/<vm-id>` links in the real app: a second launch with a link hands
it to the running app and exits (no second instance), the running app opens that VM's console;
`onedeck-cli console VM --profile ENDPOINT` does the same; a link to an unknown VM or endpoint
is refused with a message in the main window, and opens nothing."""

import subprocess
import sys
import time
from pathlib import Path

from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from conftest import ARTIFACTS, add_endpoint_and_list, isolated_env, new_session, open_console, start_driver, stop_driver

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "python"))
from test_sim_support import CLI, free_port_range, simulator  # noqa: E402

PASSWORD = "Link-pw-90c3"


def test_links_open_consoles_in_the_running_app_and_unknown_ones_are_refused(app_binary, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    env = isolated_env(home)
    with simulator("--vnc", "builtin", "--vnc-base", str(free_port_range(32)), "--user", f"fay:{PASSWORD}:admin") as sim_url:
        driver_url, driver_proc, log = start_driver(env, ARTIFACTS / "links-app.log")
        try:
            app = new_session(driver_url, app_binary)
            try:
                wait = WebDriverWait(app, 30)
                main = app.current_window_handle
                rows = add_endpoint_and_list(app, wait, "Link lab", sim_url, "fay", PASSWORD)
                first, second = rows[0].get_attribute("data-vm-id"), rows[1].get_attribute("data-vm-id")

                # A second launch with a link: handed over, and it exits at once.
                launched = subprocess.Popen(
                    [str(app_binary), f"onedeck://console/Link%20lab/{first}"],
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                assert launched.wait(timeout=20) == 0, "the second instance hands over and exits"
                wait.until(lambda d: len(d.window_handles) == 2)
                console = next(h for h in app.window_handles if h != main)
                app.switch_to.window(console)
                wait.until(
                    lambda d: d.find_element(By.CSS_SELECTOR, "[data-testid=console-state]").get_attribute("data-state")
                    == "connected"
                )
                assert app.find_element(By.CSS_SELECTOR, "[data-testid=console-vm-name]").text
                app.switch_to.window(main)

                # The CLI asks the same way.
                done = subprocess.run(
                    [CLI, "--json", "console", second, "--profile", "Link lab"],
                    env={**env, "ONEDECK_APP": str(app_binary)},
                    capture_output=True,
                    text=True,
                    timeout=30,
                )
                assert done.returncode == 0, done.stderr
                assert '"link"' in done.stdout
                wait.until(lambda d: len(d.window_handles) == 3)

                # Unknown VM, unknown endpoint, credentials in the link: refused, nothing opens.
                for link, words in [
                    ("onedeck://console/Link%20lab/99999", "99999"),
                    ("onedeck://console/Nowhere/1", "Nowhere"),
                    ("onedeck://console/Link%20lab/1?password=x", "password"),
                ]:
                    app.switch_to.window(main)
                    for d in app.find_elements(By.CSS_SELECTOR, "[data-testid=error-dismiss]"):
                        d.click()
                    refused = subprocess.Popen([str(app_binary), link], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                    assert refused.wait(timeout=20) == 0
                    banner = wait.until(ec.visibility_of_element_located((By.CSS_SELECTOR, "[data-testid=error-banner]")))
                    assert words in banner.text, (link, banner.text)
                    time.sleep(0.5)
                    assert len(app.window_handles) == 3, f"{link} opened nothing"
                app.save_screenshot(str(ARTIFACTS / "links-refused.png"))
            finally:
                app.quit()
        finally:
            stop_driver(driver_proc, log)
