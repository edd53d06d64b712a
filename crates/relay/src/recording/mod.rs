//! Session recordings (format in docs/RECORDING.md): what the VNC server showed after ServerInit,
//! what the person at the console did (keys, clicks, clipboard, resizes), timestamped, in
//! zstd-compressed chunks whose SHA-256 hashes form a chain. The RFB security exchange (the VNC
//! password's challenge and response) is never written.

mod format;
mod frame;
mod index;
mod reader;
mod timeline;
mod writer;

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

pub(crate) use format::cut_utf8;
pub use format::{EXTENSION, FORMAT_VERSION, MAGIC, MAX_CUT_TEXT, OLDEST_READ};
pub use frame::screen_at;
pub use index::{ChunkInfo, Verified, chunk_index, verify};
pub use reader::{Record, RecordingReader};
pub use timeline::{KeyStroke, MAX_TYPED, Timeline, TypedText, typed_text};
pub(crate) use writer::Recorder;

/// What the recording's header says about the session. Never holds the ticket's token.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RecordingMeta {
    /// The relay's session id.
    pub session: u64,
    /// The ticket's label.
    pub label: String,
    /// The target, `host:port`.
    pub target: String,
    /// Session start, milliseconds since the Unix epoch.
    pub started_unix_ms: u64,
    /// The writer, e.g. `onedeck-relay 0.1.0`.
    pub writer: String,
}

/// A finished recording, as the session's end event reports it (the audit log keeps `head`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecordingSummary {
    /// The file.
    pub path: PathBuf,
    /// The hash chain's head, lower-case hex SHA-256.
    pub head: String,
    /// Chunks written.
    pub chunks: u32,
    /// The file's size.
    pub bytes: u64,
    /// It stopped at its size cap before the session ended.
    pub capped: bool,
    /// What the keys typed (see [`typed_text`]), for the audit log's search.
    #[serde(skip)]
    pub typed: String,
}

#[cfg(test)]
mod tests;
