//! Facts about the running app itself.

use serde::Serialize;

/// What the status bar shows about the app.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AppInfo {
    /// The app's version, from Cargo.toml.
    pub version: &'static str,
    /// The platform it was built for (`linux`, `macos`, `windows`).
    pub platform: &'static str,
}

/// Returns the app's version and platform.
#[tauri::command]
pub fn app_info() -> AppInfo {
    AppInfo {
        version: env!("CARGO_PKG_VERSION"),
        platform: std::env::consts::OS,
    }
}
