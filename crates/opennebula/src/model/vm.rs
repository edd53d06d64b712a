//! The VM document (`one.vm.info`, pool bodies of `one.vmpool.info*`), its parts, and the facts
//! derived from it: state label, allowed actions, IP addresses (the console target is in
//! [`super::console`], the decoding in `vm_decode`).

use serde::{Deserialize, Serialize};

use super::action::{AllowedActions, allowed_actions};
use super::common::{Attributes, Lock, Permissions};
use super::ids::{
    DatastoreId, GroupId, HostId, ImageId, NetworkId, SnapshotId, TemplateId, UserId, VmId,
};
use super::state::{LcmState, VmState, state_label};
use crate::secret::Secret;

pub(crate) use super::vm_decode::{decode_template, split_labels};

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
}
