//! What can be done to a VM: the `one.vm.action` names, `one.vm.recover` operations, which of
//! them oned accepts in a given state (API.md §3.1), and the names of history record actions.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::state::{LcmState, VmState};

/// The `one.vm.action` actions (the action name travels first on the wire).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum VmAction {
    /// Graceful shutdown and delete.
    Terminate,
    /// Hard shutdown and delete.
    TerminateHard,
    /// Graceful shutdown, disks back to the datastore.
    Undeploy,
    /// Hard undeploy.
    UndeployHard,
    /// ACPI power off, stays on the host.
    Poweroff,
    /// Hard power off.
    PoweroffHard,
    /// ACPI reboot.
    Reboot,
    /// Hard reset.
    RebootHard,
    /// Keep a PENDING VM from being scheduled.
    Hold,
    /// Release a held VM.
    Release,
    /// Save state to the datastore and free the host.
    Stop,
    /// Save state on the host.
    Suspend,
    /// Resume a stopped, suspended, powered-off or undeployed VM.
    Resume,
    /// Ask the scheduler to move the VM (admin).
    Resched,
    /// Clear the resched flag (admin).
    Unresched,
}

impl VmAction {
    /// Every action, in the order above.
    pub const ALL: [VmAction; 15] = [
        Self::Terminate,
        Self::TerminateHard,
        Self::Undeploy,
        Self::UndeployHard,
        Self::Poweroff,
        Self::PoweroffHard,
        Self::Reboot,
        Self::RebootHard,
        Self::Hold,
        Self::Release,
        Self::Stop,
        Self::Suspend,
        Self::Resume,
        Self::Resched,
        Self::Unresched,
    ];

    /// The name oned expects (`terminate-hard`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Terminate => "terminate",
            Self::TerminateHard => "terminate-hard",
            Self::Undeploy => "undeploy",
            Self::UndeployHard => "undeploy-hard",
            Self::Poweroff => "poweroff",
            Self::PoweroffHard => "poweroff-hard",
            Self::Reboot => "reboot",
            Self::RebootHard => "reboot-hard",
            Self::Hold => "hold",
            Self::Release => "release",
            Self::Stop => "stop",
            Self::Suspend => "suspend",
            Self::Resume => "resume",
            Self::Resched => "resched",
            Self::Unresched => "unresched",
        }
    }

    /// Parses oned's action name.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == name)
    }

    /// True for actions that destroy the VM or its running state (the UI confirms them).
    pub fn is_destructive(self) -> bool {
        matches!(
            self,
            Self::Terminate
                | Self::TerminateHard
                | Self::PoweroffHard
                | Self::RebootHard
                | Self::UndeployHard
        )
    }
}

impl fmt::Display for VmAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `one.vm.recover` operations (admin).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RecoverOp {
    /// 0: treat the pending operation as failed.
    Failure,
    /// 1: treat the pending operation as done.
    Success,
    /// 2: retry the failed operation.
    Retry,
    /// 3: delete the VM.
    Delete,
    /// 4: delete and recreate with the same id (what a UI calls reinstall).
    DeleteRecreate,
    /// 5: delete from the database only.
    DeleteDb,
}

impl RecoverOp {
    /// oned's operation code.
    pub fn code(self) -> i32 {
        match self {
            Self::Failure => 0,
            Self::Success => 1,
            Self::Retry => 2,
            Self::Delete => 3,
            Self::DeleteRecreate => 4,
            Self::DeleteDb => 5,
        }
    }
}

/// What the UI may offer for a VM in a given state (API.md §3.1; oned has the last word, so a
/// refused call still comes back as `Error::Action`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AllowedActions {
    /// `one.vm.action` actions oned accepts in this state.
    pub actions: Vec<VmAction>,
    /// `one.vm.recover` operations (admin only) accepted in this state.
    pub recover: Vec<RecoverOp>,
    /// `one.vm.resize` accepted.
    pub resize: bool,
    /// `one.vm.snapshotcreate` and `snapshotrevert` accepted (RUNNING only).
    pub snapshot_create: bool,
    /// `one.vm.snapshotdelete` accepted.
    pub snapshot_delete: bool,
    /// `one.vm.rename` accepted.
    pub rename: bool,
    /// The reinstall operation (recreate or terminate + instantiate) makes sense.
    pub reinstall: bool,
}

/// The actions oned accepts for a VM in `state`/`lcm` (oned `DispatchManagerActions.cc`, §3.1).
pub fn allowed_actions(state: VmState, lcm: LcmState) -> AllowedActions {
    use LcmState as L;
    use VmState as S;
    let active = state == S::Active;
    let running = active && lcm == L::Running;
    let unknown = active && lcm == L::LcmUnknown;
    let failure = active && lcm.is_failure();
    let mut actions = Vec::new();
    let mut push = |cond: bool, a: VmAction| {
        if cond {
            actions.push(a);
        }
    };
    let terminable = matches!(
        state,
        S::Suspended
            | S::Poweroff
            | S::Stopped
            | S::Undeployed
            | S::Init
            | S::Pending
            | S::Hold
            | S::Cloning
            | S::CloningFailure
    ) || running
        || unknown
        || failure;
    push(terminable, VmAction::Terminate);
    push(
        terminable || (active && lcm == L::Shutdown),
        VmAction::TerminateHard,
    );
    push(
        state == S::Poweroff || running || unknown,
        VmAction::Undeploy,
    );
    push(
        state == S::Poweroff || running || unknown || (active && lcm == L::ShutdownUndeploy),
        VmAction::UndeployHard,
    );
    push(running || unknown, VmAction::Poweroff);
    push(
        running || unknown || (active && lcm == L::ShutdownPoweroff),
        VmAction::PoweroffHard,
    );
    push(running, VmAction::Reboot);
    push(running, VmAction::RebootHard);
    push(state == S::Pending, VmAction::Hold);
    push(state == S::Hold, VmAction::Release);
    push(running || state == S::Suspended, VmAction::Stop);
    push(running, VmAction::Suspend);
    push(
        matches!(
            state,
            S::Stopped | S::Undeployed | S::Suspended | S::Poweroff
        ) || unknown,
        VmAction::Resume,
    );
    push(
        state == S::Poweroff || running || unknown,
        VmAction::Resched,
    );
    push(
        state == S::Poweroff || running || unknown,
        VmAction::Unresched,
    );

    let mut recover = Vec::new();
    if (active && !running) || state == S::CloningFailure {
        recover.push(RecoverOp::Failure);
        recover.push(RecoverOp::Success);
    }
    if failure {
        recover.push(RecoverOp::Retry);
    }
    let exists = !matches!(state, S::Done | S::Failed);
    if exists {
        recover.push(RecoverOp::Delete);
        recover.push(RecoverOp::DeleteRecreate);
        recover.push(RecoverOp::DeleteDb);
    }
    let resize = running
        || matches!(
            state,
            S::Init
                | S::Pending
                | S::Hold
                | S::Undeployed
                | S::Cloning
                | S::CloningFailure
                | S::Poweroff
        );
    AllowedActions {
        actions,
        recover,
        resize,
        snapshot_create: running,
        snapshot_delete: running || state == S::Poweroff,
        rename: exists,
        reinstall: exists,
    }
}

/// oned's name of a history record's `ACTION` (the `VMActions` enum, lower case with dashes as
/// `onevm show` prints it); `None` for 0 (no action) and for values this version does not know.
pub fn history_action_name(action: i32) -> Option<&'static str> {
    const NAMES: [&str; 52] = [
        "none",
        "migrate",
        "live-migrate",
        "shutdown",
        "shutdown-hard",
        "undeploy",
        "undeploy-hard",
        "hold",
        "release",
        "stop",
        "suspend",
        "resume",
        "boot",
        "delete",
        "delete-recreate",
        "reboot",
        "reboot-hard",
        "resched",
        "unresched",
        "poweroff",
        "poweroff-hard",
        "disk-attach",
        "disk-detach",
        "nic-attach",
        "nic-detach",
        "disk-snapshot-create",
        "disk-snapshot-delete",
        "terminate",
        "terminate-hard",
        "disk-resize",
        "deploy",
        "chown",
        "chmod",
        "updateconf",
        "rename",
        "resize",
        "update",
        "snapshot-create",
        "snapshot-delete",
        "snapshot-revert",
        "disk-saveas",
        "disk-snapshot-revert",
        "recover",
        "retry",
        "monitor",
        "disk-snapshot-rename",
        "alias-attach",
        "alias-detach",
        "poweroff-migrate",
        "poweroff-hard-migrate",
        "backup",
        "nic-update",
    ];
    match action {
        1.. => NAMES.get(usize::try_from(action).ok()?).copied(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_actions_are_named_as_oned_names_them() {
        // The codes the real 7.4.0 captures and the simulator write (VMActions).
        assert_eq!(history_action_name(0), None);
        assert_eq!(history_action_name(5), Some("undeploy"));
        assert_eq!(history_action_name(9), Some("stop"));
        assert_eq!(history_action_name(14), Some("delete-recreate"));
        assert_eq!(history_action_name(19), Some("poweroff"));
        assert_eq!(history_action_name(28), Some("terminate-hard"));
        assert_eq!(history_action_name(999), None);
        assert_eq!(history_action_name(-1), None);
    }

    #[test]
    fn running_vm_actions() {
        let a = allowed_actions(VmState::Active, LcmState::Running);
        for act in [
            VmAction::Poweroff,
            VmAction::Reboot,
            VmAction::Suspend,
            VmAction::Stop,
            VmAction::Terminate,
            VmAction::Undeploy,
        ] {
            assert!(a.actions.contains(&act), "{act} allowed when RUNNING");
        }
        assert!(!a.actions.contains(&VmAction::Resume));
        assert!(!a.actions.contains(&VmAction::Hold));
        assert!(a.snapshot_create && a.resize);
    }

    #[test]
    fn poweroff_vm_actions() {
        let a = allowed_actions(VmState::Poweroff, LcmState::LcmInit);
        assert!(a.actions.contains(&VmAction::Resume));
        assert!(a.actions.contains(&VmAction::Undeploy));
        assert!(
            !a.actions.contains(&VmAction::Suspend),
            "suspend is refused in POWEROFF (error.wrong_state capture)"
        );
        assert!(
            !a.snapshot_create,
            "snapshotcreate is refused in POWEROFF (capture)"
        );
        assert!(a.resize);
    }

    #[test]
    fn suspended_pending_hold_done() {
        let s = allowed_actions(VmState::Suspended, LcmState::LcmInit);
        assert!(s.actions.contains(&VmAction::Resume) && s.actions.contains(&VmAction::Stop));
        assert!(!s.resize, "resize is refused in SUSPENDED (capture)");
        assert_eq!(
            allowed_actions(VmState::Pending, LcmState::LcmInit).actions,
            vec![VmAction::Terminate, VmAction::TerminateHard, VmAction::Hold]
        );
        assert!(
            allowed_actions(VmState::Hold, LcmState::LcmInit)
                .actions
                .contains(&VmAction::Release)
        );
        let done = allowed_actions(VmState::Done, LcmState::LcmInit);
        assert!(done.actions.is_empty() && done.recover.is_empty() && !done.reinstall);
        let shut = allowed_actions(VmState::Active, LcmState::Shutdown);
        assert_eq!(shut.actions, vec![VmAction::TerminateHard]);
        let failed = allowed_actions(VmState::Active, LcmState::PrologFailure);
        assert!(
            failed.recover.contains(&RecoverOp::Retry)
                && failed.actions.contains(&VmAction::Terminate)
        );
    }
}
