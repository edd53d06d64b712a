//! What the calls take and give besides ids: pool filters and ranges, capacity, instantiate
//! specs, reinstall outcomes, token lifetimes.

use serde::{Deserialize, Serialize};

use crate::model::ids::{UserId, VmId};
use crate::model::state::VmState;
use crate::model::vm::VmTemplate;

/// Whose VMs (or templates) a pool call lists (API.md §2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PoolFilter {
    /// -3: the caller's own.
    Mine,
    /// -1: the caller's and those of the caller's groups.
    MineAndGroups,
    /// -2: everything the caller may see (including objects shared through OTHER rights).
    All,
    /// -4: the caller's primary group's.
    PrimaryGroup,
    /// ≥ 0: that user's (subject to ACLs).
    User(UserId),
}

impl PoolFilter {
    /// oned's filter flag.
    pub fn flag(self) -> i32 {
        match self {
            Self::Mine => -3,
            Self::MineAndGroups => -1,
            Self::All => -2,
            Self::PrimaryGroup => -4,
            Self::User(u) => u.0,
        }
    }
}

/// Which VM states a pool call lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StateFilter {
    /// -2: every state, DONE included.
    Any,
    /// -1: every state but DONE.
    NotDone,
    /// One state.
    Only(VmState),
}

impl StateFilter {
    /// oned's state filter value.
    pub fn value(self) -> i32 {
        match self {
            Self::Any => -2,
            Self::NotDone => -1,
            Self::Only(s) => s.as_i32(),
        }
    }
}

/// Which part of a pool to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PoolRange {
    /// Everything.
    All,
    /// Ids from `from` to `to` inclusive (`None` = no bound).
    Ids {
        /// Lowest id.
        from: Option<i32>,
        /// Highest id.
        to: Option<i32>,
    },
    /// A page: `size` objects after skipping `offset` (newest first by default).
    Page {
        /// Objects to skip.
        offset: u32,
        /// Page size (≥ 2: oned reads `end < -1` as paging).
        size: u32,
    },
}

impl PoolRange {
    /// oned's `(start, end)` pair.
    pub fn bounds(self) -> (i32, i32) {
        match self {
            Self::All => (-1, -1),
            Self::Ids { from, to } => (from.unwrap_or(-1), to.unwrap_or(-1)),
            Self::Page { offset, size } => {
                let size = i32::try_from(size.max(2)).unwrap_or(i32::MAX);
                (i32::try_from(offset).unwrap_or(i32::MAX), -size)
            }
        }
    }
}

/// CPU/VCPU/MEMORY values for resize and instantiate; `None` leaves a value unchanged.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Capacity {
    /// `CPU`.
    pub cpu: Option<f64>,
    /// `VCPU`.
    pub vcpu: Option<u32>,
    /// `MEMORY` in MiB.
    pub memory_mb: Option<u64>,
}

impl Capacity {
    /// The capacity written in a VM or template.
    pub fn of(t: &VmTemplate) -> Self {
        Self {
            cpu: t.cpu,
            vcpu: t.vcpu,
            memory_mb: t.memory_mb,
        }
    }

    /// True when no value is set.
    pub fn is_empty(&self) -> bool {
        self.cpu.is_none() && self.vcpu.is_none() && self.memory_mb.is_none()
    }

    /// Only the values that differ from `base`.
    pub fn differences(&self, base: &VmTemplate) -> Self {
        Self {
            cpu: self.cpu.filter(|c| Some(*c) != base.cpu),
            vcpu: self.vcpu.filter(|v| Some(*v) != base.vcpu),
            memory_mb: self.memory_mb.filter(|m| Some(*m) != base.memory_mb),
        }
    }

    /// The values as template text (`CPU="0.5"` lines), empty when nothing is set.
    pub fn to_template(&self) -> String {
        let mut out = Vec::new();
        if let Some(c) = self.cpu {
            out.push(format!("CPU=\"{c}\""));
        }
        if let Some(v) = self.vcpu {
            out.push(format!("VCPU=\"{v}\""));
        }
        if let Some(m) = self.memory_mb {
            out.push(format!("MEMORY=\"{m}\""));
        }
        out.join("\n")
    }
}

/// What `template_instantiate` creates.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Instantiate {
    /// VM name; `""` lets oned choose. With `count > 1`, `%i` is replaced by the index, or
    /// `-<index>` is appended.
    pub name: String,
    /// How many VMs (at least one).
    pub count: u32,
    /// Create them on hold.
    pub hold: bool,
    /// Capacity overrides (a non-empty override needs TEMPLATE:CREATE, API.md §2).
    pub capacity: Capacity,
    /// More extra-template lines, e.g. USER_INPUTS answers from
    /// [`crate::model::user_input::answers_to_template`] (also needs TEMPLATE:CREATE).
    pub extra_template: String,
}

impl Instantiate {
    /// The name of the `index`-th VM (from 0): the name as given for a single VM or an empty
    /// name, else `%i` replaced by the index, else `-<index>` appended (Sunstone's rule).
    pub fn vm_name(&self, index: u32) -> String {
        if self.count <= 1 || self.name.is_empty() {
            self.name.clone()
        } else if self.name.contains("%i") {
            self.name.replace("%i", &index.to_string())
        } else {
            format!("{}-{index}", self.name)
        }
    }
}

/// How `vm_reinstall` reinstalled the VM.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "way")]
pub enum Reinstall {
    /// `one.vm.recover` delete-recreate: same VM id, disks reset, back to PENDING.
    Recreated {
        /// The VM (same id).
        id: VmId,
    },
    /// No right to recover: a new VM from the same template with the same name and capacity was
    /// instantiated, then the old one terminated (hard).
    Replaced {
        /// The terminated VM.
        old: VmId,
        /// The new VM.
        new: VmId,
    },
}

/// How long a login token lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenValidity {
    /// Expires after that many seconds (capped by the auth driver's `MAX_TOKEN_TIME`).
    Seconds(u32),
    /// Never expires.
    Never,
}
