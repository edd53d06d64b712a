//! The crate's one error type.

use std::{io, net::SocketAddr, path::PathBuf};

/// Everything that can go wrong when starting the relay, issuing tickets, reading a token file or
/// reading a recording. Session-level failures are not errors: they end a session with an
/// [`EndReason`](crate::EndReason) and are reported as events.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The configured listen address is not a loopback address; the relay never listens elsewhere.
    #[error("the relay listens only on a loopback address, not on {0}")]
    NotLoopback(SocketAddr),
    /// Binding the listening socket failed (port taken, no permission).
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address that could not be bound.
        addr: SocketAddr,
        /// What the operating system said.
        #[source]
        source: io::Error,
    },
    /// The operating system's random generator failed, so no ticket can be issued.
    #[error("the operating system's random generator failed: {0}")]
    Random(String),
    /// A configuration value is out of range (for example zero sessions).
    #[error("invalid relay configuration: {0}")]
    Config(String),
    /// A token file line is not `TOKEN: HOST:PORT`.
    #[error("{path}, line {line}: {message}")]
    TokenFile {
        /// The token file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong with that line.
        message: String,
    },
    /// A file (token file, recording) could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: io::Error,
    },
    /// A recording file is not in the format described in docs/RECORDING.md.
    #[error("{path}: not a valid OneDeck recording: {message}")]
    RecordingFormat {
        /// The recording file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// A recording of a newer format version than this build reads.
    #[error(
        "{path}: recording format version {found}; this build reads version {supported} (update OneDeck)"
    )]
    RecordingNewer {
        /// The recording file.
        path: PathBuf,
        /// The file's version.
        found: u16,
        /// The version this build reads.
        supported: u16,
    },
    /// A recording's hash chain is broken: it was edited, truncated or reordered after it was
    /// written (or the disk corrupted it).
    #[error("{path}: recording broken at {link}: {what}")]
    RecordingBroken {
        /// The recording file.
        path: PathBuf,
        /// The first broken link, e.g. `chunk 17` or `the end`.
        link: String,
        /// What is wrong there.
        what: String,
    },
    /// The screen of a recording cannot be rebuilt at a moment.
    #[error("{path}: no screen at {at_ms} ms: {why}")]
    RecordingScreen {
        /// The recording file.
        path: PathBuf,
        /// The moment asked for, in ms since the session started.
        at_ms: u64,
        /// Why.
        why: String,
    },
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
