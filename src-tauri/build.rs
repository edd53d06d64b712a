//! Build script of the app shell: generates Tauri's context and its access-control manifests.

fn main() {
    // Capabilities live under src-tauri/, not at the root where tauri-build would look by default;
    // without this line a capability edit would not rebuild the app.
    println!("cargo:rerun-if-changed=src-tauri/capabilities");
    println!("cargo:rerun-if-changed=src-tauri/command_names.rs");
    let attributes = tauri_build::Attributes::new()
        .capabilities_path_pattern("./src-tauri/capabilities/**/*")
        // Listing the app's own commands turns on the ACL for them: a window whose capability
        // lacks `allow-<command>` gets "not allowed by ACL" instead of silently calling it.
        .app_manifest(tauri_build::AppManifest::new().commands(onedeck_commands()));
    if let Err(error) = tauri_build::try_build(attributes) {
        panic!("tauri-build failed: {error:#}");
    }
}

include!("command_names.rs");

fn onedeck_commands() -> &'static [&'static str] {
    COMMAND_NAMES
}
