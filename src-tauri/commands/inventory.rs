//! The VM inventory of a profile, sent as deltas; the table views.

use onedeck_core::{Deck, InventoryDelta, ProfileId, TableView};
use tauri::State;
use tauri::ipc::Channel;

use crate::error::CommandError;

/// The cached snapshot (a reset delta), shown at once while a sync runs.
#[tauri::command]
pub async fn inventory_cached(
    deck: State<'_, Deck>,
    id: ProfileId,
) -> Result<Option<InventoryDelta>, CommandError> {
    Ok(deck.inventory_cached(&id).await?)
}

/// Brings the window's rows up to date: pages of a first load go through `on_page` as they
/// arrive; the reply is the last delta.
#[tauri::command]
pub async fn inventory_sync(
    deck: State<'_, Deck>,
    id: ProfileId,
    since: Option<u64>,
    on_page: Channel<InventoryDelta>,
) -> Result<InventoryDelta, CommandError> {
    Ok(deck
        .inventory_sync(&id, since, move |page| {
            // A window that went away takes its pages with it; the sync still completes.
            let _ = on_page.send(page);
        })
        .await?)
}

/// How a table (a profile's, or all endpoints' when `id` is null) was last shown.
#[tauri::command]
pub async fn table_view(
    deck: State<'_, Deck>,
    id: Option<ProfileId>,
) -> Result<TableView, CommandError> {
    Ok(deck.table_view(id.as_ref()).await?)
}

/// Remembers how a table is shown.
#[tauri::command]
pub async fn table_view_save(
    deck: State<'_, Deck>,
    id: Option<ProfileId>,
    view: TableView,
) -> Result<(), CommandError> {
    Ok(deck.table_view_save(id.as_ref(), &view).await?)
}
