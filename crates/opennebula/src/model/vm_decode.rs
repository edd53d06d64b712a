//! Decoding VM documents: `one.vm.info`, the pool bodies (in parallel for large pools), the
//! template and its parts, monitoring.

use super::common::{
    Attributes, Document, Lock, Permissions, decode_document, document, flag, num, opt_num,
    opt_string, string,
};
use super::ids::*;
use super::state::{LcmState, VmState};
use super::vm::*;
use crate::secret::Secret;
use crate::xml::{Cursor, El, Fail};

document!(Vm, "VM", |c: &mut Cursor<'_>,
                     root: &El<'_>|
 -> Result<Vm, Fail> { decode_vm(c, root) });

/// Pools at least this large are decoded on several threads (see [`parallel_pool`]).
const PARALLEL_MIN_BYTES: usize = 1 << 20;

impl Document for VmPool {
    const ROOT: &'static str = "VM_POOL";

    fn from_xml(xml: &str) -> crate::error::Result<Self> {
        if xml.len() >= PARALLEL_MIN_BYTES
            && let Some(pool) = parallel_pool(xml)
        {
            return Ok(pool);
        }
        decode_pool_sequential(xml)
    }
}

/// The smallest body oned writes for a VM, even in a short pool body (its fixed leaves alone
/// take more): bounds the capacity [`pool_capacity`] reserves.
const MIN_VM_BYTES: usize = 256;

/// How many VMs to reserve room for in a pool's vector: the `<VM>` tags in the text, but never
/// more than the text could hold as real VM bodies, so a hostile reply of bare `<VM>` tags cannot
/// make the decoder reserve many times its own size. Reserving up front matters: growing a
/// vector of 10,000 VMs copies it again and again (12 % of the decode time on one core).
fn pool_capacity(xml: &str) -> usize {
    memchr::memmem::find_iter(xml.as_bytes(), b"<VM>")
        .count()
        .min(xml.len() / MIN_VM_BYTES)
}

/// Decodes a pool on the calling thread.
fn decode_pool_sequential(xml: &str) -> crate::error::Result<VmPool> {
    decode_document(
        xml,
        "VM_POOL",
        |c: &mut Cursor<'_>, root: &El<'_>| -> Result<VmPool, Fail> {
            let mut vms = Vec::with_capacity(pool_capacity(xml));
            while let Some(el) = c.next_child(root)? {
                if el.name() == "VM" {
                    vms.push(decode_vm(c, &el)?);
                } else {
                    c.skip(&el)?;
                }
            }
            Ok(VmPool { vms })
        },
    )
}

/// Decodes a large pool in a few slices at once. VM bodies are independent, so the pool is cut
/// at `</VM><VM>` boundaries and each slice decoded on its own thread. Only oned's plain shape is
/// tried; anything else, or any failure (a cut that fell inside a CDATA section leaves a slice
/// that does not parse), returns `None` and the caller decodes sequentially, which also gives the
/// located error. A cut can never yield wrong VMs silently: each slice must parse on its own.
fn parallel_pool(xml: &str) -> Option<VmPool> {
    let threads = std::thread::available_parallelism()
        .map_or(1, std::num::NonZero::get)
        .min(4);
    if threads < 2 {
        return None;
    }
    let body = xml
        .trim()
        .strip_prefix("<VM_POOL>")?
        .strip_suffix("</VM_POOL>")?;
    let mut cuts = vec![0];
    for k in 1..threads {
        let target = body.len() * k / threads;
        let last = *cuts.last()?;
        let mut from = target.max(last);
        while !body.is_char_boundary(from) {
            from += 1;
        }
        let at = from + body.get(from..)?.find("</VM><VM>")? + "</VM>".len();
        cuts.push(at);
    }
    cuts.push(body.len());
    cuts.dedup();
    let slices: Vec<&str> = cuts.windows(2).map(|w| &body[w[0]..w[1]]).collect();
    // The first slice is decoded here straight into the final vector, sized for every VM, so the
    // pool is never held twice while the parts are joined.
    let capacity = pool_capacity(body);
    let (first, rest): (Option<Vec<Vm>>, Vec<Option<Vec<Vm>>>) = std::thread::scope(|scope| {
        let handles: Vec<_> = slices[1..]
            .iter()
            // A thread that cannot be started (resource limits) means: decode sequentially.
            .map(|slice| {
                std::thread::Builder::new()
                    .spawn_scoped(scope, move || decode_vm_run(slice, 0).ok())
                    .ok()
            })
            .collect();
        let first = decode_vm_run(slices[0], capacity).ok();
        (
            first,
            handles
                .into_iter()
                .map(|h| h.and_then(|h| h.join().ok()).flatten())
                .collect(),
        )
    });
    let mut vms = first?;
    for part in rest {
        vms.extend(part?);
    }
    Some(VmPool { vms })
}

/// Decodes a run of sibling `<VM>` elements (a slice of a pool's body).
fn decode_vm_run(run: &str, capacity: usize) -> Result<Vec<Vm>, Fail> {
    let mut c = Cursor::new(run);
    let mut vms = Vec::with_capacity(capacity);
    while let Some(el) = c.next_top()? {
        if el.name() != "VM" {
            return Err(Fail::new(el.offset, "not a VM"));
        }
        vms.push(decode_vm(&mut c, &el)?);
    }
    Ok(vms)
}

document!(MonitoringData, "MONITORING_DATA", |c: &mut Cursor<'_>,
                                              root: &El<'_>|
 -> Result<
    MonitoringData,
    Fail,
> {
    let records = c.children(root, "MONITORING", decode_monitoring)?;
    Ok(MonitoringData { records })
});

pub(crate) fn decode_vm(c: &mut Cursor<'_>, el: &El<'_>) -> Result<Vm, Fail> {
    let mut id = None;
    let mut state = None;
    let mut vm = Vm {
        id: VmId(-1),
        uid: UserId(-1),
        gid: GroupId(-1),
        uname: String::new(),
        gname: String::new(),
        name: String::new(),
        permissions: None,
        last_poll: 0,
        state: VmState::Init,
        lcm_state: LcmState::LcmInit,
        prev_state: None,
        prev_lcm_state: None,
        resched: false,
        stime: 0,
        etime: 0,
        deploy_id: String::new(),
        lock: None,
        monitoring: Monitoring::default(),
        template: VmTemplate::default(),
        user_template: Attributes::default(),
        labels: Vec::new(),
        history: Vec::new(),
        disk_snapshots: Vec::new(),
    };
    while let Some(child) = c.next_child(el)? {
        match child.name() {
            "ID" => id = Some(VmId(num(c, &child, "an integer")?)),
            "UID" => vm.uid = UserId(num(c, &child, "an integer")?),
            "GID" => vm.gid = GroupId(num(c, &child, "an integer")?),
            "UNAME" => vm.uname = string(c, &child)?,
            "GNAME" => vm.gname = string(c, &child)?,
            "NAME" => vm.name = string(c, &child)?,
            "PERMISSIONS" => vm.permissions = Some(Permissions::decode(c, &child)?),
            "LAST_POLL" => vm.last_poll = opt_num(c, &child, "an integer")?.unwrap_or(0),
            "STATE" => state = Some(VmState::from_i32(num(c, &child, "an integer")?)),
            "LCM_STATE" => vm.lcm_state = LcmState::from_i32(num(c, &child, "an integer")?),
            "PREV_STATE" => {
                vm.prev_state = opt_num(c, &child, "an integer")?.map(VmState::from_i32)
            }
            "PREV_LCM_STATE" => {
                vm.prev_lcm_state = opt_num(c, &child, "an integer")?.map(LcmState::from_i32)
            }
            "RESCHED" => vm.resched = flag(c, &child)?,
            "STIME" => vm.stime = opt_num(c, &child, "an integer")?.unwrap_or(0),
            "ETIME" => vm.etime = opt_num(c, &child, "an integer")?.unwrap_or(0),
            "DEPLOY_ID" => vm.deploy_id = string(c, &child)?,
            "LOCK" => vm.lock = Some(Lock::decode(c, &child)?),
            "MONITORING" => vm.monitoring = decode_monitoring(c, &child)?,
            "TEMPLATE" => vm.template = decode_template(c, &child)?,
            "USER_TEMPLATE" => vm.user_template = Attributes::decode(c, &child)?,
            "HISTORY_RECORDS" => {
                while let Some(h) = c.next_child(&child)? {
                    if h.name() == "HISTORY" {
                        // Pool bodies hold only the current record: room for one, not four.
                        if vm.history.is_empty() {
                            vm.history.reserve_exact(1);
                        }
                        vm.history.push(decode_history(c, &h)?);
                    } else {
                        c.skip(&h)?;
                    }
                }
            }
            "SNAPSHOTS" => vm.disk_snapshots.push(decode_disk_snapshots(c, &child)?),
            _ => c.skip(&child)?,
        }
    }
    vm.id = id.ok_or_else(|| Fail::new(el.offset, "<VM> without <ID>"))?;
    vm.state = state.ok_or_else(|| Fail::new(el.offset, "<VM> without <STATE>"))?;
    vm.labels = split_labels(
        vm.user_template
            .text("LABELS")
            .or(vm.template.labels.as_deref()),
    );
    Ok(vm)
}

/// Splits a `LABELS` value (`prod,web`) into trimmed, non-empty labels.
pub(crate) fn split_labels(labels: Option<&str>) -> Vec<String> {
    labels
        .map(|l| {
            l.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

pub(crate) fn decode_template(c: &mut Cursor<'_>, el: &El<'_>) -> Result<VmTemplate, Fail> {
    let mut t = VmTemplate::default();
    while let Some(child) = c.next_child(el)? {
        match child.name() {
            "CPU" => t.cpu = opt_num(c, &child, "a number")?,
            "VCPU" => t.vcpu = opt_num(c, &child, "an integer")?,
            "MEMORY" => t.memory_mb = opt_num(c, &child, "an integer")?,
            "DISK" => t.disks.push(decode_disk(c, &child)?),
            "NIC" => t.nics.push(decode_nic(c, &child)?),
            "NIC_ALIAS" => t.nic_aliases.push(decode_nic(c, &child)?),
            "GRAPHICS" => t.graphics = Some(decode_graphics(c, &child)?),
            "CONTEXT" => t.context = Some(Attributes::decode(c, &child)?),
            "TEMPLATE_ID" => t.template_id = opt_num(c, &child, "an integer")?.map(TemplateId),
            "SNAPSHOT" => t.snapshots.push(decode_snapshot(c, &child)?),
            "SCHED_ACTION" => t.sched_actions.push(Attributes::decode(c, &child)?),
            "LABELS" => t.labels = opt_string(c, &child)?,
            "USER_INPUTS" => t.user_inputs = decode_user_inputs(c, &child)?,
            "INPUTS_ORDER" => t.inputs_order = opt_string(c, &child)?,
            "DESCRIPTION" => t.description = opt_string(c, &child)?,
            _ => c.skip(&child)?,
        }
    }
    Ok(t)
}

/// `USER_INPUTS` children in document order. Read here rather than through [`Attributes`],
/// which drops every name containing `PASSW`: an input *named* `ROOT_PASSWORD` is a question,
/// not a secret (a password input's default is dropped by [`super::user_input::UserInput`]).
fn decode_user_inputs(c: &mut Cursor<'_>, el: &El<'_>) -> Result<Vec<(String, String)>, Fail> {
    let mut out = Vec::new();
    while let Some(child) = c.next_child(el)? {
        let name = child.name().to_owned();
        let spec = string(c, &child)?;
        out.push((name, spec));
    }
    Ok(out)
}

fn decode_disk(c: &mut Cursor<'_>, el: &El<'_>) -> Result<Disk, Fail> {
    let mut d = Disk::default();
    while let Some(child) = c.next_child(el)? {
        match child.name() {
            "DISK_ID" => d.disk_id = opt_num(c, &child, "an integer")?,
            "IMAGE" => d.image = opt_string(c, &child)?,
            "IMAGE_ID" => d.image_id = opt_num(c, &child, "an integer")?.map(ImageId),
            "DATASTORE" => d.datastore = opt_string(c, &child)?,
            "DATASTORE_ID" => d.datastore_id = opt_num(c, &child, "an integer")?.map(DatastoreId),
            "SIZE" => d.size_mb = opt_num(c, &child, "an integer")?,
            "TARGET" => d.target = opt_string(c, &child)?,
            "TYPE" => d.disk_type = opt_string(c, &child)?,
            "PERSISTENT" => d.persistent = flag(c, &child)?,
            _ => c.skip(&child)?,
        }
    }
    Ok(d)
}

fn decode_nic(c: &mut Cursor<'_>, el: &El<'_>) -> Result<Nic, Fail> {
    let mut n = Nic::default();
    while let Some(child) = c.next_child(el)? {
        match child.name() {
            "NIC_ID" => n.nic_id = opt_num(c, &child, "an integer")?,
            "NETWORK" => n.network = opt_string(c, &child)?,
            "NETWORK_ID" => n.network_id = opt_num(c, &child, "an integer")?.map(NetworkId),
            "IP" => n.ip = opt_string(c, &child)?,
            "IP6" => n.ip6 = opt_string(c, &child)?,
            "IP6_GLOBAL" => n.ip6_global = opt_string(c, &child)?,
            "IP6_ULA" => n.ip6_ula = opt_string(c, &child)?,
            "MAC" => n.mac = opt_string(c, &child)?,
            "EXTERNAL_IP" => n.external_ip = opt_string(c, &child)?,
            _ => c.skip(&child)?,
        }
    }
    Ok(n)
}

fn decode_graphics(c: &mut Cursor<'_>, el: &El<'_>) -> Result<Graphics, Fail> {
    let mut g = Graphics {
        graphics_type: GraphicsType::Other(String::new()),
        listen: None,
        port: None,
        password: None,
        has_password: false,
        keymap: None,
        random_password: false,
    };
    while let Some(child) = c.next_child(el)? {
        match child.name() {
            "TYPE" => {
                let t = c.text(&child)?;
                let kind = t.trim();
                g.graphics_type = if kind.eq_ignore_ascii_case("vnc") {
                    GraphicsType::Vnc
                } else if kind.eq_ignore_ascii_case("spice") {
                    GraphicsType::Spice
                } else {
                    GraphicsType::Other(t.into_owned())
                };
            }
            "LISTEN" => g.listen = opt_string(c, &child)?,
            "PORT" => g.port = opt_num(c, &child, "a TCP port number")?,
            "PASSWD" => {
                let p = c.text(&child)?;
                if !p.is_empty() {
                    g.password = Some(Secret::new(p.into_owned()));
                }
            }
            "KEYMAP" => g.keymap = opt_string(c, &child)?,
            "RANDOM_PASSWD" => g.random_password = flag(c, &child)?,
            _ => c.skip(&child)?,
        }
    }
    g.has_password = g.password.is_some();
    Ok(g)
}

fn decode_history(c: &mut Cursor<'_>, el: &El<'_>) -> Result<HistoryRecord, Fail> {
    let mut h = HistoryRecord::default();
    while let Some(child) = c.next_child(el)? {
        match child.name() {
            "SEQ" => h.seq = num(c, &child, "an integer")?,
            "HOSTNAME" => h.hostname = string(c, &child)?,
            "HID" => h.hid = HostId(num(c, &child, "an integer")?),
            "CID" => h.cid = opt_num(c, &child, "an integer")?.unwrap_or(-1),
            "STIME" => h.stime = opt_num(c, &child, "an integer")?.unwrap_or(0),
            "ETIME" => h.etime = opt_num(c, &child, "an integer")?.unwrap_or(0),
            "VM_MAD" => h.vm_mad = string(c, &child)?,
            "TM_MAD" => h.tm_mad = string(c, &child)?,
            "DS_ID" => h.ds_id = opt_num(c, &child, "an integer")?.unwrap_or(-1),
            "ACTION" => h.action = opt_num(c, &child, "an integer")?.unwrap_or(0),
            "PLAN_ID" => h.plan_id = opt_num(c, &child, "an integer")?,
            "ACTION_ID" => h.action_id = opt_num(c, &child, "an integer")?,
            _ => c.skip(&child)?,
        }
    }
    Ok(h)
}

fn decode_snapshot(c: &mut Cursor<'_>, el: &El<'_>) -> Result<Snapshot, Fail> {
    let mut s = Snapshot::default();
    while let Some(child) = c.next_child(el)? {
        match child.name() {
            "SNAPSHOT_ID" => s.snapshot_id = opt_num(c, &child, "an integer")?.map(SnapshotId),
            "NAME" => s.name = string(c, &child)?,
            "TIME" => s.time = opt_num(c, &child, "an integer")?,
            "HYPERVISOR_ID" => s.hypervisor_id = opt_string(c, &child)?,
            _ => c.skip(&child)?,
        }
    }
    Ok(s)
}

fn decode_disk_snapshots(c: &mut Cursor<'_>, el: &El<'_>) -> Result<DiskSnapshots, Fail> {
    let mut d = DiskSnapshots::default();
    while let Some(child) = c.next_child(el)? {
        match child.name() {
            "DISK_ID" => d.disk_id = opt_num(c, &child, "an integer")?,
            "SNAPSHOT" => {
                let mut s = DiskSnapshot::default();
                while let Some(f) = c.next_child(&child)? {
                    match f.name() {
                        "ID" => s.id = num(c, &f, "an integer")?,
                        "NAME" => s.name = string(c, &f)?,
                        "DATE" => s.date = opt_num(c, &f, "an integer")?,
                        "SIZE" => s.size_mb = opt_num(c, &f, "an integer")?,
                        "ACTIVE" => s.active = flag(c, &f)?,
                        _ => c.skip(&f)?,
                    }
                }
                d.snapshots.push(s);
            }
            _ => c.skip(&child)?,
        }
    }
    Ok(d)
}

pub(crate) fn decode_monitoring(c: &mut Cursor<'_>, el: &El<'_>) -> Result<Monitoring, Fail> {
    let mut m = Monitoring::default();
    while let Some(child) = c.next_child(el)? {
        match child.name() {
            "ID" => m.id = opt_num(c, &child, "an integer")?.map(VmId),
            "TIMESTAMP" => m.timestamp = opt_num(c, &child, "an integer")?,
            "CPU" => m.cpu = opt_num(c, &child, "a number")?,
            "MEMORY" => m.memory_kb = opt_num(c, &child, "an integer")?,
            "NETRX" => m.net_rx = opt_num(c, &child, "an integer")?,
            "NETTX" => m.net_tx = opt_num(c, &child, "an integer")?,
            "DISKRDBYTES" => m.disk_read_bytes = opt_num(c, &child, "an integer")?,
            "DISKWRBYTES" => m.disk_write_bytes = opt_num(c, &child, "an integer")?,
            "DISKRDIOPS" => m.disk_read_iops = opt_num(c, &child, "an integer")?,
            "DISKWRIOPS" => m.disk_write_iops = opt_num(c, &child, "an integer")?,
            _ => c.skip(&child)?,
        }
    }
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;

    const SHORT: &str = include_str!("../../tests/fixtures/synthetic/vmpool-info_short.xml");

    /// A pool over the parallel threshold, made of the synthetic sample's VMs.
    fn big_pool(extra_vm: &str) -> String {
        let body = SHORT
            .trim()
            .trim_start_matches("<VM_POOL>")
            .trim_end_matches("</VM_POOL>");
        let mut xml = String::from("<VM_POOL>");
        while xml.len() < 2 * PARALLEL_MIN_BYTES {
            xml.push_str(body);
            xml.push_str(extra_vm);
        }
        xml.push_str("</VM_POOL>");
        xml
    }

    #[test]
    fn parallel_decoding_equals_sequential() -> Result<(), Error> {
        let xml = big_pool("");
        let parallel = parallel_pool(&xml);
        assert!(
            parallel.is_some() || std::thread::available_parallelism().map_or(1, |n| n.get()) < 2
        );
        let sequential = decode_pool_sequential(&xml)?;
        assert_eq!(VmPool::from_xml(&xml)?, sequential);
        if let Some(p) = parallel {
            assert_eq!(p, sequential);
        }
        Ok(())
    }

    #[test]
    fn reserved_room_is_bounded_by_the_text() {
        let real = big_pool("");
        assert_eq!(pool_capacity(&real), real.matches("<VM>").count());
        // A hostile reply of bare tags gets room for what real bodies of its size could hold.
        let bare = "<VM>".repeat(100_000);
        assert_eq!(pool_capacity(&bare), bare.len() / MIN_VM_BYTES);
    }

    #[test]
    fn a_cut_inside_cdata_falls_back_to_sequential() -> Result<(), Error> {
        // Every VM carries the cut marker inside a CDATA value: slices cut there cannot parse.
        let tricky = "<VM><ID>7</ID><NAME><![CDATA[a</VM><VM>b]]></NAME><STATE>3</STATE><LCM_STATE>3</LCM_STATE></VM>";
        let xml = big_pool(tricky);
        let pool = VmPool::from_xml(&xml)?;
        assert_eq!(pool, decode_pool_sequential(&xml)?);
        assert!(pool.vms.iter().any(|v| v.name == "a</VM><VM>b"));
        Ok(())
    }

    #[test]
    fn a_broken_big_pool_reports_the_located_error() {
        let mut xml = big_pool("");
        let at = xml.len() / 2;
        let cpu = xml[at..]
            .find("<CPU>")
            .map_or(0, |i| at + i + "<CPU>".len());
        xml.replace_range(cpu..cpu + 1, "x");
        match VmPool::from_xml(&xml) {
            Err(Error::Decode(d)) => {
                assert!(
                    d.path.starts_with("VM_POOL/VM[") && d.path.ends_with("/TEMPLATE/CPU"),
                    "{d}"
                );
                assert_eq!(d.line, 1);
            }
            other => panic!("expected a located decode error, got {other:?}"),
        }
    }
}
