"""The simulator through the official, unmodified pyone bindings (OpenNebula's Python client)."""

import pyone
import pytest

from test_sim_support import free_port_range, simulator, wait_until

RUNNING = (3, 3)


@pytest.fixture(scope="module")
def url():
    with simulator("--vnc", "none", "--vnc-base", str(free_port_range())) as u:
        yield u


def one(url, session):
    return pyone.OneServer(url, session=session)


def state(vm):
    return (vm.STATE, vm.LCM_STATE)


def test_authenticate_and_wrong_password(url):
    assert one(url, "alice:alice").user.info(-1).NAME == "alice"
    assert one(url, "oneadmin:opennebula").system.version() == "7.4.0"
    with pytest.raises(pyone.OneAuthenticationException):
        one(url, "alice:wrong").user.info(-1)
    with pytest.raises(pyone.OneAuthenticationException):
        one(url, "nobody:nobody").vmpool.info(-3, -1, -1, -1)


def test_pool_with_each_filter_flag(url):
    alice = one(url, "alice:alice")
    mine = [vm.ID for vm in alice.vmpool.info(-3, -1, -1, -1).VM]
    assert mine == sorted(mine, reverse=True), "descending IDs"
    assert set(mine) >= set(range(10))
    for flag in (-4, -2, -1):
        assert [vm.ID for vm in alice.vmpool.info(flag, -1, -1, -1).VM] == mine
    admin = one(url, "oneadmin:opennebula")
    assert {vm.ID for vm in admin.vmpool.info(3, -1, -1, -1).VM} == {10, 11}, "bob's VMs by UID"
    assert admin.vmpool.info(-3, -1, -1, -1).VM == [], "oneadmin owns none"
    poweroff = alice.vmpool.info(-3, -1, -1, 8).VM
    assert all(vm.STATE == 8 for vm in poweroff) and poweroff
    page = alice.vmpool.info(-3, 0, -3, -1).VM
    assert [vm.ID for vm in page] == mine[:3]
    with pytest.raises(pyone.OneApiException):
        alice.vmpool.info(-5, -1, -1, -1)


def test_vm_info_has_the_console_target(url):
    vm = one(url, "alice:alice").vm.info(5)
    assert vm.NAME == "alice-reboot"
    graphics = vm.TEMPLATE["GRAPHICS"]
    assert graphics["TYPE"] == "VNC" and graphics["PASSWD"] == "s3cretpa"
    assert int(graphics["PORT"]) > 0
    assert vm.HISTORY_RECORDS.HISTORY[-1].HOSTNAME in ("localhost", "127.0.0.1")


def test_actions_change_states(url):
    alice = one(url, "alice:alice")
    assert alice.vm.action("poweroff", 7) == 7
    seen = set()

    def powered_off():
        s = state(alice.vm.info(7))
        seen.add(s)
        return s == (8, 0)

    wait_until("POWEROFF", powered_off)
    assert alice.vm.action("resume", 7) == 7
    wait_until("RUNNING again", lambda: state(alice.vm.info(7)) == RUNNING)
    with pytest.raises(pyone.OneActionException) as err:
        alice.vm.action("resume", 7)
    assert "This action is not available for state RUNNING" in str(err.value)


def test_instantiate_and_watch_it_boot(url):
    alice = one(url, "alice:alice")
    vm_id = alice.template.instantiate(1, "py-vm")
    assert state(alice.vm.info(vm_id)) == (1, 0), "PENDING first"
    seen = []

    def running():
        s = state(alice.vm.info(vm_id))
        if not seen or seen[-1] != s:
            seen.append(s)
        return s == RUNNING

    wait_until("RUNNING", running)
    assert seen[0] == (1, 0) and seen[-1] == RUNNING
    vm = alice.vm.info(vm_id)
    assert vm.TEMPLATE["GRAPHICS"]["PASSWD"] == "s3cretpa", "VNC password cut to 8 chars"
    assert vm.TEMPLATE["GRAPHICS"]["PORT"]


def test_recover_recreate_keeps_id_and_port(url):
    admin = one(url, "oneadmin:opennebula")
    before = admin.vm.info(6)
    port = before.TEMPLATE["GRAPHICS"]["PORT"]
    with pytest.raises(pyone.OneAuthorizationException):
        one(url, "alice:alice").vm.recover(6, 4)
    assert admin.vm.recover(6, 4) == 6
    wait_until("back to RUNNING", lambda: state(admin.vm.info(6)) == RUNNING)
    after = admin.vm.info(6)
    assert after.ID == 6 and after.TEMPLATE["GRAPHICS"]["PORT"] == port


def test_reading_another_users_vm_is_denied(url):
    alice = one(url, "alice:alice")
    with pytest.raises(pyone.OneAuthorizationException) as err:
        alice.vm.info(10)
    assert "Not authorized to perform USE VM [10]" in str(err.value)
    with pytest.raises(pyone.OneNoExistsException):
        alice.vm.info(999999)


def test_login_token_session(url):
    alice = one(url, "alice:alice")
    token = alice.user.login("alice", "", 600)
    assert len(token) == 64
    assert one(url, f"alice:{token}").user.info(-1).NAME == "alice"
    alice.user.login("alice", token, 0)
    with pytest.raises(pyone.OneAuthenticationException):
        one(url, f"alice:{token}").user.info(-1)
