//! The one error type that crosses IPC: `{ kind, message }`.

use serde::Serialize;

/// What went wrong, as a stable camelCase code the UI may branch on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum ErrorKind {
    /// A failure inside the app that the user cannot fix.
    Internal,
}

/// An error returned by a command, serialised as `{ "kind": ..., "message": ... }`.
#[derive(Debug, Clone, Serialize, thiserror::Error)]
#[error("{message}")]
pub struct CommandError {
    /// The stable code the UI may branch on.
    pub kind: ErrorKind,
    /// A sentence for the user (OpenNebula's own words when it sent some).
    pub message: String,
}
