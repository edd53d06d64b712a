//! Local state in SQLite.
//!
//! It owns the database (`state.sqlite3` in the OS data dir, or `$ONEDECK_DATA_DIR`) and its
//! migrations: the inventory snapshot per profile (for offline display, with its fetch time), the
//! console audit log and the recordings index. WAL mode with a busy timeout makes two app
//! instances safe; a damaged database is moved aside (renamed with a timestamp, never deleted)
//! and a fresh one created.
//!
//! It leaves to others: secrets (`onedeck-vault`; never in the database — the caller strips VNC
//! passwords from inventory rows, and rows with password-like keys are refused), fetching and
//! decoding the inventory (`onedeck-opennebula`: rows arrive as JSON text), and recording bytes
//! (`onedeck-relay`).
//!
//! Every call blocks on disk I/O: the app keeps the [`Store`] behind a `Mutex` and calls it from
//! `tokio::task::spawn_blocking`.
//!
//! ```no_run
//! use onedeck_store::{Store, VmRow};
//! # fn main() -> onedeck_store::Result<()> {
//! let mut store = Store::open_default()?;
//! if let Some(recovery) = store.recovered() {
//!     eprintln!("{recovery}");
//! }
//! let rows = [VmRow { vm_id: 7, json: r#"{"id":7,"name":"web-1"}"#.into() }];
//! store.save_inventory("lab-0000beef", std::time::SystemTime::now(), &rows)?;
//! assert_eq!(store.load_inventory("lab-0000beef")?.map(|s| s.rows.len()), Some(1));
//! # Ok(())
//! # }
//! ```

mod audit;
mod chain;
mod db;
mod error;
mod inventory;
mod migrations;
mod recordings;
mod settings;

pub use audit::{AuditFilter, AuditId, AuditRecord, SessionEnd, SessionStart};
pub use chain::{Break, ChainReport};
pub use db::{BUSY_TIMEOUT, DATA_DIR_ENV, FILE_NAME, Recovery, Store, default_data_dir};
pub use error::{Error, Result};
pub use inventory::{InventorySnapshot, VmRow};
pub use migrations::{MIGRATIONS, latest as latest_schema_version};
pub use recordings::{NewRecording, Recording, RecordingId};
pub use settings::MAX_SETTINGS_BYTES;

#[cfg(test)]
mod tests {
    /// The app keeps the store in a `Mutex` and moves it into `spawn_blocking`: it must be `Send`.
    #[test]
    fn store_is_send() {
        fn movable<T: Send>() {}
        movable::<crate::Store>();
        movable::<crate::Error>();
    }
}
