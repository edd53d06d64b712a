"""A lab of network namespaces for SSH console tests (the Python twin of crates/ssh/tests/ssh/lab.rs):
"front" runs a real OpenSSH sshd, "hv" runs console targets reachable only from "front", and this
machine reaches only "front" (an explicit unreachable route keeps it from "hv"). Needs root, `ip`
and sshd; a test skips without them unless ONEDECK_REQUIRE_NETNS is set (make test sets it)."""

import os
import secrets
import shutil
import socket
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

USER = "odssh"


def available() -> bool:
    ok = os.geteuid() == 0 and Path("/usr/sbin/sshd").is_file() and shutil.which("ip") is not None
    if not ok:
        assert not os.environ.get("ONEDECK_REQUIRE_NETNS"), "the SSH lab needs root, ip and sshd (openssh-server)"
        pytest.skip("the SSH lab needs root, ip and sshd")
    return ok


def _run(*args, **kw):
    return subprocess.run(args, check=True, capture_output=True, text=True, **kw)


class Lab:
    def __init__(self, tmp: Path):
        k = (os.getpid() * 13) % 250 + 1
        tag = f"{os.getpid() % 100000}p"
        self.front_ns, self.hv_ns, self.veth = f"odf{tag}", f"odh{tag}", f"odr{tag}"
        self.front_ip, self.hv_ip = f"10.241.{k}.2", f"10.242.{k}.2"
        self.unreachable = f"10.242.{k}.0/24"
        self.dir = tmp
        self.password = "Lab-" + secrets.token_hex(12)
        self.children = []
        self.sshd = None
        self._k = k

    def up(self):
        k, f, h = self._k, self.front_ns, self.hv_ns
        self.dir.mkdir(parents=True, exist_ok=True)
        if subprocess.run(["id", USER], capture_output=True).returncode != 0:
            _run("useradd", "--system", "--no-create-home", "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin", USER)
        _run("chpasswd", input=f"{USER}:{self.password}\n")
        _run("ip", "netns", "add", f)
        _run("ip", "netns", "add", h)
        _run("ip", "route", "add", "unreachable", self.unreachable)
        _run("ip", "link", "add", self.veth, "type", "veth", "peer", "name", self.veth + "f", "netns", f)
        # No IPv6 autoconfiguration on this machine's side: its late address changes make a
        # browser started meanwhile abort loads with ERR_NETWORK_CHANGED.
        subprocess.run(["sysctl", "-qw", f"net.ipv6.conf.{self.veth}.disable_ipv6=1"], capture_output=True)
        _run("ip", "addr", "add", f"10.241.{k}.1/24", "dev", self.veth)
        _run("ip", "link", "set", self.veth, "up")
        _run("ip", "-n", f, "addr", "add", f"10.241.{k}.2/24", "dev", self.veth + "f")
        _run("ip", "-n", f, "link", "set", self.veth + "f", "up")
        _run("ip", "-n", f, "link", "set", "lo", "up")
        _run("ip", "-n", f, "link", "add", self.veth + "a", "type", "veth", "peer", "name", self.veth + "b", "netns", h)
        _run("ip", "-n", f, "addr", "add", f"10.242.{k}.1/24", "dev", self.veth + "a")
        _run("ip", "-n", f, "link", "set", self.veth + "a", "up")
        _run("ip", "-n", h, "addr", "add", f"10.242.{k}.2/24", "dev", self.veth + "b")
        _run("ip", "-n", h, "link", "set", self.veth + "b", "up")
        _run("ip", "-n", h, "link", "set", "lo", "up")
        self.start_sshd()
        return self

    def start_sshd(self):
        key = self.dir / "host_ed25519"
        if not key.exists():
            _run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key))
        Path("/run/sshd").mkdir(exist_ok=True)
        config = self.dir / "sshd_config"
        config.write_text(
            f"ListenAddress {self.front_ip}\nPort 22\nHostKey {key}\nPidFile none\nUsePAM no\nStrictModes no\n"
            "PasswordAuthentication yes\nKbdInteractiveAuthentication no\nPubkeyAuthentication yes\n"
            f"AuthorizedKeysFile {self.dir / 'authorized_keys'}\nAllowTcpForwarding yes\nPermitTTY no\n"
            f"X11Forwarding no\nAllowUsers {USER}\n"
        )
        log = open(self.dir / "sshd.log", "w")
        self.sshd = subprocess.Popen(
            ["ip", "netns", "exec", self.front_ns, "/usr/sbin/sshd", "-D", "-e", "-f", str(config)],
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        wait_port(self.front_ip, 22)

    def kill_sshd(self):
        if self.sshd:
            self.sshd.kill()
            self.sshd.wait()
            self.sshd = None
        pids = subprocess.run(["ip", "netns", "pids", self.front_ns], capture_output=True, text=True).stdout.split()
        for pid in pids:
            subprocess.run(["kill", "-9", pid], capture_output=True)

    def host_fingerprint(self) -> str:
        return _run("ssh-keygen", "-lf", str(self.dir / "host_ed25519.pub")).stdout.split()[1]

    def in_hv(self, *args) -> subprocess.Popen:
        p = subprocess.Popen(["ip", "netns", "exec", self.hv_ns, *args], stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.children.append(p)
        return p

    def wait_in_front(self, host: str, port: int, timeout: float = 20.0):
        deadline = time.monotonic() + timeout
        probe = f"import socket;socket.create_connection(('{host}',{port}),1).close()"
        while time.monotonic() < deadline:
            if subprocess.run(["ip", "netns", "exec", self.front_ns, "python3", "-c", probe],
                              capture_output=True).returncode == 0:
                return
            time.sleep(0.1)
        raise AssertionError(f"nothing listens on {host}:{port} as seen from front")

    def down(self):
        self.kill_sshd()
        for p in self.children:
            p.kill()
            p.wait()
        for args in (["netns", "del", self.front_ns], ["netns", "del", self.hv_ns], ["link", "del", self.veth],
                     ["route", "del", self.unreachable]):
            subprocess.run(["ip", *args], capture_output=True)
        # No password outlives the lab.
        subprocess.run(["usermod", "-p", "*", USER], capture_output=True)


def wait_port(host: str, port: int, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection((host, port), 0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"nothing listens on {host}:{port}")


@contextmanager
def lab(tmp: Path):
    available()
    lab = Lab(tmp)
    try:
        yield lab.up()
    finally:
        lab.down()
