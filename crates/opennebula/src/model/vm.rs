//! The VM document (`one.vm.info`, pool bodies of `one.vmpool.info*`), its parts, and the facts
//! derived from it: state label, allowed actions, IP addresses and console target.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::common::{
    Attributes, Document, Lock, Permissions, decode_document, document, flag, num, opt_num,
    opt_string, string,
};
use super::ids::{
    DatastoreId, GroupId, HostId, ImageId, NetworkId, SnapshotId, TemplateId, UserId, VmId,
};
use super::state::{AllowedActions, LcmState, VmState, allowed_actions, state_label};
use crate::secret::Secret;
use crate::xml::{Cursor, El, Fail};

/// A virtual machine: the full body of `one.vm.info` or a pool body (short or extended).
/// Fields absent from the short pool body (`permissions`, `prev_state`...) are `None`/empty.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Vm {
    /// `ID`.
    pub id: VmId,
    /// Owner's user id.
    pub uid: UserId,
    /// Group id.
    pub gid: GroupId,
    /// Owner's name.
    pub uname: String,
    /// Group's name.
    pub gname: String,
    /// VM name.
    pub name: String,
    /// Permission bits (full bodies only).
    pub permissions: Option<Permissions>,
    /// Last monitoring time, epoch seconds (0 in pool bodies).
    pub last_poll: i64,
    /// `STATE`.
    pub state: VmState,
    /// `LCM_STATE` (meaningful when ACTIVE).
    pub lcm_state: LcmState,
    /// `PREV_STATE` (full bodies only).
    pub prev_state: Option<VmState>,
    /// `PREV_LCM_STATE` (full bodies only).
    pub prev_lcm_state: Option<LcmState>,
    /// The scheduler will move the VM.
    pub resched: bool,
    /// Start time, epoch seconds.
    pub stime: i64,
    /// End time, epoch seconds (0 while alive).
    pub etime: i64,
    /// Hypervisor's id of the domain.
    pub deploy_id: String,
    /// Lock, if the VM is locked.
    pub lock: Option<Lock>,
    /// Latest monitoring figures (only `one.vm.info` carries them).
    pub monitoring: Monitoring,
    /// `TEMPLATE`.
    pub template: VmTemplate,
    /// `USER_TEMPLATE` attributes (secrets dropped).
    pub user_template: Attributes,
    /// Labels from `USER_TEMPLATE/LABELS`, split at commas.
    pub labels: Vec<String>,
    /// `HISTORY_RECORDS`, in document order (pool bodies hold only the current one).
    pub history: Vec<HistoryRecord>,
    /// Disk snapshots (`SNAPSHOTS`, one entry per disk).
    pub disk_snapshots: Vec<DiskSnapshots>,
}

/// The parts of `TEMPLATE` the app shows; other attributes are ignored (or kept in `context`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct VmTemplate {
    /// `CPU` (physical share, may be fractional).
    pub cpu: Option<f64>,
    /// `VCPU`.
    pub vcpu: Option<u32>,
    /// `MEMORY` in MiB.
    pub memory_mb: Option<u64>,
    /// `DISK` entries.
    pub disks: Vec<Disk>,
    /// `NIC` entries.
    pub nics: Vec<Nic>,
    /// `NIC_ALIAS` entries.
    pub nic_aliases: Vec<Nic>,
    /// `GRAPHICS`, if the VM has a console.
    pub graphics: Option<Graphics>,
    /// `CONTEXT` attributes (secrets dropped).
    pub context: Option<Attributes>,
    /// `TEMPLATE_ID`: the template the VM was made from.
    pub template_id: Option<TemplateId>,
    /// System snapshots (`SNAPSHOT` entries).
    pub snapshots: Vec<Snapshot>,
    /// Scheduled actions (`SCHED_ACTION` entries).
    pub sched_actions: Vec<Attributes>,
    /// `LABELS` (templates keep them here; VMs in `USER_TEMPLATE`).
    pub labels: Option<String>,
    /// `USER_INPUTS` entries as written (`NAME`, `M|type|description|params|default`).
    pub user_inputs: Vec<(String, String)>,
    /// `INPUTS_ORDER`: the order in which to ask the inputs.
    pub inputs_order: Option<String>,
    /// `DESCRIPTION`.
    pub description: Option<String>,
}

/// A `DISK` of the template.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Disk {
    /// `DISK_ID`.
    pub disk_id: Option<u32>,
    /// `IMAGE` name.
    pub image: Option<String>,
    /// `IMAGE_ID`.
    pub image_id: Option<ImageId>,
    /// `DATASTORE` name.
    pub datastore: Option<String>,
    /// `DATASTORE_ID`.
    pub datastore_id: Option<DatastoreId>,
    /// `SIZE` in MiB.
    pub size_mb: Option<u64>,
    /// `TARGET` device (`vda`).
    pub target: Option<String>,
    /// `TYPE` (FILE, BLOCK, fs...).
    pub disk_type: Option<String>,
    /// `PERSISTENT`.
    pub persistent: bool,
}

/// A `NIC` or `NIC_ALIAS` of the template.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Nic {
    /// `NIC_ID`.
    pub nic_id: Option<u32>,
    /// `NETWORK` name.
    pub network: Option<String>,
    /// `NETWORK_ID`.
    pub network_id: Option<NetworkId>,
    /// `IP` (IPv4).
    pub ip: Option<String>,
    /// `IP6` (static IPv6).
    pub ip6: Option<String>,
    /// `IP6_GLOBAL`.
    pub ip6_global: Option<String>,
    /// `IP6_ULA`.
    pub ip6_ula: Option<String>,
    /// `MAC`.
    pub mac: Option<String>,
    /// `EXTERNAL_IP` (NAT address of some networks).
    pub external_ip: Option<String>,
}

/// The console protocol of `GRAPHICS/TYPE` (compared case-insensitively).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GraphicsType {
    /// VNC: what OneDeck's console speaks.
    Vnc,
    /// SPICE.
    Spice,
    /// Anything else (`sdl`...), as written.
    Other(String),
}

/// `GRAPHICS`: the console. The password is a secret and is never serialised.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Graphics {
    /// `TYPE`.
    pub graphics_type: GraphicsType,
    /// `LISTEN`: where QEMU binds on the host (not the address to dial).
    pub listen: Option<String>,
    /// `PORT` on the host, set at deploy; `None` before the first deploy or after undeploy.
    pub port: Option<u16>,
    /// `PASSWD` (8 chars at most for VNC). Never serialised.
    #[serde(skip)]
    pub password: Option<Secret>,
    /// True when a password is set (serialised in place of the password itself).
    pub has_password: bool,
    /// `KEYMAP` (e.g. `en-us`).
    pub keymap: Option<String>,
    /// `RANDOM_PASSWD=YES`.
    pub random_password: bool,
}

/// One `HISTORY` record: a placement of the VM on a host.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryRecord {
    /// `SEQ`, 0 for the first placement.
    pub seq: i32,
    /// `HOSTNAME`: OpenNebula's name of the host.
    pub hostname: String,
    /// `HID`.
    pub hid: HostId,
    /// `CID`: cluster id.
    pub cid: i32,
    /// `STIME`.
    pub stime: i64,
    /// `ETIME`.
    pub etime: i64,
    /// `VM_MAD`.
    pub vm_mad: String,
    /// `TM_MAD`.
    pub tm_mad: String,
    /// `DS_ID`: system datastore.
    pub ds_id: i32,
    /// `ACTION` that closed the record (number; 0 = none).
    pub action: i32,
    /// `PLAN_ID` (7.x).
    pub plan_id: Option<i32>,
    /// `ACTION_ID` (7.x).
    pub action_id: Option<i32>,
}

/// A system snapshot (`TEMPLATE/SNAPSHOT`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    /// `SNAPSHOT_ID`.
    pub snapshot_id: Option<SnapshotId>,
    /// `NAME`.
    pub name: String,
    /// `TIME`, epoch seconds.
    pub time: Option<i64>,
    /// `HYPERVISOR_ID`.
    pub hypervisor_id: Option<String>,
}

/// The snapshots of one disk (`SNAPSHOTS`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiskSnapshots {
    /// `DISK_ID`.
    pub disk_id: Option<u32>,
    /// `SNAPSHOT` entries.
    pub snapshots: Vec<DiskSnapshot>,
}

/// One disk snapshot.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiskSnapshot {
    /// `ID`.
    pub id: i32,
    /// `NAME`.
    pub name: String,
    /// `DATE`, epoch seconds.
    pub date: Option<i64>,
    /// `SIZE` in MiB.
    pub size_mb: Option<u64>,
    /// `ACTIVE`.
    pub active: bool,
}

/// A monitoring record (`MONITORING`), VM figures as oned reports them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Monitoring {
    /// `ID`: the VM.
    pub id: Option<VmId>,
    /// `TIMESTAMP`, epoch seconds.
    pub timestamp: Option<i64>,
    /// `CPU` percent (100 = one core).
    pub cpu: Option<f64>,
    /// `MEMORY` in KiB.
    pub memory_kb: Option<u64>,
    /// `NETRX` bytes.
    pub net_rx: Option<u64>,
    /// `NETTX` bytes.
    pub net_tx: Option<u64>,
    /// `DISKRDBYTES`.
    pub disk_read_bytes: Option<u64>,
    /// `DISKWRBYTES`.
    pub disk_write_bytes: Option<u64>,
    /// `DISKRDIOPS`.
    pub disk_read_iops: Option<u64>,
    /// `DISKWRIOPS`.
    pub disk_write_iops: Option<u64>,
}

/// `one.vm.monitoring`: a VM's monitoring records, oldest first.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MonitoringData {
    /// The records.
    pub records: Vec<Monitoring>,
}

/// `one.vmpool.info*`: the VMs, in oned's order (descending id by default).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct VmPool {
    /// The VMs.
    pub vms: Vec<Vm>,
}

/// Where a VM's console is, ready for the relay.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConsoleTarget {
    /// The address to dial: the history record's host name, mapped through the endpoint's
    /// host-name→address overrides.
    pub host: String,
    /// OpenNebula's name of that host (before the override).
    pub hostname: String,
    /// `GRAPHICS/PORT` (always the document's, never 5900 + id).
    pub port: u16,
    /// The VNC password, if any. Never serialised.
    #[serde(skip)]
    pub password: Option<Secret>,
    /// `GRAPHICS/KEYMAP`.
    pub keymap: Option<String>,
    /// `GRAPHICS/LISTEN`: when it is a loopback address the host itself refuses outside callers.
    pub listen: Option<String>,
}

/// Why a VM has no console to open.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(rename_all = "snake_case", tag = "reason")]
pub enum NoConsole {
    /// The VM is not running on a host now (label: Sunstone's state label).
    #[error("the VM is not running (state {label})")]
    NotRunning {
        /// Sunstone's label of the current state.
        label: String,
    },
    /// The VM has never been placed on a host.
    #[error("the VM has never been deployed on a host")]
    NeverDeployed,
    /// The template has no `GRAPHICS`.
    #[error("the VM has no graphics console")]
    NoGraphics,
    /// The console is SPICE, which OneDeck does not speak.
    #[error("the VM's console is SPICE only")]
    SpiceOnly,
    /// The console type is neither VNC nor SPICE.
    #[error("the VM's console type {kind:?} is not supported")]
    Unsupported {
        /// The `GRAPHICS/TYPE` value.
        kind: String,
    },
    /// `GRAPHICS/PORT` is missing.
    #[error("the VM's console has no port yet")]
    NoPort,
}

/// LCM states in which the hypervisor runs the domain and its console (API.md §4.1, plus BACKUP).
fn console_lcm(lcm: LcmState) -> bool {
    matches!(
        lcm.as_i32(),
        3 | 4 | 12 | 13 | 16 | 17 | 18 | 24..=29 | 57 | 58 | 62 | 69
    )
}

impl Vm {
    /// Sunstone's short label for this VM's state (`RUNNING`, `POWEROFF`, `SNAPSHOT`...).
    pub fn state_label(&self) -> &'static str {
        state_label(self.state, self.lcm_state)
    }

    /// The operations oned accepts in this VM's state.
    pub fn allowed_actions(&self) -> AllowedActions {
        allowed_actions(self.state, self.lcm_state)
    }

    /// True when the VM is in one of the `*_FAILURE` LCM states or CLONING_FAILURE.
    pub fn is_failed(&self) -> bool {
        self.state == VmState::CloningFailure
            || (self.state == VmState::Active && self.lcm_state.is_failure())
    }

    /// The current placement: the history record with the highest `SEQ`.
    pub fn current_history(&self) -> Option<&HistoryRecord> {
        self.history.iter().max_by_key(|h| h.seq)
    }

    /// The VM's IP addresses (IPv4 then IPv6 of every NIC and alias, without duplicates).
    pub fn ips(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let nics = self
            .template
            .nics
            .iter()
            .chain(self.template.nic_aliases.iter());
        for nic in nics {
            for ip in [
                &nic.ip,
                &nic.external_ip,
                &nic.ip6_global,
                &nic.ip6_ula,
                &nic.ip6,
            ]
            .into_iter()
            .flatten()
            {
                if !ip.is_empty() && !out.contains(ip) {
                    out.push(ip.clone());
                }
            }
        }
        out
    }

    /// Where to connect for this VM's console, or why there is none. `overrides` maps OpenNebula
    /// host names to addresses reachable from this machine (the endpoint's setting).
    ///
    /// # Errors
    /// A [`NoConsole`] reason: not running, never deployed, no graphics, SPICE only, no port.
    pub fn console_target(
        &self,
        overrides: &BTreeMap<String, String>,
    ) -> Result<ConsoleTarget, NoConsole> {
        let graphics = self
            .template
            .graphics
            .as_ref()
            .ok_or(NoConsole::NoGraphics)?;
        match &graphics.graphics_type {
            GraphicsType::Vnc => {}
            GraphicsType::Spice => return Err(NoConsole::SpiceOnly),
            GraphicsType::Other(kind) => return Err(NoConsole::Unsupported { kind: kind.clone() }),
        }
        let history = self.current_history();
        if history.is_none()
            && matches!(
                self.state,
                VmState::Pending | VmState::Hold | VmState::Init | VmState::Cloning
            )
        {
            return Err(NoConsole::NeverDeployed);
        }
        if self.state != VmState::Active || !console_lcm(self.lcm_state) {
            return Err(NoConsole::NotRunning {
                label: self.state_label().to_owned(),
            });
        }
        let history = history.ok_or(NoConsole::NeverDeployed)?;
        let port = graphics.port.ok_or(NoConsole::NoPort)?;
        let host = overrides
            .get(&history.hostname)
            .cloned()
            .unwrap_or_else(|| history.hostname.clone());
        Ok(ConsoleTarget {
            host,
            hostname: history.hostname.clone(),
            port,
            password: graphics.password.clone().filter(|p| !p.is_empty()),
            keymap: graphics.keymap.clone(),
            listen: graphics.listen.clone(),
        })
    }
}

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

/// Decodes a pool on the calling thread.
fn decode_pool_sequential(xml: &str) -> crate::error::Result<VmPool> {
    decode_document(
        xml,
        "VM_POOL",
        |c: &mut Cursor<'_>, root: &El<'_>| -> Result<VmPool, Fail> {
            let vms = c.children(root, "VM", decode_vm)?;
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
    let capacity = memchr::memmem::find_iter(body.as_bytes(), b"<VM>").count();
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
                g.graphics_type = match t.trim().to_ascii_lowercase().as_str() {
                    "vnc" => GraphicsType::Vnc,
                    "spice" => GraphicsType::Spice,
                    _ => GraphicsType::Other(t.into_owned()),
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
