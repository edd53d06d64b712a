//! The audit view (main window) and replay windows (their own capability: recordings only).

use onedeck_core::{AuditEntry, AuditQuery, AuditVerification, Deck, ReplayInfo};
use tauri::{AppHandle, Manager, State, WebviewWindow, ipc::Response};

use crate::error::CommandError;

/// Console sessions matching the audit view's filters, newest first.
#[tauri::command]
pub async fn audit_search(
    deck: State<'_, Deck>,
    query: AuditQuery,
) -> Result<Vec<AuditEntry>, CommandError> {
    Ok(deck.audit_search(query).await?)
}

/// Checks the audit log's chain and every recording against the head its row sealed.
#[tauri::command]
pub async fn audit_verify(deck: State<'_, Deck>) -> Result<AuditVerification, CommandError> {
    Ok(deck.audit_verify().await?)
}

/// Opens the replay window of a recorded session, or focuses the one already open.
#[tauri::command]
pub async fn replay_open(
    app: AppHandle,
    deck: State<'_, Deck>,
    audit_id: i64,
) -> Result<(), CommandError> {
    let window = deck.replay_open(audit_id).await?;
    if let Some(existing) = app.get_webview_window(&window.label) {
        existing.set_focus()?;
        return Ok(());
    }
    if let Err(e) = crate::windows::open_replay(&app, &window.label, &window.title) {
        deck.replay_closed(&window.label);
        return Err(e.into());
    }
    Ok(())
}

/// The calling replay window's session: header, keystroke timeline, clicks, chunks.
#[tauri::command]
pub async fn replay_info(
    window: WebviewWindow,
    deck: State<'_, Deck>,
) -> Result<ReplayInfo, CommandError> {
    Ok(deck.replay_info(window.label()).await?)
}

/// The screen's bytes of chunks `from..from + count` for the calling replay window, or with
/// `keyframes` only their keyframes, as a binary answer (docs/IPC.md).
#[tauri::command]
pub async fn replay_data(
    window: WebviewWindow,
    deck: State<'_, Deck>,
    from: u32,
    count: u32,
    keyframes: Option<bool>,
) -> Result<Response, CommandError> {
    Ok(Response::new(
        deck.replay_data(window.label(), from, count, keyframes.unwrap_or(false))
            .await?,
    ))
}

/// Writes the matching sessions as CSV or JSON into the app's exports directory; returns the
/// file's path for the window to show.
#[tauri::command]
pub async fn audit_export(
    deck: State<'_, Deck>,
    query: AuditQuery,
    format: onedeck_core::ExportFormat,
) -> Result<String, CommandError> {
    Ok(deck
        .audit_export(query, format)
        .await?
        .display()
        .to_string())
}

/// Copies a session's recording and its verification data into the exports directory.
#[tauri::command]
pub async fn recording_export(
    deck: State<'_, Deck>,
    audit_id: i64,
) -> Result<String, CommandError> {
    Ok(deck.recording_export(audit_id).await?.display().to_string())
}
