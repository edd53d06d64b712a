//! The simulator's own serialisers for oned's documents (element order, CDATA and empty-element
//! forms as in the real 7.4.0 captures; API.md §1.6 and §5).

use crate::model::*;
use crate::world::{epoch_now, monitoring_record, monitoring_times};
use crate::xml::Doc;

// Users, hosts and the system configuration: their serialisers live beside this file.
#[path = "docs_accounts.rs"]
mod accounts;
pub use accounts::{host, system_config, user};

/// Which VM body to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VmBody {
    /// `one.vm.info`: monitoring, all history, SCHED_ACTION copies.
    Info,
    /// `one.vmpool.infoextended`: no monitoring, last history only.
    Extended,
    /// `one.vmpool.info`: the short body.
    Short,
}

fn perms(d: &mut Doc, p: &Perms) {
    const NAMES: [&str; 9] = [
        "OWNER_U", "OWNER_M", "OWNER_A", "GROUP_U", "GROUP_M", "GROUP_A", "OTHER_U", "OTHER_M",
        "OTHER_A",
    ];
    d.open("PERMISSIONS");
    for (n, b) in NAMES.iter().zip(p.0) {
        d.num(n, u8::from(b));
    }
    d.close("PERMISSIONS");
}

/// Writes template attributes sorted by name, values as CDATA (vectors' keys sorted too).
fn template_attrs(d: &mut Doc, t: &Template) {
    for (n, a) in t.sorted() {
        attr(d, n, a);
    }
}

fn attr(d: &mut Doc, n: &str, a: &Attr) {
    match a {
        Attr::Single(v) => d.cdata(n, v),
        Attr::Vector(v) => {
            let mut v: Vec<&(String, String)> = v.iter().collect();
            v.sort_by(|a, b| a.0.cmp(&b.0));
            d.open(n);
            for (k, val) in v {
                d.cdata(k, val);
            }
            d.close(n);
        }
    }
}

fn monitoring_fields(d: &mut Doc, vm: &Vm, ts: i64) {
    for (k, v) in monitoring_record(vm, ts) {
        d.cdata(k, &v);
    }
}

/// A VM document (`<VM>…</VM>`) into `d`.
pub fn vm(d: &mut Doc, vm: &Vm, body: VmBody) {
    let now = epoch_now();
    let last_mon = if body == VmBody::Info {
        monitoring_times(vm, now, 1).last().copied()
    } else {
        None
    };
    d.open("VM");
    d.num("ID", vm.id);
    d.num("UID", vm.uid);
    d.num("GID", vm.gid);
    d.text("UNAME", &vm.uname);
    d.text("GNAME", &vm.gname);
    d.text("NAME", &vm.name);
    if body != VmBody::Short {
        perms(d, &vm.perms);
    }
    d.num("LAST_POLL", last_mon.unwrap_or(0));
    d.num("STATE", vm.state);
    d.num("LCM_STATE", vm.lcm);
    if body != VmBody::Short {
        d.num("PREV_STATE", vm.prev_state);
        d.num("PREV_LCM_STATE", vm.prev_lcm);
    }
    d.num("RESCHED", u8::from(vm.resched));
    d.num("STIME", vm.stime);
    d.num("ETIME", vm.etime);
    d.text("DEPLOY_ID", &vm.deploy_id);
    if body == VmBody::Short {
        short_template(d, vm);
        d.self_closing("MONITORING");
        short_user_template(d, vm);
        d_history(d, vm, body);
        d.close("VM");
        return;
    }
    d.open("MONITORING");
    if let Some(ts) = last_mon {
        monitoring_fields(d, vm, ts);
    }
    d.close("MONITORING");
    d.open("SCHED_ACTIONS");
    for s in &vm.sched_actions {
        d.num("ID", s.id);
    }
    d.close("SCHED_ACTIONS");
    d.open("TEMPLATE");
    template_attrs(d, &vm.template);
    if body == VmBody::Info {
        for s in &vm.sched_actions {
            d.open("SCHED_ACTION");
            d.num("ID", s.id);
            d.num("PARENT_ID", vm.id);
            d.text("TYPE", "VM");
            d.text("ACTION", &s.action);
            d.empty("ARGS");
            d.num("TIME", s.time);
            d.num("REPEAT", -1);
            d.empty("DAYS");
            d.num("END_TYPE", -1);
            d.num("END_VALUE", -1);
            d.num("DONE", -1);
            d.empty("MESSAGE");
            d.num("WARNING", 0);
            d.close("SCHED_ACTION");
        }
    }
    d.close("TEMPLATE");
    d.open("USER_TEMPLATE");
    template_attrs(d, &vm.user_template);
    d.close("USER_TEMPLATE");
    d_history(d, vm, body);
    d.open("BACKUPS");
    d.self_closing("BACKUP_CONFIG");
    d.empty("BACKUP_IDS");
    d.close("BACKUPS");
    d.close("VM");
}

fn d_history(d: &mut Doc, vm: &Vm, body: VmBody) {
    if vm.history.is_empty() {
        d.self_closing("HISTORY_RECORDS");
        return;
    }
    d.open("HISTORY_RECORDS");
    let records: &[History] = if body == VmBody::Info {
        &vm.history
    } else {
        &vm.history[vm.history.len() - 1..]
    };
    for h in records {
        d.open("HISTORY");
        d.num("OID", vm.id);
        d.num("SEQ", h.seq);
        if body == VmBody::Short {
            d.cdata("HOSTNAME", &h.hostname);
            d.num("HID", h.hid);
            d.num("CID", 0);
            d.num("DS_ID", 0);
            d.cdata("VM_MAD", "dummy");
            d.cdata("TM_MAD", "dummy");
            d.cdata("ACTION", &h.action.to_string());
        } else {
            d.text("HOSTNAME", &h.hostname);
            d.num("HID", h.hid);
            d.num("CID", 0);
            d.num("STIME", h.stime);
            d.num("ETIME", h.etime);
            d.cdata("VM_MAD", "dummy");
            d.cdata("TM_MAD", "dummy");
            d.num("DS_ID", 0);
            d.num("PLAN_ID", h.plan_id);
            d.num("ACTION_ID", h.action_id);
            for (n, v) in ["PSTIME", "PETIME", "RSTIME", "RETIME", "ESTIME", "EETIME"]
                .iter()
                .zip(h.times)
            {
                d.num(n, v);
            }
            d.num("ACTION", h.action);
            d.num("UID", h.uid);
            d.num("GID", h.gid);
            d.num("REQUEST_ID", h.request_id);
        }
        d.close("HISTORY");
    }
    d.close("HISTORY_RECORDS");
}

fn short_template(d: &mut Doc, vm: &Vm) {
    d.open("TEMPLATE");
    for k in ["CPU", "MEMORY", "VCPU"] {
        d.text(k, vm.template.get_str(k).unwrap_or(""));
    }
    const DISK: [&str; 11] = [
        "DISK_ID",
        "DATASTORE",
        "DATASTORE_ID",
        "IMAGE",
        "IMAGE_ID",
        "SIZE",
        "TYPE",
        "CLONE",
        "CLONE_TARGET",
        "LN_TARGET",
        "DISK_SNAPSHOT_TOTAL_SIZE",
    ];
    const NIC: [&str; 9] = [
        "IP",
        "IP6",
        "IP6_GLOBAL",
        "IP6_ULA",
        "MAC",
        "NETWORK",
        "NETWORK_ID",
        "NIC_ID",
        "SECURITY_GROUPS",
    ];
    for (name, keys) in [("DISK", &DISK[..]), ("NIC", &NIC[..])] {
        for v in vm.template.vectors(name) {
            d.open(name);
            for k in keys {
                if let Some(val) = vget(v, k) {
                    d.cdata(k, val);
                }
            }
            d.close(name);
        }
    }
    if let Some(a) = vm.template.get("GRAPHICS") {
        attr(d, "GRAPHICS", a);
    }
    d.close("TEMPLATE");
}

fn short_user_template(d: &mut Doc, vm: &Vm) {
    const KEYS: [&str; 10] = [
        "LABELS",
        "ERROR",
        "SCHED_MESSAGE",
        "SCHED_RANK",
        "SCHED_DS_RANK",
        "SCHED_REQUIREMENTS",
        "SCHED_DS_REQUIREMENTS",
        "USER_PRIORITY",
        "PUBLIC_CLOUD",
        "SCHED_ACTION",
    ];
    let present: Vec<(&str, &Attr)> = KEYS
        .iter()
        .filter_map(|k| vm.user_template.get(k).map(|a| (*k, a)))
        .collect();
    if present.is_empty() {
        d.self_closing("USER_TEMPLATE");
        return;
    }
    d.open("USER_TEMPLATE");
    for (k, a) in present {
        attr(d, k, a);
    }
    d.close("USER_TEMPLATE");
}

/// `<VM_POOL>` of the given VMs.
pub fn vm_pool<'a>(vms: impl Iterator<Item = &'a Vm>, body: VmBody, size_hint: usize) -> String {
    let mut d = Doc::with_capacity(pool_capacity(body, size_hint));
    d.open("VM_POOL");
    for v in vms {
        vm(&mut d, v, body);
    }
    d.close("VM_POOL");
    d.into_string()
}

/// Room to reserve for a pool document of `n` VMs (more than it takes, short or escaped).
pub fn pool_capacity(body: VmBody, n: usize) -> usize {
    let per = if body == VmBody::Short { 1600 } else { 5000 };
    32 + n.saturating_mul(per)
}

/// How many 30-second records `one.vm.monitoring` returns: 4 hours, oned's default
/// `VM_MONITORING_EXPIRATION_TIME` (14400 s), after which it purges them.
pub const MONITORING_RECORDS: usize = 480;

/// `<MONITORING_DATA>` of a VM.
pub fn vm_monitoring(v: &Vm) -> String {
    let mut d = Doc::with_capacity(1024);
    d.open("MONITORING_DATA");
    for ts in monitoring_times(v, epoch_now(), MONITORING_RECORDS) {
        d.open("MONITORING");
        monitoring_fields(&mut d, v, ts);
        d.close("MONITORING");
    }
    d.close("MONITORING_DATA");
    d.into_string()
}

/// `<VMTEMPLATE>`.
pub fn template(d: &mut Doc, t: &VmTemplate) {
    d.open("VMTEMPLATE");
    d.num("ID", t.id);
    d.num("UID", t.uid);
    d.num("GID", t.gid);
    d.text("UNAME", &t.uname);
    d.text("GNAME", &t.gname);
    d.text("NAME", &t.name);
    perms(d, &t.perms);
    d.num("REGTIME", t.regtime);
    d.open("TEMPLATE");
    template_attrs(d, &t.template);
    d.close("TEMPLATE");
    d.close("VMTEMPLATE");
}

/// `<VMTEMPLATE_POOL>`.
pub fn template_pool<'a>(ts: impl Iterator<Item = &'a VmTemplate>) -> String {
    let mut d = Doc::with_capacity(4096);
    d.open("VMTEMPLATE_POOL");
    for t in ts {
        template(&mut d, t);
    }
    d.close("VMTEMPLATE_POOL");
    d.into_string()
}
