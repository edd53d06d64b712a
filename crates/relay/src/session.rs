//! One session: the upgraded client socket, the target socket, and the two pumps between them.
//!
//! Both pumps run inside the session's one task (no cross-task wake-ups on the hot path), each
//! with one reused buffer, so a session holds at most one buffer of bytes per direction: a slow
//! reader on either side stops the pump that feeds it (backpressure), and that in turn stops the
//! relay reading from the fast side. Control frames the upstream pump must answer (pong, close)
//! go to the downstream pump, which owns the client's write half, through a 4-slot channel.

use std::{
    fmt,
    io::IoSlice,
    net::SocketAddr,
    path::PathBuf,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use serde::{Serialize, Serializer};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{
        TcpStream,
        tcp::{ReadHalf, WriteHalf},
    },
    sync::mpsc,
    time::{Instant, MissedTickBehavior},
};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::{
    Target,
    frame::{self, MAX_CONTROL_PAYLOAD, MAX_SERVER_HEADER},
    handshake::{Admission, Rejection},
    input::{ClientPart, InputWatch, ServerPart},
    recording::{Recorder, RecordingMeta, RecordingSummary},
    relay::Inner,
};

/// The largest user-space buffer per direction.
pub const MAX_BUFFER: usize = 64 * 1024;
/// At most this many relayed bytes are held per direction: one user-space buffer, or on Linux
/// one pipe of spliced target-to-client bytes.
#[cfg(target_os = "linux")]
pub const MAX_BUFFERED: usize = if crate::zero_copy::PIPE_BYTES > MAX_BUFFER {
    crate::zero_copy::PIPE_BYTES
} else {
    MAX_BUFFER
};
/// At most this many relayed bytes are held per direction: one user-space buffer.
#[cfg(not(target_os = "linux"))]
pub const MAX_BUFFERED: usize = MAX_BUFFER;
/// Buffers start this small and grow to [`MAX_BUFFER`] the first time a read fills them, so an
/// idle console costs little memory.
const INITIAL_BUFFER: usize = 4 * 1024;
/// After one side has finished, how long the other may take to finish its close.
pub const CLOSE_GRACE: Duration = Duration::from_secs(2);
/// How long the relay tries to deliver a final Close frame to a client.
const CLOSE_WRITE_TIMEOUT: Duration = Duration::from_secs(1);

/// A session's id, unique within one relay. Shown in logs and events instead of the token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct SessionId(pub u64);

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "s{}", self.0)
    }
}

/// Why a session ended. Each maps to the Close code and reason the client gets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
#[non_exhaustive]
pub enum EndReason {
    /// The client sent a Close frame with this code (1005 when it gave none).
    ClientClosed {
        /// The client's close code.
        code: u16,
    },
    /// The client's TCP connection ended or failed without a Close frame.
    ClientVanished,
    /// Nothing came from the client (not even a pong) for two keepalive intervals.
    ClientTimeout,
    /// The target closed its side of the connection (clean EOF). Close 1000.
    TargetClosed,
    /// The target connection failed mid-stream (reset, write error). Close 1011.
    TargetLost {
        /// What the operating system said.
        error: String,
    },
    /// The target could not be reached (refused, timed out, unresolvable). Close 1011.
    TargetUnreachable {
        /// What went wrong.
        error: String,
    },
    /// Every address the target resolves to is one its guard refuses; nothing was dialled.
    /// Close 1008.
    TargetRefused {
        /// Why, in words.
        why: String,
    },
    /// The client broke RFC 6455 (unmasked frame, bad opcode...). Close 1002.
    ProtocolError {
        /// Which rule.
        detail: String,
    },
    /// The client sent a text frame; consoles speak binary. Close 1003.
    UnsupportedData,
    /// The app closed the session ([`Relay::close_session`](crate::Relay::close_session)). Close 1000.
    ClosedByApp,
    /// The ticket asks for a recording and none can be written (disk full, no directory):
    /// the session is refused rather than relayed unrecorded. Close 1011.
    RecordingUnavailable {
        /// Why.
        error: String,
    },
    /// No input from the person at the console (keys, pointer, clipboard, resize) for the
    /// relay's `input_idle_timeout`. Close 1000.
    InputIdle {
        /// The timeout, in seconds.
        after_secs: u64,
    },
    /// The relay is shutting down. Close 1001.
    Shutdown,
}

impl EndReason {
    /// The Close code and reason sent to the client for this end, if the relay sends one.
    pub fn close_frame(&self) -> Option<(u16, &'static str)> {
        Some(match self {
            Self::ClientClosed { .. } | Self::ClientVanished => return None,
            Self::ClientTimeout => (1001, "keepalive timeout"),
            Self::TargetClosed => (1000, "the console target closed the connection"),
            // 1011, not 1014 ("bad gateway"): Chromium fails the connection on a received 1014.
            Self::TargetLost { .. } => (1011, "lost the connection to the console target"),
            Self::TargetUnreachable { .. } => (1011, "cannot reach the console target"),
            Self::TargetRefused { .. } => (1008, "the console target is not allowed"),
            Self::ProtocolError { .. } => (1002, "WebSocket protocol error"),
            Self::UnsupportedData => (1003, "text frames are not supported"),
            Self::ClosedByApp => (1000, "session closed by the app"),
            Self::InputIdle { .. } => (1000, "closed after a time without input"),
            Self::RecordingUnavailable { .. } => {
                (1011, "this console must be recorded and cannot be")
            }
            Self::Shutdown => (1001, "relay shutting down"),
        })
    }
}

impl fmt::Display for EndReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ClientClosed { code } => write!(f, "client closed (code {code})"),
            Self::ClientVanished => f.write_str("client connection lost"),
            Self::ClientTimeout => f.write_str("client keepalive timeout"),
            Self::TargetClosed => f.write_str("target closed the connection"),
            Self::TargetLost { error } => write!(f, "target connection lost: {error}"),
            Self::TargetUnreachable { error } => write!(f, "cannot reach target: {error}"),
            Self::TargetRefused { why } => write!(f, "target refused: {why}"),
            Self::ProtocolError { detail } => write!(f, "WebSocket protocol error: {detail}"),
            Self::UnsupportedData => f.write_str("client sent a text frame"),
            Self::ClosedByApp => f.write_str("closed by the app"),
            Self::RecordingUnavailable { error } => {
                write!(f, "refused: cannot record the session ({error})")
            }
            Self::InputIdle { after_secs } => {
                write!(f, "no input for {after_secs} s: closed")
            }
            Self::Shutdown => f.write_str("relay shut down"),
        }
    }
}

fn as_millis<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// A session's figures, final in [`SessionEvent::Ended`], running in [`SessionInfo`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SessionStats {
    /// Payload bytes relayed from the target to the client.
    pub bytes_to_client: u64,
    /// Payload bytes relayed from the client to the target.
    pub bytes_to_target: u64,
    /// Session start, milliseconds since the Unix epoch.
    pub started_unix_ms: u64,
    /// Time from the upgrade to the end (or to now).
    #[serde(rename = "duration_ms", serialize_with = "as_millis")]
    pub duration: Duration,
    /// The most bytes the relay held at once for the client direction (bounded by [`MAX_BUFFERED`]).
    pub peak_buffered_to_client: usize,
    /// The most bytes the relay held at once for the target direction (bounded by [`MAX_BUFFER`]).
    pub peak_buffered_to_target: usize,
}

/// A live session as the app sees it.
#[derive(Debug, Clone, Serialize)]
pub struct SessionInfo {
    /// The session's id.
    pub id: SessionId,
    /// The ticket's label (e.g. the VM).
    pub label: String,
    /// Where it is connected.
    pub target: Target,
    /// The client's address (always loopback).
    pub peer: SocketAddr,
    /// Figures so far.
    pub stats: SessionStats,
    /// The recording file, when recorded.
    pub recording: Option<PathBuf>,
}

/// What the relay tells the app, on [`Relay::subscribe`](crate::Relay::subscribe). Never holds
/// a token.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "snake_case", tag = "event")]
pub enum SessionEvent {
    /// A ticket was accepted and the upgrade done; the target is being dialled.
    Started {
        /// The session's id.
        id: SessionId,
        /// The ticket's label.
        label: String,
        /// The ticket's target.
        target: Target,
        /// The client's address.
        peer: SocketAddr,
        /// Milliseconds since the Unix epoch.
        started_unix_ms: u64,
        /// The recording file, when recorded.
        recording: Option<PathBuf>,
    },
    /// The session is over and both sockets are closed.
    Ended {
        /// The session's id.
        id: SessionId,
        /// The ticket's label.
        label: String,
        /// The ticket's target.
        target: Target,
        /// Final figures.
        stats: SessionStats,
        /// Why it ended.
        reason: EndReason,
        /// The finished recording, when the session was recorded and its file is complete.
        recording: Option<RecordingSummary>,
    },
    /// A connection was refused before the upgrade; nothing was dialled.
    Rejected {
        /// The client's address.
        peer: SocketAddr,
        /// Why.
        reason: Rejection,
    },
}

/// The part of a session the relay's registry shares with the session's task.
#[derive(Debug)]
pub(crate) struct SessionShared {
    pub id: SessionId,
    pub label: Arc<str>,
    pub target: Target,
    pub peer: SocketAddr,
    pub started_unix_ms: u64,
    pub started: Instant,
    pub to_client: AtomicU64,
    pub to_target: AtomicU64,
    pub peak_to_client: AtomicUsize,
    pub peak_to_target: AtomicUsize,
    pub cancel: CancellationToken,
    /// Why the session was cancelled from outside; unset means the relay is shutting down.
    pub cancel_reason: Mutex<Option<EndReason>>,
    pub recording: Option<PathBuf>,
}

impl SessionShared {
    pub fn stats(&self) -> SessionStats {
        SessionStats {
            bytes_to_client: self.to_client.load(Ordering::Relaxed),
            bytes_to_target: self.to_target.load(Ordering::Relaxed),
            started_unix_ms: self.started_unix_ms,
            duration: self.started.elapsed(),
            peak_buffered_to_client: self.peak_to_client.load(Ordering::Relaxed),
            peak_buffered_to_target: self.peak_to_target.load(Ordering::Relaxed),
        }
    }

    pub fn info(&self) -> SessionInfo {
        SessionInfo {
            id: self.id,
            label: self.label.to_string(),
            target: self.target.clone(),
            peer: self.peer,
            stats: self.stats(),
            recording: self.recording.clone(),
        }
    }

    /// Cancels the session with a reason (the first reason given wins).
    pub fn close(&self, reason: EndReason) {
        let mut r = self.cancel_reason.lock().unwrap_or_else(|p| p.into_inner());
        r.get_or_insert(reason);
        self.cancel.cancel();
    }
}

fn unix_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Runs a session from the upgraded client socket to the end; registers and unregisters it and
/// emits its events.
pub(crate) async fn run(
    inner: Arc<Inner>,
    mut client: TcpStream,
    peer: SocketAddr,
    admission: Admission,
) {
    let Admission { grant, permit } = admission;
    let id = SessionId(inner.next_id.fetch_add(1, Ordering::Relaxed));
    let started_unix_ms = unix_ms(SystemTime::now());
    // A session that must be recorded and cannot be is refused, never relayed unrecorded.
    let mut unrecordable = None;
    let recorder = match (&inner.config.recording_dir, grant.record) {
        (None, true) => {
            unrecordable = Some("the relay has no recording directory".to_owned());
            None
        }
        (Some(dir), true) => {
            let meta = RecordingMeta {
                session: id.0,
                label: grant.label.to_string(),
                target: grant.target.to_string(),
                started_unix_ms,
                writer: concat!("onedeck-relay ", env!("CARGO_PKG_VERSION")).to_owned(),
            };
            match Recorder::create(dir, &meta, inner.config.recording_max_bytes) {
                Ok(r) => Some(r),
                Err(e) => {
                    tracing::warn!(session = %id, error = %e, "cannot record this session: refused");
                    unrecordable = Some(e.to_string());
                    None
                }
            }
        }
        _ => None,
    };
    let shared = Arc::new(SessionShared {
        id,
        label: grant.label.clone(),
        target: grant.target.clone(),
        peer,
        started_unix_ms,
        started: Instant::now(),
        to_client: AtomicU64::new(0),
        to_target: AtomicU64::new(0),
        peak_to_client: AtomicUsize::new(0),
        peak_to_target: AtomicUsize::new(0),
        cancel: inner.cancel.child_token(),
        cancel_reason: Mutex::new(None),
        recording: recorder.as_ref().map(|r| r.path().to_owned()),
    });
    inner.register(Arc::clone(&shared));
    let _ = inner.events.send(SessionEvent::Started {
        id,
        label: shared.label.to_string(),
        target: shared.target.clone(),
        peer,
        started_unix_ms,
        recording: shared.recording.clone(),
    });
    let span =
        tracing::info_span!("session", id = %id, label = %shared.label, target = %shared.target);
    let reason = match unrecordable {
        Some(error) => {
            let reason = EndReason::RecordingUnavailable { error };
            send_close(&mut client, &reason).await;
            reason
        }
        None => {
            drive(&inner, &shared, &mut client, recorder.as_ref())
                .instrument(span.clone())
                .await
        }
    };
    span.in_scope(|| tracing::info!(reason = %reason, "session ended"));
    let recording = match recorder {
        Some(r) => r.end(reason.to_string()).await,
        None => None,
    };
    inner.unregister(id);
    drop(permit);
    let _ = inner.events.send(SessionEvent::Ended {
        id,
        label: shared.label.to_string(),
        target: shared.target.clone(),
        stats: shared.stats(),
        reason,
        recording,
    });
}

async fn drive(
    inner: &Inner,
    shared: &SessionShared,
    client: &mut TcpStream,
    rec: Option<&Recorder>,
) -> EndReason {
    let cancel = &shared.cancel;
    let cancelled = || {
        shared
            .cancel_reason
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .unwrap_or(EndReason::Shutdown)
    };
    let target = &shared.target;
    let dial = tokio::time::timeout(inner.config.connect_timeout, connect_guarded(target));
    let dialled = tokio::select! {
        _ = cancel.cancelled() => Err(cancelled()),
        r = dial => match r {
            Ok(result) => result,
            Err(_) => Err(EndReason::TargetUnreachable {
                error: format!("no answer within {} ms", inner.config.connect_timeout.as_millis()),
            }),
        },
    };
    let mut target_stream = match dialled {
        Ok(s) => s,
        Err(reason) => {
            send_close(client, &reason).await;
            return reason;
        }
    };
    // Consoles are interactive: small key and pointer messages must not wait for Nagle.
    let _ = target_stream.set_nodelay(true);
    tracing::debug!("target connected");

    let keepalive = inner.config.keepalive_interval;
    let watch = InputWatch::new();
    let input_idle = inner.config.input_idle_timeout;
    let (outcome, was_cancelled) = {
        let (cr, cw) = client.split();
        let (tr, tw) = target_stream.split();
        let (ctrl_tx, ctrl_rx) = mpsc::channel(4);
        let down = pump_down(tr, cw, ctrl_rx, shared, rec, &watch, keepalive);
        let up = pump_up(cr, tw, ctrl_tx, shared, rec, &watch, keepalive * 2);
        tokio::pin!(down, up);
        let grace = tokio::time::sleep(Duration::MAX / 4);
        tokio::pin!(grace);
        let idle = tokio::time::sleep(input_idle.unwrap_or(Duration::MAX / 4));
        tokio::pin!(idle);
        let (mut down_done, mut up_done) = (false, false);
        let mut first: Option<EndReason> = None;
        loop {
            tokio::select! {
                _ = cancel.cancelled() => break (first.unwrap_or_else(cancelled), true),
                _ = &mut idle, if input_idle.is_some() => {
                    let timeout = input_idle.unwrap_or_default();
                    let due = watch.last_input() + timeout;
                    if Instant::now() >= due {
                        let after_secs = timeout.as_secs();
                        break (first.unwrap_or(EndReason::InputIdle { after_secs }), true);
                    }
                    idle.as_mut().reset(due);
                }
                r = &mut down, if !down_done => {
                    down_done = true;
                    first.get_or_insert(r);
                    if up_done { break (first.unwrap_or(EndReason::ClientVanished), false) }
                    grace.as_mut().reset(Instant::now() + CLOSE_GRACE);
                }
                r = &mut up, if !up_done => {
                    up_done = true;
                    first.get_or_insert(r);
                    if down_done { break (first.unwrap_or(EndReason::ClientVanished), false) }
                    grace.as_mut().reset(Instant::now() + CLOSE_GRACE);
                }
                _ = &mut grace, if down_done || up_done => break (first.unwrap_or(EndReason::ClientVanished), false),
            }
        }
    };
    if was_cancelled {
        send_close(client, &outcome).await;
    }
    let _ = target_stream.shutdown().await;
    let _ = client.shutdown().await;
    outcome
}

/// Resolves the target and connects to the first address its guard allows; a refused address is
/// never connected to.
async fn connect_guarded(target: &Target) -> Result<TcpStream, EndReason> {
    let addrs = tokio::net::lookup_host((target.host.as_str(), target.port))
        .await
        .map_err(|e| EndReason::TargetUnreachable {
            error: e.to_string(),
        })?;
    let mut refused = None;
    let mut failed = None;
    for addr in addrs {
        if let Some(why) = target.guard.refuses(addr) {
            tracing::warn!(%addr, why, "console target refused by its guard");
            refused = Some(why);
            continue;
        }
        match TcpStream::connect(addr).await {
            Ok(stream) => return Ok(stream),
            Err(e) => failed = Some(e.to_string()),
        }
    }
    Err(match (failed, refused) {
        (Some(error), _) => EndReason::TargetUnreachable { error },
        (None, Some(why)) => EndReason::TargetRefused {
            why: format!("{}:{} is {why}", target.host, target.port),
        },
        (None, None) => EndReason::TargetUnreachable {
            error: format!("{} resolves to no address", target.host),
        },
    })
}

async fn send_close(client: &mut TcpStream, reason: &EndReason) {
    if let Some((code, text)) = reason.close_frame() {
        let mut out = [0u8; 2 + MAX_CONTROL_PAYLOAD];
        let n = frame::close_frame(&mut out, code, text);
        let _ = tokio::time::timeout(CLOSE_WRITE_TIMEOUT, client.write_all(&out[..n])).await;
    }
}

/// What the upstream pump asks the downstream pump to send to the client.
#[derive(Debug)]
enum Control {
    Pong([u8; MAX_CONTROL_PAYLOAD], u8),
    Close(EndReason, u16),
}

/// Target → client: read into the buffer behind a reserved header gap, frame in place, one write.
async fn pump_down(
    mut target: ReadHalf<'_>,
    mut client: WriteHalf<'_>,
    mut ctrl: mpsc::Receiver<Control>,
    shared: &SessionShared,
    rec: Option<&Recorder>,
    watch: &InputWatch,
    keepalive: Duration,
) -> EndReason {
    let mut buf = vec![0u8; MAX_SERVER_HEADER + INITIAL_BUFFER];
    let mut small = [0u8; 2 + MAX_CONTROL_PAYLOAD];
    let mut ping = tokio::time::interval_at(Instant::now() + keepalive, keepalive);
    ping.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut peak = 0usize;
    loop {
        let read = tokio::select! {
            biased;
            c = ctrl.recv() => match control(&mut client, &mut small, c).await {
                Ok(()) => continue,
                Err(reason) => return reason,
            },
            _ = ping.tick() => {
                let n = frame::control_frame(&mut small, frame::OP_PING, b"");
                if client.write_all(&small[..n]).await.is_err() {
                    return EndReason::ClientVanished;
                }
                continue;
            }
            r = target.read(&mut buf[MAX_SERVER_HEADER..]) => r,
        };
        let n = match bytes_from_target(read, &mut client, &mut small).await {
            Ok(n) => n,
            Err(reason) => return reason,
        };
        if n > peak {
            peak = n;
            shared.peak_to_client.fetch_max(n, Ordering::Relaxed);
        }
        let bytes = &buf[MAX_SERVER_HEADER..MAX_SERVER_HEADER + n];
        let part = watch.server(bytes);
        if let Some(rec) = rec {
            match part {
                ServerPart::Handshake => {}
                ServerPart::Init { init, from } => {
                    rec.server_init(&init).await;
                    rec.server(&bytes[from..]).await;
                }
                ServerPart::Messages => rec.server(bytes).await,
            }
        }
        let start = frame::put_server_header(&mut buf, MAX_SERVER_HEADER, frame::OP_BINARY, n);
        if client
            .write_all(&buf[start..MAX_SERVER_HEADER + n])
            .await
            .is_err()
        {
            return EndReason::ClientVanished;
        }
        shared.to_client.fetch_add(n as u64, Ordering::Relaxed);
        if MAX_SERVER_HEADER + n == buf.len() {
            // A full read: this session moves bulk data (a framebuffer update). Spliced bytes
            // bypass the relay, so only once the RFB handshake has been watched.
            #[cfg(target_os = "linux")]
            if rec.is_none() && watch.server_settled() {
                match crate::zero_copy::Pipe::new() {
                    Ok(pipe) => {
                        drop(buf);
                        return pump_down_spliced(target, client, ctrl, shared, ping, pipe, peak)
                            .await;
                    }
                    Err(e) => tracing::debug!(error = %e, "no pipe for splice; copying"),
                }
            }
            if buf.len() < MAX_SERVER_HEADER + MAX_BUFFER {
                buf.resize(MAX_SERVER_HEADER + MAX_BUFFER, 0);
            }
        }
    }
}

/// Sends what the upstream pump asked for; `Err` ends the downstream pump with that reason.
async fn control(
    client: &mut WriteHalf<'_>,
    small: &mut [u8; 2 + MAX_CONTROL_PAYLOAD],
    c: Option<Control>,
) -> Result<(), EndReason> {
    let (n, end) = match c {
        Some(Control::Pong(payload, len)) => (
            frame::control_frame(small, frame::OP_PONG, &payload[..usize::from(len)]),
            None,
        ),
        Some(Control::Close(reason, echo_code)) => {
            let (code, text) = reason.close_frame().unwrap_or((echo_code, ""));
            (frame::close_frame(small, code, text), Some(reason))
        }
        // The upstream pump ended without a Close to send: the client is gone.
        None => return Err(EndReason::ClientVanished),
    };
    if client.write_all(&small[..n]).await.is_err() {
        return Err(EndReason::ClientVanished);
    }
    match end {
        Some(reason) => Err(reason),
        None => Ok(()),
    }
}

/// The downstream pump once a session moves bulk data, on Linux: payload bytes go from socket
/// to pipe to socket inside the kernel (see `zero_copy`). At most one frame (`PIPE_BYTES`) sits in the
/// pipe; it is drained completely before the next read, so backpressure works as in the copy path.
#[cfg(target_os = "linux")]
async fn pump_down_spliced(
    target: ReadHalf<'_>,
    mut client: WriteHalf<'_>,
    mut ctrl: mpsc::Receiver<Control>,
    shared: &SessionShared,
    mut ping: tokio::time::Interval,
    pipe: crate::zero_copy::Pipe,
    mut peak: usize,
) -> EndReason {
    let mut small = [0u8; 2 + MAX_CONTROL_PAYLOAD];
    let mut header = [0u8; MAX_SERVER_HEADER];
    let capacity = pipe.capacity();
    loop {
        let filled = tokio::select! {
            biased;
            c = ctrl.recv() => match control(&mut client, &mut small, c).await {
                Ok(()) => continue,
                Err(reason) => return reason,
            },
            _ = ping.tick() => {
                let n = frame::control_frame(&mut small, frame::OP_PING, b"");
                if client.write_all(&small[..n]).await.is_err() {
                    return EndReason::ClientVanished;
                }
                continue;
            }
            r = pipe.fill(target.as_ref(), capacity) => r,
        };
        let n = match bytes_from_target(filled, &mut client, &mut small).await {
            Ok(n) => n,
            Err(reason) => return reason,
        };
        if n > peak {
            peak = n;
            shared.peak_to_client.fetch_max(n, Ordering::Relaxed);
        }
        let start = frame::put_server_header(&mut header, MAX_SERVER_HEADER, frame::OP_BINARY, n);
        if pipe
            .drain(client.as_ref(), &header[start..], n)
            .await
            .is_err()
        {
            return EndReason::ClientVanished;
        }
        shared.to_client.fetch_add(n as u64, Ordering::Relaxed);
    }
}

/// The byte count of a read from the target, or, at its EOF or failure, the end reason, after
/// telling the client with a Close frame.
async fn bytes_from_target(
    read: std::io::Result<usize>,
    client: &mut WriteHalf<'_>,
    small: &mut [u8; 2 + MAX_CONTROL_PAYLOAD],
) -> Result<usize, EndReason> {
    let reason = match read {
        Ok(0) => EndReason::TargetClosed,
        Ok(n) => return Ok(n),
        Err(e) => EndReason::TargetLost {
            error: e.to_string(),
        },
    };
    write_close(client, small, &reason).await;
    Err(reason)
}

async fn write_close(
    client: &mut WriteHalf<'_>,
    small: &mut [u8; 2 + MAX_CONTROL_PAYLOAD],
    reason: &EndReason,
) {
    if let Some((code, text)) = reason.close_frame() {
        let n = frame::close_frame(small, code, text);
        let _ = tokio::time::timeout(CLOSE_WRITE_TIMEOUT, client.write_all(&small[..n])).await;
    }
}

enum UpState {
    Header,
    Data {
        remaining: u64,
        mask: [u8; 4],
        offset: u64,
    },
    Control {
        opcode: u8,
        len: usize,
        mask: [u8; 4],
    },
}

/// Hands what the person did to the recorder (and, once, why the observer gave up).
async fn record_inputs(rec: &Recorder, inputs: &mut ClientPart, watch: &InputWatch) {
    for event in inputs.events.drain(..) {
        rec.event(event).await;
    }
    for (len, text) in inputs.cut_texts.drain(..) {
        rec.cut_text(len, &text).await;
    }
    if let Some(why) = watch.opaque_reason() {
        rec.note_once(&why).await;
    }
}

/// Payload ranges gathered from one read before they are written with one vectored write.
const MAX_RANGES: usize = 16;

async fn write_all_vectored(
    target: &mut WriteHalf<'_>,
    mut bufs: &mut [IoSlice<'_>],
) -> std::io::Result<()> {
    while !bufs.is_empty() {
        let n = target.write_vectored(bufs).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::WriteZero.into());
        }
        IoSlice::advance_slices(&mut bufs, n);
    }
    Ok(())
}

/// Client → target: parse frames in the buffer, unmask payloads in place and write them on.
async fn pump_up(
    mut client: ReadHalf<'_>,
    mut target: WriteHalf<'_>,
    ctrl: mpsc::Sender<Control>,
    shared: &SessionShared,
    rec: Option<&Recorder>,
    watch: &InputWatch,
    idle_timeout: Duration,
) -> EndReason {
    let mut buf = vec![0u8; INITIAL_BUFFER];
    let (mut start, mut end) = (0usize, 0usize);
    let mut state = UpState::Header;
    let mut in_message = false;
    let mut last_rx = Instant::now();
    let idle = tokio::time::sleep(idle_timeout);
    tokio::pin!(idle);
    let mut peak = 0usize;
    let mut inputs = ClientPart::default();
    // Ends the session from this side, asking the downstream pump to send the Close.
    macro_rules! finish {
        ($reason:expr, $echo:expr) => {{
            let reason = $reason;
            // Bounded: a client that reads nothing must not pin this pump forever.
            let close = ctrl.send(Control::Close(reason.clone(), $echo));
            let _ = tokio::time::timeout(CLOSE_WRITE_TIMEOUT, close).await;
            return reason;
        }};
    }
    let mut pending = [(0usize, 0usize); MAX_RANGES];
    let mut npend = 0usize;
    // Writes the queued payload ranges to the target.
    macro_rules! flush {
        () => {{
            if npend > 0 {
                let count = std::mem::replace(&mut npend, 0);
                let mut slices = [IoSlice::new(&[]); MAX_RANGES];
                let mut total = 0;
                for (slice, &(a, b)) in slices.iter_mut().zip(&pending[..count]) {
                    *slice = IoSlice::new(&buf[a..b]);
                    total += b - a;
                }
                let written = write_all_vectored(&mut target, &mut slices[..count]).await;
                if let Err(e) = written {
                    finish!(
                        EndReason::TargetLost {
                            error: e.to_string()
                        },
                        1011
                    );
                }
                shared.to_target.fetch_add(total as u64, Ordering::Relaxed);
            }
        }};
    }
    loop {
        loop {
            match state {
                UpState::Header => match frame::parse_client_header(&buf[start..end]) {
                    Err(e) => finish!(
                        EndReason::ProtocolError {
                            detail: e.reason().to_owned()
                        },
                        1002
                    ),
                    Ok(None) => break,
                    Ok(Some((h, used))) => {
                        start += used;
                        match h.opcode {
                            frame::OP_BINARY | frame::OP_CONTINUATION => {
                                if (h.opcode == frame::OP_CONTINUATION) != in_message {
                                    let detail = if in_message {
                                        "expected a continuation frame"
                                    } else {
                                        "unexpected continuation frame"
                                    };
                                    finish!(
                                        EndReason::ProtocolError {
                                            detail: detail.to_owned()
                                        },
                                        1002
                                    );
                                }
                                in_message = !h.fin;
                                if h.len > 0 {
                                    state = UpState::Data {
                                        remaining: h.len,
                                        mask: h.mask,
                                        offset: 0,
                                    };
                                }
                            }
                            frame::OP_TEXT => finish!(EndReason::UnsupportedData, 1003),
                            opcode => {
                                let len = usize::try_from(h.len).unwrap_or(usize::MAX);
                                state = UpState::Control {
                                    opcode,
                                    len,
                                    mask: h.mask,
                                };
                            }
                        }
                    }
                },
                UpState::Data {
                    remaining,
                    mask,
                    offset,
                } => {
                    let avail = (end - start).min(usize::try_from(remaining).unwrap_or(usize::MAX));
                    if avail == 0 {
                        break;
                    }
                    let chunk = &mut buf[start..start + avail];
                    frame::unmask(chunk, mask, offset);
                    match rec {
                        Some(rec) => {
                            watch.client(chunk, Some(&mut inputs));
                            record_inputs(rec, &mut inputs, watch).await;
                        }
                        None => watch.client(chunk, None),
                    }
                    // Queue the range; one vectored write per buffer instead of one per frame
                    // (a 64 KiB message straddles reads, which otherwise costs a tiny write).
                    match npend.checked_sub(1).map(|i| &mut pending[i]) {
                        Some(last) if last.1 == start => last.1 = start + avail,
                        _ => {
                            pending[npend] = (start, start + avail);
                            npend += 1;
                        }
                    }
                    if npend == MAX_RANGES {
                        flush!();
                    }
                    start += avail;
                    let remaining = remaining - avail as u64;
                    state = if remaining == 0 {
                        UpState::Header
                    } else {
                        UpState::Data {
                            remaining,
                            mask,
                            offset: offset + avail as u64,
                        }
                    };
                }
                UpState::Control { opcode, len, mask } => {
                    if end - start < len {
                        break;
                    }
                    let mut payload = [0u8; MAX_CONTROL_PAYLOAD];
                    payload[..len].copy_from_slice(&buf[start..start + len]);
                    frame::unmask(&mut payload[..len], mask, 0);
                    start += len;
                    state = UpState::Header;
                    match opcode {
                        frame::OP_PING => {
                            // At most 4 answers queue up; a ping flood just gets fewer pongs.
                            let _ = ctrl.try_send(Control::Pong(payload, len as u8));
                        }
                        frame::OP_CLOSE => {
                            if len == 1 {
                                finish!(
                                    EndReason::ProtocolError {
                                        detail: "close frame of 1 byte".to_owned()
                                    },
                                    1002
                                );
                            }
                            let code = if len >= 2 {
                                u16::from_be_bytes([payload[0], payload[1]])
                            } else {
                                1005
                            };
                            // Half-close: the target sees EOF and may still answer, but a
                            // WebSocket cannot carry data after its Close, so the session ends.
                            flush!();
                            let _ = target.shutdown().await;
                            // Echo the client's code when it is one a peer may send; otherwise a plain 1000.
                            let echo = if matches!(code, 1000..=1003 | 1007..=1011 | 3000..=4999) {
                                code
                            } else {
                                1000
                            };
                            let close =
                                ctrl.send(Control::Close(EndReason::ClientClosed { code }, echo));
                            let _ = tokio::time::timeout(CLOSE_WRITE_TIMEOUT, close).await;
                            return EndReason::ClientClosed { code };
                        }
                        _ => {} // pong: proof of life, already counted by the read
                    }
                }
            }
        }
        flush!();
        // Only a partial header or control frame can be left over (at most
        // MAX_CLIENT_HEADER + MAX_CONTROL_PAYLOAD = 139 bytes).
        if start == end {
            start = 0;
            end = 0;
        } else if start > 0 {
            buf.copy_within(start..end, 0);
            end -= start;
            start = 0;
        }
        if end == buf.len() && buf.len() < MAX_BUFFER {
            buf.resize(MAX_BUFFER, 0);
        }
        let read = tokio::select! {
            biased;
            r = client.read(&mut buf[end..]) => r,
            _ = &mut idle => {
                if last_rx.elapsed() >= idle_timeout {
                    finish!(EndReason::ClientTimeout, 1001);
                }
                idle.as_mut().reset(last_rx + idle_timeout);
                continue;
            }
        };
        match read {
            Ok(0) | Err(_) => {
                let _ = target.shutdown().await;
                return EndReason::ClientVanished;
            }
            Ok(n) => {
                end += n;
                last_rx = Instant::now();
                if end > peak {
                    peak = end;
                    shared.peak_to_target.fetch_max(end, Ordering::Relaxed);
                }
            }
        }
    }
}
