"""`onedeck-cli relay` end to end: the headless relay binary with a websockify token file.

A tiny stdlib WebSocket client (masking, framing) talks to the relay; a thread echo server is the
target. Checks the trusted-local-use warning, token file errors, the Origin policy of headless
mode, echo through the relay, token file reload, recording, and a clean stop on SIGTERM.
"""

import base64
import hashlib
import json
import os
import re
import signal
import socket
import struct
import subprocess
import threading
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CLI = os.environ.get("ONEDECK_CLI", str(ROOT / "target" / "debug" / "onedeck-cli"))
GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


@pytest.fixture(scope="module")
def cli():
    if not Path(CLI).exists():
        pytest.fail(f"{CLI} not built: cargo build -p onedeck-cli")
    return CLI


@pytest.fixture
def echo_target():
    """An echo server on 127.0.0.1:0 that counts connections; stopped at the end."""
    srv = socket.create_server(("127.0.0.1", 0))
    state = {"accepted": 0, "stop": False}

    def serve_one(conn):
        with conn:
            while True:
                data = conn.recv(65536)
                if not data:
                    return
                conn.sendall(data)

    def loop():
        srv.settimeout(0.2)
        while not state["stop"]:
            try:
                conn, _ = srv.accept()
            except OSError:
                continue
            state["accepted"] += 1
            threading.Thread(target=serve_one, args=(conn,), daemon=True).start()

    t = threading.Thread(target=loop, daemon=True)
    t.start()
    yield srv.getsockname()[1], state
    state["stop"] = True
    t.join(2)
    srv.close()


class Relay:
    """A running `onedeck-cli relay`; its address is read from its stderr banner."""

    def __init__(self, cli, token_file, *extra):
        self.proc = subprocess.Popen(
            [cli, "relay", "--listen", "127.0.0.1:0", "--token-file", str(token_file), *extra],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        line = self.proc.stderr.readline()
        m = re.search(r"listening on ws://(127\.0\.0\.1:\d+)", line)
        assert m, f"relay banner was {line!r}"
        self.addr = m.group(1)
        host, port = self.addr.split(":")
        self.host, self.port = host, int(port)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                return self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                raise
        return self.proc.returncode


@pytest.fixture
def relay_factory(cli):
    started = []

    def make(token_file, *extra):
        r = Relay(cli, token_file, *extra)
        started.append(r)
        return r

    yield make
    for r in started:
        if r.proc.poll() is None:
            r.proc.kill()
            r.proc.wait(5)


def handshake(relay, token, origin=None):
    """Sends an upgrade request; returns (status, headers, socket)."""
    key = base64.b64encode(os.urandom(16)).decode()
    lines = [
        f"GET /websockify?token={token} HTTP/1.1",
        f"Host: {relay.addr}",
        "Upgrade: websocket",
        "Connection: Upgrade",
        f"Sec-WebSocket-Key: {key}",
        "Sec-WebSocket-Version: 13",
        "Sec-WebSocket-Protocol: binary",
    ]
    if origin:
        lines.append(f"Origin: {origin}")
    s = socket.create_connection((relay.host, relay.port), timeout=10)
    s.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
    head = b""
    # Byte by byte: a server that speaks first (VNC does) may send its first frame right after
    # the 101, and those bytes must stay in the socket for recv_frame.
    while b"\r\n\r\n" not in head:
        chunk = s.recv(1)
        if not chunk:
            break
        head += chunk
    text = head.decode(errors="replace")
    status = int(text.split()[1]) if text else 0
    headers = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in text.split("\r\n")[1:] if ln)}
    if status == 101:
        expect = base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()
        assert headers.get("sec-websocket-accept") == expect
    return status, headers, s


def send_binary(s, payload):
    mask = os.urandom(4)
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", 0x82, 0x80 | n)
    elif n < 65536:
        head = struct.pack("!BBH", 0x82, 0x80 | 126, n)
    else:
        head = struct.pack("!BBQ", 0x82, 0x80 | 127, n)
    s.sendall(head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))


def recv_exact(s, n):
    out = b""
    while len(out) < n:
        chunk = s.recv(n - len(out))
        if not chunk:
            raise EOFError(f"closed after {len(out)} of {n} bytes")
        out += chunk
    return out


def recv_frame(s):
    b0, b1 = recv_exact(s, 2)
    n = b1 & 0x7F
    if n == 126:
        (n,) = struct.unpack("!H", recv_exact(s, 2))
    elif n == 127:
        (n,) = struct.unpack("!Q", recv_exact(s, 8))
    assert not b1 & 0x80, "server frames are never masked"
    return b0 & 0x0F, recv_exact(s, n)


def test_help_says_trusted_local_use_only(cli):
    out = subprocess.run([cli, "relay", "--help"], capture_output=True, text=True, check=True).stdout
    assert "TRUSTED LOCAL USE ONLY" in out
    assert "--token-file" in out and "--allow-origin" in out and "--record" in out


def test_bad_token_file_names_the_line(cli, tmp_path):
    tf = tmp_path / "tokens"
    tf.write_text("good: 127.0.0.1:5900\nbad line without target\n")
    r = subprocess.run([cli, "relay", "--listen", "127.0.0.1:0", "--token-file", str(tf)], capture_output=True, text=True, timeout=10)
    assert r.returncode != 0
    assert "line 2" in r.stderr, r.stderr


def test_non_loopback_listen_is_refused(cli, tmp_path):
    tf = tmp_path / "tokens"
    tf.write_text("a: 127.0.0.1:5900\n")
    r = subprocess.run([cli, "relay", "--listen", "0.0.0.0:0", "--token-file", str(tf)], capture_output=True, text=True, timeout=10)
    assert r.returncode != 0
    assert "loopback" in r.stderr, r.stderr


def test_echo_through_the_relay_and_clean_stop(relay_factory, echo_target, tmp_path):
    port, state = echo_target
    tf = tmp_path / "tokens"
    tf.write_text(f"# comment\nvm1: 127.0.0.1:{port}\n")
    relay = relay_factory(tf)
    status, headers, s = handshake(relay, "vm1")
    assert status == 101
    assert headers.get("sec-websocket-protocol") == "binary"
    with s:
        for size in (5, 300, 70_000):
            payload = os.urandom(size)
            send_binary(s, payload)
            got = b""
            while len(got) < size:
                op, data = recv_frame(s)
                assert op == 2
                got += data
            assert got == payload
    assert state["accepted"] == 1
    assert relay.stop() == 0, "SIGTERM stops the relay cleanly"


def test_headless_origin_policy(relay_factory, echo_target, tmp_path):
    port, state = echo_target
    tf = tmp_path / "tokens"
    tf.write_text(f"vm1: 127.0.0.1:{port}\n")
    relay = relay_factory(tf)
    status, _, s = handshake(relay, "vm1", origin="http://evil.example")
    s.close()
    assert status == 403, "without --allow-origin every browser Origin is refused"
    assert state["accepted"] == 0
    allowed = relay_factory(tf, "--allow-origin", "http://127.0.0.1:8000")
    status, _, s = handshake(allowed, "vm1", origin="http://127.0.0.1:8000")
    assert status == 101
    # The relay dials after the 101 answer: keep the session open until the target saw it (a
    # client that hangs up at once may end the session before the dial).
    deadline = time.monotonic() + 10
    while state["accepted"] < 1 and time.monotonic() < deadline:
        time.sleep(0.02)
    s.close()
    assert state["accepted"] == 1
    status, _, s = handshake(allowed, "nope", origin="http://127.0.0.1:8000")
    s.close()
    assert status == 403
    assert state["accepted"] == 1, "a refused token dials nothing"


def test_token_file_is_reloaded(relay_factory, echo_target, tmp_path):
    port, _ = echo_target
    tf = tmp_path / "tokens"
    tf.write_text(f"old: 127.0.0.1:{port}\n")
    relay = relay_factory(tf)
    status, _, s = handshake(relay, "new")
    s.close()
    assert status == 403
    time.sleep(1.1)  # file mtime granularity: make the rewrite visible as a change
    tf.write_text(f"new: 127.0.0.1:{port}\n")
    deadline = time.monotonic() + 10
    while True:
        status, _, s = handshake(relay, "new")
        s.close()
        if status == 101 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert status == 101, "the relay picks up a rewritten token file"
    status, _, s = handshake(relay, "old")
    s.close()
    assert status == 403, "tokens removed from the file stop working"


def _raw(x, y, w, h, bgr):
    return struct.pack("!HHHHi", x, y, w, h, 0) + bytes([*bgr, 0]) * (w * h)


# One update in the server's format (32 bits, little-endian, red at 16, so bytes B, G, R, 0):
# the 64×48 screen in (200, 100, 50) and a 4×4 square in green at (10, 10).
SCREEN = b"\x00\x00" + struct.pack("!H", 2) + _raw(0, 0, 64, 48, (50, 100, 200)) + _raw(10, 10, 4, 4, (0, 255, 0))


@pytest.fixture
def rfb_target():
    """A minimal RFB 3.8 server (no authentication): handshake, ServerInit, then a Bell and one
    update after the viewer's first key; stopped at the end."""
    srv = socket.create_server(("127.0.0.1", 0))

    def serve():
        conn, _ = srv.accept()
        with conn:
            conn.sendall(b"RFB 003.008\n")
            recv_exact(conn, 12)
            conn.sendall(bytes([1, 1]))
            recv_exact(conn, 1)
            conn.sendall(b"\x00\x00\x00\x00")
            recv_exact(conn, 1)
            name = b"py-rfb"
            conn.sendall(struct.pack("!HH", 64, 48) + bytes([32, 24, 0, 1, 0, 255, 0, 255, 0, 255, 16, 8, 0, 0, 0, 0]) + struct.pack("!I", len(name)) + name)
            recv_exact(conn, 16)  # two key events
            conn.sendall(b"\x02" + SCREEN)  # a Bell, then the screen
            conn.recv(100)

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    yield srv.getsockname()[1]
    srv.close()


def test_record_writes_a_verifiable_recording_with_the_keys(cli, relay_factory, rfb_target, tmp_path):
    tf = tmp_path / "tokens"
    tf.write_text(f"vm1: 127.0.0.1:{rfb_target}\n")
    rec = tmp_path / "rec"
    relay = relay_factory(tf, "--record", str(rec))
    status, _, s = handshake(relay, "vm1")
    assert status == 101
    with s:
        got = b""
        send_binary(s, b"RFB 003.008\n")
        while len(got) < 12 + 2:
            got += recv_frame(s)[1]
        send_binary(s, b"\x01")
        send_binary(s, b"\x01")  # ClientInit
        while len(got) < 12 + 2 + 4 + 24 + 6:
            got += recv_frame(s)[1]
        send_binary(s, bytes([4, 1, 0, 0, 0, 0, 0, 0x71]) + bytes([4, 0, 0, 0, 0, 0, 0, 0x71]))  # q
        while len(got) < 12 + 2 + 4 + 24 + 6 + 1 + len(SCREEN):
            got += recv_frame(s)[1]
        s.sendall(bytes([0x88, 0x82]) + b"\x00\x00\x00\x00" + struct.pack("!H", 1000))
    assert relay.stop() == 0
    files = list(rec.glob("*.odrec"))
    assert len(files) == 1, files
    path = files[0]
    data = path.read_bytes()
    assert data[:8] == b"ODREC\x00\x03\x00", "format 3 (docs/RECORDING.md)"
    assert path.stat().st_mode & 0o777 == 0o600
    keys = json.loads(subprocess.run([cli, "--json", "recording", "keys", str(path)], capture_output=True, text=True, check=True).stdout)
    assert [(k["down"], k["keysym"], k["text"], k["key"]) for k in keys] == [(True, 0x71, "q", "q"), (False, 0x71, None, "q")]
    assert keys[0]["t_ms"] <= keys[1]["t_ms"]
    # The screen after the update, rebuilt from the file, as a PNG.
    png = tmp_path / "screen.png"
    frame = subprocess.run(
        [cli, "--json", "recording", "frame", str(path), "--at", "60", "--png", str(png)], capture_output=True, text=True
    )
    assert frame.returncode == 0, frame.stderr
    assert json.loads(frame.stdout)["width"] == 64
    from PIL import Image

    img = Image.open(png).convert("RGB")
    assert img.size == (64, 48)
    assert img.getpixel((0, 0)) == (200, 100, 50) and img.getpixel((63, 47)) == (200, 100, 50)
    assert img.getpixel((10, 10)) == (0, 255, 0) and img.getpixel((13, 13)) == (0, 255, 0)
    assert img.getpixel((14, 14)) == (200, 100, 50)
    # A negative moment: a usage error that names the flag.
    early = subprocess.run([cli, "recording", "frame", str(path), "--at=-1", "--png", str(png)], capture_output=True, text=True)
    assert early.returncode == 2 and "--at" in early.stderr, early.stderr
    ok = subprocess.run([cli, "--json", "recording", "verify", str(path)], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["intact"] is True
    broken = bytearray(data)
    broken[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(broken))
    bad = subprocess.run([cli, "--json", "recording", "verify", str(path)], capture_output=True, text=True)
    assert bad.returncode == 1
    verdict = json.loads(bad.stdout)
    assert verdict["intact"] is False and verdict["link"], verdict
