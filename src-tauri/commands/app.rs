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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn app_info_matches_the_ui_mirror() {
        let json = serde_json::to_value(app_info()).expect("plain data serialises");
        assert_eq!(json["version"], env!("CARGO_PKG_VERSION"));
        assert_eq!(json["platform"], std::env::consts::OS);
        assert_eq!(
            json.as_object().map(|o| o.len()),
            Some(2),
            "AppInfo in ui/src/lib/ipc.ts has two fields"
        );
    }
}
