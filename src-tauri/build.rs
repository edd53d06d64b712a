//! Build script of the app shell: generates Tauri's context and its access-control manifests.

fn main() {
    // Capabilities live under src-tauri/, not at the root where tauri-build would look by default;
    // without this line a capability edit would not rebuild the app.
    println!("cargo:rerun-if-changed=src-tauri/capabilities");
    let attributes = tauri_build::Attributes::new()
        .capabilities_path_pattern("./src-tauri/capabilities/**/*")
        // Listing the app's own commands turns on the ACL for them: a window whose capability
        // lacks `allow-<command>` gets "not allowed by ACL" instead of silently calling it.
        .app_manifest(tauri_build::AppManifest::new().commands(onedeck_commands()));
    if let Err(error) = tauri_build::try_build(attributes) {
        panic!("tauri-build failed: {error:#}");
    }
}

/// Every command the app shell registers; keep in step with `commands::handler()` in lib.rs.
fn onedeck_commands() -> &'static [&'static str] {
    &[
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
    ]
}
