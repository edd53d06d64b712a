//! VM states, the actions oned accepts in each (API.md §3 and §3.1) and Sunstone's labels.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

macro_rules! state_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $value:literal, $oned:literal;)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)*
            /// A value this crate does not know (a newer oned): shown generically, never rejected.
            Unknown(i32),
        }

        impl $name {
            /// The state from oned's number; unknown numbers are kept as `Unknown(n)`.
            pub fn from_i32(n: i32) -> Self {
                match n {
                    $($value => Self::$variant,)*
                    other => Self::Unknown(other),
                }
            }

            /// oned's number for this state.
            pub fn as_i32(self) -> i32 {
                match self {
                    $(Self::$variant => $value,)*
                    Self::Unknown(n) => n,
                }
            }

            /// oned's upper-case name (`RUNNING`), or `UNKNOWN(n)`-style `None` for unknown values.
            pub fn oned_name(self) -> Option<&'static str> {
                match self {
                    $(Self::$variant => Some($oned),)*
                    Self::Unknown(_) => None,
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self.oned_name() {
                    Some(n) => f.write_str(n),
                    None => write!(f, "{}", self.as_i32()),
                }
            }
        }

        /// Serialised as oned's name in snake_case (`"running"`), or the number when unknown.
        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                match self.oned_name() {
                    Some(n) => s.serialize_str(&n.to_ascii_lowercase()),
                    None => s.serialize_i32(self.as_i32()),
                }
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                #[derive(Deserialize)]
                #[serde(untagged)]
                enum Repr {
                    Num(i32),
                    Name(String),
                }
                match Repr::deserialize(d)? {
                    Repr::Num(n) => Ok(Self::from_i32(n)),
                    Repr::Name(name) => {
                        let upper = name.to_ascii_uppercase();
                        $(if upper == $oned { return Ok(Self::$variant); })*
                        Err(serde::de::Error::custom(format!("unknown state {name:?}")))
                    }
                }
            }
        }
    };
}

state_enum! {
    /// A VM's `STATE` (API.md §3); identical in 6.10 and 7.x.
    VmState {
        /// 0: being created.
        Init = 0, "INIT";
        /// 1: waiting for the scheduler.
        Pending = 1, "PENDING";
        /// 2: held by the user.
        Hold = 2, "HOLD";
        /// 3: on a host; see `LCM_STATE`.
        Active = 3, "ACTIVE";
        /// 4: stopped, state saved to the datastore.
        Stopped = 4, "STOPPED";
        /// 5: suspended on the host.
        Suspended = 5, "SUSPENDED";
        /// 6: terminated.
        Done = 6, "DONE";
        /// 7: retired (old FAILED).
        Failed = 7, "FAILED";
        /// 8: powered off, still placed on the host.
        Poweroff = 8, "POWEROFF";
        /// 9: undeployed, disks back in the datastore.
        Undeployed = 9, "UNDEPLOYED";
        /// 10: waiting for images to be cloned.
        Cloning = 10, "CLONING";
        /// 11: image cloning failed.
        CloningFailure = 11, "CLONING_FAILURE";
    }
}

state_enum! {
    /// A VM's `LCM_STATE`, meaningful when `STATE` is ACTIVE (API.md §3); 72 values, 4 retired.
    LcmState {
        /// 0.
        LcmInit = 0, "LCM_INIT";
        /// 1.
        Prolog = 1, "PROLOG";
        /// 2.
        Boot = 2, "BOOT";
        /// 3.
        Running = 3, "RUNNING";
        /// 4.
        Migrate = 4, "MIGRATE";
        /// 5.
        SaveStop = 5, "SAVE_STOP";
        /// 6.
        SaveSuspend = 6, "SAVE_SUSPEND";
        /// 7.
        SaveMigrate = 7, "SAVE_MIGRATE";
        /// 8.
        PrologMigrate = 8, "PROLOG_MIGRATE";
        /// 9.
        PrologResume = 9, "PROLOG_RESUME";
        /// 10.
        EpilogStop = 10, "EPILOG_STOP";
        /// 11.
        Epilog = 11, "EPILOG";
        /// 12.
        Shutdown = 12, "SHUTDOWN";
        /// 13 (retired).
        Cancel = 13, "CANCEL";
        /// 14 (retired).
        Failure = 14, "FAILURE";
        /// 15.
        CleanupResubmit = 15, "CLEANUP_RESUBMIT";
        /// 16: oned lost contact with the host.
        LcmUnknown = 16, "UNKNOWN";
        /// 17.
        Hotplug = 17, "HOTPLUG";
        /// 18.
        ShutdownPoweroff = 18, "SHUTDOWN_POWEROFF";
        /// 19.
        BootUnknown = 19, "BOOT_UNKNOWN";
        /// 20.
        BootPoweroff = 20, "BOOT_POWEROFF";
        /// 21.
        BootSuspended = 21, "BOOT_SUSPENDED";
        /// 22.
        BootStopped = 22, "BOOT_STOPPED";
        /// 23.
        CleanupDelete = 23, "CLEANUP_DELETE";
        /// 24.
        HotplugSnapshot = 24, "HOTPLUG_SNAPSHOT";
        /// 25.
        HotplugNic = 25, "HOTPLUG_NIC";
        /// 26.
        HotplugSaveas = 26, "HOTPLUG_SAVEAS";
        /// 27.
        HotplugSaveasPoweroff = 27, "HOTPLUG_SAVEAS_POWEROFF";
        /// 28.
        HotplugSaveasSuspended = 28, "HOTPLUG_SAVEAS_SUSPENDED";
        /// 29.
        ShutdownUndeploy = 29, "SHUTDOWN_UNDEPLOY";
        /// 30.
        EpilogUndeploy = 30, "EPILOG_UNDEPLOY";
        /// 31.
        PrologUndeploy = 31, "PROLOG_UNDEPLOY";
        /// 32.
        BootUndeploy = 32, "BOOT_UNDEPLOY";
        /// 33.
        HotplugPrologPoweroff = 33, "HOTPLUG_PROLOG_POWEROFF";
        /// 34.
        HotplugEpilogPoweroff = 34, "HOTPLUG_EPILOG_POWEROFF";
        /// 35.
        BootMigrate = 35, "BOOT_MIGRATE";
        /// 36.
        BootFailure = 36, "BOOT_FAILURE";
        /// 37.
        BootMigrateFailure = 37, "BOOT_MIGRATE_FAILURE";
        /// 38.
        PrologMigrateFailure = 38, "PROLOG_MIGRATE_FAILURE";
        /// 39.
        PrologFailure = 39, "PROLOG_FAILURE";
        /// 40.
        EpilogFailure = 40, "EPILOG_FAILURE";
        /// 41.
        EpilogStopFailure = 41, "EPILOG_STOP_FAILURE";
        /// 42.
        EpilogUndeployFailure = 42, "EPILOG_UNDEPLOY_FAILURE";
        /// 43.
        PrologMigratePoweroff = 43, "PROLOG_MIGRATE_POWEROFF";
        /// 44.
        PrologMigratePoweroffFailure = 44, "PROLOG_MIGRATE_POWEROFF_FAILURE";
        /// 45.
        PrologMigrateSuspend = 45, "PROLOG_MIGRATE_SUSPEND";
        /// 46.
        PrologMigrateSuspendFailure = 46, "PROLOG_MIGRATE_SUSPEND_FAILURE";
        /// 47.
        BootUndeployFailure = 47, "BOOT_UNDEPLOY_FAILURE";
        /// 48.
        BootStoppedFailure = 48, "BOOT_STOPPED_FAILURE";
        /// 49.
        PrologResumeFailure = 49, "PROLOG_RESUME_FAILURE";
        /// 50.
        PrologUndeployFailure = 50, "PROLOG_UNDEPLOY_FAILURE";
        /// 51.
        DiskSnapshotPoweroff = 51, "DISK_SNAPSHOT_POWEROFF";
        /// 52.
        DiskSnapshotRevertPoweroff = 52, "DISK_SNAPSHOT_REVERT_POWEROFF";
        /// 53.
        DiskSnapshotDeletePoweroff = 53, "DISK_SNAPSHOT_DELETE_POWEROFF";
        /// 54.
        DiskSnapshotSuspended = 54, "DISK_SNAPSHOT_SUSPENDED";
        /// 55 (retired).
        DiskSnapshotRevertSuspended = 55, "DISK_SNAPSHOT_REVERT_SUSPENDED";
        /// 56.
        DiskSnapshotDeleteSuspended = 56, "DISK_SNAPSHOT_DELETE_SUSPENDED";
        /// 57.
        DiskSnapshot = 57, "DISK_SNAPSHOT";
        /// 58 (retired).
        DiskSnapshotRevert = 58, "DISK_SNAPSHOT_REVERT";
        /// 59.
        DiskSnapshotDelete = 59, "DISK_SNAPSHOT_DELETE";
        /// 60.
        PrologMigrateUnknown = 60, "PROLOG_MIGRATE_UNKNOWN";
        /// 61.
        PrologMigrateUnknownFailure = 61, "PROLOG_MIGRATE_UNKNOWN_FAILURE";
        /// 62.
        DiskResize = 62, "DISK_RESIZE";
        /// 63.
        DiskResizePoweroff = 63, "DISK_RESIZE_POWEROFF";
        /// 64.
        DiskResizeUndeployed = 64, "DISK_RESIZE_UNDEPLOYED";
        /// 65.
        HotplugNicPoweroff = 65, "HOTPLUG_NIC_POWEROFF";
        /// 66.
        HotplugResize = 66, "HOTPLUG_RESIZE";
        /// 67.
        HotplugSaveasUndeployed = 67, "HOTPLUG_SAVEAS_UNDEPLOYED";
        /// 68.
        HotplugSaveasStopped = 68, "HOTPLUG_SAVEAS_STOPPED";
        /// 69.
        Backup = 69, "BACKUP";
        /// 70.
        BackupPoweroff = 70, "BACKUP_POWEROFF";
        /// 71.
        Restore = 71, "RESTORE";
    }
}

impl LcmState {
    /// True for the 14 `*_FAILURE` states (36–42, 44, 46–50 and 61): Sunstone colours them as failed.
    pub fn is_failure(self) -> bool {
        matches!(self.as_i32(), 36..=42 | 44 | 46..=50 | 61)
    }

    /// Sunstone's short label (the 72-entry `SHORT_LCM_STATES_STR` table of Ruby Sunstone 6.10).
    pub fn sunstone_label(self) -> &'static str {
        match self.as_i32() {
            0 => "LCM_INIT",
            1 | 9 | 31 => "PROLOG",
            2 | 19..=22 | 32 | 35 => "BOOT",
            3 => "RUNNING",
            4 | 8 | 43 | 45 | 60 => "MIGRATE",
            5..=7 => "SAVE",
            10 | 11 | 30 => "EPILOG",
            12 | 13 | 18 | 29 => "SHUTDOWN",
            14 | 36..=42 | 44 | 46..=50 | 61 => "FAILURE",
            15 | 23 => "CLEANUP",
            16 => "UNKNOWN",
            17 | 25..=28 | 33 | 34 | 65..=68 => "HOTPLUG",
            24 | 51..=59 => "SNAPSHOT",
            62..=64 => "DISK_RSZ",
            69 | 70 => "BACKUP",
            71 => "RESTORE",
            _ => "UNKNOWN",
        }
    }
}

impl VmState {
    /// Sunstone's label for a non-ACTIVE state (its `STATES_STR` table: the oned name).
    pub fn sunstone_label(self) -> &'static str {
        self.oned_name().unwrap_or("UNKNOWN")
    }
}

/// The short label Sunstone shows for a STATE×LCM_STATE pair: the LCM label when ACTIVE, else the
/// state's name.
pub fn state_label(state: VmState, lcm: LcmState) -> &'static str {
    if state == VmState::Active {
        lcm.sunstone_label()
    } else {
        state.sunstone_label()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::action::VmAction;

    #[test]
    fn every_value_round_trips_and_unknown_is_kept() {
        for n in 0..72 {
            let s = LcmState::from_i32(n);
            assert_eq!(s.as_i32(), n);
            assert!(s.oned_name().is_some(), "LCM {n} has a name");
        }
        for n in 0..12 {
            assert!(
                VmState::from_i32(n).oned_name().is_some(),
                "STATE {n} has a name"
            );
        }
        assert_eq!(LcmState::from_i32(99), LcmState::Unknown(99));
        assert_eq!(VmState::from_i32(12).to_string(), "12");
    }

    #[test]
    fn labels_follow_sunstone() {
        assert_eq!(state_label(VmState::Active, LcmState::Running), "RUNNING");
        assert_eq!(
            state_label(VmState::Active, LcmState::HotplugSnapshot),
            "SNAPSHOT"
        );
        assert_eq!(
            state_label(VmState::Active, LcmState::BootFailure),
            "FAILURE"
        );
        assert_eq!(
            state_label(VmState::Active, LcmState::DiskResizePoweroff),
            "DISK_RSZ"
        );
        assert_eq!(
            state_label(VmState::Active, LcmState::CleanupDelete),
            "CLEANUP"
        );
        assert_eq!(
            state_label(VmState::Poweroff, LcmState::LcmInit),
            "POWEROFF"
        );
        assert_eq!(
            state_label(VmState::CloningFailure, LcmState::LcmInit),
            "CLONING_FAILURE"
        );
        // Every known LCM value has one of Sunstone's 16 words.
        for n in 0..72 {
            assert_ne!(LcmState::from_i32(n).sunstone_label(), "", "LCM {n}");
        }
        assert_eq!(
            (0..72)
                .filter(|n| LcmState::from_i32(*n).is_failure())
                .count(),
            14
        );
    }

    #[test]
    fn serialises_as_snake_case_names() -> Result<(), serde_json::Error> {
        assert_eq!(
            serde_json::to_string(&LcmState::HotplugSnapshot)?,
            "\"hotplug_snapshot\""
        );
        assert_eq!(serde_json::to_string(&VmState::Unknown(42))?, "42");
        let back: LcmState = serde_json::from_str("\"hotplug_snapshot\"")?;
        assert_eq!(back, LcmState::HotplugSnapshot);
        assert_eq!(
            serde_json::to_string(&VmAction::TerminateHard)?,
            "\"terminate-hard\""
        );
        Ok(())
    }
}
