//! One-shot loopback TCP forwards, for consoles that a program outside the app shows: SPICE in
//! `remote-viewer`. SPICE opens one TCP connection per channel (main, display, inputs, cursor,
//! sound, USB…), all to the same port, so a forward accepts several connections, each piped to
//! the same guarded target, and ends by itself:
//!
//! - when nobody connected within [`ForwardOptions::first_within`] (the viewer never started),
//! - when the last connection ended and no new one came within [`FORWARD_IDLE_GRACE`],
//! - when its owner closes it, or the relay shuts down.
//!
//! A TCP port has no ticket, so on Linux a connection from another user's process is refused
//! (its socket's owner is read from `/proc/net/tcp`): the forward serves only the user whose
//! app opened it. Elsewhere the short accept window and the console's own password guard it.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::relay::Inner;
use crate::session::{EndReason, connect_guarded};
use crate::ticket::Target;
use crate::{Error, Result};

/// How long a forward waits for a new connection after its last one ended (a SPICE client
/// reopens a channel within this).
pub const FORWARD_IDLE_GRACE: Duration = Duration::from_secs(2);

/// How a forward accepts connections.
#[derive(Debug, Clone)]
pub struct ForwardOptions {
    /// Names the forward in logs (never a secret).
    pub label: String,
    /// The first connection must arrive within this, or the forward ends.
    pub first_within: Duration,
    /// At most this many connections are piped at once; more are refused.
    pub max_live: usize,
}

impl ForwardOptions {
    /// Defaults for a viewer started by the app: 30 s to connect, 32 channels.
    pub fn labelled(label: impl Into<String>) -> Self {
        Self {
            label: label.into(),
            first_within: Duration::from_secs(30),
            max_live: 32,
        }
    }
}

/// Why a forward ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "reason")]
pub enum ForwardEnd {
    /// Nobody connected in time.
    NoViewer,
    /// The viewer's connections all ended.
    ViewerClosed,
    /// The owner closed it, or the relay shut down.
    Closed,
    /// The target could not be reached, and no connection was live.
    TargetUnreachable {
        /// What the operating system said.
        error: String,
    },
    /// The target's guard refused every address it resolved to.
    TargetRefused {
        /// Why.
        why: String,
    },
}

/// What a forward has carried so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ForwardStats {
    /// Connections accepted and piped to the target.
    pub connections: u64,
    /// Connections refused (another user's, or over the limit).
    pub refused: u64,
    /// Connections piped now.
    pub live: usize,
    /// Bytes from the viewer to the target, over ended connections.
    pub bytes_to_target: u64,
    /// Bytes from the target to the viewer, over ended connections.
    pub bytes_from_target: u64,
}

struct Shared {
    addr: SocketAddr,
    cancel: CancellationToken,
    stats: Mutex<ForwardStats>,
    /// Connections accepted so far, and the end once there is one.
    progress: watch::Sender<(u64, Option<ForwardEnd>)>,
}

impl Shared {
    fn stats(&self) -> std::sync::MutexGuard<'_, ForwardStats> {
        // Plain counters: a poisoned lock still holds consistent numbers.
        self.stats.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A running forward. Dropping the handle does not stop it (the viewer may outlive the caller's
/// interest); [`Forward::close`] does.
#[derive(Clone)]
pub struct Forward {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Forward {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Forward")
            .field("addr", &self.shared.addr)
            .finish_non_exhaustive()
    }
}

impl Forward {
    /// The loopback address the viewer connects to.
    pub fn local_addr(&self) -> SocketAddr {
        self.shared.addr
    }

    /// What it carried so far.
    pub fn stats(&self) -> ForwardStats {
        *self.shared.stats()
    }

    /// Stops accepting and ends every piped connection.
    pub fn close(&self) {
        self.shared.cancel.cancel();
    }

    /// Why it ended, or `None` while it runs.
    pub fn end(&self) -> Option<ForwardEnd> {
        self.shared.progress.borrow().1.clone()
    }

    /// Waits until it ends and says why.
    pub async fn ended(&self) -> ForwardEnd {
        let mut rx = self.shared.progress.subscribe();
        match rx.wait_for(|(_, end)| end.is_some()).await {
            Ok(p) => p.1.clone().unwrap_or(ForwardEnd::Closed),
            Err(_) => ForwardEnd::Closed,
        }
    }

    /// Waits until a first connection was accepted (true), or the forward ended without one
    /// (false).
    pub async fn first_connection(&self) -> bool {
        let mut rx = self.shared.progress.subscribe();
        match rx.wait_for(|(n, end)| *n > 0 || end.is_some()).await {
            Ok(p) => p.0 > 0,
            Err(_) => false,
        }
    }
}

/// Binds a new listener on the relay's loopback address (port chosen by the system) and starts
/// forwarding to `target`.
pub(crate) async fn open(
    inner: &Arc<Inner>,
    target: Target,
    options: ForwardOptions,
) -> Result<Forward> {
    if options.max_live == 0 {
        return Err(Error::Config(
            "a forward needs at least one connection".into(),
        ));
    }
    let bind = SocketAddr::new(inner.local_addr.ip(), 0);
    let listener = TcpListener::bind(bind)
        .await
        .map_err(|source| Error::Bind { addr: bind, source })?;
    let addr = listener
        .local_addr()
        .map_err(|source| Error::Bind { addr: bind, source })?;
    let (progress, _) = watch::channel((0, None));
    let shared = Arc::new(Shared {
        addr,
        cancel: inner.cancel.child_token(),
        stats: Mutex::new(ForwardStats::default()),
        progress,
    });
    tracing::info!(label = %options.label, %addr, "forward opened");
    let task_shared = shared.clone();
    inner
        .tracker
        .spawn(async move { accept_loop(task_shared, listener, target, options).await });
    Ok(Forward { shared })
}

/// What one piped connection came to: bytes each way, or why its target could not be dialled.
type PipeOutcome = std::result::Result<(u64, u64), EndReason>;

async fn accept_loop(
    shared: Arc<Shared>,
    listener: TcpListener,
    target: Target,
    options: ForwardOptions,
) {
    let mut pipes: JoinSet<PipeOutcome> = JoinSet::new();
    let mut deadline = Instant::now() + options.first_within;
    let mut failure: Option<ForwardEnd> = None;
    let mut carried = false;
    let end = loop {
        tokio::select! {
            () = shared.cancel.cancelled() => break ForwardEnd::Closed,
            () = tokio::time::sleep_until(deadline), if pipes.is_empty() => {
                break match (failure.take(), carried) {
                    (Some(f), false) => f,
                    (_, true) => ForwardEnd::ViewerClosed,
                    (None, false) => ForwardEnd::NoViewer,
                };
            }
            Some(done) = pipes.join_next(), if !pipes.is_empty() => {
                let mut stats = shared.stats();
                stats.live = pipes.len();
                match done {
                    Ok(Ok((up, down))) => {
                        carried = true;
                        stats.bytes_to_target += up;
                        stats.bytes_from_target += down;
                    }
                    Ok(Err(reason)) => {
                        tracing::warn!(label = %options.label, %reason, "forward cannot reach its target");
                        failure = Some(match reason {
                            EndReason::TargetRefused { why } => ForwardEnd::TargetRefused { why },
                            other => ForwardEnd::TargetUnreachable { error: other.to_string() },
                        });
                    }
                    Err(_) => {}
                }
                if pipes.is_empty() {
                    // A dial that failed with nothing live ends the forward now: the viewer
                    // shows its own error and the caller learns why.
                    deadline = Instant::now()
                        + if failure.is_some() && !carried { Duration::ZERO } else { FORWARD_IDLE_GRACE };
                }
            }
            accepted = listener.accept() => {
                let Ok((viewer, peer)) = accepted else { continue };
                if let Some(why) = refuse(&shared, peer, pipes.len(), options.max_live) {
                    tracing::warn!(label = %options.label, %peer, why, "forward refused a connection");
                    shared.stats().refused += 1;
                    continue;
                }
                // Dialled in the pipe's task: SPICE opens its channels at once.
                let target = target.clone();
                let cancel = shared.cancel.clone();
                pipes.spawn(async move {
                    let stream = connect_guarded(&target).await?;
                    Ok(pipe(viewer, stream, cancel).await)
                });
                let n = {
                    let mut stats = shared.stats();
                    stats.connections += 1;
                    stats.live = pipes.len();
                    stats.connections
                };
                shared.progress.send_modify(|p| p.0 = n);
            }
        }
    };
    pipes.shutdown().await;
    let stats = *shared.stats();
    tracing::info!(label = %options.label, ?end, connections = stats.connections, "forward ended");
    shared.progress.send_modify(|p| p.1 = Some(end));
}

/// Why a new connection is refused, if it is.
fn refuse(shared: &Shared, peer: SocketAddr, live: usize, max_live: usize) -> Option<&'static str> {
    if live >= max_live {
        return Some("too many connections");
    }
    match peer_owner::same_user(peer, shared.addr) {
        Ok(true) => None,
        Ok(false) => Some("another user's process"),
        Err(_) => Some("its owner cannot be read"),
    }
}

async fn pipe(
    mut viewer: TcpStream,
    mut target: TcpStream,
    cancel: CancellationToken,
) -> (u64, u64) {
    let _ = viewer.set_nodelay(true);
    let _ = target.set_nodelay(true);
    tokio::select! {
        r = tokio::io::copy_bidirectional(&mut viewer, &mut target) => r.unwrap_or((0, 0)),
        () = cancel.cancelled() => (0, 0),
    }
}

#[cfg(target_os = "linux")]
mod peer_owner {
    //! The owner of a loopback peer's socket, from the kernel's TCP table.

    use std::io::{self, Read};
    use std::net::{IpAddr, Ipv4Addr, SocketAddr};

    /// The table holds one line per socket of this network namespace: 4 MiB is ~27,000 sockets.
    const MAX_TABLE: u64 = 4 << 20;

    /// Whether the process on the other end of `peer`→`local` runs as this process's user.
    pub fn same_user(peer: SocketAddr, local: SocketAddr) -> io::Result<bool> {
        let mut table = String::new();
        std::fs::File::open("/proc/net/tcp")?
            .take(MAX_TABLE)
            .read_to_string(&mut table)?;
        let uid = owner_in_table(&table, peer, local).ok_or_else(|| {
            io::Error::new(io::ErrorKind::NotFound, "peer socket not in /proc/net/tcp")
        })?;
        Ok(uid == rustix::process::geteuid().as_raw())
    }

    /// The uid column of the line whose local address is `peer` and remote address `local`.
    pub(super) fn owner_in_table(table: &str, peer: SocketAddr, local: SocketAddr) -> Option<u32> {
        table.lines().skip(1).find_map(|line| {
            let mut cols = line.split_whitespace();
            let _slot = cols.next()?;
            let from = parse_addr(cols.next()?)?;
            let to = parse_addr(cols.next()?)?;
            let uid = cols.nth(4)?.parse().ok()?;
            (from == peer && to == local).then_some(uid)
        })
    }

    /// `0100007F:1F90`: the address as the kernel's native-order word, the port in host order.
    fn parse_addr(s: &str) -> Option<SocketAddr> {
        let (ip, port) = s.split_once(':')?;
        let ip = u32::from_str_radix(ip, 16).ok()?;
        let port = u16::from_str_radix(port, 16).ok()?;
        Some(SocketAddr::new(
            IpAddr::V4(Ipv4Addr::from(ip.to_ne_bytes())),
            port,
        ))
    }
}

#[cfg(not(target_os = "linux"))]
mod peer_owner {
    //! No portable way to learn a TCP peer's owner: the accept window and the console's password
    //! guard the forward there.

    use std::net::SocketAddr;

    pub fn same_user(_peer: SocketAddr, _local: SocketAddr) -> std::io::Result<bool> {
        Ok(true)
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::peer_owner::owner_in_table;

    #[test]
    fn the_table_names_the_peer_sockets_owner() {
        let table = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n\
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 1 1 0000000000000000 100 0 0 10 0\n\
   1: 0100007F:D431 0100007F:1F90 01 00000000:00000000 00:00000000 00000000  1001        0 2 1 0000000000000000 20 4 30 10 -1\n";
        let peer = "127.0.0.1:54321".parse().unwrap_or_else(|_| unreachable!());
        let local = "127.0.0.1:8080".parse().unwrap_or_else(|_| unreachable!());
        assert_eq!(owner_in_table(table, peer, local), Some(1001));
        assert_eq!(owner_in_table(table, local, peer), None);
        assert_eq!(owner_in_table("garbage\n1: x y", peer, local), None);
    }
}
