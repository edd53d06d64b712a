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
    /// OpenNebula could not create the VM (a bad template, a name taken).
    Allocation,
    /// A console recording cannot be read: broken (edited, truncated), of a newer format, or
    /// not a recording; `params` say where and what.
    Recording,
    /// The SPICE hand-off failed: remote-viewer is not installed (`problem` `missing`, with the
    /// places looked at and what to install) or did not start (`problem` `failed`).
    RemoteViewer,
    /// The SSH path to the consoles failed; `problem` says where: `unreachable`,
    /// `hostKeyUnknown` (with `fingerprint`: ask the user), `hostKeyChanged` / `hostKeyRevoked`
    /// (refused, with `file` and `line`), `auth`, `credentials`, `targetRefused`,
    /// `disconnected`, `protocol`.
    Ssh,
}

/// An error as it crosses IPC and as the CLI's `--json` prints it: the stable `kind`, an English
/// `message` (for logs and kinds the UI does not word itself) and the `params` the UI's
/// catalogues word it with (docs/IPC.md, "Errors").
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ErrorView {
    /// The stable code.
    pub kind: ErrorKind,
    /// An English sentence.
    pub message: String,
    /// What the catalogues need: `oned` and `code` for OpenNebula's errors, `field` and
    /// `problem` for refused input, ...
    pub params: serde_json::Map<String, serde_json::Value>,
}

impl From<&Error> for ErrorView {
    fn from(e: &Error) -> Self {
        Self {
            kind: e.kind(),
            message: e.to_string(),
            params: e.params(),
        }
    }
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
    /// Editing where a profile's secret goes (URL, user, pin, CA) needs the password typed again:
    /// the stored one is never sent to a new place.
    #[error(
        "\"{profile}\": {field} changed, so type the password again (the stored one is only sent where it was entered for)"
    )]
    PasswordRequired {
        /// The profile's name.
        profile: String,
        /// The changed field, as the form names it.
        field: &'static str,
    },
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
        vm_id: onedeck_opennebula::VmId,
        /// The VM's name.
        vm_name: String,
        /// Why, in the client's words.
        reason: onedeck_opennebula::NoConsole,
    },
    /// The VM's console names a place a console may not be (this machine, a link-local address,
    /// a system port): nothing is dialled.
    #[error("VM {vm_id} ({vm_name}) has no console to open: its console target {target} is {why}")]
    UnsafeTarget {
        /// The VM's id.
        vm_id: onedeck_opennebula::VmId,
        /// The VM's name.
        vm_name: String,
        /// `host:port` as the VM document gave it.
        target: String,
        /// Why it is refused.
        why: &'static str,
    },
    /// The demo cloud is built in and cannot be edited or removed.
    #[error("the demo cloud is built in: it cannot be changed or removed")]
    DemoReadOnly,
    /// A blocking task could not finish (the app is shutting down).
    #[error("an internal task failed: {0}")]
    Task(String),
    /// An answer to the template's USER_INPUTS is refused.
    #[error("{0}")]
    UserInput(#[from] onedeck_opennebula::InputError),
    /// Some of the VMs asked for were created before OpenNebula refused the next one.
    #[error("{} VM(s) were created ({}) before OpenNebula refused the next: {source}", created.len(), created.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "))]
    PartlyCreated {
        /// The VMs that exist now.
        created: Vec<onedeck_opennebula::VmId>,
        /// Why the next one was refused.
        source: onedeck_opennebula::Error,
    },
    /// This front end runs no console relay (the CLI).
    #[error("consoles need the app: this front end runs no console relay")]
    NoRelay,
    /// The console session was not recorded, or retention deleted its recording.
    #[error("console session {0} has no recording to read (not recorded, or deleted by retention)")]
    NoRecording(i64),
    /// An `onedeck://` link was refused; `problem` names why for the UI's catalogues
    /// (`linkMalformed`, `linkCredentials`, `linkUnknownEndpoint`, `linkVmNotListed`).
    #[error("link refused: {reason}")]
    LinkRefused {
        /// Why, as a stable name.
        problem: &'static str,
        /// The endpoint or VM id it is about.
        value: Option<String>,
        /// In English words.
        reason: String,
    },
    /// The SSH path to the consoles failed.
    #[error("{0}")]
    Ssh(onedeck_ssh::Error),
    /// The profile's consoles go through SSH with a password (or an encrypted key) and none is
    /// stored: ask for it.
    #[error("\"{0}\": its consoles go through SSH and need the SSH password or key passphrase")]
    SshSecretMissing(String),
    /// No SSH host key with that fingerprint awaits a decision.
    #[error(
        "no SSH host key with that fingerprint was shown for this endpoint; open the console again"
    )]
    UnknownHostKey,
    /// remote-viewer is not installed where the app looks.
    #[error(
        "remote-viewer was not found (looked for {looked}): {}",
        crate::spice::INSTALL_HINT
    )]
    RemoteViewerMissing {
        /// The places looked at.
        looked: String,
    },
    /// remote-viewer could not be started, or quit before it connected.
    #[error("remote-viewer ({program}) did not open the console: {why}")]
    RemoteViewerFailed {
        /// The program run.
        program: String,
        /// What happened.
        why: String,
    },
    /// A file the user chose could not be written (a screenshot).
    #[error("cannot write {path}: {source}")]
    File {
        /// The file.
        path: std::path::PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
}

/// Short for `std::result::Result<T, onedeck_core::Error>`.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// The stable code for the UI.
    pub fn kind(&self) -> ErrorKind {
        use onedeck_vault::Error as V;
        match self {
            Self::Vault(e) if e.is_keyring_unavailable() => ErrorKind::KeyringUnavailable,
            Self::Vault(V::InvalidProfile { .. }) => ErrorKind::InvalidInput,
            Self::Vault(V::ProfileNotFound(_)) => ErrorKind::NotFound,
            Self::Vault(V::Corrupt { .. } | V::NewerVersion { .. }) => ErrorKind::ProfileFile,
            Self::Vault(_) => ErrorKind::Internal,
            Self::Store(_) | Self::File { .. } => ErrorKind::Storage,
            Self::RemoteViewerMissing { .. } | Self::RemoteViewerFailed { .. } => {
                ErrorKind::RemoteViewer
            }
            Self::Ssh(_) => ErrorKind::Ssh,
            Self::SshSecretMissing(_) => ErrorKind::SecretMissing,
            Self::UnknownHostKey => ErrorKind::NotFound,
            Self::OpenNebula(e) => one_kind(e),
            Self::Relay(
                onedeck_relay::Error::RecordingBroken { .. }
                | onedeck_relay::Error::RecordingFormat { .. }
                | onedeck_relay::Error::RecordingNewer { .. }
                | onedeck_relay::Error::RecordingScreen { .. },
            ) => ErrorKind::Recording,
            Self::Relay(_) | Self::Demo(_) | Self::Task(_) => ErrorKind::Internal,
            Self::InvalidInput { .. } | Self::LinkRefused { .. } => ErrorKind::InvalidInput,
            Self::SecretMissing(_) => ErrorKind::SecretMissing,
            Self::PasswordRequired { .. } => ErrorKind::InvalidInput,
            Self::NotSignedIn(_) => ErrorKind::NotSignedIn,
            Self::TokenExpired(_) => ErrorKind::Authentication,
            Self::UnknownConsole => ErrorKind::NotFound,
            Self::NoConsole { .. } | Self::UnsafeTarget { .. } => ErrorKind::NoConsole,
            Self::DemoReadOnly => ErrorKind::InvalidInput,
            Self::UserInput(_) => ErrorKind::InvalidInput,
            Self::PartlyCreated { source, .. } => one_kind(source),
            Self::NoRelay => ErrorKind::Internal,
            Self::NoRecording(_) => ErrorKind::NotFound,
        }
    }

    /// What the UI's catalogues need to word this error (docs/IPC.md, "Errors").
    pub fn params(&self) -> serde_json::Map<String, serde_json::Value> {
        use serde_json::{Value, json};
        let mut p = serde_json::Map::new();
        fn put_in(p: &mut serde_json::Map<String, Value>, k: &str, v: Value) {
            p.insert(k.to_owned(), v);
        }
        macro_rules! put {
            ($k:expr, $v:expr) => {
                put_in(&mut p, $k, $v)
            };
        }
        match self {
            Self::OpenNebula(e) => one_params(e, &mut p),
            Self::PartlyCreated { created, source } => {
                one_params(source, &mut p);
                put!("created", json!(created));
            }
            Self::InvalidInput { field, reason } => {
                put!("field", json!(field));
                put!("problem", json!("invalid"));
                put!("detail", json!(reason));
            }
            Self::Vault(onedeck_vault::Error::InvalidProfile { field, reason }) => {
                put!("field", json!(field));
                put!("problem", json!("invalid"));
                put!("detail", json!(reason));
            }
            Self::UserInput(e) => {
                if let Ok(Value::Object(map)) = serde_json::to_value(e) {
                    for (k, v) in map {
                        let k = if k == "name" { "field".to_owned() } else { k };
                        p.insert(k, v);
                    }
                }
            }
            Self::PasswordRequired { profile, field } => {
                put!("field", json!("password"));
                put!("problem", json!("required"));
                put!("changed", json!(field));
                put!("profile", json!(profile));
            }
            Self::Relay(onedeck_relay::Error::RecordingBroken { link, what, .. }) => {
                put!("problem", json!("broken"));
                put!("link", json!(link));
                put!("detail", json!(what));
            }
            Self::Relay(onedeck_relay::Error::RecordingNewer {
                found, supported, ..
            }) => {
                put!("problem", json!("newer"));
                put!("found", json!(found));
                put!("supported", json!(supported));
            }
            Self::Relay(onedeck_relay::Error::RecordingFormat { message, .. }) => {
                put!("problem", json!("format"));
                put!("detail", json!(message));
            }
            Self::NoRecording(id) => {
                put!("auditId", json!(id));
            }
            Self::LinkRefused {
                problem,
                value,
                reason,
            } => {
                put!("field", json!("link"));
                put!("problem", json!(problem));
                if let Some(v) = value {
                    put!("value", json!(v));
                }
                put!("detail", json!(reason));
            }
            Self::Ssh(e) => ssh_params(e, &mut p),
            Self::SshSecretMissing(name) => {
                put!("profile", json!(name));
                put!("slot", json!("ssh"));
            }
            Self::RemoteViewerMissing { looked } => {
                put!("problem", json!("missing"));
                put!("looked", json!(looked));
                put!("hint", json!(crate::spice::INSTALL_HINT));
            }
            Self::RemoteViewerFailed { program, why } => {
                put!("problem", json!("failed"));
                put!("program", json!(program));
                put!("detail", json!(why));
            }
            Self::File { path, source } => {
                put!("path", json!(path));
                put!("detail", json!(source.to_string()));
            }
            Self::SecretMissing(name) | Self::NotSignedIn(name) | Self::TokenExpired(name) => {
                put!("profile", json!(name));
            }
            Self::NoConsole {
                vm_id,
                vm_name,
                reason,
            } => {
                put!("vmId", json!(vm_id));
                put!("vmName", json!(vm_name));
                if let Ok(Value::Object(map)) = serde_json::to_value(reason) {
                    p.extend(map);
                }
            }
            Self::UnsafeTarget {
                vm_id,
                vm_name,
                target,
                why,
            } => {
                put!("vmId", json!(vm_id));
                put!("vmName", json!(vm_name));
                put!("reason", json!("unsafe_target"));
                put!("target", json!(target));
                put!("detail", json!(why));
            }
            _ => {}
        }
        p
    }

    /// True when the endpoint could not be reached, so cached data may stand in.
    pub fn is_offline(&self) -> bool {
        matches!(self, Self::OpenNebula(e) if e.is_retryable())
    }
}

/// The kind of an OpenNebula (or transport) error.
fn one_kind(e: &onedeck_opennebula::Error) -> ErrorKind {
    use onedeck_opennebula::Error as One;
    match e {
        One::Authentication(_) => ErrorKind::Authentication,
        One::Authorization(_) => ErrorKind::Authorization,
        One::NoExists(_) => ErrorKind::NotFound,
        One::Action(_) | One::Locked(_) => ErrorKind::WrongState,
        One::Transport(_) => ErrorKind::Network,
        One::Tls { .. } => ErrorKind::Tls,
        One::Decode(_) | One::Fault { .. } => ErrorKind::MalformedReply,
        One::Allocate(_) => ErrorKind::Allocation,
        One::Config(_) => ErrorKind::InvalidInput,
        _ => ErrorKind::Internal,
    }
}

/// The parameters of an OpenNebula (or transport) error: oned's own message and code, the TLS
/// fingerprint, or the transport's detail.
fn one_params(e: &onedeck_opennebula::Error, p: &mut serde_json::Map<String, serde_json::Value>) {
    use serde_json::json;
    if let Some(oned) = e.oned() {
        p.insert("oned".into(), json!(oned.message));
        p.insert("code".into(), json!(oned.code));
    } else if let onedeck_opennebula::Error::Tls {
        fingerprint: Some(f),
        ..
    } = e
    {
        p.insert("fingerprint".into(), json!(f.to_string()));
    } else if let onedeck_opennebula::Error::Fault { code, message } = e {
        p.insert("oned".into(), json!(message));
        p.insert("code".into(), json!(code));
    } else {
        p.insert("detail".into(), json!(e.to_string()));
    }
}

impl From<tokio::task::JoinError> for Error {
    fn from(e: tokio::task::JoinError) -> Self {
        Self::Task(e.to_string())
    }
}

/// What the catalogues need to word an SSH failure.
fn ssh_params(e: &onedeck_ssh::Error, p: &mut serde_json::Map<String, serde_json::Value>) {
    use onedeck_ssh::Error as S;
    use serde_json::json;
    let mut put = |k: &str, v: serde_json::Value| {
        p.insert(k.to_owned(), v);
    };
    let problem = match e {
        S::Unreachable { host, port, why } => {
            put("host", json!(host));
            put("port", json!(port));
            put("detail", json!(why));
            "unreachable"
        }
        S::HostKeyUnknown {
            host,
            port,
            fingerprint,
            ..
        } => {
            put("host", json!(host));
            put("port", json!(port));
            put("fingerprint", json!(fingerprint));
            "hostKeyUnknown"
        }
        S::HostKeyChanged {
            host,
            port,
            fingerprint,
            file,
            line,
        }
        | S::HostKeyRevoked {
            host,
            port,
            fingerprint,
            file,
            line,
        } => {
            put("host", json!(host));
            put("port", json!(port));
            put("fingerprint", json!(fingerprint));
            put("file", json!(file));
            put("line", json!(line));
            if matches!(e, S::HostKeyChanged { .. }) {
                "hostKeyChanged"
            } else {
                "hostKeyRevoked"
            }
        }
        S::AuthRefused {
            user,
            host,
            port,
            method,
        } => {
            put("user", json!(user));
            put("host", json!(host));
            put("port", json!(port));
            put("method", json!(method));
            "auth"
        }
        S::Credentials(why) => {
            put("detail", json!(why));
            "credentials"
        }
        S::TargetRefused { host, port, why } => {
            put("host", json!(host));
            put("port", json!(port));
            put("detail", json!(why));
            "targetRefused"
        }
        S::Disconnected(why) => {
            put("detail", json!(why));
            "disconnected"
        }
        other => {
            put("detail", json!(other.to_string()));
            "protocol"
        }
    };
    put("problem", json!(problem));
    // A console window that was connected tries again on its own while the SSH host is away.
    put(
        "retry",
        json!(matches!(problem, "unreachable" | "disconnected")),
    );
}
