//! IPC commands: each takes managed state, calls one library function and maps its error.

mod app;
mod console;
mod inventory;
mod profiles;

/// The invoke handler with every command; keep in step with build.rs's command list.
pub fn handler() -> impl Fn(tauri::ipc::Invoke) -> bool + Send + Sync + 'static {
    tauri::generate_handler![
        app::app_info,
        profiles::profiles_list,
        profiles::profile_save,
        profiles::profile_remove,
        profiles::sign_in,
        profiles::sign_out,
        inventory::inventory_cached,
        inventory::inventory_refresh,
        console::console_open,
        console::console_connect,
    ]
}

/// Every command name, as build.rs lists them for the ACL (checked by a test).
#[cfg(test)]
pub const NAMES: &[&str] = &[
    "app_info",
    "profiles_list",
    "profile_save",
    "profile_remove",
    "sign_in",
    "sign_out",
    "inventory_cached",
    "inventory_refresh",
    "console_open",
    "console_connect",
];

#[cfg(test)]
mod tests {
    use super::NAMES;

    #[test]
    fn build_rs_lists_every_command_for_the_acl() {
        let build_rs = include_str!("../build.rs");
        for name in NAMES {
            assert!(
                build_rs.contains(&format!("\"{name}\"")),
                "{name} missing in build.rs"
            );
        }
    }

    #[test]
    fn console_windows_may_only_ask_for_their_ticket() {
        let text = include_str!("../capabilities/console.json");
        let cap: serde_json::Value = serde_json::from_str(text).expect("valid JSON");
        assert_eq!(cap["windows"], serde_json::json!(["console-*"]));
        assert_eq!(
            cap["permissions"],
            serde_json::json!(["allow-console-connect"])
        );
        let main: serde_json::Value =
            serde_json::from_str(include_str!("../capabilities/main.json")).expect("valid JSON");
        let granted = main["permissions"].as_array().expect("a list");
        assert!(
            !granted.iter().any(|p| p == "allow-console-connect"),
            "the main window never holds a console ticket"
        );
    }
}
