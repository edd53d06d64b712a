//! One session: the upgraded client socket, the target socket, and the two pumps between them.
//!
//! Both pumps run inside the session's one task (no cross-task wake-ups on the hot path), each
//! with one reused buffer, so a session holds at most one buffer of bytes per direction: a slow
//! reader on either side stops the pump that feeds it (backpressure), and that in turn stops the
//! relay reading from the fast side. Control frames the upstream pump must answer (pong, close)
//! go to the downstream pump, which owns the client's write half, through a 4-slot channel.

use std::{
    net::SocketAddr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use tokio::{io::AsyncWriteExt, net::TcpStream, sync::mpsc, time::Instant};
use tracing::Instrument;

use crate::{
    Target,
    frame::{self, MAX_CONTROL_PAYLOAD},
    handshake::Admission,
    input::InputWatch,
    recording::{Recorder, RecordingMeta},
    relay::Inner,
};
use pumps::{pump_down, pump_up};

mod events;
mod pumps;

pub(crate) use events::SessionShared;
pub use events::{EndReason, SessionEvent, SessionId, SessionInfo, SessionStats};

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
            match Recorder::create(
                dir,
                &meta,
                inner.config.recording_max_bytes,
                inner.config.keyframe_interval,
            ) {
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
pub(crate) async fn connect_guarded(target: &Target) -> Result<TcpStream, EndReason> {
    if let Some(via) = &target.via {
        // The far end resolves the name: only a literal address can be checked here.
        if let Some(why) = target.guard.refuses_literal(&target.host, target.port) {
            return Err(EndReason::TargetRefused {
                why: format!("{target} is {why}"),
            });
        }
        return via
            .0
            .dial(&target.host, target.port)
            .await
            .map_err(|e| match e {
                crate::DialError::Target(error) => EndReason::TargetUnreachable { error },
                crate::DialError::Path { path, error } => EndReason::PathFailed {
                    path: path.to_owned(),
                    error,
                },
            });
    }
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
