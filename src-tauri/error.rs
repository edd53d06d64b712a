//! The one error type that crosses IPC: `{ kind, message }`.

use serde::Serialize;

pub use onedeck_core::ErrorKind;

/// An error returned by a command, serialised as `{ "kind": ..., "message": ... }`.
#[derive(Debug, Clone, Serialize, thiserror::Error)]
#[error("{message}")]
pub struct CommandError {
    /// The stable code the UI may branch on.
    pub kind: ErrorKind,
    /// A sentence for the user (OpenNebula's own words when it sent some).
    pub message: String,
}

impl CommandError {
    /// A failure of the shell itself (a window that would not open).
    pub fn internal(message: impl Into<String>) -> Self {
        Self {
            kind: ErrorKind::Internal,
            message: message.into(),
        }
    }
}

impl From<onedeck_core::Error> for CommandError {
    fn from(e: onedeck_core::Error) -> Self {
        Self {
            kind: e.kind(),
            message: e.to_string(),
        }
    }
}

impl From<tauri::Error> for CommandError {
    fn from(e: tauri::Error) -> Self {
        Self::internal(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crosses_ipc_as_kind_and_message() {
        let error = CommandError::internal("the relay could not start");
        let json = serde_json::to_value(&error).expect("plain data serialises");
        assert_eq!(
            json,
            serde_json::json!({ "kind": "internal", "message": "the relay could not start" }),
            "ui/src/lib/ipc.ts reads exactly these two fields"
        );
    }

    #[test]
    fn library_errors_keep_their_kind() {
        let error = CommandError::from(onedeck_core::Error::SecretMissing("Lab".into()));
        let json = serde_json::to_value(&error).expect("plain data serialises");
        assert_eq!(json["kind"], "secretMissing");
        assert!(json["message"].as_str().is_some_and(|m| m.contains("Lab")));
    }
}
