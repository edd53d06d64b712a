//! The crate's one error type, and the stable codes the UI branches on.

use serde::Serialize;

/// What went wrong, as a stable camelCase code that crosses IPC (the UI branches on it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum ErrorKind {
    /// A failure inside the app that the user cannot fix.
    Internal,
    /// A field the user typed is refused; the message names it.
    InvalidInput,
    /// No OS keyring answers (or it is locked); the user may keep the secret for this session only.
    KeyringUnavailable,
    /// No secret is stored for the profile: ask for the password.
    SecretMissing,
    /// The profile is not signed in.
    NotSignedIn,
    /// Wrong user name, password or token, or the login token expired.
    Authentication,
    /// OpenNebula refused the operation to this user.
    Authorization,
    /// The profile, VM or console window does not exist (any more).
    NotFound,
    /// The VM's state does not allow the operation.
    WrongState,
    /// The endpoint could not be reached or did not answer in time.
    Network,
    /// The endpoint's certificate was refused; the message carries its fingerprint when known.
    Tls,
    /// The endpoint answered with something that is not OpenNebula's XML-RPC.
    MalformedReply,
    /// The VM has no console that can be opened now; the message says why.
    NoConsole,
    /// The profiles file cannot be used (corrupt, newer version); the message names file and line.
    ProfileFile,
    /// The local database failed.
    Storage,
}

/// Everything that can go wrong in the app's logic.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A profile or secret operation failed.
    #[error(transparent)]
    Vault(#[from] onedeck_vault::Error),
    /// The local database failed.
    #[error(transparent)]
    Store(#[from] onedeck_store::Error),
    /// OpenNebula (or the way to it) failed.
    #[error(transparent)]
    OpenNebula(#[from] onedeck_opennebula::Error),
    /// The console relay failed.
    #[error(transparent)]
    Relay(#[from] onedeck_relay::Error),
    /// The demo cloud could not start.
    #[error("the demo cloud could not start: {0}")]
    Demo(#[from] onedeck_sim::Error),
    /// A field is refused.
    #[error("{field}: {reason}")]
    InvalidInput {
        /// The field, as the form names it.
        field: &'static str,
        /// Why.
        reason: String,
    },
    /// No secret is stored for this profile.
    #[error("no password is stored for \"{0}\": enter it to sign in")]
    SecretMissing(String),
    /// The profile has no live session.
    #[error("\"{0}\" is not signed in")]
    NotSignedIn(String),
    /// The stored login token is no longer accepted.
    #[error(
        "the login token of \"{0}\" has expired or was revoked: sign in again with your password"
    )]
    TokenExpired(String),
    /// No such console window.
    #[error("this console window is no longer known to the app; open the console again")]
    UnknownConsole,
    /// The VM has no console now.
    #[error("VM {vm_id} ({vm_name}) has no console to open: {reason}")]
    NoConsole {
        /// The VM's id.
        vm_id: i32,
        /// The VM's name.
        vm_name: String,
        /// Why, in the client's words.
        reason: onedeck_opennebula::NoConsole,
    },
    /// The demo cloud is built in and cannot be edited or removed.
    #[error("the demo cloud is built in: it cannot be changed or removed")]
    DemoReadOnly,
    /// A blocking task could not finish (the app is shutting down).
    #[error("an internal task failed: {0}")]
    Task(String),
}

/// Short for `std::result::Result<T, onedeck_core::Error>`.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// The stable code for the UI.
    pub fn kind(&self) -> ErrorKind {
        use onedeck_opennebula::Error as One;
        use onedeck_vault::Error as V;
        match self {
            Self::Vault(e) if e.is_keyring_unavailable() => ErrorKind::KeyringUnavailable,
            Self::Vault(V::InvalidProfile { .. }) => ErrorKind::InvalidInput,
            Self::Vault(V::ProfileNotFound(_)) => ErrorKind::NotFound,
            Self::Vault(V::Corrupt { .. } | V::NewerVersion { .. }) => ErrorKind::ProfileFile,
            Self::Vault(_) => ErrorKind::Internal,
            Self::Store(_) => ErrorKind::Storage,
            Self::OpenNebula(e) => match e {
                One::Authentication(_) => ErrorKind::Authentication,
                One::Authorization(_) => ErrorKind::Authorization,
                One::NoExists(_) => ErrorKind::NotFound,
                One::Action(_) | One::Locked(_) => ErrorKind::WrongState,
                One::Transport(_) => ErrorKind::Network,
                One::Tls { .. } => ErrorKind::Tls,
                One::Decode(_) | One::Fault { .. } => ErrorKind::MalformedReply,
                One::Config(_) => ErrorKind::InvalidInput,
                _ => ErrorKind::Internal,
            },
            Self::Relay(_) | Self::Demo(_) | Self::Task(_) => ErrorKind::Internal,
            Self::InvalidInput { .. } => ErrorKind::InvalidInput,
            Self::SecretMissing(_) => ErrorKind::SecretMissing,
            Self::NotSignedIn(_) => ErrorKind::NotSignedIn,
            Self::TokenExpired(_) => ErrorKind::Authentication,
            Self::UnknownConsole => ErrorKind::NotFound,
            Self::NoConsole { .. } => ErrorKind::NoConsole,
            Self::DemoReadOnly => ErrorKind::InvalidInput,
        }
    }

    /// True when the endpoint could not be reached, so cached data may stand in.
    pub fn is_offline(&self) -> bool {
        matches!(self, Self::OpenNebula(e) if e.is_retryable())
    }
}

impl From<tokio::task::JoinError> for Error {
    fn from(e: tokio::task::JoinError) -> Self {
        Self::Task(e.to_string())
    }
}
