//! IPC commands: each takes managed state, calls one library function and maps its error.

mod app;
mod audit;
mod console;
mod inventory;
mod profiles;
mod templates;
mod vms;

/// The invoke handler with every command; keep in step with `command_names.rs` (tested).
pub fn handler() -> impl Fn(tauri::ipc::Invoke) -> bool + Send + Sync + 'static {
    tauri::generate_handler![
        app::app_info,
        profiles::profiles_list,
        profiles::profile_save,
        profiles::profile_remove,
        profiles::sign_in,
        profiles::sign_out,
        profiles::ssh_host_key_accept,
        profiles::ssh_secret_save,
        inventory::inventory_cached,
        inventory::inventory_sync,
        inventory::table_view,
        inventory::table_view_save,
        console::console_open,
        console::console_spice_open,
        console::console_connect,
        console::console_last_end,
        console::console_keys,
        console::console_typing_plan,
        console::console_settings,
        console::console_settings_save,
        console::console_screenshot,
        console::console_clipboard_read,
        console::console_clipboard_write,
        vms::vm_details,
        vms::vm_action,
        vms::vm_bulk_action,
        vms::vm_reinstall,
        vms::vm_resize,
        vms::vm_rename,
        vms::vm_snapshot_create,
        vms::vm_snapshot_revert,
        vms::vm_snapshot_delete,
        vms::vm_monitoring,
        templates::template_list,
        templates::vm_create,
        audit::audit_search,
        audit::audit_verify,
        audit::replay_open,
        audit::replay_info,
        audit::replay_data,
        audit::audit_export,
        audit::recording_export,
    ]
}

#[cfg(test)]
mod tests {
    include!("../command_names.rs");

    #[test]
    fn every_command_of_the_acl_list_is_registered_and_granted_to_a_window() {
        let handler = include_str!("mod.rs");
        let capabilities = [
            include_str!("../capabilities/main.json"),
            include_str!("../capabilities/console.json"),
            include_str!("../capabilities/replay.json"),
        ];
        for name in COMMAND_NAMES {
            assert!(
                handler.contains(&format!("::{name},")),
                "{name} is not in handler()"
            );
            let permission = format!("\"allow-{}\"", name.replace('_', "-"));
            assert!(
                capabilities.iter().any(|c| c.contains(&permission)),
                "no window may call {name}"
            );
        }
    }

    #[test]
    fn replay_windows_may_only_read_their_recording() {
        let cap: serde_json::Value =
            serde_json::from_str(include_str!("../capabilities/replay.json")).expect("valid JSON");
        assert_eq!(cap["windows"], serde_json::json!(["replay-*"]));
        assert_eq!(
            cap["permissions"],
            serde_json::json!(["allow-replay-info", "allow-replay-data"])
        );
        for other in ["main.json", "console.json"] {
            let text = match other {
                "main.json" => include_str!("../capabilities/main.json"),
                _ => include_str!("../capabilities/console.json"),
            };
            assert!(
                !text.contains("allow-replay-info") && !text.contains("allow-replay-data"),
                "{other} must not read recordings"
            );
        }
    }

    #[test]
    fn console_windows_may_only_ask_for_their_ticket_and_how_it_ended() {
        let text = include_str!("../capabilities/console.json");
        let cap: serde_json::Value = serde_json::from_str(text).expect("valid JSON");
        assert_eq!(cap["windows"], serde_json::json!(["console-*"]));
        // Their own ticket and end, the pure keyboard helpers, their own VM's settings, and a
        // screenshot the user saves through a dialog: nothing about profiles, VMs or windows,
        // and none of the dialog or clipboard plugins' own commands.
        assert_eq!(
            cap["permissions"],
            serde_json::json!([
                "allow-console-connect",
                "allow-console-last-end",
                "allow-console-keys",
                "allow-console-typing-plan",
                "allow-console-settings",
                "allow-console-settings-save",
                "allow-console-screenshot",
                "allow-console-clipboard-read",
                "allow-console-clipboard-write"
            ])
        );
        let main: serde_json::Value =
            serde_json::from_str(include_str!("../capabilities/main.json")).expect("valid JSON");
        let granted = main["permissions"].as_array().expect("a list");
        assert!(
            !granted.iter().any(|p| p == "allow-console-connect"),
            "the main window never holds a console ticket"
        );
        assert!(
            !granted.iter().any(|p| p == "allow-console-last-end"),
            "only a console window asks how its own session ended"
        );
        for p in granted {
            let p = p.as_str().unwrap_or_default();
            assert!(
                !p.starts_with("dialog:") && !p.starts_with("clipboard-manager:"),
                "no window calls the dialog or clipboard plugins itself: {p}"
            );
        }
    }
}
