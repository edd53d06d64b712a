//! The OneDeck app shell: a thin Tauri layer over the library crates.
//!
//! It builds the windows, holds the [`onedeck_core::Deck`] as managed state and exposes commands
//! that translate IPC to its calls and its typed errors to a serialisable form. Policy and logic
//! live in `crates/`.

mod commands;
mod error;
mod recover;
mod windows;

pub use error::{CommandError, ErrorKind};

use onedeck_core::{Deck, DeckConfig, DeckEvent};
use tauri::{Emitter, Manager, RunEvent};

/// Starts the app: logging, the deck (relay, store, demo cloud), the Tauri builder with its
/// commands, and the main window.
pub fn run() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("ONEDECK_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();

    let app = tauri::Builder::default()
        // First: a second launch hands its arguments (an `onedeck://` link) to this one and exits.
        .plugin(tauri_plugin_single_instance::init(|app, argv, _cwd| {
            if let Some(main) = app.get_webview_window("main") {
                let _ = main.set_focus();
            }
            open_links(app, argv);
        }))
        .plugin(tauri_plugin_deep_link::init())
        .plugin(recover::plugin())
        .plugin(tauri_plugin_dialog::init())
        .plugin(tauri_plugin_clipboard_manager::init())
        .invoke_handler(commands::handler())
        .on_window_event(windows::on_window_event)
        .setup(|app| {
            let deck = tauri::async_runtime::block_on(Deck::start(deck_config()))?;
            forward_events(app.handle().clone(), &deck);
            app.manage(deck);
            open_links(app.handle(), std::env::args());
            Ok(())
        })
        .build(tauri::generate_context!("tauri.conf.json"));
    let app = match app {
        Ok(app) => app,
        Err(error) => {
            // Nothing is on screen to report to at this point: stderr and a failing exit code.
            tracing::error!(%error, "OneDeck could not start");
            std::process::exit(1);
        }
    };
    app.run(|handle, event| {
        if let RunEvent::Exit = event
            && let Some(deck) = handle.try_state::<Deck>()
        {
            // Close console sessions (audit rows get their end) and stop the demo cloud.
            tauri::async_runtime::block_on(deck.shutdown());
        }
    });
}

/// The deck's configuration. `make dev` sets `ONEDECK_DEV_ORIGIN` so that consoles work from
/// Vite's dev server; only a debug build honours it, and only with that exact origin.
fn deck_config() -> DeckConfig {
    let mut config = DeckConfig::default();
    if let Ok(origin) = std::env::var("ONEDECK_DEV_ORIGIN") {
        if cfg!(debug_assertions) && origin == onedeck_core::DEV_ORIGIN {
            if let Some(relay) = &mut config.relay {
                relay.origins = relay.origins.clone().also(origin);
            }
            tracing::warn!(
                "consoles also accept the Vite dev server's origin (ONEDECK_DEV_ORIGIN)"
            );
        } else {
            tracing::error!(
                %origin,
                "ONEDECK_DEV_ORIGIN is refused: only a debug build accepts it, and only {}",
                onedeck_core::DEV_ORIGIN
            );
        }
    }
    config
}

/// Opens the consoles that `onedeck://console/...` arguments name (a link a script, a browser or
/// `onedeck-cli console` launched the app with). A refused link is shown in the main window
/// (`link-refused`, a `CommandError`), never acted on.
fn open_links(app: &tauri::AppHandle, args: impl IntoIterator<Item = String>) {
    let prefix = format!("{}://", onedeck_core::LINK_SCHEME);
    for link in args.into_iter().filter(|a| a.starts_with(&prefix)) {
        let app = app.clone();
        tauri::async_runtime::spawn(async move {
            let Some(deck) = app.try_state::<Deck>() else {
                return;
            };
            let opened = match deck.open_console_link(&link).await {
                Ok(window) => match app.get_webview_window(&window.label) {
                    Some(existing) => existing.set_focus().map_err(CommandError::from),
                    None => windows::open_console(&app, &window.label, &window.title, window.size)
                        .map_err(|e| {
                            deck.console_closed(&window.label);
                            CommandError::from(e)
                        }),
                },
                Err(e) => Err(CommandError::from(e)),
            };
            if let Err(refused) = opened {
                tracing::info!(kind = ?refused.kind, "a console link was refused");
                if let Err(e) = app.emit_to("main", "link-refused", &refused) {
                    tracing::warn!(error = %e, "could not tell the main window");
                }
            }
        });
    }
}

/// Passes the deck's events to the main window (`console-ended`, `signed-out`).
fn forward_events(app: tauri::AppHandle, deck: &Deck) {
    let mut events = deck.subscribe();
    tauri::async_runtime::spawn(async move {
        loop {
            match events.recv().await {
                Ok(event) => {
                    let name = match &event {
                        DeckEvent::ConsoleEnded { .. } => "console-ended",
                        DeckEvent::SignedOut { .. } => "signed-out",
                        DeckEvent::VmChanged { .. } => "vm-changed",
                    };
                    if let Err(e) = app.emit_to("main", name, &event) {
                        tracing::warn!(error = %e, "could not tell the main window");
                    }
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(missed)) => {
                    tracing::warn!(missed, "the main window missed some of the deck's events");
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
            }
        }
    });
}
