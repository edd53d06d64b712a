//! Templates and creating VMs from them.

use onedeck_core::{CreateRequest, Created, Deck, ProfileId, TemplateSummary};
use tauri::State;

use crate::error::CommandError;

/// The templates the user may instantiate, with their USER_INPUTS.
#[tauri::command]
pub async fn template_list(
    deck: State<'_, Deck>,
    id: ProfileId,
) -> Result<Vec<TemplateSummary>, CommandError> {
    Ok(deck.template_list(&id).await?)
}

/// Creates VMs from a template (answers checked before anything is sent).
#[tauri::command]
pub async fn vm_create(
    deck: State<'_, Deck>,
    id: ProfileId,
    request: CreateRequest,
) -> Result<Created, CommandError> {
    Ok(deck.vm_create(&id, request).await?)
}
