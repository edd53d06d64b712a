//! One console server per running VM, at its GRAPHICS/PORT on 127.0.0.1: for TYPE=VNC the
//! built-in RFB server or a QEMU process, for TYPE=SPICE a QEMU process with its SPICE server
//! (in either mode: the built-in server speaks only RFB). Opened when a VM reaches a console
//! state, closed on poweroff/stop/undeploy/terminate, dropped and reopened on reboot.

use std::collections::HashMap;
use std::process::Stdio;
use std::sync::{Arc, Mutex};

use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::config::VncMode;
use crate::rfb::{self, Screen};
use crate::world::World;

enum Server {
    Builtin {
        task: tokio::task::JoinHandle<()>,
        screen: Arc<Screen>,
        /// A new screen here drops every session and starts over (reboot) on the same socket.
        reboot: watch::Sender<Arc<Screen>>,
    },
    /// A supervisor task owning the QEMU child (killed when the task ends); a value sent on
    /// `reboot` makes it kill, reap and start QEMU again on the same port.
    Qemu {
        task: tokio::task::JoinHandle<()>,
        reboot: watch::Sender<u64>,
    },
}

struct Entry {
    port: u16,
    spice: bool,
    generation: u64,
    password: Option<String>,
    server: Server,
}

/// The consoles of one simulator.
pub struct Consoles {
    mode: VncMode,
    max: usize,
    open: Mutex<HashMap<u32, Entry>>,
    warned_cap: std::sync::atomic::AtomicBool,
}

impl std::fmt::Debug for Consoles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Consoles")
            .field("mode", &self.mode)
            .finish()
    }
}

impl Consoles {
    /// A manager for `mode`, serving at most `max` consoles.
    pub fn new(mode: VncMode, max: usize) -> Self {
        Self {
            mode,
            max,
            open: Mutex::new(HashMap::new()),
            warned_cap: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// Opens, closes or restarts the consoles of the VMs marked dirty in `w`.
    pub fn sync(&self, w: &mut World) {
        if w.console_dirty.is_empty() {
            return;
        }
        let dirty = std::mem::take(&mut w.console_dirty);
        if self.mode == VncMode::None {
            return;
        }
        let Ok(mut open) = self.open.lock() else {
            return;
        };
        for id in dirty {
            let want = w.vms.get(&id).and_then(|vm| {
                let port = vm.vnc_port()?;
                let spice = vm.has_spice();
                (vm.console_up() && (vm.has_vnc() || spice)).then(|| {
                    (
                        port,
                        vm.console_gen,
                        vm.vnc_password(),
                        vm.name.clone(),
                        spice,
                    )
                })
            });
            let keep = match (open.get(&id), &want) {
                (Some(e), Some((port, _, password, _, spice))) => {
                    e.port == *port && &e.password == password && e.spice == *spice
                }
                _ => false,
            };
            if keep {
                // Same port and password: a reboot drops the sessions and redraws the screen
                // without giving up the listening socket.
                if let (Some(e), Some((_, generation, _, name, _))) = (open.get_mut(&id), &want)
                    && e.generation != *generation
                {
                    e.generation = *generation;
                    match &mut e.server {
                        Server::Builtin { screen, reboot, .. } => {
                            *screen = Screen::new(id, name);
                            let _ = reboot.send(screen.clone());
                        }
                        Server::Qemu { reboot, .. } => {
                            let _ = reboot.send(*generation);
                        }
                    }
                }
                continue;
            }
            if let Some(e) = open.remove(&id) {
                stop(e);
            }
            let Some((port, generation, password, name, spice)) = want else {
                continue;
            };
            if open.len() >= self.max {
                if !self
                    .warned_cap
                    .swap(true, std::sync::atomic::Ordering::Relaxed)
                {
                    tracing::warn!(
                        max = self.max,
                        "console limit reached; further running VMs get no VNC server"
                    );
                }
                continue;
            }
            let server = match (self.mode, spice) {
                (VncMode::None, _) => None,
                (_, true) => start_qemu(QemuDisplay::Spice(port), password.as_deref()),
                (VncMode::Builtin, false) => start_builtin(id, port, &name, password.clone()),
                (VncMode::Qemu, false) => port
                    .checked_sub(5900)
                    .and_then(|d| start_qemu(QemuDisplay::Vnc(d), password.as_deref())),
            };
            if let Some(server) = server {
                open.insert(
                    id,
                    Entry {
                        port,
                        spice,
                        generation,
                        password,
                        server,
                    },
                );
            }
        }
    }

    /// The built-in console of VM `id`, if open.
    pub fn screen(&self, id: u32) -> Option<Arc<Screen>> {
        let open = self.open.lock().ok()?;
        match &open.get(&id)?.server {
            Server::Builtin { screen, .. } => Some(screen.clone()),
            Server::Qemu { .. } => None,
        }
    }

    /// The VMs with an open console and their ports.
    pub fn open_ports(&self) -> Vec<(u32, u16)> {
        let Ok(open) = self.open.lock() else {
            return Vec::new();
        };
        let mut v: Vec<(u32, u16)> = open.iter().map(|(id, e)| (*id, e.port)).collect();
        v.sort_unstable();
        v
    }

    /// Closes every console without waiting (for `Drop`): QEMU children are killed by their
    /// supervisors.
    pub fn abort_all(&self) {
        if let Ok(mut open) = self.open.lock() {
            for (_, e) in open.drain() {
                stop(e);
            }
        }
    }

    /// Closes every console (and waits for QEMU children to exit).
    pub async fn stop_all(&self) {
        let entries: Vec<Entry> = match self.open.lock() {
            Ok(mut open) => open.drain().map(|(_, e)| e).collect(),
            Err(_) => Vec::new(),
        };
        for e in entries {
            match e.server {
                Server::Builtin { task, .. } => {
                    task.abort();
                    let _ = task.await;
                }
                Server::Qemu { mut task, reboot } => {
                    // Closing the channel makes the supervisor kill and reap QEMU.
                    drop(reboot);
                    if tokio::time::timeout(std::time::Duration::from_secs(5), &mut task)
                        .await
                        .is_err()
                    {
                        task.abort();
                    }
                }
            }
        }
    }
}

fn stop(e: Entry) {
    match e.server {
        Server::Builtin { task, .. } => task.abort(),
        // The supervisor kills and reaps QEMU when the channel closes.
        Server::Qemu { reboot, .. } => drop(reboot),
    }
}

fn start_builtin(id: u32, port: u16, name: &str, password: Option<String>) -> Option<Server> {
    let screen = Screen::new(id, name);
    let (reboot, mut rebooted) = watch::channel(screen.clone());
    let desktop = name.to_string();
    // Bind now when the port is free, so the console listens as soon as the VM runs.
    let early = std::net::TcpListener::bind(("127.0.0.1", port))
        .and_then(|l| l.set_nonblocking(true).map(|()| l))
        .ok();
    let task = tokio::spawn(async move {
        // Otherwise the previous server of this port (a VM that just stopped and resumed) may
        // still be closing: retry the bind for a short while before giving up.
        let mut tries = 0;
        let mut early = early.and_then(|l| tokio::net::TcpListener::from_std(l).ok());
        let listener = loop {
            if let Some(l) = early.take() {
                break l;
            }
            match tokio::net::TcpListener::bind(("127.0.0.1", port)).await {
                Ok(l) => break l,
                Err(e) if tries < 40 => {
                    tries += 1;
                    tracing::debug!(vm = id, port, error = %e, "VNC port busy, retrying");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
                Err(e) => {
                    tracing::warn!(vm = id, port, error = %e, "cannot open the VM's VNC port");
                    return;
                }
            }
        };
        // Dropping the set (when this task is aborted) ends every session of this console.
        let mut sessions = JoinSet::new();
        loop {
            tokio::select! {
                accepted = listener.accept() => {
                    let Ok((sock, _)) = accepted else { continue };
                    let screen = rebooted.borrow().clone();
                    let desktop = desktop.clone();
                    let password = password.clone();
                    sessions.spawn(async move {
                        if let Err(e) = rfb::serve(sock, screen, &desktop, password.as_deref()).await {
                            tracing::debug!(error = %e, "VNC session ended");
                        }
                    });
                }
                changed = rebooted.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    sessions.abort_all();
                }
                Some(_) = sessions.join_next(), if !sessions.is_empty() => {}
            }
        }
    });
    Some(Server::Builtin {
        task,
        screen,
        reboot,
    })
}

/// A file holding a VNC password for QEMU's `-object secret,file=…`, removed when dropped, so
/// the password is neither on QEMU's command line (visible in `ps`) nor sent over QMP.
struct SecretFile(std::path::PathBuf);

impl SecretFile {
    fn new(port: u16, password: &str) -> Option<Self> {
        use std::io::Write as _;
        let path = std::env::temp_dir().join(format!(
            "onedeck-sim-vnc-{}-{port}-{:016x}",
            std::process::id(),
            rand::random::<u64>()
        ));
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            opts.mode(0o600);
        }
        let mut f = opts.open(&path).ok()?;
        f.write_all(password.as_bytes()).ok()?;
        Some(Self(path))
    }
}

impl Drop for SecretFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// The console server a QEMU child runs.
#[derive(Debug, Clone, Copy)]
enum QemuDisplay {
    /// VNC display N (port 5900 + N).
    Vnc(u16),
    /// SPICE on this port.
    Spice(u16),
}

impl QemuDisplay {
    fn port(self) -> u16 {
        match self {
            Self::Vnc(d) => 5900 + d,
            Self::Spice(p) => p,
        }
    }
}

fn start_qemu(display: QemuDisplay, password: Option<&str>) -> Option<Server> {
    let port = display.port();
    let secret = match password {
        Some(pw) => Some(SecretFile::new(port, pw)?),
        None => None,
    };
    let (reboot, mut rebooted) = watch::channel(0u64);
    let mut child = spawn_qemu(display, secret.as_ref())?;
    let task = tokio::spawn(async move {
        // Owned by the task: the file goes when QEMU's supervisor does.
        let secret = secret;
        // The child is killed when this task is aborted (kill_on_drop) or on a reboot.
        loop {
            tokio::select! {
                changed = rebooted.changed() => {
                    let _ = child.start_kill();
                    let _ = child.wait().await;
                    if changed.is_err() {
                        return;
                    }
                    match spawn_qemu(display, secret.as_ref()) {
                        Some(c) => child = c,
                        None => return,
                    }
                }
                status = child.wait() => {
                    tracing::warn!(port, ?status, "qemu-system-x86_64 exited");
                    // Wait for a reboot to try again (or the end).
                    if rebooted.changed().await.is_err() {
                        return;
                    }
                    match spawn_qemu(display, secret.as_ref()) {
                        Some(c) => child = c,
                        None => return,
                    }
                }
            }
        }
    });
    Some(Server::Qemu { task, reboot })
}

fn spawn_qemu(display: QemuDisplay, secret: Option<&SecretFile>) -> Option<tokio::process::Child> {
    let mut cmd = tokio::process::Command::new("qemu-system-x86_64");
    cmd.args(["-display", "none", "-nodefaults", "-vga", "std", "-m", "64"]);
    if let Some(file) = secret {
        // A secret object read from a 0600 file (QEMU 7+): the console's auth with the VM's
        // PASSWD.
        cmd.arg("-object").arg(format!(
            "secret,id=consolepw,format=raw,file={}",
            file.0.display()
        ));
    }
    let auth = if secret.is_some() {
        "password-secret=consolepw"
    } else {
        ""
    };
    match display {
        QemuDisplay::Vnc(d) => {
            let sep = if auth.is_empty() { "" } else { "," };
            cmd.arg("-vnc").arg(format!("127.0.0.1:{d}{sep}{auth}"));
        }
        QemuDisplay::Spice(port) => {
            let auth = if auth.is_empty() {
                "disable-ticketing=on"
            } else {
                auth
            };
            cmd.arg("-spice")
                .arg(format!("port={port},addr=127.0.0.1,{auth}"));
        }
    }
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    match cmd.spawn() {
        Ok(child) => Some(child),
        Err(e) => {
            let server = display;
            tracing::warn!(?server, error = %e, "cannot start qemu-system-x86_64");
            None
        }
    }
}
