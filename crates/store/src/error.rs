//! The store's one error type.

use std::path::PathBuf;

/// Everything the store can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No per-user data directory could be found (no home directory).
    #[error(
        "no data directory: the OS reports no home directory; set ONEDECK_DATA_DIR to a writable directory"
    )]
    NoDataDir,

    /// A file operation failed (creating the directory, moving a damaged database aside).
    #[error("{action} {path}: {source}")]
    Io {
        /// What the store was doing.
        action: &'static str,
        /// The file or directory involved.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },

    /// The database was written by a newer OneDeck; it is left untouched.
    #[error(
        "{path}: the database has schema version {found}, this OneDeck understands up to {supported}; \
         upgrade OneDeck (the database was not changed)"
    )]
    NewerSchema {
        /// The database file.
        path: PathBuf,
        /// `user_version` found in the file.
        found: u32,
        /// The newest version this build knows.
        supported: u32,
    },

    /// Another process held the database longer than the busy timeout.
    #[error(
        "the local database stayed locked by another OneDeck process for too long; close it or retry"
    )]
    Busy,

    /// An inventory row carries a field that looks like a password; the whole snapshot was refused.
    #[error(
        "inventory row of VM {vm_id} has a field `{field}` that looks like a password; strip secrets \
         (e.g. GRAPHICS/PASSWD) before caching — nothing was written"
    )]
    SecretInRow {
        /// The VM whose row was refused.
        vm_id: u64,
        /// JSON path of the offending key.
        field: String,
    },

    /// A value does not fit the column (e.g. an id above 2^63).
    #[error("value out of range for `{field}`: {value}")]
    OutOfRange {
        /// The field.
        field: &'static str,
        /// The value as text.
        value: String,
    },

    /// No audit row or recording has this id (or the session was already ended).
    #[error("no {what} with id {id}")]
    NotFound {
        /// "console session" or "recording".
        what: &'static str,
        /// The id asked for.
        id: i64,
    },

    /// Any other SQLite failure.
    #[error("database error: {0}")]
    Sqlite(#[source] rusqlite::Error),
}

impl From<rusqlite::Error> for Error {
    /// SQLITE_BUSY/LOCKED after the busy timeout becomes [`Error::Busy`]; the rest stays SQLite's.
    fn from(e: rusqlite::Error) -> Self {
        match e.sqlite_error_code() {
            Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) => {
                Self::Busy
            }
            _ => Self::Sqlite(e),
        }
    }
}

/// The store's result type.
pub type Result<T> = std::result::Result<T, Error>;
