"""The simulator's consoles with a real VNC client library (vncdotool) and seeded faults."""

import socket
import time
import urllib.request
import xml.parsers.expat
import xmlrpc.client

import pytest
from PIL import ImageChops
from vncdotool import api

from test_sim_support import free_port_range, simulator


@pytest.fixture(scope="module")
def sim():
    base = free_port_range()
    with simulator("--vnc-base", str(base)) as url:
        yield url, base
    api.shutdown()


def shot(client):
    client.refreshScreen()
    return client.screen.copy()


def typed(url, vm_id):
    """What the simulator's built-in console of `vm_id` received (its test hook)."""
    with urllib.request.urlopen(url.replace("/RPC2", f"/sim/consoles/{vm_id}/typed"), timeout=5) as r:
        return r.read().decode()


def test_builtin_console_handshake_and_key_echo(sim):
    url, base = sim
    client = api.connect(f"127.0.0.1::{base}", timeout=10)
    try:
        before = shot(client)
        assert before.size == (640, 400)
        client.keyPress("x")
        client.keyPress("y")
        after = shot(client)
        box = ImageChops.difference(before.convert("RGB"), after.convert("RGB")).getbbox()
        assert box is not None, "typed keys are echoed on the console"
        # The login prompt is on text row 3 (16-pixel rows).
        assert 48 <= box[1] and box[3] <= 64, box
        assert typed(url, 0) == "xy"
    finally:
        client.disconnect()


def test_vnc_password_from_the_vm(sim):
    url, base = sim
    proxy = xmlrpc.client.ServerProxy(url)
    ok, doc, _ = proxy.one.vm.info("alice:alice", 5)
    assert ok and "<PASSWD><![CDATA[s3cretpa]]></PASSWD>" in doc
    client = api.connect(f"127.0.0.1::{base + 5}", password="s3cretpa", timeout=10)
    try:
        assert shot(client).size == (640, 400)
    finally:
        client.disconnect()


def test_poweroff_closes_the_console(sim):
    url, base = sim
    proxy = xmlrpc.client.ServerProxy(url)
    ok, vm_id, _ = proxy.one.vm.action("alice:alice", "poweroff", 6)
    assert ok and vm_id == 6
    deadline = time.monotonic() + 10
    while True:
        s = socket.socket()
        try:
            s.connect(("127.0.0.1", base + 6))
        except OSError:
            break
        finally:
            s.close()
        assert time.monotonic() < deadline, "console still open after poweroff"
        time.sleep(0.05)


def outcomes(seed):
    with simulator("--vnc", "none", "--seed", str(seed), "--fault-rate", "0.5") as url:
        results = []
        for _ in range(12):
            proxy = xmlrpc.client.ServerProxy(url)
            try:
                socket.setdefaulttimeout(1.5)
                proxy.one.system.version("alice:alice")
                results.append("ok")
            except xmlrpc.client.ProtocolError as e:
                results.append(f"http{e.errcode}")
            except (xml.parsers.expat.ExpatError, xmlrpc.client.ResponseError):
                results.append("malformed")
            except (socket.timeout, TimeoutError, OSError):
                results.append("timeout")
            finally:
                socket.setdefaulttimeout(None)
        return results


def test_faults_are_reproducible_with_seed():
    a = outcomes(11)
    b = outcomes(11)
    assert a == b
    assert len(set(a)) >= 3, a
