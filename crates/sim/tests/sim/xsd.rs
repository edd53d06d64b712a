//! Every document the simulator writes, for every method and every VM state it can show,
//! validates against the official 7.4 XSDs (namespace added for validation only; the one
//! TM_MAD_SYSTEM exemption for never-deployed VMs).

use onedeck_sim::model::{Caller, lcm, state};
use onedeck_sim::server::answer;
use onedeck_sim::{SimConfig, VncMode, fixture};

use crate::common::*;

fn assert_valid(what: &str, doc: &str, extended: bool) {
    let xsd = xsd_for(doc, extended);
    let errs = xsd_errors(doc, xsd);
    assert!(
        errs.is_empty(),
        "{what} invalid against {xsd}:\n{}",
        errs.join("\n")
    );
}

fn doc_of(
    w: &mut onedeck_sim::world::World,
    session: &str,
    method: &str,
    params: &[String],
) -> String {
    let mut all = vec![s(session)];
    all.extend_from_slice(params);
    let r = parse_response(&answer(w, &request(method, &all)));
    assert!(r.ok(), "{method} failed: {}", r.body());
    r.body()
}

#[test]
fn every_vm_state_validates() {
    let mut w = fixture::build(&SimConfig {
        vnc: VncMode::None,
        vms: 60,
        seed: 5,
        ..SimConfig::default()
    });
    let admin = Caller {
        uid: 0,
        gid: 0,
        groups: vec![0],
    };
    // A disk+NIC VM, a VM with a snapshot and a scheduled action, and one per LCM state the
    // simulator passes through.
    let disk_nic = w
        .instantiate(&admin, 2, "dn", false, "")
        .expect("instantiate") as u32;
    w.dispatch(disk_nic, None, true);
    w.settle(disk_nic);
    w.snapshot_create(&admin, 0, "s").expect("snapshot");
    w.sched_add(
        &admin,
        0,
        "SCHED_ACTION=[ACTION=\"poweroff\",TIME=\"1900000000\"]",
    )
    .expect("sched");
    let lcms = [
        lcm::PROLOG,
        lcm::BOOT,
        lcm::RUNNING,
        lcm::SAVE_STOP,
        lcm::SAVE_SUSPEND,
        lcm::PROLOG_RESUME,
        lcm::EPILOG_STOP,
        lcm::EPILOG,
        lcm::SHUTDOWN,
        lcm::CLEANUP_RESUBMIT,
        lcm::UNKNOWN,
        lcm::SHUTDOWN_POWEROFF,
        lcm::BOOT_UNKNOWN,
        lcm::BOOT_POWEROFF,
        lcm::BOOT_SUSPENDED,
        lcm::BOOT_STOPPED,
        lcm::HOTPLUG_SNAPSHOT,
        lcm::SHUTDOWN_UNDEPLOY,
        lcm::EPILOG_UNDEPLOY,
        lcm::PROLOG_UNDEPLOY,
        lcm::BOOT_UNDEPLOY,
        lcm::BOOT_FAILURE,
        lcm::PROLOG_FAILURE,
        lcm::EPILOG_FAILURE,
    ];
    for l in lcms {
        w.set_state(7, state::ACTIVE, l);
        let d = doc_of(&mut w, "oneadmin:opennebula", "one.vm.info", &[i(7)]);
        assert_valid(&format!("vm.info in LCM {l}"), &d, false);
    }
    for st in [
        state::PENDING,
        state::HOLD,
        state::STOPPED,
        state::SUSPENDED,
        state::DONE,
        state::POWEROFF,
        state::UNDEPLOYED,
    ] {
        w.set_state(7, st, 0);
        let d = doc_of(&mut w, "oneadmin:opennebula", "one.vm.info", &[i(7)]);
        assert_valid(&format!("vm.info in STATE {st}"), &d, false);
    }
    let ids: Vec<u32> = w.vms.keys().copied().collect();
    for id in ids {
        let d = doc_of(
            &mut w,
            "oneadmin:opennebula",
            "one.vm.info",
            &[i(i64::from(id))],
        );
        assert_valid(&format!("vm.info {id}"), &d, false);
        let d = doc_of(
            &mut w,
            "oneadmin:opennebula",
            "one.vm.monitoring",
            &[i(i64::from(id))],
        );
        assert_valid(&format!("vm.monitoring {id}"), &d, false);
    }
    let pool = [i(-2), i(-1), i(-1), i(-2)];
    let d = doc_of(&mut w, "oneadmin:opennebula", "one.vmpool.info", &pool);
    assert_valid("vmpool.info", &d, false);
    let d = doc_of(
        &mut w,
        "oneadmin:opennebula",
        "one.vmpool.infoextended",
        &pool,
    );
    assert_valid("vmpool.infoextended", &d, true);
    let d = doc_of(
        &mut w,
        "alice:alice",
        "one.vmpool.infoset",
        &[s("0,1,2,9"), b(false)],
    );
    assert_valid("vmpool.infoset short", &d, false);
    let d = doc_of(
        &mut w,
        "alice:alice",
        "one.vmpool.infoset",
        &[s("0,1,2,9"), b(true)],
    );
    assert_valid("vmpool.infoset extended", &d, true);
    let d = doc_of(
        &mut w,
        "bob:bob",
        "one.vmpool.info",
        &[i(-3), i(0), i(-1), i(7)],
    );
    assert_eq!(
        d, "<VM_POOL></VM_POOL>",
        "state 7 (old FAILED) is accepted and never matches"
    );
}

#[test]
fn users_hosts_templates_and_config_validate() {
    let mut w = fixture::build(&SimConfig {
        vnc: VncMode::None,
        ..SimConfig::default()
    });
    let token = doc_of(
        &mut w,
        "alice:alice",
        "one.user.login",
        &[s("alice"), s(""), i(600)],
    );
    assert_eq!(token.len(), 64);
    for (session, params) in [
        ("alice:alice", vec![i(-1)]),
        (format!("alice:{token}").as_str(), vec![i(-1)]),
        ("oneadmin:opennebula", vec![i(0)]),
        ("oneadmin:opennebula", vec![i(3)]),
    ] {
        let d = doc_of(&mut w, session, "one.user.info", &params);
        assert_valid("user.info", &d, false);
    }
    for session in ["oneadmin:opennebula", "alice:alice"] {
        let d = doc_of(&mut w, session, "one.hostpool.info", &[]);
        assert!(d.contains("<HOST>"), "demo ACLs let {session} see hosts");
        assert_valid("hostpool.info", &d, false);
        let d = doc_of(&mut w, session, "one.host.info", &[i(1)]);
        assert_valid("host.info", &d, false);
        let d = doc_of(
            &mut w,
            session,
            "one.templatepool.info",
            &[i(-2), i(-1), i(-1)],
        );
        assert_valid("templatepool.info", &d, false);
        let d = doc_of(&mut w, session, "one.template.info", &[i(1)]);
        assert_valid("template.info", &d, false);
        let d = doc_of(&mut w, session, "one.system.config", &[]);
        assert_valid("system.config", &d, false);
    }
    let d = doc_of(&mut w, "oneadmin:opennebula", "one.template.info", &[i(2)]);
    assert_valid("template.info disk-nic", &d, false);
}
