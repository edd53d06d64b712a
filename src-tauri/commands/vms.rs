//! VM management: details, actions, resize, rename, reinstall, snapshots, monitoring, bulk
//! actions. Each command calls one `Deck` method; the VM's later changes arrive as
//! `vm-changed` events.

use onedeck_core::{
    ActionAccepted, BulkResult, CapacityInput, Deck, MonitoringSeries, ProfileId, Reinstalled,
    SnapshotCreated, SnapshotId, VmAction, VmDetails, VmId,
};
use tauri::State;

use crate::error::CommandError;

/// The VM as the details panel shows it.
#[tauri::command]
pub async fn vm_details(
    deck: State<'_, Deck>,
    id: ProfileId,
    vm_id: VmId,
) -> Result<VmDetails, CommandError> {
    Ok(deck.vm_details(&id, vm_id).await?)
}

/// A `one.vm.action` (power off, resume, terminate...).
#[tauri::command]
pub async fn vm_action(
    deck: State<'_, Deck>,
    id: ProfileId,
    vm_id: VmId,
    action: VmAction,
) -> Result<ActionAccepted, CommandError> {
    Ok(deck.vm_action(&id, vm_id, action).await?)
}

/// One action on several VMs, with an outcome per VM.
#[tauri::command]
pub async fn vm_bulk_action(
    deck: State<'_, Deck>,
    id: ProfileId,
    vm_ids: Vec<VmId>,
    action: VmAction,
) -> Result<Vec<BulkResult>, CommandError> {
    Ok(deck.vm_bulk_action(&id, &vm_ids, action).await?)
}

/// Reinstall: recreate in place, or replace with a new VM from the same template.
#[tauri::command]
pub async fn vm_reinstall(
    deck: State<'_, Deck>,
    id: ProfileId,
    vm_id: VmId,
) -> Result<Reinstalled, CommandError> {
    Ok(deck.vm_reinstall(&id, vm_id).await?)
}

/// New CPU, vCPU, memory.
#[tauri::command]
pub async fn vm_resize(
    deck: State<'_, Deck>,
    id: ProfileId,
    vm_id: VmId,
    capacity: CapacityInput,
    enforce: bool,
) -> Result<ActionAccepted, CommandError> {
    Ok(deck.vm_resize(&id, vm_id, capacity, enforce).await?)
}

/// A new name.
#[tauri::command]
pub async fn vm_rename(
    deck: State<'_, Deck>,
    id: ProfileId,
    vm_id: VmId,
    name: String,
) -> Result<ActionAccepted, CommandError> {
    Ok(deck.vm_rename(&id, vm_id, &name).await?)
}

/// A new system snapshot.
#[tauri::command]
pub async fn vm_snapshot_create(
    deck: State<'_, Deck>,
    id: ProfileId,
    vm_id: VmId,
    name: String,
) -> Result<SnapshotCreated, CommandError> {
    Ok(deck.vm_snapshot_create(&id, vm_id, &name).await?)
}

/// Back to a system snapshot.
#[tauri::command]
pub async fn vm_snapshot_revert(
    deck: State<'_, Deck>,
    id: ProfileId,
    vm_id: VmId,
    snapshot_id: SnapshotId,
) -> Result<ActionAccepted, CommandError> {
    Ok(deck.vm_snapshot_revert(&id, vm_id, snapshot_id).await?)
}

/// Deletes a system snapshot.
#[tauri::command]
pub async fn vm_snapshot_delete(
    deck: State<'_, Deck>,
    id: ProfileId,
    vm_id: VmId,
    snapshot_id: SnapshotId,
) -> Result<ActionAccepted, CommandError> {
    Ok(deck.vm_snapshot_delete(&id, vm_id, snapshot_id).await?)
}

/// The monitoring series of the last `range_secs` seconds.
#[tauri::command]
pub async fn vm_monitoring(
    deck: State<'_, Deck>,
    id: ProfileId,
    vm_id: VmId,
    range_secs: u32,
) -> Result<MonitoringSeries, CommandError> {
    Ok(deck.vm_monitoring(&id, vm_id, range_secs).await?)
}
