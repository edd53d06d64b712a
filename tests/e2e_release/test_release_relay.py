"""Security finding 8 in the build users get: the release app's console relay refuses the Vite
dev origin (which debug builds used to allow) and listens on loopback only."""

import base64
import os
import socket
import subprocess
from urllib.parse import urlparse

from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait


def upgrade_status(ws_url: str, origin: str) -> int:
    """Sends the WebSocket upgrade for `ws_url` with `origin`; returns the HTTP status."""
    url = urlparse(ws_url)
    key = base64.b64encode(os.urandom(16)).decode()
    request = (
        f"GET {url.path or '/'}?{url.query} HTTP/1.1\r\nHost: {url.netloc}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
        f"Origin: {origin}\r\n\r\n"
    )
    with socket.create_connection((url.hostname, url.port), timeout=5) as s:
        s.sendall(request.encode())
        return int(s.recv(4096).split(b" ", 2)[1])


def listening_addresses(port: int):
    """Local addresses with a TCP listener on `port` (from `ss`, this machine only)."""
    out = subprocess.run(["ss", "-Hltn", f"sport = :{port}"], capture_output=True, text=True, check=True)
    return [line.split()[3].rsplit(":", 1)[0] for line in out.stdout.splitlines() if line.strip()]


def test_release_relay_refuses_the_dev_origin_and_listens_on_loopback_only(app):
    assert "/release/" in os.environ.get("ONEDECK_APP", ""), "run through `make test-release`"
    wait = WebDriverWait(app, 30)
    main = app.current_window_handle
    wait.until(lambda d: any(b.is_enabled() for b in d.find_elements(By.CSS_SELECTOR, "[data-testid=vm-console]")))
    button = next(b for b in app.find_elements(By.CSS_SELECTOR, "[data-testid=vm-console]") if b.is_enabled())
    button.click()
    wait.until(lambda d: len(d.window_handles) == 2)
    app.switch_to.window(next(h for h in app.window_handles if h != main))
    wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "[data-testid=console-state]")))

    def grant():
        g = app.execute_async_script(
            "const done = arguments[0];"
            "window.__TAURI_INTERNALS__.invoke('console_connect').then(done, (e) => done({error: e}));"
        )
        assert "wsUrl" in g, g
        return g["wsUrl"]

    assert upgrade_status(grant(), "http://localhost:1420") == 403, "the dev origin is refused in release"
    assert upgrade_status(grant(), "tauri://localhost") == 101, "the app's own origin still connects"
    port = urlparse(grant()).port
    addresses = listening_addresses(port)
    assert addresses and all(a in ("127.0.0.1", "[::ffff:127.0.0.1]") for a in addresses), addresses
