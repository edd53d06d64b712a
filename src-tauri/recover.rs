//! A window whose WebKit web process died (a crash, the system killing it) comes back by itself:
//! it reloads, and the page reads its state from the core again. Without this it stays blank
//! until the user closes it. Linux only: on macOS and Windows the platform webviews do this
//! themselves or report it otherwise.

use tauri::Runtime;
use tauri::plugin::{Builder, TauriPlugin};

/// The plugin that watches every webview the app creates.
pub fn plugin<R: Runtime>() -> TauriPlugin<R> {
    Builder::new("webview-recover")
        .on_webview_ready(|webview| {
            #[cfg(target_os = "linux")]
            {
                let label = webview.label().to_owned();
                let watched = webview.with_webview(move |platform| {
                    use webkit2gtk::{WebViewExt, WebProcessTerminationReason};
                    platform.inner().connect_web_process_terminated(move |view, reason| {
                        let why = match reason {
                            WebProcessTerminationReason::Crashed => "crashed",
                            WebProcessTerminationReason::ExceededMemoryLimit => "exceeded its memory limit",
                            _ => "ended",
                        };
                        tracing::warn!(window = %label, "the window's web process {why}: reloading it");
                        view.reload();
                    });
                });
                if let Err(error) = watched {
                    tracing::warn!(%error, "a window's web process is not watched");
                }
            }
            #[cfg(not(target_os = "linux"))]
            let _ = webview;
        })
        .build()
}
