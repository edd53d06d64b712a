//! IPC commands: each takes managed state, calls one library function and maps its error.

mod app;

/// The invoke handler with every command; keep in step with build.rs's command list.
pub fn handler() -> impl Fn(tauri::ipc::Invoke) -> bool + Send + Sync + 'static {
    tauri::generate_handler![app::app_info]
}
