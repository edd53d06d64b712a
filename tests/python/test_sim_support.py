"""Shared support (no tests): starting and stopping `onedeck-cli sim` for the test_sim_* modules."""

import os
import socket
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CLI = os.environ.get("ONEDECK_CLI", str(ROOT / "target" / "debug" / "onedeck-cli"))


def free_port_range(count=16):
    """A base port with `count` free consecutive loopback ports (parallel test runs).

    Below Linux's ephemeral range (32768+), where TIME_WAIT client sockets block binds."""
    start = 10000 + (os.getpid() % 1000) * 16
    for base in [*range(start, 32768 - count, 16), *range(10000, start, 16)]:
        socks = []
        try:
            for i in range(count):
                s = socket.socket()
                s.bind(("127.0.0.1", base + i))
                socks.append(s)
            return base
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError("no free loopback port range")


def start_simulator(*args):
    """Starts the simulator with extra CLI args; returns its process and endpoint URL."""
    if not Path(CLI).exists():
        raise AssertionError(f"{CLI} not built: cargo build -p onedeck-cli")
    proc = subprocess.Popen(
        [CLI, "sim", "--listen", "127.0.0.1:0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    url = proc.stdout.readline().strip()
    if not (url.startswith("http://127.0.0.1:") and url.endswith("/RPC2")):
        stop_simulator(proc)
        raise AssertionError(f"simulator said {url!r}")
    return proc, url


def stop_simulator(proc):
    """Stops a simulator from `start_simulator` (killed if it does not stop within 10 s)."""
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@contextmanager
def simulator(*args):
    """Runs the simulator with extra CLI args; yields its endpoint URL; always stops it."""
    proc, url = start_simulator(*args)
    try:
        yield url
    finally:
        stop_simulator(proc)


def wait_until(what, predicate, timeout=10.0):
    """Polls `predicate` (bounded) and returns its last truthy value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)
