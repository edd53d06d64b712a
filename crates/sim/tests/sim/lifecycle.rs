//! The VM state machine on the simulator's own clock (milliseconds passed explicitly, so no
//! test sleeps): timed transitions, oned's wrong-state messages, VNC port rules, recover.

use onedeck_sim::model::{Caller, lcm, state};
use onedeck_sim::world::{ACTION, AUTHORIZATION, World, timing};
use onedeck_sim::{SimConfig, VncMode, fixture};

fn world() -> World {
    fixture::build(&SimConfig {
        vnc: VncMode::None,
        ..SimConfig::default()
    })
}

fn admin() -> Caller {
    Caller {
        uid: 0,
        gid: 0,
        groups: vec![0],
    }
}

fn alice() -> Caller {
    Caller {
        uid: 2,
        gid: 100,
        groups: vec![100],
    }
}

/// Lets `ms` of simulated time pass in 10 ms steps.
fn run_for(w: &mut World, ms: u64) {
    let end = w.now_ms + ms;
    while w.now_ms < end {
        let t = w.now_ms + 10;
        w.fire_due(t);
    }
}

fn st(w: &World, id: u32) -> (u32, u32) {
    let v = &w.vms[&id];
    (v.state, v.lcm)
}

/// Advances the clock in 10 ms steps until `id` is in `want`, recording every state seen.
fn run_until(w: &mut World, id: u32, want: (u32, u32), limit_ms: u64) -> Vec<(u32, u32)> {
    let mut seen = vec![st(w, id)];
    let start = w.now_ms;
    let mut t = start;
    while st(w, id) != want {
        t += 10;
        assert!(
            t - start <= limit_ms,
            "{id} stuck in {:?} (seen {seen:?})",
            st(w, id)
        );
        w.fire_due(t);
        if seen.last() != Some(&st(w, id)) {
            seen.push(st(w, id));
        }
    }
    seen
}

#[test]
fn instantiate_goes_pending_prolog_boot_running_with_port_and_history() {
    let mut w = world();
    let id = w
        .instantiate(&alice(), 0, "", false, "")
        .expect("instantiate") as u32;
    assert_eq!(w.vms[&id].name, format!("tiny-vnc-{id}"));
    assert_eq!(st(&w, id), (state::PENDING, 0));
    assert_eq!(w.vms[&id].vnc_port(), None, "no port before deploy");
    w.fire_due(timing::SCHEDULE_MS - 1);
    assert_eq!(st(&w, id), (state::PENDING, 0), "the scheduler waits");
    let seen = run_until(&mut w, id, (state::ACTIVE, lcm::RUNNING), 5000);
    assert_eq!(
        seen,
        vec![
            (state::PENDING, 0),
            (state::ACTIVE, lcm::PROLOG),
            (state::ACTIVE, lcm::BOOT),
            (state::ACTIVE, lcm::RUNNING)
        ]
    );
    let vm = &w.vms[&id];
    assert_eq!(vm.vnc_port(), Some(5900 + id as u16));
    assert_eq!(vm.history.len(), 1);
    assert_eq!((vm.history[0].plan_id, vm.history[0].action_id), (-1, 0));
    assert_eq!(vm.template.get_str("TM_MAD_SYSTEM"), Some("dummy"));
    assert!(vm.console_up());
}

#[test]
fn actions_follow_the_state_table_and_traces() {
    let mut w = world();
    let a = alice();
    // poweroff: SHUTDOWN_POWEROFF then POWEROFF, port kept.
    w.vm_action(&a, "poweroff", 0).expect("poweroff");
    assert_eq!(st(&w, 0), (state::ACTIVE, lcm::SHUTDOWN_POWEROFF));
    run_until(&mut w, 0, (state::POWEROFF, 0), 500);
    assert_eq!(w.vms[&0].vnc_port(), Some(5900));
    assert_eq!(w.vms[&0].history[0].action, 19);
    // resume from POWEROFF: BOOT_POWEROFF then RUNNING.
    w.vm_action(&a, "resume", 0).expect("resume");
    assert_eq!(st(&w, 0), (state::ACTIVE, lcm::BOOT_POWEROFF));
    run_until(&mut w, 0, (state::ACTIVE, lcm::RUNNING), 1000);
    // suspend, then stop from SUSPENDED.
    w.vm_action(&a, "suspend", 0).expect("suspend");
    run_until(&mut w, 0, (state::SUSPENDED, 0), 500);
    w.vm_action(&a, "stop", 0).expect("stop");
    assert_eq!(st(&w, 0), (state::ACTIVE, lcm::EPILOG_STOP));
    run_until(&mut w, 0, (state::STOPPED, 0), 500);
    assert_eq!(
        w.vms[&0].vnc_port(),
        Some(5900),
        "a STOPPED VM keeps its port"
    );
    // resume from STOPPED: PENDING, PROLOG_RESUME, BOOT_STOPPED, RUNNING, same port, new record.
    w.vm_action(&a, "resume", 0).expect("resume");
    let seen = run_until(&mut w, 0, (state::ACTIVE, lcm::RUNNING), 5000);
    assert_eq!(
        seen,
        vec![
            (state::PENDING, 0),
            (state::ACTIVE, lcm::PROLOG_RESUME),
            (state::ACTIVE, lcm::BOOT_STOPPED),
            (state::ACTIVE, lcm::RUNNING)
        ]
    );
    assert_eq!(w.vms[&0].vnc_port(), Some(5900));
    assert_eq!(w.vms[&0].history.len(), 2);
    // undeploy releases the port; terminate ends in DONE.
    w.vm_action(&a, "undeploy", 0).expect("undeploy");
    assert_eq!(st(&w, 0), (state::ACTIVE, lcm::SHUTDOWN_UNDEPLOY));
    run_until(&mut w, 0, (state::UNDEPLOYED, 0), 500);
    assert_eq!(w.vms[&0].vnc_port(), None);
    w.vm_action(&a, "terminate", 0).expect("terminate");
    run_until(&mut w, 0, (state::DONE, 0), 500);
    assert!(w.vms[&0].etime > 0);
    // hold/release.
    let id = w.instantiate(&a, 0, "h", true, "").expect("on hold") as u32;
    assert_eq!(st(&w, id), (state::HOLD, 0));
    run_for(&mut w, 10_000);
    assert_eq!(st(&w, id), (state::HOLD, 0), "HOLD is never scheduled");
    w.vm_action(&a, "release", id as i32).expect("release");
    assert_eq!(st(&w, id), (state::PENDING, 0));
}

#[test]
fn wrong_state_messages_are_oneds() {
    let mut w = world();
    let a = alice();
    let e = w.vm_action(&a, "suspend", 1).expect_err("poweroff VM");
    assert_eq!(e.code, ACTION);
    assert_eq!(
        e.message,
        "Error performing action \"suspend\": This action is not available for state POWEROFF"
    );
    let e = w.vm_action(&a, "resume", 0).expect_err("running VM");
    assert_eq!(
        e.message,
        "Error performing action \"resume\": This action is not available for state RUNNING"
    );
    assert_eq!(e.index3, -1);
    let e = w.vm_action(&a, "explode", 0).expect_err("unknown");
    assert_eq!(e.message, "Action \"explode\" is not supported");
    let e = w.vm_resize(&a, 2, "CPU=1").expect_err("suspended");
    assert_eq!(e.message, "Cannot resize a VM in state SUSPENDED");
    let e = w.vm_resize(&a, 0, "CPU=1").expect_err("running");
    assert_eq!(e.message, "Hotplug resize not supported by driver dummy");
    let e = w.snapshot_create(&a, 1, "x").expect_err("poweroff");
    assert_eq!(
        e.message,
        "Could not create a new snapshot for VM 1, wrong state POWEROFF."
    );
    for (action, vm) in [
        ("reboot", 1),
        ("hold", 0),
        ("release", 0),
        ("stop", 1),
        ("undeploy", 2),
        ("poweroff", 3),
    ] {
        let e = w.vm_action(&a, action, vm).expect_err(action);
        assert_eq!(e.code, ACTION, "{action}");
        assert!(
            e.message
                .starts_with(&format!("Error performing action \"{action}\"")),
            "{}",
            e.message
        );
    }
    // Accepted in the listed states.
    w.vm_resize(&a, 1, "CPU=\"0.5\"\nVCPU=\"2\"\nMEMORY=\"256\"")
        .expect("poweroff resize");
    assert_eq!(w.vms[&1].template.get_str("MEMORY"), Some("256"));
    w.vm_rename(&a, 4, "renamed").expect("rename in any state");
    assert_eq!(w.vms[&4].name, "renamed");
    assert!(w.vm_rename(&a, 4, " ").is_err());
}

#[test]
fn snapshots_create_revert_delete() {
    let mut w = world();
    let a = alice();
    let sid = w.snapshot_create(&a, 5, "snap-1").expect("create");
    assert_eq!(sid, 0);
    assert_eq!(st(&w, 5), (state::ACTIVE, lcm::HOTPLUG_SNAPSHOT));
    run_until(&mut w, 5, (state::ACTIVE, lcm::RUNNING), 500);
    assert_eq!(w.snapshot_create(&a, 5, "").expect("second"), 1);
    run_until(&mut w, 5, (state::ACTIVE, lcm::RUNNING), 500);
    w.snapshot_op(&a, 5, 0, false).expect("revert");
    run_until(&mut w, 5, (state::ACTIVE, lcm::RUNNING), 500);
    w.snapshot_op(&a, 5, 0, true).expect("delete");
    run_until(&mut w, 5, (state::ACTIVE, lcm::RUNNING), 500);
    assert_eq!(w.vms[&5].template.vectors("SNAPSHOT").count(), 1);
    assert!(w.snapshot_op(&a, 5, 0, false).is_err(), "deleted snapshot");
}

#[test]
fn vnc_ports_follow_oneds_rule() {
    let mut w = world();
    let a = admin();
    // Running VMs 0,5,6,7,10 hold 5900+id; poweroff/suspended/stopped keep theirs.
    assert_eq!(w.vms[&3].vnc_port(), Some(5903), "STOPPED keeps its port");
    assert_eq!(w.vms[&4].vnc_port(), None, "UNDEPLOYED has none");
    assert_eq!(w.vms[&8].vnc_port(), None, "HOLD has none");
    // VM 12 asks for 5914 explicitly, VM 13 gets 5913, VM 14 falls back to the lowest free port.
    let v12 = w
        .instantiate(
            &a,
            0,
            "fixed",
            false,
            "GRAPHICS=[TYPE=\"VNC\",LISTEN=\"0.0.0.0\",PORT=\"5914\"]",
        )
        .expect("12") as u32;
    let v13 = w.instantiate(&a, 0, "", false, "").expect("13") as u32;
    run_for(&mut w, 5000);
    let v14 = w.instantiate(&a, 0, "", false, "").expect("14") as u32;
    run_for(&mut w, 10_000);
    assert_eq!((v12, v13, v14), (12, 13, 14));
    assert_eq!(w.vms[&12].vnc_port(), Some(5914));
    assert_eq!(w.vms[&13].vnc_port(), Some(5913));
    assert_eq!(
        w.vms[&14].vnc_port(),
        Some(5904),
        "5914 taken: lowest free >= 5900 (5903 is the STOPPED VM's)"
    );
    // A duplicate user-set port is accepted at instantiate and fails at deploy.
    let v15 = w
        .instantiate(&a, 0, "dup", false, "GRAPHICS=[TYPE=\"VNC\",PORT=\"5914\"]")
        .expect("15") as u32;
    run_for(&mut w, 20_000);
    assert_eq!(st(&w, v15), (state::PENDING, 0));
    let err = w.vms[&v15].user_template.get_str("ERROR").expect("ERROR");
    assert!(
        err.ends_with(": [deploy] Requested VNC port already assigned to a VM"),
        "{err}"
    );
    // Terminate releases: the port can be reused.
    w.vm_action(&a, "terminate-hard", 12).expect("terminate");
    run_for(&mut w, 30_000);
    assert_eq!(st(&w, 12), (state::DONE, 0));
    assert_eq!(w.vms[&12].vnc_port(), None);
}

#[test]
fn recover_is_admin_only_and_recreate_keeps_id_and_port() {
    let mut w = world();
    let e = w.vm_recover(&alice(), 7, 4).expect_err("owner lacks ADMIN");
    assert_eq!(e.code, AUTHORIZATION);
    assert_eq!(
        e.message,
        "User [2] : Not authorized to perform ADMIN VM [7]."
    );
    let e = w.vm_recover(&admin(), 7, 9).expect_err("op 9");
    assert_eq!(e.message, "Wrong recovery operation code");
    let port = w.vms[&7].vnc_port();
    assert_eq!(w.vm_recover(&admin(), 7, 4).expect("recreate"), 7);
    let seen = run_until(&mut w, 7, (state::ACTIVE, lcm::RUNNING), 5000);
    assert_eq!(seen[1], (state::PENDING, 0), "{seen:?}");
    assert_eq!(w.vms[&7].vnc_port(), port);
    assert_eq!(w.vms[&7].history.len(), 2);
    // success/failure on a transient state, retry from failure, delete.
    w.vm_action(&admin(), "poweroff", 7).expect("poweroff");
    w.vm_recover(&admin(), 7, 0).expect("failure");
    assert_eq!(st(&w, 7), (state::ACTIVE, lcm::BOOT_FAILURE));
    w.vm_recover(&admin(), 7, 2).expect("retry");
    assert_eq!(st(&w, 7), (state::ACTIVE, lcm::BOOT));
    w.vm_recover(&admin(), 7, 1).expect("success");
    assert_eq!(st(&w, 7), (state::ACTIVE, lcm::RUNNING));
    assert!(
        w.vm_recover(&admin(), 7, 1).is_err(),
        "RUNNING is not recoverable"
    );
    w.vm_recover(&admin(), 7, 3).expect("delete");
    assert_eq!(st(&w, 7), (state::DONE, 0));
    w.vm_recover(&admin(), 6, 5).expect("delete-db");
    assert!(!w.vms.contains_key(&6));
}

#[test]
fn deploy_is_admin_only_and_uses_api_history_ids() {
    let mut w = world();
    let id = w.instantiate(&alice(), 0, "", true, "").expect("hold") as u32;
    let e = w.vm_deploy(&alice(), id as i32, 0).expect_err("alice");
    assert_eq!(e.code, AUTHORIZATION);
    let e = w.vm_deploy(&admin(), 0, 0).expect_err("running");
    assert_eq!(
        e.message,
        "Deploy action is not available for state RUNNING"
    );
    w.vm_deploy(&admin(), id as i32, 1).expect("deploy");
    run_until(&mut w, id, (state::ACTIVE, lcm::RUNNING), 2000);
    let h = &w.vms[&id].history[0];
    assert_eq!((h.plan_id, h.action_id, h.hid), (-2, -1, 1));
    assert_eq!(h.hostname, "127.0.0.1");
}
