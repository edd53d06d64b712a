//! What a session tells the rest of the relay and the app: its id, why it ended, its figures,
//! and the state it shares with the relay's registry.

use std::{
    fmt,
    net::SocketAddr,
    path::PathBuf,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
    time::Duration,
};

use serde::{Serialize, Serializer};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::{Target, handshake::Rejection, recording::RecordingSummary};

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
    /// The path to the target failed before reaching it (an SSH host unreachable, its
    /// authentication refused, its host key unknown or changed, its connection lost): `path`
    /// names which part ([`crate::DialError::Path`]). Close 1011.
    PathFailed {
        /// Which part failed (`ssh_unreachable`, `ssh_auth`, `ssh_host_key_changed`…).
        path: String,
        /// In words.
        error: String,
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
            Self::PathFailed { .. } => (1011, "the SSH path to the console target failed"),
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
            Self::PathFailed { path, error } => {
                write!(f, "path to the target failed ({path}): {error}")
            }
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
