//! Console windows: opened from the main window, connected from their own.

use onedeck_core::{ConsoleEnd, ConsoleGrant, Deck, ProfileId, VmId};
use tauri::{AppHandle, Manager, State, WebviewWindow};

use crate::error::CommandError;

/// Opens the console window of a VM, or focuses the one already open.
#[tauri::command]
pub async fn console_open(
    app: AppHandle,
    deck: State<'_, Deck>,
    id: ProfileId,
    vm_id: VmId,
) -> Result<(), CommandError> {
    let window = deck.console_open(&id, vm_id).await?;
    if let Some(existing) = app.get_webview_window(&window.label) {
        existing.set_focus()?;
        return Ok(());
    }
    if let Err(e) = crate::windows::open_console(&app, &window.label, &window.title) {
        deck.console_closed(&window.label);
        return Err(e.into());
    }
    Ok(())
}

/// A fresh single-use relay ticket and the VNC password, for the calling console window only.
#[tauri::command]
pub async fn console_connect(
    window: WebviewWindow,
    deck: State<'_, Deck>,
) -> Result<ConsoleGrant, CommandError> {
    Ok(deck.console_connect(window.label()).await?)
}

/// How the calling console window's last session ended (`null` while none has): the window says
/// why it closed (e.g. after a time without input).
#[tauri::command]
pub fn console_last_end(
    window: WebviewWindow,
    deck: State<'_, Deck>,
) -> Result<Option<ConsoleEnd>, CommandError> {
    Ok(deck.console_last_end(window.label())?)
}
