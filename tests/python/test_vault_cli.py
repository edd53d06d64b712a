"""`onedeck-cli profile` end to end: the real keyring, the simulator, and no secret on disk.

Run under scripts/with-keyring.sh (``make test`` does). Without a D-Bus session bus these tests
fail, unless ONEDECK_TEST_NO_KEYRING=1 says skipping them is intended.
"""

import json
import os
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CLI = os.environ.get("ONEDECK_CLI", str(ROOT / "target" / "debug" / "onedeck-cli"))
# A distinctive password for a simulator user, to search every file for after a full flow.
CANARY = "Canary-" + secrets.token_hex(12)


def _require_keyring():
    if os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
        return
    message = (
        "no D-Bus session bus: run under scripts/with-keyring.sh, "
        "or set ONEDECK_TEST_NO_KEYRING=1 to skip the keyring tests on purpose"
    )
    if os.environ.get("ONEDECK_TEST_NO_KEYRING") == "1":
        print(f"\n!!!!! SKIPPED keyring CLI tests: {message}\n", file=sys.stderr)
        pytest.skip(message)
    pytest.fail(message)


@pytest.fixture
def dirs(tmp_path):
    """Private config and data dirs for the CLI."""
    config, data = tmp_path / "config", tmp_path / "data"
    env = dict(os.environ, ONEDECK_CONFIG_DIR=str(config), ONEDECK_DATA_DIR=str(data), RUST_BACKTRACE="0")
    return {"config": config, "data": data, "env": env}


@pytest.fixture(scope="module")
def sim_url():
    """A simulator on a free loopback port, no consoles; stopped at the end."""
    if not Path(CLI).exists():
        pytest.fail(f"{CLI} not built: cargo build -p onedeck-cli")
    proc = subprocess.Popen(
        [CLI, "sim", "--listen", "127.0.0.1:0", "--vnc", "none", "--templates", "1", "--user", f"carol:{CANARY}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:"), f"simulator said {url!r}"
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def cli(dirs, *args, stdin=None, env=None, check=True):
    out = subprocess.run(
        [CLI, "profile", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env or dirs["env"],
        timeout=60,
    )
    if check:
        assert out.returncode == 0, f"{args}: rc={out.returncode}\n{out.stdout}\n{out.stderr}"
    return out


def add(dirs, url, name, user, password, *extra):
    out = cli(dirs, "add", "--name", name, "--url", url, "--user", user, "--password-stdin", *extra, stdin=password + "\n")
    return out.stdout.strip()


def keyring_lookup(profile_id):
    """What other Secret Service clients see under service onedeck / account = profile id."""
    out = subprocess.run(
        ["secret-tool", "lookup", "service", "onedeck", "username", profile_id], capture_output=True, text=True
    )
    return out.stdout if out.returncode == 0 else None


def test_add_list_show_test_remove(dirs, sim_url):
    _require_keyring()
    pid = add(dirs, sim_url, "Sim lab", "alice", "alice", "--console-host", "node1=127.0.0.1")
    assert keyring_lookup(pid) == "alice", "stored in the keyring under service onedeck, account = id"
    listed = json.loads(cli(dirs, "list", "--json").stdout)
    assert [p["id"] for p in listed] == [pid]
    assert listed[0]["console_hosts"] == {"node1": "127.0.0.1"}
    shown = cli(dirs, "show", pid).stdout
    assert "stored in the OS keyring" in shown
    assert "signed in to" in cli(dirs, "test", pid).stdout
    removed = cli(dirs, "remove", pid).stdout
    assert "secret was deleted" in removed
    assert keyring_lookup(pid) is None, "removing the profile removed its secret"
    assert json.loads(cli(dirs, "list", "--json").stdout) == []


def test_wrong_password_is_an_authentication_error(dirs, sim_url):
    """`add` signs in before it saves (as the app does): a wrong password saves nothing."""
    _require_keyring()
    out = cli(dirs, "add", "--name", "Wrong", "--url", sim_url, "--user", "alice", "--password-stdin",
              stdin="not-alices-password\n", check=False)
    assert out.returncode == 1
    assert "authentication failed" in out.stderr
    assert json.loads(cli(dirs, "list", "--json").stdout) == [], "nothing saved"


def run(dirs, *args, check=True, stdin=None):
    """`onedeck-cli` with the test's config and data dirs (any subcommand)."""
    out = subprocess.run([CLI, *args], input=stdin, capture_output=True, text=True, env=dirs["env"], timeout=60)
    if check:
        assert out.returncode == 0, f"{args}: rc={out.returncode}\n{out.stdout}\n{out.stderr}"
    return out


def test_vm_and_template_commands_with_a_stored_profile(dirs, sim_url):
    """`--profile ID|NAME` signs in with the keyring's secret through core; `--profile` and
    `--json` are accepted anywhere on the line; refusals exit 1 with oned's message."""
    _require_keyring()
    pid = add(dirs, sim_url, "Alice lab", "alice", "alice")
    by_name = json.loads(run(dirs, "vm", "list", "--profile", "Alice lab", "--json").stdout)
    by_id = json.loads(run(dirs, "--profile", pid, "--json", "vm", "list").stdout)
    assert [v["id"] for v in by_name] == [v["id"] for v in by_id] and by_name, "the same VMs either way"
    assert all(v["owner"] == "alice" for v in by_name)
    templates = json.loads(run(dirs, "template", "--profile", pid, "list", "--json").stdout)
    web = next(t for t in templates if t["name"] == "web-inputs")
    assert {"id", "name"} <= web.keys()
    created = json.loads(run(
        dirs, "vm", "create", "--template", str(web["id"]), "--name", "from-cli", "--hold",
        "--input-stdin", "ADMIN_PASSWORD", "--input", "BLOG_TITLE=Hi", "--input", "EDITION=community",
        "--input", "WORKERS=2", "--input", "PORT=80", "--profile", pid, "--json", stdin="pw from stdin\n",
    ).stdout)
    assert list(created) == ["ids"] and len(created["ids"]) == 1, created
    shown = json.loads(run(dirs, "vm", "show", str(created["ids"][0]), "--profile", pid, "--json").stdout)
    assert (shown["name"], shown["stateLabel"]) == ("from-cli", "HOLD")
    assert 'ADMIN_PASSWORD = "pw from stdin"' not in shown["userTemplate"], "the client drops PASSW* attributes"
    refused = run(dirs, "vm", "action", str(created["ids"][0]), "suspend", "--profile", pid, check=False)
    assert refused.returncode == 1
    assert 'Error performing action "suspend": This action is not available for state HOLD' in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1, refused.stderr
    unknown = run(dirs, "vm", "list", "--profile", "no such profile", check=False)
    assert unknown.returncode == 1 and "no such profile" in unknown.stderr
    cli(dirs, "remove", pid)


def test_password_is_never_a_command_line_argument(dirs):
    helptext = cli(dirs, "add", "--help").stdout
    assert "--password-stdin" in helptext
    assert "--password " not in helptext and "--password=" not in helptext
    out = cli(dirs, "add", "--name", "x", "--url", "http://h/RPC2", "--user", "u", "--password", "pw", check=False)
    assert out.returncode != 0, "there is no --password option"


def test_no_keyring_is_a_clear_error_and_writes_nothing(dirs, tmp_path):
    env = dict(dirs["env"], DBUS_SESSION_BUS_ADDRESS=f"unix:path={tmp_path}/no-bus", XDG_RUNTIME_DIR=str(tmp_path))
    out = cli(
        dirs, "add", "--name", "x", "--url", "http://127.0.0.1:9/RPC2", "--user", "u", "--password-stdin",
        stdin="pw\n", env=env, check=False,
    )
    assert out.returncode != 0
    assert "no keyring is available" in out.stderr
    assert "keep for this session only" in out.stderr
    assert not (dirs["config"] / "profiles.toml").exists(), "no half profile without its secret"


def test_damaged_profiles_file_is_reported_with_its_line_and_kept(dirs):
    dirs["config"].mkdir(parents=True)
    target = dirs["config"] / "profiles.toml"
    text = 'version = 1\n[[profile]]\nid = "a-1"\nname = "A\n'
    target.write_text(text)
    out = cli(dirs, "list", check=False)
    assert out.returncode != 0
    assert f"{target}:4:" in out.stderr, out.stderr
    assert target.read_text() == text, "never overwritten"


def _files(*roots):
    for root in roots:
        if root and Path(root).exists():
            yield from (p for p in Path(root).rglob("*") if p.is_file() and not p.is_symlink())


def test_password_and_token_reach_no_file(dirs, sim_url):
    """The CLI-level leak scan: add, sign in, trade for a token, list, show, remove; then no file
    under the config, data, cache dirs or the keyring's own (encrypted) files holds them."""
    _require_keyring()
    password = CANARY
    canary = add(dirs, sim_url, "Canary", "carol", password)
    token_id = add(dirs, sim_url, "Token", "carol", password, "--login-token", "3600")
    token = keyring_lookup(token_id)
    assert token and token != password, "only the token is kept in token mode"
    assert "as carol" in cli(dirs, "test", canary).stdout
    assert "as carol" in cli(dirs, "test", token_id).stdout
    cli(dirs, "list")
    cli(dirs, "show", canary)
    gone = add(dirs, sim_url, "Gone", "carol", password)
    cli(dirs, "remove", gone)
    xdg = [os.environ.get(k) for k in ("XDG_CONFIG_HOME", "XDG_CACHE_HOME")]
    keyrings = Path(os.environ["XDG_DATA_HOME"]) / "keyrings" if os.environ.get("XDG_DATA_HOME") else None
    files = list(_files(dirs["config"], dirs["data"], keyrings, *xdg))
    assert any(f.name == "profiles.toml" for f in files)
    for f in files:
        blob = f.read_bytes()
        assert password.encode() not in blob, f"password leaked into {f}"
        assert token.encode() not in blob, f"token leaked into {f}"
    cli(dirs, "remove", canary)
    cli(dirs, "remove", token_id)
