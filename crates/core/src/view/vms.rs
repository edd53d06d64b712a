//! What the VM details panel, the action buttons and the monitoring charts are shown.

use onedeck_opennebula::{
    AllowedActions, AttrValue, Attributes, MonitoringData, SnapshotId, Vm, VmAction, VmId, VmState,
    history_action_name,
};
use onedeck_vault::ProfileId;
use serde::{Deserialize, Serialize};

use super::StateClass;

/// An operation the details panel and the row's context menu offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum VmOperation {
    /// ACPI power off.
    Poweroff,
    /// Hard power off.
    PoweroffHard,
    /// Resume (a powered-off, suspended, stopped or undeployed VM).
    Resume,
    /// ACPI reboot.
    Reboot,
    /// Hard reset.
    RebootHard,
    /// Save state on the host.
    Suspend,
    /// Save state to the datastore and free the host.
    Stop,
    /// Shut down and move the disks back to the datastore.
    Undeploy,
    /// Hard undeploy.
    UndeployHard,
    /// Keep a pending VM from being scheduled.
    Hold,
    /// Release a held VM.
    Release,
    /// Delete (graceful shutdown first).
    Terminate,
    /// Delete at once.
    TerminateHard,
    /// Start again from the template (recover delete-recreate, or instantiate + terminate).
    Reinstall,
    /// Change CPU, vCPU, memory.
    Resize,
    /// Change the name.
    Rename,
    /// Take a system snapshot.
    SnapshotCreate,
    /// Go back to a system snapshot.
    SnapshotRevert,
    /// Delete a system snapshot.
    SnapshotDelete,
}

impl VmOperation {
    /// Every operation, in the order the panel shows them.
    pub const ALL: [Self; 19] = [
        Self::Poweroff,
        Self::PoweroffHard,
        Self::Resume,
        Self::Reboot,
        Self::RebootHard,
        Self::Suspend,
        Self::Stop,
        Self::Undeploy,
        Self::UndeployHard,
        Self::Hold,
        Self::Release,
        Self::Terminate,
        Self::TerminateHard,
        Self::Reinstall,
        Self::Resize,
        Self::Rename,
        Self::SnapshotCreate,
        Self::SnapshotRevert,
        Self::SnapshotDelete,
    ];

    /// The `one.vm.action` behind this operation, if it is one.
    pub fn action(self) -> Option<VmAction> {
        Some(match self {
            Self::Poweroff => VmAction::Poweroff,
            Self::PoweroffHard => VmAction::PoweroffHard,
            Self::Resume => VmAction::Resume,
            Self::Reboot => VmAction::Reboot,
            Self::RebootHard => VmAction::RebootHard,
            Self::Suspend => VmAction::Suspend,
            Self::Stop => VmAction::Stop,
            Self::Undeploy => VmAction::Undeploy,
            Self::UndeployHard => VmAction::UndeployHard,
            Self::Hold => VmAction::Hold,
            Self::Release => VmAction::Release,
            Self::Terminate => VmAction::Terminate,
            Self::TerminateHard => VmAction::TerminateHard,
            _ => return None,
        })
    }

    /// True when the UI must confirm it in a dialog naming the VM: it deletes the VM or
    /// throws away its disks' or memory's current state.
    pub fn is_destructive(self) -> bool {
        matches!(
            self,
            Self::Terminate
                | Self::TerminateHard
                | Self::Reinstall
                | Self::SnapshotRevert
                | Self::SnapshotDelete
        )
    }

    /// Whether oned accepts it in the state `allowed` describes (API.md §3.1).
    pub fn allowed_by(self, allowed: &AllowedActions) -> bool {
        match self.action() {
            Some(a) => allowed.actions.contains(&a),
            None => match self {
                Self::Reinstall => allowed.reinstall,
                Self::Resize => allowed.resize,
                Self::Rename => allowed.rename,
                Self::SnapshotCreate | Self::SnapshotRevert => allowed.snapshot_create,
                Self::SnapshotDelete => allowed.snapshot_delete,
                _ => false,
            },
        }
    }
}

/// An operation and whether the VM's state allows it now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OperationState {
    /// The operation.
    pub op: VmOperation,
    /// The state allows it (oned still has the last word).
    pub allowed: bool,
    /// Confirm before running it.
    pub destructive: bool,
}

/// A disk as the panel lists it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DiskView {
    /// `DISK_ID`.
    pub disk_id: Option<u32>,
    /// Image name.
    pub image: Option<String>,
    /// Size in MiB.
    pub size_mib: Option<u64>,
    /// Target device (`vda`).
    pub target: Option<String>,
    /// Datastore name.
    pub datastore: Option<String>,
    /// Persistent image.
    pub persistent: bool,
    /// `TYPE`.
    #[serde(rename = "type")]
    pub disk_type: Option<String>,
}

/// A NIC as the panel lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NicView {
    /// `NIC_ID`.
    pub nic_id: Option<u32>,
    /// Network name.
    pub network: Option<String>,
    /// IPv4 address.
    pub ip: Option<String>,
    /// IPv6 address (global, ULA or static).
    pub ip6: Option<String>,
    /// MAC address.
    pub mac: Option<String>,
}

/// The console settings, never the password.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GraphicsView {
    /// `vnc`, `spice` or what the template says.
    #[serde(rename = "type")]
    pub graphics_type: String,
    /// Port on the host.
    pub port: Option<u16>,
    /// Where QEMU listens on the host.
    pub listen: Option<String>,
    /// Keyboard map.
    pub keymap: Option<String>,
    /// A password is set.
    pub has_password: bool,
}

/// One placement of the VM on a host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryView {
    /// `SEQ`.
    pub seq: i32,
    /// Host name.
    pub host: String,
    /// Start, epoch seconds.
    pub start: i64,
    /// End, epoch seconds; `None` while open.
    pub end: Option<i64>,
    /// The action that closed the record, in oned's words.
    pub action: Option<String>,
}

/// A system snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SnapshotView {
    /// `SNAPSHOT_ID`.
    pub snapshot_id: SnapshotId,
    /// Name.
    pub name: String,
    /// Taken at, epoch seconds.
    pub time: Option<i64>,
}

/// Everything the details panel shows of one VM.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VmDetails {
    /// The profile.
    pub profile_id: ProfileId,
    /// VM id.
    pub id: VmId,
    /// VM name.
    pub name: String,
    /// Owner's name.
    pub owner: String,
    /// Group's name.
    pub group: String,
    /// Owner's id.
    pub uid: i32,
    /// Group's id.
    pub gid: i32,
    /// `STATE` in oned's words (`ACTIVE`, `POWEROFF`).
    pub state: String,
    /// `LCM_STATE` in oned's words while ACTIVE.
    pub lcm_state: Option<String>,
    /// Sunstone's label.
    pub state_label: String,
    /// Badge class.
    pub state_class: StateClass,
    /// Current host.
    pub host: Option<String>,
    /// IP addresses.
    pub ips: Vec<String>,
    /// `CPU`.
    pub cpu: Option<f64>,
    /// `VCPU`.
    pub vcpu: Option<u32>,
    /// `MEMORY` in MiB.
    pub memory_mib: Option<u64>,
    /// Disks.
    pub disks: Vec<DiskView>,
    /// NICs and aliases.
    pub nics: Vec<NicView>,
    /// Console settings.
    pub graphics: Option<GraphicsView>,
    /// History records, oldest first.
    pub history: Vec<HistoryView>,
    /// System snapshots.
    pub snapshots: Vec<SnapshotView>,
    /// `STIME`.
    pub start_time: i64,
    /// `LAST_POLL`, `None` when never monitored.
    pub last_poll: Option<i64>,
    /// `USER_TEMPLATE` as `KEY = "value"` lines (secrets already dropped by the client).
    pub user_template: String,
    /// The VM is locked.
    pub locked: bool,
    /// Every operation and whether the state allows it.
    pub operations: Vec<OperationState>,
    /// When it was read, ms since the epoch.
    pub fetched_at: u64,
}

impl VmDetails {
    /// The panel's view of a VM as `one.vm.info` returned it.
    pub fn of(profile_id: &ProfileId, vm: &Vm, fetched_at: u64) -> Self {
        let allowed = vm.allowed_actions();
        let t = &vm.template;
        Self {
            profile_id: profile_id.clone(),
            id: vm.id,
            name: vm.name.clone(),
            owner: vm.uname.clone(),
            group: vm.gname.clone(),
            uid: vm.uid.0,
            gid: vm.gid.0,
            state: vm.state.oned_name().unwrap_or("UNKNOWN").to_owned(),
            lcm_state: (vm.state == VmState::Active)
                .then(|| vm.lcm_state.oned_name().unwrap_or("UNKNOWN").to_owned()),
            state_label: vm.state_label().to_owned(),
            state_class: StateClass::of(vm),
            host: vm.current_history().map(|h| h.hostname.clone()),
            ips: vm.ips(),
            cpu: t.cpu,
            vcpu: t.vcpu,
            memory_mib: t.memory_mb,
            disks: t
                .disks
                .iter()
                .map(|d| DiskView {
                    disk_id: d.disk_id,
                    image: d.image.clone(),
                    size_mib: d.size_mb,
                    target: d.target.clone(),
                    datastore: d.datastore.clone(),
                    persistent: d.persistent,
                    disk_type: d.disk_type.clone(),
                })
                .collect(),
            nics: t
                .nics
                .iter()
                .chain(t.nic_aliases.iter())
                .map(|n| NicView {
                    nic_id: n.nic_id,
                    network: n.network.clone(),
                    ip: n.ip.clone(),
                    ip6: n
                        .ip6_global
                        .clone()
                        .or_else(|| n.ip6_ula.clone())
                        .or_else(|| n.ip6.clone()),
                    mac: n.mac.clone(),
                })
                .collect(),
            graphics: t.graphics.as_ref().map(|g| GraphicsView {
                graphics_type: match &g.graphics_type {
                    onedeck_opennebula::GraphicsType::Vnc => "vnc".to_owned(),
                    onedeck_opennebula::GraphicsType::Spice => "spice".to_owned(),
                    onedeck_opennebula::GraphicsType::Other(o) => o.clone(),
                },
                port: g.port,
                listen: g.listen.clone(),
                keymap: g.keymap.clone(),
                has_password: g.has_password,
            }),
            history: {
                let mut h: Vec<HistoryView> = vm
                    .history
                    .iter()
                    .map(|h| HistoryView {
                        seq: h.seq,
                        host: h.hostname.clone(),
                        start: h.stime,
                        end: (h.etime > 0).then_some(h.etime),
                        action: history_action_name(h.action).map(str::to_owned),
                    })
                    .collect();
                h.sort_by_key(|r| r.seq);
                h
            },
            snapshots: t
                .snapshots
                .iter()
                .filter_map(|s| {
                    Some(SnapshotView {
                        snapshot_id: s.snapshot_id?,
                        name: s.name.clone(),
                        time: s.time,
                    })
                })
                .collect(),
            start_time: vm.stime,
            last_poll: (vm.last_poll > 0).then_some(vm.last_poll),
            user_template: template_text(&vm.user_template),
            locked: vm.lock.is_some(),
            operations: VmOperation::ALL
                .iter()
                .map(|&op| OperationState {
                    op,
                    allowed: op.allowed_by(&allowed),
                    destructive: op.is_destructive(),
                })
                .collect(),
            fetched_at,
        }
    }
}

/// Template attributes as oned's text form, one `KEY = "value"` per line, vectors in brackets.
pub fn template_text(attrs: &Attributes) -> String {
    fn value(out: &mut Vec<String>, name: &str, v: &AttrValue) {
        match v {
            AttrValue::Text(s) => out.push(format!("{name} = \"{}\"", s.replace('"', "\\\""))),
            AttrValue::Vector(inner) => {
                let parts: Vec<String> = inner
                    .0
                    .iter()
                    .filter_map(|(k, v)| match v {
                        AttrValue::Text(s) => Some(format!("{k} = \"{}\"", s.replace('"', "\\\""))),
                        _ => None,
                    })
                    .collect();
                out.push(format!("{name} = [ {} ]", parts.join(", ")));
            }
            AttrValue::List(items) => {
                for item in items {
                    value(out, name, item);
                }
            }
        }
    }
    let mut out = Vec::new();
    for (name, v) in &attrs.0 {
        value(&mut out, name, v);
    }
    out.join("\n")
}

/// A VM's answer to an accepted operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ActionAccepted {
    /// The VM acted on.
    pub vm_id: VmId,
}

/// A new system snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SnapshotCreated {
    /// The VM.
    pub vm_id: VmId,
    /// The snapshot oned made.
    pub snapshot_id: SnapshotId,
}

/// How a reinstall went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Reinstalled {
    /// `recreated` (same id) or `replaced` (a new VM, the old one terminated).
    pub way: ReinstallWay,
    /// The VM that now exists.
    pub vm_id: VmId,
    /// The VM the user asked to reinstall.
    pub old_vm_id: VmId,
}

/// Which way a reinstall went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum ReinstallWay {
    /// `one.vm.recover` delete-recreate: same id, disks reset.
    Recreated,
    /// A new VM from the same template, then the old one terminated.
    Replaced,
}

/// New capacity for a resize; `None` keeps a value.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CapacityInput {
    /// `CPU`.
    pub cpu: Option<f64>,
    /// `VCPU`.
    pub vcpu: Option<u32>,
    /// `MEMORY` in MiB.
    pub memory_mib: Option<u64>,
}

/// One VM's outcome in a bulk action.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BulkResult {
    /// The VM.
    pub vm_id: VmId,
    /// Accepted.
    pub ok: bool,
    /// Why not, as the IPC error shape.
    pub error: Option<crate::error::ErrorView>,
}

/// One point of the monitoring charts.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MonitoringPoint {
    /// Epoch seconds.
    pub t: i64,
    /// CPU percent (100 = one core).
    pub cpu: Option<f64>,
    /// Memory in MiB.
    pub memory_mib: Option<f64>,
    /// Network received, bytes/s since the previous point.
    pub net_rx_bps: Option<f64>,
    /// Network sent, bytes/s.
    pub net_tx_bps: Option<f64>,
    /// Disk read, bytes/s.
    pub disk_read_bps: Option<f64>,
    /// Disk written, bytes/s.
    pub disk_write_bps: Option<f64>,
}

/// A VM's monitoring series, oldest first; empty when oned has none yet.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MonitoringSeries {
    /// The VM.
    pub vm_id: VmId,
    /// The points.
    pub points: Vec<MonitoringPoint>,
}

impl MonitoringSeries {
    /// The points of `data` newer than `since` (epoch seconds). oned's NETRX/NETTX and disk
    /// figures are counters since boot: each point gets the rate since the previous record, and a
    /// counter that went down (a reboot) gives no rate rather than a negative one.
    pub fn of(vm_id: VmId, data: &MonitoringData, since: i64) -> Self {
        let mut records: Vec<_> = data
            .records
            .iter()
            .filter(|r| r.timestamp.is_some())
            .collect();
        records.sort_by_key(|r| r.timestamp);
        records.dedup_by_key(|r| r.timestamp);
        let rate = |now: Option<u64>, before: Option<u64>, secs: i64| -> Option<f64> {
            let (now, before) = (now?, before?);
            (secs > 0 && now >= before).then(|| (now - before) as f64 / secs as f64)
        };
        let mut points = Vec::with_capacity(records.len());
        for (i, r) in records.iter().enumerate() {
            let t = r.timestamp.unwrap_or_default();
            let prev = i.checked_sub(1).map(|j| records[j]);
            let secs = prev.map_or(0, |p| t - p.timestamp.unwrap_or_default());
            if t < since {
                continue;
            }
            points.push(MonitoringPoint {
                t,
                cpu: r.cpu,
                memory_mib: r.memory_kb.map(|kb| kb as f64 / 1024.0),
                net_rx_bps: prev.and_then(|p| rate(r.net_rx, p.net_rx, secs)),
                net_tx_bps: prev.and_then(|p| rate(r.net_tx, p.net_tx, secs)),
                disk_read_bps: prev.and_then(|p| rate(r.disk_read_bytes, p.disk_read_bytes, secs)),
                disk_write_bps: prev
                    .and_then(|p| rate(r.disk_write_bytes, p.disk_write_bytes, secs)),
            });
        }
        Self { vm_id, points }
    }
}

#[cfg(test)]
mod tests {
    use onedeck_opennebula::{LcmState, Monitoring, allowed_actions};

    use super::*;

    #[test]
    fn operations_follow_the_state_tables() {
        let running = allowed_actions(VmState::Active, LcmState::Running);
        let poweroff = allowed_actions(VmState::Poweroff, LcmState::LcmInit);
        for (op, on_running, on_poweroff) in [
            (VmOperation::Poweroff, true, false),
            (VmOperation::Resume, false, true),
            (VmOperation::Resize, true, true),
            (VmOperation::SnapshotCreate, true, false),
            (VmOperation::Rename, true, true),
            (VmOperation::Terminate, true, true),
            (VmOperation::Hold, false, false),
        ] {
            assert_eq!(op.allowed_by(&running), on_running, "{op:?} on RUNNING");
            assert_eq!(op.allowed_by(&poweroff), on_poweroff, "{op:?} on POWEROFF");
        }
        assert!(VmOperation::Reinstall.is_destructive());
        assert!(!VmOperation::Poweroff.is_destructive());
    }

    #[test]
    fn monitoring_counters_become_rates_and_resets_give_none() {
        let rec = |t: i64, rx: u64| Monitoring {
            timestamp: Some(t),
            net_rx: Some(rx),
            memory_kb: Some(2048),
            ..Monitoring::default()
        };
        let data = MonitoringData {
            records: vec![rec(60, 1000), rec(0, 0), rec(30, 600), rec(90, 10)],
        };
        let s = MonitoringSeries::of(VmId(1), &data, 0);
        let rx: Vec<Option<f64>> = s.points.iter().map(|p| p.net_rx_bps).collect();
        assert_eq!(rx, [None, Some(20.0), Some(400.0 / 30.0), None]);
        assert_eq!(s.points[0].memory_mib, Some(2.0));
        assert_eq!(MonitoringSeries::of(VmId(1), &data, 31).points.len(), 2);
    }
}
