//! The VM calls: pools, info, actions, recover and reinstall, resize, rename, snapshots,
//! monitoring.

use super::{
    Capacity, Client, Instantiate, PoolFilter, PoolRange, Reinstall, StateFilter, shape_error,
};
use crate::error::{Error, Result};
use crate::model::action::{RecoverOp, VmAction};
use crate::model::ids::{SnapshotId, VmId};
use crate::model::vm::{MonitoringData, Vm, VmPool};
use crate::xmlrpc::Param;

impl Client {
    /// `one.vmpool.info`: short VM bodies (enough for the list and the console target).
    ///
    /// # Errors
    /// As [`Client::call`].
    pub async fn vm_pool_info(
        &self,
        filter: PoolFilter,
        state: StateFilter,
        range: PoolRange,
    ) -> Result<VmPool> {
        let (start, end) = range.bounds();
        let params = [
            Param::Int(filter.flag()),
            Param::Int(start),
            Param::Int(end),
            Param::Int(state.value()),
        ];
        self.call_doc("one.vmpool.info", &params).await
    }

    /// `one.vmpool.infoextended`: full VM bodies (heavy: page it).
    ///
    /// # Errors
    /// As [`Client::call`].
    pub async fn vm_pool_info_extended(
        &self,
        filter: PoolFilter,
        state: StateFilter,
        range: PoolRange,
    ) -> Result<VmPool> {
        let (start, end) = range.bounds();
        let params = [
            Param::Int(filter.flag()),
            Param::Int(start),
            Param::Int(end),
            Param::Int(state.value()),
        ];
        self.call_doc("one.vmpool.infoextended", &params).await
    }

    /// `one.vmpool.infoset`: a known set of VMs, cheaply refreshed.
    ///
    /// # Errors
    /// As [`Client::call`].
    pub async fn vm_pool_info_set(&self, ids: &[VmId], extended: bool) -> Result<VmPool> {
        let list = ids
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(",");
        self.call_doc(
            "one.vmpool.infoset",
            &[Param::Str(&list), Param::Bool(extended)],
        )
        .await
    }

    /// `one.vm.info`: the full document, all history records.
    ///
    /// # Errors
    /// As [`Client::call`]; [`Error::NoExists`] for an unknown id.
    pub async fn vm_info(&self, id: VmId) -> Result<Vm> {
        self.call_doc("one.vm.info", &[Param::Int(id.0), Param::Bool(false)])
            .await
    }

    /// `one.vm.action`: the action name goes first, then the id. Success means "accepted".
    ///
    /// # Errors
    /// As [`Client::call`]; [`Error::Action`] when the state does not allow it.
    pub async fn vm_action(&self, action: VmAction, id: VmId) -> Result<VmId> {
        self.call_int(
            "one.vm.action",
            &[Param::Str(action.as_str()), Param::Int(id.0)],
        )
        .await
        .map(VmId)
    }

    /// `one.vm.recover` (admin).
    ///
    /// # Errors
    /// As [`Client::call`]; [`Error::Authorization`] without ADMIN rights on the VM.
    pub async fn vm_recover(&self, id: VmId, op: RecoverOp) -> Result<VmId> {
        self.call_int("one.vm.recover", &[Param::Int(id.0), Param::Int(op.code())])
            .await
            .map(VmId)
    }

    /// Reinstalls a VM the way the user's rights allow: `recover` delete-recreate (same id), or,
    /// when that is not authorised, instantiate its template again with the same name and
    /// capacity and terminate the old VM. Says which way happened.
    ///
    /// The new VM is created before the old one is terminated, so a failing instantiate (quota,
    /// rights) leaves the user's VM untouched.
    ///
    /// # Errors
    /// As [`Client::call`]; [`Error::Config`]-free: a VM that does not name its template gives
    /// the original [`Error::Authorization`].
    pub async fn vm_reinstall(&self, id: VmId) -> Result<Reinstall> {
        let denied = match self.vm_recover(id, RecoverOp::DeleteRecreate).await {
            Ok(_) => return Ok(Reinstall::Recreated { id }),
            Err(e @ Error::Authorization(_)) => e,
            Err(e) => return Err(e),
        };
        let vm = self.vm_info(id).await?;
        let Some(template_id) = vm.template.template_id else {
            return Err(denied);
        };
        let wanted = Capacity::of(&vm.template);
        // Only send what differs from the template: a non-empty extra template needs
        // TEMPLATE:CREATE, which plain users of most groups lack (API.md §2).
        let capacity = match self.template_info(template_id).await {
            Ok(t) => wanted.differences(&t.template),
            Err(_) => wanted,
        };
        let spec = Instantiate {
            name: vm.name.clone(),
            count: 1,
            hold: false,
            capacity,
            extra_template: String::new(),
        };
        let created = self.template_instantiate(template_id, &spec).await?;
        let new = created
            .first()
            .copied()
            .ok_or_else(|| shape_error("instantiate returned no VM".to_owned()))?;
        self.vm_action(VmAction::TerminateHard, id).await?;
        Ok(Reinstall::Replaced { old: id, new })
    }

    /// `one.vm.resize`: `None` values stay unchanged; `enforce` checks host capacity (honoured
    /// for the oneadmin group only).
    ///
    /// # Errors
    /// As [`Client::call`].
    pub async fn vm_resize(&self, id: VmId, capacity: Capacity, enforce: bool) -> Result<VmId> {
        let template = capacity.to_template();
        self.call_int(
            "one.vm.resize",
            &[
                Param::Int(id.0),
                Param::Str(&template),
                Param::Bool(enforce),
            ],
        )
        .await
        .map(VmId)
    }

    /// `one.vm.rename`.
    ///
    /// # Errors
    /// As [`Client::call`].
    pub async fn vm_rename(&self, id: VmId, name: &str) -> Result<VmId> {
        self.call_int("one.vm.rename", &[Param::Int(id.0), Param::Str(name)])
            .await
            .map(VmId)
    }

    /// `one.vm.snapshotcreate`: returns the new snapshot's id (RUNNING only).
    ///
    /// # Errors
    /// As [`Client::call`].
    pub async fn vm_snapshot_create(&self, id: VmId, name: &str) -> Result<SnapshotId> {
        self.call_int(
            "one.vm.snapshotcreate",
            &[Param::Int(id.0), Param::Str(name)],
        )
        .await
        .map(SnapshotId)
    }

    /// `one.vm.snapshotrevert`.
    ///
    /// # Errors
    /// As [`Client::call`].
    pub async fn vm_snapshot_revert(&self, id: VmId, snapshot: SnapshotId) -> Result<VmId> {
        self.call_int(
            "one.vm.snapshotrevert",
            &[Param::Int(id.0), Param::Int(snapshot.0)],
        )
        .await
        .map(VmId)
    }

    /// `one.vm.snapshotdelete`.
    ///
    /// # Errors
    /// As [`Client::call`].
    pub async fn vm_snapshot_delete(&self, id: VmId, snapshot: SnapshotId) -> Result<VmId> {
        self.call_int(
            "one.vm.snapshotdelete",
            &[Param::Int(id.0), Param::Int(snapshot.0)],
        )
        .await
        .map(VmId)
    }

    /// `one.vm.monitoring`.
    ///
    /// # Errors
    /// As [`Client::call`].
    pub async fn vm_monitoring(&self, id: VmId) -> Result<MonitoringData> {
        self.call_doc("one.vm.monitoring", &[Param::Int(id.0)])
            .await
    }
}
