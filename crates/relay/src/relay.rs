//! The relay: listener, accept loop, ticket issuing, the session registry, shutdown.

use std::{
    collections::HashMap,
    net::{Ipv4Addr, SocketAddr},
    path::PathBuf,
    sync::{Arc, Mutex, atomic::AtomicU64},
    time::Duration,
};

use tokio::{
    net::{TcpListener, TcpSocket, TcpStream},
    sync::{OwnedSemaphorePermit, Semaphore, broadcast},
};
use tokio_util::{sync::CancellationToken, task::TaskTracker};

use crate::{
    Error, Forward, ForwardOptions, OriginPolicy, Result, StaticToken, Target, Ticket,
    TicketOptions,
    handshake::{self, Rejection},
    session::{self, EndReason, SessionEvent, SessionId, SessionInfo, SessionShared},
    ticket::{Grant, TicketStore, Token},
};

/// How long a client may take to send its complete upgrade request (slowloris guard).
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);
/// Upgrades in progress at once; further connections wait in the kernel's accept queue.
pub const MAX_PENDING_HANDSHAKES: usize = 512;
/// The listen backlog (the kernel caps it at `net.core.somaxconn`). std's and tokio's `bind`
/// use 128, which drops SYNs when a few hundred clients connect at once and costs them a 1 s
/// retransmission.
const LISTEN_BACKLOG: u32 = 4096;
/// Events buffered for a slow subscriber before it starts missing some (it is told how many).
pub const EVENT_CAPACITY: usize = 1024;
/// The longest pause after a failed `accept` (for example out of file descriptors).
const MAX_ACCEPT_BACKOFF: Duration = Duration::from_secs(1);

/// How to start a relay. `Default` is the app's configuration.
#[derive(Debug, Clone)]
pub struct RelayConfig {
    /// Where to listen; must be a loopback address. Port 0 picks a free port.
    pub listen: SocketAddr,
    /// Which `Origin` headers may connect.
    pub origins: OriginPolicy,
    /// Live sessions at most; more get 429.
    pub max_sessions: usize,
    /// Default time to live of a ticket before its first use.
    pub ticket_ttl: Duration,
    /// How long dialling a target may take.
    pub connect_timeout: Duration,
    /// How often the relay pings the client; a client silent for twice this is dropped.
    pub keepalive_interval: Duration,
    /// Where recordings go; `None` disables recording whatever the tickets ask.
    pub recording_dir: Option<PathBuf>,
    /// A recording stops growing at this size (its trailer says so); the session goes on.
    pub recording_max_bytes: u64,
    /// A recording gets a keyframe (the whole screen, where a seek can start) once this long
    /// passed since the last one and the screen changed, and in any case every 16 MiB of
    /// updates (docs/RECORDING.md).
    pub keyframe_interval: Duration,
    /// A session with no key, pointer, clipboard or resize input for this long is closed
    /// ([`EndReason::InputIdle`](crate::EndReason::InputIdle)); `None` never closes one. Update
    /// requests the viewer sends on its own do not count as input.
    pub input_idle_timeout: Option<Duration>,
}

impl Default for RelayConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            origins: OriginPolicy::tauri_app(),
            max_sessions: 16,
            ticket_ttl: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(5),
            keepalive_interval: Duration::from_secs(30),
            recording_dir: None,
            recording_max_bytes: 2 << 30,
            keyframe_interval: Duration::from_secs(30),
            input_idle_timeout: None,
        }
    }
}

/// What [`Relay::shutdown`] achieved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShutdownReport {
    /// Sessions that were live when shutdown began.
    pub sessions_closed: usize,
    /// Whether every task finished before the deadline.
    pub clean: bool,
}

pub(crate) struct Inner {
    pub config: RelayConfig,
    pub local_addr: SocketAddr,
    pub tickets: TicketStore,
    pub permits: Arc<Semaphore>,
    pub events: broadcast::Sender<SessionEvent>,
    pub next_id: AtomicU64,
    pub cancel: CancellationToken,
    sessions: Mutex<HashMap<SessionId, Arc<SessionShared>>>,
    pub(crate) tracker: TaskTracker,
}

impl Inner {
    /// The shared state of a relay listening (or, for the fuzz targets, pretending to listen)
    /// on `local_addr`.
    pub fn new(config: RelayConfig, local_addr: SocketAddr) -> Arc<Self> {
        let (events, _) = broadcast::channel(EVENT_CAPACITY);
        Arc::new(Self {
            permits: Arc::new(Semaphore::new(config.max_sessions)),
            config,
            local_addr,
            tickets: TicketStore::default(),
            events,
            next_id: AtomicU64::new(1),
            cancel: CancellationToken::new(),
            sessions: Mutex::new(HashMap::new()),
            tracker: TaskTracker::new(),
        })
    }

    fn sessions(&self) -> std::sync::MutexGuard<'_, HashMap<SessionId, Arc<SessionShared>>> {
        // Every mutation is a single insert/remove: a poisoned map is still consistent.
        self.sessions.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn register(&self, s: Arc<SessionShared>) {
        self.sessions().insert(s.id, s);
    }

    pub fn unregister(&self, id: SessionId) {
        self.sessions().remove(&id);
    }
}

/// The running relay. Dropping it stops accepting and closes every session; [`Relay::shutdown`]
/// does the same and waits.
pub struct Relay {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Relay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Relay")
            .field("local_addr", &self.inner.local_addr)
            .finish_non_exhaustive()
    }
}

impl Relay {
    /// Binds the listener and starts accepting on the current tokio runtime.
    ///
    /// # Errors
    /// [`Error::NotLoopback`] for a non-loopback address, [`Error::Config`] for zero sessions,
    /// [`Error::Bind`] when the port cannot be bound.
    pub async fn start(config: RelayConfig) -> Result<Self> {
        if !config.listen.ip().is_loopback() {
            return Err(Error::NotLoopback(config.listen));
        }
        if config.max_sessions == 0 || config.max_sessions > Semaphore::MAX_PERMITS {
            return Err(Error::Config(format!(
                "max_sessions must be 1..{}",
                Semaphore::MAX_PERMITS
            )));
        }
        if config.keepalive_interval.is_zero() {
            return Err(Error::Config("keepalive_interval must not be zero".into()));
        }
        let listener = listen(config.listen).map_err(|source| Error::Bind {
            addr: config.listen,
            source,
        })?;
        let local_addr = listener.local_addr().map_err(|source| Error::Bind {
            addr: config.listen,
            source,
        })?;
        let inner = Inner::new(config, local_addr);
        inner
            .tracker
            .spawn(accept_loop(Arc::clone(&inner), listener));
        tracing::info!(addr = %local_addr, "console relay listening");
        Ok(Self { inner })
    }

    /// The address the relay listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.inner.local_addr
    }

    /// Issues a single-use ticket for `target`, usable for `options.ttl` (default: the config's).
    ///
    /// # Errors
    /// [`Error::Random`] when the OS random generator fails.
    pub fn issue_ticket(&self, target: Target, options: TicketOptions) -> Result<Ticket> {
        let token = Token::generate()?;
        let ttl = options.ttl.unwrap_or(self.inner.config.ticket_ttl);
        let grant = Grant {
            target: target.clone(),
            label: Arc::from(options.label.as_str()),
            record: options.record,
        };
        self.inner
            .tickets
            .insert_single_use(&token, grant, ttl, tokio::time::Instant::now());
        Ok(Ticket {
            token,
            relay: self.inner.local_addr,
            target,
            label: options.label,
            ttl,
        })
    }

    /// Revokes the unused tickets with this label (e.g. when the VM left RUNNING); returns how many.
    pub fn revoke_tickets(&self, label: &str) -> usize {
        self.inner.tickets.revoke(label)
    }

    /// Replaces the reusable tokens (headless mode only: they never expire and can be used any
    /// number of times, so this is for trusted local use, never for the app).
    pub fn set_static_tokens(&self, tokens: Vec<StaticToken>) {
        // A token file's sessions are recorded when the relay has somewhere to record them.
        let record = self.inner.config.recording_dir.is_some();
        self.inner.tickets.replace_static(tokens, record);
    }

    /// Subscribes to session events (started, ended with stats, rejected). A subscriber more than
    /// [`EVENT_CAPACITY`] events behind gets `Lagged` and misses the oldest.
    pub fn subscribe(&self) -> broadcast::Receiver<SessionEvent> {
        self.inner.events.subscribe()
    }

    /// A snapshot of the live sessions.
    pub fn sessions(&self) -> Vec<SessionInfo> {
        let mut v: Vec<_> = self.inner.sessions().values().map(|s| s.info()).collect();
        v.sort_by_key(|s| s.id);
        v
    }

    /// How many sessions are live.
    pub fn session_count(&self) -> usize {
        self.inner.sessions().len()
    }

    /// Closes one session (Close 1000 "session closed by the app"); false if it is not live.
    pub fn close_session(&self, id: SessionId) -> bool {
        let s = self.inner.sessions().get(&id).cloned();
        s.map(|s| s.close(EndReason::ClosedByApp)).is_some()
    }

    /// Closes every live session with this label and revokes its unused tickets; returns how
    /// many sessions were closed.
    pub fn close_sessions_for(&self, label: &str) -> usize {
        self.revoke_tickets(label);
        let hits: Vec<_> = self
            .inner
            .sessions()
            .values()
            .filter(|s| &*s.label == label)
            .cloned()
            .collect();
        for s in &hits {
            s.close(EndReason::ClosedByApp);
        }
        hits.len()
    }

    /// Opens a one-shot loopback TCP forward to `target` for a viewer outside the app (SPICE in
    /// remote-viewer): see [`crate::forward`]. It ends with the relay.
    ///
    /// # Errors
    /// [`Error::Bind`] when no loopback port can be bound; [`Error::Config`] for `max_live` 0.
    pub async fn open_forward(&self, target: Target, options: ForwardOptions) -> Result<Forward> {
        crate::forward::open(&self.inner, target, options).await
    }

    /// Stops accepting, closes every session (Close 1001) and waits for them up to `deadline`.
    pub async fn shutdown(&self, deadline: Duration) -> ShutdownReport {
        let sessions_closed = self.session_count();
        self.inner.cancel.cancel();
        self.inner.tracker.close();
        let clean = tokio::time::timeout(deadline, self.inner.tracker.wait())
            .await
            .is_ok();
        ShutdownReport {
            sessions_closed,
            clean,
        }
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.inner.cancel.cancel();
    }
}

fn listen(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
}

async fn accept_loop(inner: Arc<Inner>, listener: TcpListener) {
    let handshakes = Arc::new(Semaphore::new(MAX_PENDING_HANDSHAKES));
    let mut backoff = Duration::from_millis(5);
    loop {
        let permit = tokio::select! {
            _ = inner.cancel.cancelled() => break,
            p = Arc::clone(&handshakes).acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
        };
        let accepted = tokio::select! {
            _ = inner.cancel.cancelled() => break,
            r = listener.accept() => r,
        };
        match accepted {
            Ok((stream, peer)) => {
                backoff = Duration::from_millis(5);
                let task_inner = Arc::clone(&inner);
                inner
                    .tracker
                    .spawn(connection(task_inner, stream, peer, permit));
            }
            Err(e) => {
                // Usually out of file descriptors: wait for sessions to end rather than spin.
                tracing::warn!(error = %e, "accept failed; backing off");
                tokio::select! {
                    _ = inner.cancel.cancelled() => break,
                    _ = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(MAX_ACCEPT_BACKOFF);
            }
        }
    }
    tracing::debug!("accept loop stopped");
}

async fn connection(
    inner: Arc<Inner>,
    mut stream: TcpStream,
    peer: SocketAddr,
    permit: OwnedSemaphorePermit,
) {
    let _ = stream.set_nodelay(true);
    let upgraded = tokio::select! {
        _ = inner.cancel.cancelled() => return,
        r = tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake::upgrade(&inner, &mut stream)) => {
            r.unwrap_or(Err(Rejection::HandshakeTimeout))
        }
    };
    drop(permit);
    match upgraded {
        Ok(admission) => session::run(inner, stream, peer, admission).await,
        Err(reason) => {
            // The token is never logged: only the peer and the reason.
            tracing::info!(%peer, reason = ?reason, status = ?reason.status(), "refused a console connection");
            let _ = inner.events.send(SessionEvent::Rejected { peer, reason });
        }
    }
}
