//! The OneDeck app shell: a thin Tauri layer over the library crates.
//!
//! It builds the windows, holds long-lived state and exposes commands that translate IPC to
//! library calls and typed errors to a serialisable form. Policy and logic live in `crates/`.

mod commands;
mod error;

pub use error::{CommandError, ErrorKind};

/// Starts the app: logging, the Tauri builder with its commands, and the main window.
pub fn run() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("ONEDECK_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();

    let result = tauri::Builder::default()
        .invoke_handler(commands::handler())
        .run(tauri::generate_context!("tauri.conf.json"));
    if let Err(error) = result {
        // Nothing is on screen to report to at this point: stderr and a failing exit code.
        tracing::error!(%error, "OneDeck could not start");
        std::process::exit(1);
    }
}
