//! Windows the app opens at run time, and what happens when they close.

use onedeck_core::Deck;
use tauri::{AppHandle, Manager, WebviewUrl, WebviewWindowBuilder, Window, WindowEvent};

/// Label prefix of console windows (the `console` capability matches `console-*`).
pub const CONSOLE_PREFIX: &str = "console-";

/// Opens a console window; it asks for its ticket itself (`console_connect`), so nothing secret
/// is in its URL.
pub fn open_console(
    app: &AppHandle,
    label: &str,
    title: &str,
    size: Option<onedeck_core::WindowSize>,
) -> tauri::Result<()> {
    let (w, h) = size.map_or((1040.0, 820.0), |s| {
        (f64::from(s.width), f64::from(s.height))
    });
    WebviewWindowBuilder::new(app, label, WebviewUrl::App("console.html".into()))
        .title(title)
        .inner_size(w, h)
        .min_inner_size(480.0, 360.0)
        .build()?;
    Ok(())
}

/// Label prefix of replay windows (the `replay` capability matches `replay-*`).
pub const REPLAY_PREFIX: &str = "replay-";

/// Opens a replay window; it asks for its recording itself (`replay_info`, `replay_data`).
pub fn open_replay(app: &AppHandle, label: &str, title: &str) -> tauri::Result<()> {
    WebviewWindowBuilder::new(app, label, WebviewUrl::App("replay.html".into()))
        .title(title)
        .inner_size(1280.0, 860.0)
        .min_inner_size(640.0, 420.0)
        .build()?;
    Ok(())
}

/// Ends a console's relay session when its window goes; quits when the main window goes.
pub fn on_window_event(window: &Window, event: &WindowEvent) {
    if !matches!(event, WindowEvent::Destroyed) {
        return;
    }
    let app = window.app_handle();
    let label = window.label();
    if label.starts_with(CONSOLE_PREFIX) {
        if let Some(deck) = app.try_state::<Deck>() {
            deck.console_closed(label);
        }
    } else if label.starts_with(REPLAY_PREFIX) {
        if let Some(deck) = app.try_state::<Deck>() {
            deck.replay_closed(label);
        }
    } else if label == "main" {
        // The consoles belong to the main window's session of the app: quitting closes them.
        for (other, w) in app.webview_windows() {
            if other.starts_with(CONSOLE_PREFIX) || other.starts_with(REPLAY_PREFIX) {
                let _ = w.destroy();
            }
        }
        app.exit(0);
    }
}
