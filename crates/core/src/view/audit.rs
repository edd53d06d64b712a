//! The audit view's shapes: console sessions, the search, and what verification found.

use serde::{Deserialize, Serialize};

/// One console session of the audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditEntry {
    /// Row id (what `audit show`, replay and export take).
    pub id: i64,
    /// The endpoint profile.
    pub profile_id: String,
    /// The OpenNebula user.
    pub user: String,
    /// The VM.
    pub vm_id: u64,
    /// Its name at the time.
    pub vm_name: String,
    /// `host:port` dialled.
    pub target: String,
    /// Start, ms since the Unix epoch.
    pub started_at_ms: i64,
    /// End; `None` while it runs.
    pub ended_at_ms: Option<i64>,
    /// Bytes from the VM's screen to the viewer.
    pub bytes_to_client: u64,
    /// Bytes from the viewer to the VM.
    pub bytes_to_server: u64,
    /// How it ended (the relay's name, e.g. `client_closed`, `input_idle`).
    pub end_reason: Option<String>,
    /// The session was recorded.
    pub recorded: bool,
    /// Its recording can still be replayed (not deleted by retention).
    pub recording_available: bool,
    /// The recording's chain head, as sealed at the session's end.
    pub recording_head: Option<String>,
}

/// The audit view's filters; every field left out matches all.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct AuditQuery {
    /// One endpoint's sessions.
    pub profile_id: Option<String>,
    /// One VM's.
    pub vm_id: Option<u64>,
    /// One user's.
    pub user: Option<String>,
    /// Started at or after (ms since the epoch).
    pub since_ms: Option<i64>,
    /// Started before.
    pub until_ms: Option<i64>,
    /// The text typed in the session contains this.
    pub typed: Option<String>,
    /// At most this many rows (default 500, at most 10,000).
    pub limit: Option<u32>,
}

/// A recording whose chain is broken.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordingBreak {
    /// Its audit row.
    pub audit_id: i64,
    /// The file.
    pub path: String,
    /// The first broken link (`chunk 17`, `the end`, `the file`).
    pub link: String,
    /// What is wrong there.
    pub what: String,
}

/// What `audit verify` found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditVerification {
    /// Nothing broken.
    pub intact: bool,
    /// Events in the audit chain.
    pub events: u64,
    /// Audit rows checked.
    pub rows: u64,
    /// The chain's last hash.
    pub head: Option<String>,
    /// The audit log's first broken link.
    pub first_break: Option<onedeck_store::Break>,
    /// Recordings checked against their sealed heads.
    pub recordings_checked: u32,
    /// Recordings found broken.
    pub recording_breaks: Vec<RecordingBreak>,
}

/// What a replay window shows around the screen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReplayInfo {
    /// The session (who, which VM, when, how it ended).
    pub entry: AuditEntry,
    /// The recording's length.
    pub duration_ms: u64,
    /// It stopped at its size cap before the session ended.
    pub capped: bool,
    /// The keystroke timeline (fields as `onedeck-cli recording keys --json`: `t_ms`, `down`,
    /// `keysym`, `text`, `key`, `modifiers`).
    pub keys: Vec<onedeck_relay::recording::KeyStroke>,
    /// Pointer button changes.
    pub clicks: Vec<ReplayClick>,
    /// The relay's notes (why something is missing).
    pub notes: Vec<String>,
    /// The chunks `replay_data` serves, with the time each covers.
    pub chunks: Vec<ReplayChunk>,
}

/// A pointer button change in a replay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReplayClick {
    /// Milliseconds since the session started.
    pub t_ms: u64,
    /// Buttons held after the change.
    pub buttons: u8,
    /// Column.
    pub x: u16,
    /// Row.
    pub y: u16,
}

/// One chunk of a recording, for seeking.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReplayChunk {
    /// Its number (what `replay_data` takes).
    pub seq: u32,
    /// Time of its first record.
    pub first_ms: u64,
    /// Time of its last record.
    pub last_ms: u64,
    /// It starts with a keyframe (`replay_data` with `keyframes` serves it).
    pub keyframe: bool,
}
