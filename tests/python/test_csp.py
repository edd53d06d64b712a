"""The shipped CSP, read from tauri.conf.json: what script-src may never contain (security finding
10; CVE-2026-95626: a nonce gives no protection when script-src allows data: or blob:)."""

import json
from pathlib import Path

CONF = Path(__file__).resolve().parents[2] / "tauri.conf.json"


def csp():
    policy = json.loads(CONF.read_text())["app"]["security"]["csp"]
    assert isinstance(policy, dict), "the CSP is set, as a map of directives"
    return policy


def test_script_src_has_no_unsafe_data_or_blob_source():
    policy = csp()
    sources = policy.get("script-src", policy.get("default-src", "")).split()
    assert sources, "script-src (or default-src) is set"
    forbidden = [s for s in sources if s.startswith("'unsafe-") or s in ("data:", "blob:", "*") or s.startswith("http")]
    assert not forbidden, f"script-src allows {forbidden}"


def test_nothing_loads_from_outside_the_bundle():
    for directive, value in csp().items():
        for source in value.split():
            if directive == "connect-src" and source in ("ipc:", "http://ipc.localhost", "ws://127.0.0.1:*"):
                continue
            if directive == "img-src" and source == "data:":
                continue
            assert source in ("'self'", "'none'"), f"{directive} allows {source}"
