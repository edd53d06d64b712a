// The app's own IPC commands, included by build.rs (the ACL manifest) and by the commands'
// tests (which check each one is registered), so the two lists cannot drift apart.

/// Every command the app shell registers in `commands::handler()`.
pub const COMMAND_NAMES: &[&str] = &[
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
    "console_last_end",
    "vm_details",
    "vm_action",
    "vm_bulk_action",
    "vm_reinstall",
    "vm_resize",
    "vm_rename",
    "vm_snapshot_create",
    "vm_snapshot_revert",
    "vm_snapshot_delete",
    "vm_monitoring",
    "template_list",
    "vm_create",
];
