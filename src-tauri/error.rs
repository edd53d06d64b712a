//! The one error type that crosses IPC: `{ kind, message, params }` (docs/IPC.md, "Errors").

use serde::Serialize;

pub use onedeck_core::ErrorKind;

/// An error returned by a command, serialised as `{ "kind": ..., "message": ..., "params": {...} }`.
#[derive(Debug, Clone, Serialize, thiserror::Error)]
#[error("{message}")]
pub struct CommandError {
    /// The stable code the UI may branch on.
    pub kind: ErrorKind,
    /// An English sentence (OpenNebula's own words when it sent some).
    pub message: String,
    /// What the UI's catalogues word the error with (oned's message, the field...).
    pub params: serde_json::Map<String, serde_json::Value>,
}

impl CommandError {
    /// A failure of the shell itself (a window that would not open).
    pub fn internal(message: impl Into<String>) -> Self {
        Self {
            kind: ErrorKind::Internal,
            message: message.into(),
            params: serde_json::Map::new(),
        }
    }
}

impl From<onedeck_core::Error> for CommandError {
    fn from(e: onedeck_core::Error) -> Self {
        let view = onedeck_core::ErrorView::from(&e);
        Self {
            kind: view.kind,
            message: view.message,
            params: view.params,
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
            serde_json::json!({ "kind": "internal", "message": "the relay could not start", "params": {} }),
            "ui/src/lib/ipc.ts reads exactly these fields"
        );
    }

    #[test]
    fn library_errors_keep_their_kind() {
        let error = CommandError::from(onedeck_core::Error::SecretMissing("Lab".into()));
        let json = serde_json::to_value(&error).expect("plain data serialises");
        assert_eq!(json["kind"], "secretMissing");
        assert!(json["message"].as_str().is_some_and(|m| m.contains("Lab")));
        assert_eq!(
            json["params"]["profile"], "Lab",
            "the catalogues word it from params"
        );
    }

    #[test]
    fn onedeck_errors_carry_oned_message_and_code() {
        let one = onedeck_opennebula::Error::from_oned(
            2048,
            "[one.vm.action] Error performing action \"suspend\": This action is not available for state POWEROFF".into(),
            None,
        );
        let json = serde_json::to_value(CommandError::from(onedeck_core::Error::from(one)))
            .expect("plain data serialises");
        assert_eq!(json["kind"], "wrongState");
        assert_eq!(json["params"]["code"], 2048);
        assert!(
            json["params"]["oned"]
                .as_str()
                .is_some_and(|m| m.starts_with("[one.vm.action] Error performing action")),
            "{json}"
        );
    }
}
