//! Console windows: opened from the main window, connected from their own.

use onedeck_core::{
    ConsoleEnd, ConsoleGrant, ConsoleSettings, Deck, ProfileId, SendKey, SpiceHandoff, TypingPlan,
    VmId,
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

/// Hands a SPICE VM's console to remote-viewer through a one-shot loopback forward of the relay.
#[tauri::command]
pub async fn console_spice_open(
    deck: State<'_, Deck>,
    id: ProfileId,
    vm_id: VmId,
) -> Result<SpiceHandoff, CommandError> {
    Ok(deck.spice_open(&id, vm_id).await?)
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

/// Header of `console_screenshot`: `file` (a save dialog) or `clipboard`.
const SCREENSHOT_TARGET: &str = "x-screenshot-target";
/// Header of `console_screenshot`: when it was taken, in the user's local time
/// (`YYYY-MM-DD HH-MM-SS`), for the file name.
const SCREENSHOT_TAKEN: &str = "x-screenshot-taken";

/// The calling console window's screen, as the PNG its canvas encoded (the raw request body):
/// saved where the user says in a save dialog (the path returned; `null` when cancelled), or
/// put on the clipboard. A window never names a path itself.
#[tauri::command]
pub async fn console_screenshot(
    app: AppHandle,
    window: WebviewWindow,
    deck: State<'_, Deck>,
    request: tauri::ipc::Request<'_>,
) -> Result<Option<String>, CommandError> {
    use tauri_plugin_clipboard_manager::ClipboardExt;
    use tauri_plugin_dialog::DialogExt;

    let tauri::ipc::InvokeBody::Raw(png) = request.body() else {
        return Err(onedeck_core::Error::InvalidInput {
            field: "screenshot",
            reason: "the PNG must be the request's raw body".into(),
        }
        .into());
    };
    let header = |name: &str| {
        request
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    onedeck_core::screenshot::png_size(png)?;
    match header(SCREENSHOT_TARGET).as_str() {
        "clipboard" => {
            let (w, h, rgba) = onedeck_core::screenshot::png_rgba(png)?;
            app.clipboard()
                .write_image(&tauri::image::Image::new_owned(rgba, w, h))
                .map_err(|e| {
                    CommandError::internal(format!("the clipboard refused the image: {e}"))
                })?;
            Ok(None)
        }
        "file" => {
            let name = deck.console_screenshot_name(window.label(), &header(SCREENSHOT_TAKEN))?;
            let (tx, rx) = tokio::sync::oneshot::channel();
            let mut dialog = app
                .dialog()
                .file()
                .set_parent(&window)
                .set_file_name(name)
                .add_filter("PNG image", &["png"]);
            if let Ok(pictures) = tauri::Manager::path(&app).picture_dir() {
                dialog = dialog.set_directory(pictures);
            }
            dialog.save_file(move |chosen| {
                let _ = tx.send(chosen);
            });
            let Some(chosen) = rx.await.ok().flatten() else {
                return Ok(None);
            };
            let path = chosen
                .into_path()
                .map_err(|e| CommandError::internal(format!("the dialog gave no file: {e}")))?;
            let bytes = png.to_vec();
            let written = path.clone();
            tokio::task::spawn_blocking(move || {
                onedeck_core::screenshot::write_png(&written, &bytes)
            })
            .await
            .map_err(|e| CommandError::internal(e.to_string()))??;
            Ok(Some(path.display().to_string()))
        }
        other => Err(onedeck_core::Error::InvalidInput {
            field: "target",
            reason: format!("{other:?}: file or clipboard"),
        }
        .into()),
    }
}

/// The most clipboard text passed either way (RFB cut text is meant for text, not files).
const MAX_CLIPBOARD: usize = 1 << 20;

/// The local clipboard's text for the calling console window, when its VM shares the clipboard
/// (`null` when it holds no text).
#[tauri::command]
pub async fn console_clipboard_read(
    app: AppHandle,
    window: WebviewWindow,
    deck: State<'_, Deck>,
) -> Result<Option<String>, CommandError> {
    use tauri_plugin_clipboard_manager::ClipboardExt;
    deck.console_clipboard_allowed(window.label()).await?;
    Ok(app
        .clipboard()
        .read_text()
        .ok()
        .filter(|t| !t.is_empty() && t.len() <= MAX_CLIPBOARD))
}

/// Puts what the calling console window's VM copied on the local clipboard, when it shares it.
#[tauri::command]
pub async fn console_clipboard_write(
    app: AppHandle,
    window: WebviewWindow,
    deck: State<'_, Deck>,
    text: String,
) -> Result<(), CommandError> {
    use tauri_plugin_clipboard_manager::ClipboardExt;
    deck.console_clipboard_allowed(window.label()).await?;
    if text.len() > MAX_CLIPBOARD {
        return Err(onedeck_core::Error::InvalidInput {
            field: "text",
            reason: format!("{} bytes (at most {MAX_CLIPBOARD})", text.len()),
        }
        .into());
    }
    app.clipboard()
        .write_text(text)
        .map_err(|e| CommandError::internal(format!("the clipboard refused the text: {e}")))
}
