"""`onedeck-cli relay --ssh` against a real sshd in network namespaces (ssh_lab.py): the bundled
noVNC, in headless Chromium, renders the screen of QEMU's VNC server, and of the simulator's
built-in console, in namespace "hv", which only the SSH host reaches. An unknown host key stops the relay with its fingerprint until it is accepted
by fingerprint; a wrong password says so."""

import json
import os
import re
import shutil
import socket
import subprocess
from pathlib import Path

import pytest

from ssh_lab import USER, lab

ROOT = Path(__file__).resolve().parents[2]
CLI = os.environ.get("ONEDECK_CLI", str(ROOT / "target" / "debug" / "onedeck-cli"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_relay(token_file: Path, lab, page_port: int, *extra, secret: str):
    proc = subprocess.Popen(
        [CLI, "relay", "--listen", "127.0.0.1:0", "--token-file", str(token_file),
         "--allow-origin", f"http://127.0.0.1:{page_port}", "--ssh", f"{USER}@{lab.front_ip}",
         "--secret-stdin", "--known-hosts", str(lab.dir / "app_known_hosts"), *extra],
        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "HOME": str(lab.dir)},
    )
    proc.stdin.write(secret + "\n")
    proc.stdin.close()
    lines = []
    while True:
        line = proc.stderr.readline()
        if not line:
            proc.wait(10)
            return proc, None, "".join(lines)
        lines.append(line)
        m = re.search(r"listening on (ws://\S+)", line)
        if m:
            return proc, m.group(1), "".join(lines)


def novnc(url: str, page: int) -> dict:
    out = subprocess.run(
        ["node", "tests/tools/novnc-connect.mjs", url, str(page), "45000"],
        cwd=ROOT / "ui", capture_output=True, text=True, timeout=120,
    )
    shown = json.loads(out.stdout.strip().splitlines()[-1])
    assert shown["error"] is None, (shown, out.stderr)
    return shown


# A TCP forwarder run in "hv": the simulator serves its consoles on hv's own loopback only.
FORWARDER = """
import socket, sys, threading
src, dst = (sys.argv[1], int(sys.argv[2])), ("127.0.0.1", int(sys.argv[3]))
def pipe(a, b):
    try:
        while (d := a.recv(65536)):
            b.sendall(d)
    except OSError:
        pass
    for s in (a, b):
        try: s.shutdown(socket.SHUT_RDWR)
        except OSError: pass
l = socket.create_server(src)
while True:
    c, _ = l.accept()
    t = socket.create_connection(dst)
    threading.Thread(target=pipe, args=(c, t), daemon=True).start()
    threading.Thread(target=pipe, args=(t, c), daemon=True).start()
"""


def test_novnc_renders_the_simulators_console_through_an_ssh_tunnel(tmp_path):
    if not Path(CLI).exists():
        pytest.fail(f"{CLI} not built: cargo build -p onedeck-cli")
    with lab(tmp_path) as lb:
        sim = subprocess.Popen(
            ["ip", "netns", "exec", lb.hv_ns, CLI, "sim", "--listen", "127.0.0.1:0", "--vnc", "builtin",
             "--vnc-base", "15900"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )
        lb.children.append(sim)
        assert sim.stdout.readline().startswith("http://127.0.0.1:")
        lb.in_hv("python3", "-c", FORWARDER, lb.hv_ip, "5910", "15900")
        lb.wait_in_front(lb.hv_ip, 5910)
        token_file = tmp_path / "tokens"
        token_file.write_text(f"vm: {lb.hv_ip}:5910\n")
        page = free_port()
        proc, url, err = start_relay(token_file, lb, page, "--accept-host-key", lb.host_fingerprint(),
                                     secret=lb.password)
        try:
            assert url, err
            shown = novnc(f"{url}/?token=vm", page)
            assert shown["nonblank"], shown
            assert (shown["width"], shown["height"], shown["desktop"]) == (640, 400, "alice-run"), shown
        finally:
            proc.terminate()
            proc.wait(10)


@pytest.fixture
def qemu_lab(tmp_path):
    if not shutil.which("qemu-system-x86_64"):
        assert not os.environ.get("ONEDECK_REQUIRE_QEMU"), "qemu-system-x86_64 is required"
        pytest.skip("qemu-system-x86_64 is not installed")
    if not Path(CLI).exists():
        pytest.fail(f"{CLI} not built: cargo build -p onedeck-cli")
    with lab(tmp_path) as lb:
        lb.in_hv("qemu-system-x86_64", "-display", "none", "-nodefaults", "-vga", "std", "-m", "64",
                 "-vnc", f"{lb.hv_ip}:0")
        lb.wait_in_front(lb.hv_ip, 5900)
        token_file = tmp_path / "tokens"
        token_file.write_text(f"vm: {lb.hv_ip}:5900\n")
        yield lb, token_file


def test_novnc_renders_qemu_through_an_ssh_tunnel(qemu_lab):
    lb, token_file = qemu_lab
    # hv is out of reach from here.
    with pytest.raises(OSError):
        socket.create_connection((lb.hv_ip, 5900), 2).close()
    page = free_port()

    # The host key is unknown: the relay stops and names its fingerprint.
    fp = lb.host_fingerprint()
    proc, url, err = start_relay(token_file, lb, page, secret=lb.password)
    assert url is None and proc.returncode != 0
    assert fp in err and "--accept-host-key" in err, err

    # Accepted by that fingerprint: remembered, and the console renders.
    proc, url, err = start_relay(token_file, lb, page, "--accept-host-key", fp, secret=lb.password)
    try:
        assert url, err
        assert fp in err and "accepted" in err
        shown = novnc(f"{url}/?token=vm", page)
        assert shown["nonblank"], shown
        assert (shown["width"], shown["height"]) == (720, 400), shown
        assert shown["desktop"] == "QEMU", shown
    finally:
        proc.terminate()
        proc.wait(10)
    assert (lb.dir / "app_known_hosts").read_text().startswith(lb.front_ip + " ssh-ed25519 ")

    # Known now: no flag needed. A wrong password is an authentication refusal.
    proc, url, err = start_relay(token_file, lb, page, secret="wrong-password")
    assert url is None and "authentication" in err and "refused" in err, err
