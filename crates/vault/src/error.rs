//! The vault's one error type: each variant names what went wrong and what the user can do.

use std::path::PathBuf;

/// Everything the vault can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No per-user configuration directory could be found (no home directory).
    #[error(
        "no configuration directory: the OS reports no home directory; set ONEDECK_CONFIG_DIR to a writable directory"
    )]
    NoConfigDir,

    /// Reading, writing or renaming a file failed.
    #[error("{action} {path}: {source}")]
    Io {
        /// What the vault was doing (e.g. "cannot write").
        action: &'static str,
        /// The file or directory involved.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },

    /// The profiles file is not valid TOML or does not match the schema. The file is left as it is.
    #[error(
        "{path}:{line}:{column}: the profiles file is damaged: {message}. It was not changed; fix it by hand, \
         restore {path}.bak, or move it aside to start with no profiles"
    )]
    Corrupt {
        /// The profiles file.
        path: PathBuf,
        /// 1-based line of the problem.
        line: usize,
        /// 1-based column of the problem.
        column: usize,
        /// What the parser said.
        message: String,
    },

    /// The profiles file was written by a newer OneDeck. The file is left as it is.
    #[error(
        "{path}:{line}: the profiles file has schema version {found}, this OneDeck understands up to {supported}; \
         upgrade OneDeck (the file was not changed)"
    )]
    NewerVersion {
        /// The profiles file.
        path: PathBuf,
        /// 1-based line of the `version` key.
        line: usize,
        /// The version found in the file.
        found: i64,
        /// The newest version this build reads.
        supported: u32,
    },

    /// A profile field has a value the vault refuses (the message says which and why).
    #[error("invalid profile field `{field}`: {reason}")]
    InvalidProfile {
        /// The field name as it appears in the TOML file.
        field: &'static str,
        /// Why it was refused.
        reason: String,
    },

    /// No profile has this id.
    #[error("no profile with id `{0}`")]
    ProfileNotFound(String),

    /// No Secret Service / keychain could be reached at all.
    #[error(
        "no keyring is available: {detail}. On Linux OneDeck keeps passwords in the Secret Service \
         (GNOME Keyring or KWallet) over the D-Bus session bus; start a desktop session or run \
         `gnome-keyring-daemon --unlock --components=secrets` inside one, or choose \
         \"keep for this session only\" (the password is then held in memory and forgotten on exit). \
         OneDeck never writes passwords to disk"
    )]
    KeyringUnavailable {
        /// What the platform store said.
        detail: String,
    },

    /// The keyring exists but is locked, or has no default collection, and could not be used.
    #[error(
        "the keyring is locked or has no default collection: {detail}. Unlock your login keyring \
         (e.g. with Seahorse, or `gnome-keyring-daemon --unlock`), then retry, or choose \
         \"keep for this session only\". OneDeck never writes passwords to disk"
    )]
    KeyringLocked {
        /// What the platform store said.
        detail: String,
    },

    /// The keyring answered with an error of its own.
    #[error("the keyring failed: {0}")]
    Keyring(#[source] keyring_core::Error),

    /// The secret stored for a profile is not valid UTF-8 (written by another program?).
    #[error(
        "the keyring entry for profile `{0}` is not valid UTF-8 text; remove and re-enter the password"
    )]
    SecretEncoding(String),

    /// The profiles could not be serialised (a bug: every field is serialisable).
    #[error("cannot serialise the profiles: {0}")]
    Serialize(#[from] toml::ser::Error),
}

/// The vault's result type.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// Builds an [`Error::Io`].
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> Self {
        Self::Io {
            action,
            path: path.into(),
            source,
        }
    }

    /// True when the secret store is unusable (unavailable or locked): the cue to offer session-only mode.
    pub fn is_keyring_unavailable(&self) -> bool {
        matches!(
            self,
            Self::KeyringUnavailable { .. } | Self::KeyringLocked { .. }
        )
    }
}
