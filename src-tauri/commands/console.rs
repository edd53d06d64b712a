//! Console windows: opened from the main window, connected from their own.

use onedeck_core::{
    ConsoleEnd, ConsoleGrant, ConsoleSettings, Deck, ProfileId, SendKey, TypingPlan, VmId,
};
use serde::Serialize;
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
    if let Err(e) = crate::windows::open_console(&app, &window.label, &window.title, window.size) {
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

/// A keyboard layout a paste can be typed for.
#[derive(Debug, Serialize)]
pub struct KeyboardLayout {
    code: &'static str,
    name: &'static str,
}

/// The console toolbar's keyboard menus.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConsoleKeys {
    layouts: Vec<KeyboardLayout>,
    send_keys: Vec<SendKey>,
}

/// The send-key menu and the layouts a paste can be typed for.
#[tauri::command]
pub fn console_keys() -> ConsoleKeys {
    ConsoleKeys {
        layouts: onedeck_core::keyboard_layouts()
            .into_iter()
            .map(|(code, name)| KeyboardLayout { code, name })
            .collect(),
        send_keys: onedeck_core::send_keys(),
    }
}

/// The key events that type `text` on `layout`, and what it cannot type.
#[tauri::command]
pub fn console_typing_plan(text: String, layout: String) -> Result<TypingPlan, CommandError> {
    Ok(onedeck_core::typing_plan(&text, &layout)?)
}

/// The calling console window's VM settings (scaling, layout, pace, size, custom keys).
#[tauri::command]
pub async fn console_settings(
    window: WebviewWindow,
    deck: State<'_, Deck>,
) -> Result<ConsoleSettings, CommandError> {
    Ok(deck.console_settings(window.label()).await?)
}

/// Saves the calling console window's VM settings.
#[tauri::command]
pub async fn console_settings_save(
    window: WebviewWindow,
    deck: State<'_, Deck>,
    settings: ConsoleSettings,
) -> Result<(), CommandError> {
    Ok(deck.console_settings_save(window.label(), settings).await?)
}
