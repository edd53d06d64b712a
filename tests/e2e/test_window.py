"""The real app window opens, renders the shell and answers IPC."""

import subprocess

from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from conftest import ARTIFACTS


def unique_colours(png) -> int:
    """How many distinct colours an image has: a blank or unrendered window has one or two."""
    out = subprocess.run(["identify", "-format", "%k", str(png)], check=True, capture_output=True, text=True)
    return int(out.stdout.strip())


def test_main_window_shows_the_shell(app):
    wait = WebDriverWait(app, 15)
    header = wait.until(ec.visibility_of_element_located((By.CSS_SELECTOR, "[data-testid=app-header]")))
    assert app.title == "OneDeck"
    assert header.find_element(By.TAG_NAME, "h1").text == "OneDeck"
    # A first start (empty home) shows the demo cloud, signed in, with its VMs.
    demo = wait.until(
        ec.presence_of_element_located((By.CSS_SELECTOR, "[data-testid=endpoint-item][data-profile-id=demo]"))
    )
    assert demo.get_attribute("data-signed-in") == "true"
    assert demo.find_element(By.CSS_SELECTOR, "[data-testid=demo-badge]").is_displayed()
    wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "[data-testid=vm-row]")) >= 5)
    states = {e.get_attribute("data-state-class") for e in app.find_elements(By.CSS_SELECTOR, "[data-testid=vm-state]")}
    assert {"running", "stopped"} <= states, states
    # Let WebKit paint two frames before capturing, or the capture can precede the first paint.
    app.execute_async_script(
        "const done = arguments[0]; requestAnimationFrame(() => requestAnimationFrame(() => done()));"
    )
    webview_png = ARTIFACTS / "main-window.png"
    app.save_screenshot(str(webview_png))
    assert unique_colours(webview_png) > 16, "the webview screenshot is blank"
    # The X server's own pixels: what a user would see on screen.
    screen_png = ARTIFACTS / "main-window-screen.png"
    subprocess.run(["import", "-window", "root", str(screen_png)], check=True)
    assert unique_colours(screen_png) > 16, "nothing rendered on the display"


def test_ipc_reaches_the_shell(app):
    # The status bar shows what the Rust side answered to app_info: a real IPC round trip
    # through the main window's capability.
    wait = WebDriverWait(app, 15)
    version = wait.until(
        lambda d: d.find_element(By.CSS_SELECTOR, "[data-testid=app-version]").text.startswith("OneDeck 0.")
        and d.find_element(By.CSS_SELECTOR, "[data-testid=app-version]").text
    )
    assert version.endswith("on linux"), version


def test_csp_blocks_inline_script(app):
    # A strict CSP is in force in the real webview: an injected inline script must not run.
    WebDriverWait(app, 15).until(
        ec.visibility_of_element_located((By.CSS_SELECTOR, "[data-testid=app-header]"))
    )
    ran = app.execute_script(
        """
        window.__inlineRan = false;
        const s = document.createElement('script');
        s.textContent = 'window.__inlineRan = true';
        document.head.appendChild(s);
        return window.__inlineRan;
        """
    )
    assert ran is False, "an inline script ran: the CSP is not strict"


def test_blob_and_data_scripts_do_not_run(app):
    # Security finding 10: Tauri's nonce gives no protection when script-src allows data: or
    # blob: (CVE-2026-95626); neither may run in the real window.
    WebDriverWait(app, 15).until(
        ec.visibility_of_element_located((By.CSS_SELECTOR, "[data-testid=app-header]"))
    )
    ran = app.execute_async_script(
        """
        const done = arguments[arguments.length - 1];
        window.__blobRan = false;
        window.__dataRan = false;
        const blob = document.createElement('script');
        blob.src = URL.createObjectURL(new Blob(['window.__blobRan = true'], {type: 'text/javascript'}));
        const data = document.createElement('script');
        data.src = 'data:text/javascript,window.__dataRan%20%3D%20true';
        document.head.append(blob, data);
        setTimeout(() => done([window.__blobRan, window.__dataRan]), 500);
        """
    )
    assert ran == [False, False], f"blob:/data: scripts ran: {ran}"


def test_capability_refuses_what_the_window_was_not_granted(app):
    # The main capability grants only the app commands the window uses: a core command outside
    # it (setting the window title) must be refused by Tauri's ACL, and the title must not change.
    WebDriverWait(app, 15).until(
        ec.visibility_of_element_located((By.CSS_SELECTOR, "[data-testid=app-header]"))
    )
    outcome = app.execute_async_script(
        """
        const done = arguments[arguments.length - 1];
        window.__TAURI_INTERNALS__
          .invoke('plugin:window|set_title', { label: 'main', value: 'pwned' })
          .then(() => done('allowed'), (e) => done('refused: ' + String(e)));
        """
    )
    assert outcome.startswith("refused"), outcome
    assert "not allowed" in outcome, outcome
    assert app.title == "OneDeck"
