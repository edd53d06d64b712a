//! Operations on one VM (details, actions, resize, rename, reinstall, snapshots, monitoring)
//! and on several at once. Each accepted operation starts a watch ([`super::watch`]).

use onedeck_opennebula::{Capacity, Client, Reinstall, SnapshotId, VmAction, VmId};
use onedeck_vault::ProfileId;

use super::Deck;
use crate::error::{Error, ErrorView, Result};
use crate::view::{
    ActionAccepted, BulkResult, CapacityInput, MonitoringSeries, ReinstallWay, Reinstalled,
    SnapshotCreated, VmDetails, unix_ms,
};

/// The longest VM name accepted (oned keeps names in a 128-character column of its pool table).
pub const MAX_VM_NAME_LEN: usize = 128;

/// The widest monitoring window a chart asks for: a week.
pub const MAX_MONITORING_RANGE_SECS: u32 = 7 * 24 * 3600;

impl Deck {
    /// The VM as the details panel shows it, read afresh (`one.vm.info`).
    ///
    /// # Errors
    /// `notSignedIn`; `notFound`, `authorization`, `network`...
    pub async fn vm_details(&self, id: &ProfileId, vm: VmId) -> Result<VmDetails> {
        let session = self.session(id)?;
        let doc = session.client.vm_info(vm).await?;
        Ok(VmDetails::of(
            id,
            &doc,
            unix_ms(std::time::SystemTime::now()),
        ))
    }

    /// Runs a `one.vm.action` (power off, resume, terminate...) and watches the VM settle.
    ///
    /// # Errors
    /// `wrongState` with oned's message when the state does not allow it; `authorization`...
    pub async fn vm_action(
        &self,
        id: &ProfileId,
        vm: VmId,
        action: VmAction,
    ) -> Result<ActionAccepted> {
        self.accepted(id, vm, async |c| c.vm_action(action, vm).await)
            .await
    }

    /// Runs `call` with the profile's client and, once oned accepted it, watches `vm` settle.
    async fn accepted<T>(
        &self,
        id: &ProfileId,
        vm: VmId,
        call: impl AsyncFnOnce(&Client) -> onedeck_opennebula::Result<T>,
    ) -> Result<ActionAccepted> {
        let session = self.session(id)?;
        call(&session.client).await?;
        self.watch_vm(id, vm);
        Ok(ActionAccepted { vm_id: vm })
    }

    /// Deletes a VM: `terminate` (graceful), or `terminate-hard` with `hard`.
    ///
    /// # Errors
    /// As [`Deck::vm_action`].
    pub async fn vm_delete(&self, id: &ProfileId, vm: VmId, hard: bool) -> Result<ActionAccepted> {
        let action = if hard {
            VmAction::TerminateHard
        } else {
            VmAction::Terminate
        };
        self.vm_action(id, vm, action).await
    }

    /// Runs one action on several VMs, all of them even when some fail, and returns an outcome
    /// per VM in the order given.
    ///
    /// # Errors
    /// `notSignedIn` only; each VM's failure is in its [`BulkResult`].
    pub async fn vm_bulk_action(
        &self,
        id: &ProfileId,
        vms: &[VmId],
        action: VmAction,
    ) -> Result<Vec<BulkResult>> {
        let session = self.session(id)?;
        let mut set = tokio::task::JoinSet::new();
        for (i, &vm) in vms.iter().enumerate() {
            let client = session.client.clone();
            // The client's own permits bound the calls in flight.
            set.spawn(async move { (i, vm, client.vm_action(action, vm).await) });
        }
        let mut out: Vec<Option<BulkResult>> = vec![None; vms.len()];
        while let Some(joined) = set.join_next().await {
            let (i, vm, result) = joined?;
            let error = match result {
                Ok(_) => {
                    self.watch_vm(id, vm);
                    None
                }
                Err(e) => Some(ErrorView::from(&Error::from(e))),
            };
            out[i] = Some(BulkResult {
                vm_id: vm,
                ok: error.is_none(),
                error,
            });
        }
        Ok(out.into_iter().flatten().collect())
    }

    /// Reinstalls a VM the way the user's rights allow (recover delete-recreate, else a new VM
    /// from the same template, then the old one terminated) and says which way it went.
    ///
    /// # Errors
    /// `authorization` when neither way is allowed; `wrongState`...
    pub async fn vm_reinstall(&self, id: &ProfileId, vm: VmId) -> Result<Reinstalled> {
        let session = self.session(id)?;
        let done = session.client.vm_reinstall(vm).await?;
        Ok(match done {
            Reinstall::Recreated { id: same } => {
                self.watch_vm(id, same);
                Reinstalled {
                    way: ReinstallWay::Recreated,
                    vm_id: same,
                    old_vm_id: vm,
                }
            }
            Reinstall::Replaced { old, new } => {
                self.watch_vm(id, old);
                self.watch_vm(id, new);
                Reinstalled {
                    way: ReinstallWay::Replaced,
                    vm_id: new,
                    old_vm_id: old,
                }
            }
        })
    }

    /// Changes CPU, vCPU and memory; `None` keeps a value. `enforce` asks oned to check the
    /// host's capacity (honoured for the oneadmin group only).
    ///
    /// # Errors
    /// `invalidInput` naming the field for a value that is not positive, or when nothing is
    /// given; `wrongState` with oned's message.
    pub async fn vm_resize(
        &self,
        id: &ProfileId,
        vm: VmId,
        capacity: CapacityInput,
        enforce: bool,
    ) -> Result<ActionAccepted> {
        if capacity.cpu.is_some_and(|c| !(c.is_finite() && c > 0.0)) {
            return Err(invalid("cpu", "must be a number above 0"));
        }
        if capacity.vcpu == Some(0) {
            return Err(invalid("vcpu", "must be at least 1"));
        }
        if capacity.memory_mib == Some(0) {
            return Err(invalid("memoryMib", "must be at least 1 MiB"));
        }
        let capacity = Capacity {
            cpu: capacity.cpu,
            vcpu: capacity.vcpu,
            memory_mb: capacity.memory_mib,
        };
        if capacity.is_empty() {
            return Err(invalid("capacity", "give CPU, vCPU or memory"));
        }
        self.accepted(id, vm, async |c| c.vm_resize(vm, capacity, enforce).await)
            .await
    }

    /// Renames a VM.
    ///
    /// # Errors
    /// `invalidInput` for an empty, over-long or multi-line name; oned's errors.
    pub async fn vm_rename(&self, id: &ProfileId, vm: VmId, name: &str) -> Result<ActionAccepted> {
        let name = check_name(name)?;
        self.accepted(id, vm, async |c| c.vm_rename(vm, &name).await)
            .await
    }

    /// Takes a system snapshot (RUNNING VMs only).
    ///
    /// # Errors
    /// `wrongState` with oned's message; `invalidInput` for a multi-line name.
    pub async fn vm_snapshot_create(
        &self,
        id: &ProfileId,
        vm: VmId,
        name: &str,
    ) -> Result<SnapshotCreated> {
        let name = name.trim();
        if name.chars().any(char::is_control) || name.chars().count() > MAX_VM_NAME_LEN {
            return Err(invalid("name", "one line of at most 128 characters"));
        }
        let session = self.session(id)?;
        let snapshot_id = session.client.vm_snapshot_create(vm, name).await?;
        self.watch_vm(id, vm);
        Ok(SnapshotCreated {
            vm_id: vm,
            snapshot_id,
        })
    }

    /// Reverts a VM to a system snapshot.
    ///
    /// # Errors
    /// `wrongState`, `notFound`...
    pub async fn vm_snapshot_revert(
        &self,
        id: &ProfileId,
        vm: VmId,
        snapshot: SnapshotId,
    ) -> Result<ActionAccepted> {
        self.accepted(id, vm, async |c| c.vm_snapshot_revert(vm, snapshot).await)
            .await
    }

    /// Deletes a system snapshot.
    ///
    /// # Errors
    /// `wrongState`, `notFound`...
    pub async fn vm_snapshot_delete(
        &self,
        id: &ProfileId,
        vm: VmId,
        snapshot: SnapshotId,
    ) -> Result<ActionAccepted> {
        self.accepted(id, vm, async |c| c.vm_snapshot_delete(vm, snapshot).await)
            .await
    }

    /// The VM's monitoring over the last `range_secs` seconds (capped at a week), as rates.
    ///
    /// # Errors
    /// `invalidInput` for a zero range; oned's errors.
    pub async fn vm_monitoring(
        &self,
        id: &ProfileId,
        vm: VmId,
        range_secs: u32,
    ) -> Result<MonitoringSeries> {
        if range_secs == 0 {
            return Err(invalid("rangeSecs", "must be above 0"));
        }
        let session = self.session(id)?;
        let data = session.client.vm_monitoring(vm).await?;
        let now = i64::try_from(unix_ms(std::time::SystemTime::now()) / 1000).unwrap_or(i64::MAX);
        let since = now - i64::from(range_secs.min(MAX_MONITORING_RANGE_SECS));
        Ok(MonitoringSeries::of(vm, &data, since))
    }
}

/// A name as oned should get it: trimmed, one line, not empty, not too long.
pub(super) fn check_name(name: &str) -> Result<String> {
    let name = name.trim();
    if name.is_empty() {
        return Err(invalid("name", "required"));
    }
    if name.chars().any(char::is_control) {
        return Err(invalid("name", "must be one line"));
    }
    if name.chars().count() > MAX_VM_NAME_LEN {
        return Err(invalid("name", "at most 128 characters"));
    }
    Ok(name.to_owned())
}

fn invalid(field: &'static str, reason: &str) -> Error {
    Error::InvalidInput {
        field,
        reason: reason.to_owned(),
    }
}
