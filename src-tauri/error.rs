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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crosses_ipc_as_kind_and_message() {
        let error = CommandError {
            kind: ErrorKind::Internal,
            message: "the relay could not start".into(),
        };
        let json = serde_json::to_value(&error).expect("plain data serialises");
        assert_eq!(
            json,
            serde_json::json!({ "kind": "internal", "message": "the relay could not start" }),
            "ui/src/lib/ipc.ts reads exactly these two fields"
        );
    }
}
