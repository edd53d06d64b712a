//! The SPICE hand-off: a VM whose console is SPICE opens in remote-viewer, through a one-shot
//! loopback forward of the relay (so the viewer reaches hypervisors the way the app's own
//! consoles do, and never needs the VM's real address).

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use onedeck_opennebula::{ConsoleTarget, VmId};
use onedeck_relay::{Forward, ForwardOptions, Target};
use onedeck_vault::ProfileId;
use tokio::sync::oneshot;

use super::Deck;
use crate::error::{Error, Result};
use crate::spice::{REMOTE_VIEWER_ENV, VvFile, find_remote_viewer, vv_dir, write_vv};
use crate::view::SpiceHandoff;

/// How long [`Deck::spice_open`] waits to learn whether the viewer connected or quit: a viewer
/// that cannot start (no display, a broken install) fails within this.
pub const SPICE_START_WAIT: Duration = Duration::from_secs(3);

/// How the viewer's first seconds went.
enum Start {
    Connected,
    Quit(String),
}

impl Deck {
    /// Opens `vm_id`'s SPICE console in remote-viewer: reads the VM afresh, opens a one-shot
    /// loopback forward to its SPICE target, writes the `.vv` file (0600, `delete-this-file=1`)
    /// and starts the viewer on it. The file is removed once the viewer connected (or quit, or
    /// the forward ended); the forward closes when the viewer quits.
    ///
    /// # Errors
    /// `notSignedIn`; `noConsole` (not SPICE, not running, unsafe target); `remoteViewer` when
    /// remote-viewer is not installed (nothing else happens then) or did not start; the
    /// endpoint's errors.
    pub async fn spice_open(&self, id: &ProfileId, vm_id: VmId) -> Result<SpiceHandoff> {
        let session = self.session(id)?;
        // Before anything is opened or written: without a viewer there is nothing to hand to.
        let viewer = self.remote_viewer()?;
        let vm = session.client.vm_info(vm_id).await?;
        let target = vm
            .spice_target(&session.profile.console_hosts)
            .map_err(|reason| Error::NoConsole {
                vm_id: vm.id,
                vm_name: vm.name.clone(),
                reason,
            })?;
        let guard = super::consoles::target_guard(
            &session.profile,
            &vm,
            &target,
            self.inner.guard_local_endpoints,
        )?;
        let mut to = Target::new(target.host.clone(), target.port).guarded(guard);
        if let Some(dialer) = self.console_dialer(&session.profile).await? {
            to = to.via(dialer);
        }
        let relay = self.relay()?;
        let forward = relay
            .open_forward(to, ForwardOptions::labelled(format!("spice vm {}", vm.id)))
            .await?;
        let title = format!("{} — {} — OneDeck", vm.name, session.profile.name);
        let vv = match self.write_vv_file(&forward, &target, &title) {
            Ok(path) => path,
            Err(e) => {
                forward.close();
                return Err(e);
            }
        };
        let program = viewer.display().to_string();
        let child = tokio::process::Command::new(&viewer)
            .arg(&vv)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        let child = match child {
            Ok(child) => child,
            Err(e) => {
                let _ = std::fs::remove_file(&vv);
                forward.close();
                return Err(Error::RemoteViewerFailed {
                    program,
                    why: e.to_string(),
                });
            }
        };
        tracing::info!(vm_id = %vm.id, viewer = %program, port = forward.local_addr().port(), "SPICE console handed to remote-viewer");
        let (started, start) = oneshot::channel();
        let cancel = self.inner.cancel.clone();
        self.inner
            .tasks
            .spawn(watch_viewer(child, forward, vv, started, cancel));
        let connected = match tokio::time::timeout(SPICE_START_WAIT, start).await {
            Ok(Ok(Start::Connected)) => true,
            Ok(Ok(Start::Quit(why))) => return Err(Error::RemoteViewerFailed { program, why }),
            // Still starting (a slow machine, a password prompt): that is not a failure.
            Ok(Err(_)) | Err(_) => false,
        };
        Ok(SpiceHandoff {
            vm_id: vm.id,
            vm_name: vm.name,
            viewer: program,
            connected,
        })
    }

    /// The remote-viewer program to run, or why there is none.
    fn remote_viewer(&self) -> Result<PathBuf> {
        let configured = self
            .inner
            .spice
            .remote_viewer
            .clone()
            .or_else(|| std::env::var_os(REMOTE_VIEWER_ENV).map(PathBuf::from));
        find_remote_viewer(configured.as_deref(), std::env::var_os("PATH"))
            .map_err(|looked| Error::RemoteViewerMissing { looked })
    }

    fn write_vv_file(
        &self,
        forward: &Forward,
        target: &ConsoleTarget,
        title: &str,
    ) -> Result<PathBuf> {
        let dir = vv_dir(self.inner.spice.vv_dir.as_deref()).map_err(|source| Error::File {
            path: self
                .inner
                .spice
                .vv_dir
                .clone()
                .unwrap_or_else(|| PathBuf::from("$XDG_RUNTIME_DIR/onedeck")),
            source,
        })?;
        let host = forward.local_addr().ip().to_string();
        let text = VvFile {
            host: &host,
            port: forward.local_addr().port(),
            password: target.password.as_ref().map(|p| p.expose()),
            title,
        }
        .text();
        write_vv(&dir, &text).map_err(|source| Error::File { path: dir, source })
    }
}

/// Follows the viewer: says how its start went, removes the `.vv` file as soon as it is no
/// longer needed, and closes the forward when the viewer quits (or the app does).
async fn watch_viewer(
    mut child: tokio::process::Child,
    forward: Forward,
    vv: PathBuf,
    started: oneshot::Sender<Start>,
    cancel: tokio_util::sync::CancellationToken,
) {
    let remove = |why: &str| match std::fs::remove_file(&vv) {
        Ok(()) => tracing::debug!(why, "removed the .vv file"),
        // remote-viewer deletes it itself as it reads it (delete-this-file=1).
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => tracing::warn!(error = %e, "cannot remove the .vv file"),
    };
    let quit = tokio::select! {
        connected = forward.first_connection() => {
            remove("the viewer connected");
            let _ = started.send(if connected {
                Start::Connected
            } else {
                Start::Quit(format!("it did not connect: {:?}", forward.end()))
            });
            None
        }
        status = child.wait() => {
            remove("the viewer quit");
            let why = match status {
                Ok(s) => format!("it quit before connecting ({s})"),
                Err(e) => e.to_string(),
            };
            let _ = started.send(Start::Quit(why.clone()));
            Some(why)
        }
        () = cancel.cancelled() => {
            remove("the app is closing");
            None
        }
    };
    if quit.is_some() {
        forward.close();
        return;
    }
    tokio::select! {
        _ = child.wait() => forward.close(),
        _ = forward.ended() => {}
        () = cancel.cancelled() => forward.close(),
    }
}
