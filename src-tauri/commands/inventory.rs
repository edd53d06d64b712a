//! The VM inventory of a profile.

use onedeck_core::{Deck, Inventory, ProfileId};
use tauri::State;

use crate::error::CommandError;

/// The cached snapshot, shown at once while a refresh runs.
#[tauri::command]
pub async fn inventory_cached(
    deck: State<'_, Deck>,
    id: ProfileId,
) -> Result<Option<Inventory>, CommandError> {
    Ok(deck.inventory_cached(&id).await?)
}

/// The VMs from the endpoint (or the cache, marked stale, when it cannot be reached).
#[tauri::command]
pub async fn inventory_refresh(
    deck: State<'_, Deck>,
    id: ProfileId,
) -> Result<Inventory, CommandError> {
    Ok(deck.inventory_refresh(&id).await?)
}
