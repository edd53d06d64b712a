//! Hosts (`one.host.info`, `one.hostpool.info`).

use serde::{Deserialize, Serialize};

use super::common::{Attributes, document, num, opt_num, string};
use super::ids::{ClusterId, HostId, VmId};
use crate::xml::{Cursor, El, Fail};

/// A host's `STATE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HostState {
    /// 0.
    Init,
    /// 1.
    MonitoringMonitored,
    /// 2: healthy.
    Monitored,
    /// 3.
    Error,
    /// 4.
    Disabled,
    /// 5.
    MonitoringError,
    /// 6.
    MonitoringInit,
    /// 7.
    MonitoringDisabled,
    /// 8.
    Offline,
    /// A value this crate does not know.
    Unknown(i32),
}

impl HostState {
    /// The state from oned's number.
    pub fn from_i32(n: i32) -> Self {
        match n {
            0 => Self::Init,
            1 => Self::MonitoringMonitored,
            2 => Self::Monitored,
            3 => Self::Error,
            4 => Self::Disabled,
            5 => Self::MonitoringError,
            6 => Self::MonitoringInit,
            7 => Self::MonitoringDisabled,
            8 => Self::Offline,
            other => Self::Unknown(other),
        }
    }
}

/// Capacity figures of a host (`HOST_SHARE`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostShare {
    /// KiB allocated to VMs.
    pub mem_usage: i64,
    /// CPU allocated to VMs (100 = one core).
    pub cpu_usage: i64,
    /// KiB usable for VMs.
    pub total_mem: i64,
    /// CPU usable for VMs.
    pub total_cpu: i64,
    /// KiB in the host.
    pub max_mem: i64,
    /// CPU in the host.
    pub max_cpu: i64,
    /// Running VMs.
    pub running_vms: i64,
}

/// A host.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Host {
    /// `ID`.
    pub id: HostId,
    /// `NAME`: what VMs' history records call it.
    pub name: String,
    /// `STATE`.
    pub state: HostState,
    /// `IM_MAD`.
    pub im_mad: String,
    /// `VM_MAD`.
    pub vm_mad: String,
    /// `CLUSTER_ID`.
    pub cluster_id: Option<ClusterId>,
    /// `CLUSTER` name.
    pub cluster: String,
    /// `HOST_SHARE`.
    pub share: HostShare,
    /// Ids of the VMs on the host.
    pub vms: Vec<VmId>,
    /// `TEMPLATE` attributes (secrets dropped).
    pub template: Attributes,
}

/// `one.hostpool.info`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HostPool {
    /// The hosts the caller may see.
    pub hosts: Vec<Host>,
}

document!(Host, "HOST", |c: &mut Cursor<'_>,
                         root: &El<'_>|
 -> Result<Host, Fail> {
    decode_host(c, root)
});

document!(HostPool, "HOST_POOL", |c: &mut Cursor<'_>,
                                  root: &El<'_>|
 -> Result<HostPool, Fail> {
    let hosts = c.children(root, "HOST", decode_host)?;
    Ok(HostPool { hosts })
});

fn decode_host(c: &mut Cursor<'_>, el: &El<'_>) -> Result<Host, Fail> {
    let mut id = None;
    let mut h = Host {
        id: HostId(-1),
        name: String::new(),
        state: HostState::Init,
        im_mad: String::new(),
        vm_mad: String::new(),
        cluster_id: None,
        cluster: String::new(),
        share: HostShare::default(),
        vms: Vec::new(),
        template: Attributes::default(),
    };
    while let Some(child) = c.next_child(el)? {
        match child.name() {
            "ID" => id = Some(HostId(num(c, &child, "an integer")?)),
            "NAME" => h.name = string(c, &child)?,
            "STATE" => h.state = HostState::from_i32(num(c, &child, "an integer")?),
            "IM_MAD" => h.im_mad = string(c, &child)?,
            "VM_MAD" => h.vm_mad = string(c, &child)?,
            "CLUSTER_ID" => h.cluster_id = opt_num(c, &child, "an integer")?.map(ClusterId),
            "CLUSTER" => h.cluster = string(c, &child)?,
            "HOST_SHARE" => {
                while let Some(f) = c.next_child(&child)? {
                    let slot = match f.name() {
                        "MEM_USAGE" => &mut h.share.mem_usage,
                        "CPU_USAGE" => &mut h.share.cpu_usage,
                        "TOTAL_MEM" => &mut h.share.total_mem,
                        "TOTAL_CPU" => &mut h.share.total_cpu,
                        "MAX_MEM" => &mut h.share.max_mem,
                        "MAX_CPU" => &mut h.share.max_cpu,
                        "RUNNING_VMS" => &mut h.share.running_vms,
                        _ => {
                            c.skip(&f)?;
                            continue;
                        }
                    };
                    *slot = opt_num(c, &f, "an integer")?.unwrap_or(0);
                }
            }
            "VMS" => {
                while let Some(v) = c.next_child(&child)? {
                    if v.name() == "ID" {
                        h.vms.push(VmId(num(c, &v, "an integer")?));
                    } else {
                        c.skip(&v)?;
                    }
                }
            }
            "TEMPLATE" => h.template = Attributes::decode(c, &child)?,
            _ => c.skip(&child)?,
        }
    }
    h.id = id.ok_or_else(|| Fail::new(el.offset, "<HOST> without <ID>"))?;
    Ok(h)
}
