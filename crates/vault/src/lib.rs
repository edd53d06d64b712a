//! Endpoint profiles and their secrets.
//!
//! It owns the profiles file (`profiles.toml` in the OS config dir, or `$ONEDECK_CONFIG_DIR`;
//! versioned, replaced atomically with a backup, never overwritten when it cannot be read) and the
//! secrets in the OS keyring (service `onedeck`, account = profile id). Secrets never touch disk:
//! when no keyring works the user may keep them in memory for the session, and that is all.
//!
//! It leaves to others: talking to the endpoint (`onedeck-opennebula`), local state such as the
//! inventory cache (`onedeck-store`), and asking the user anything (the app, `onedeck-cli`).
//!
//! Keyring calls block (D-Bus round trips, maybe a system unlock prompt): the app runs every
//! [`SecretStore`] and [`Vault`] call inside `tokio::task::spawn_blocking`.
//!
//! ```no_run
//! use onedeck_vault::{Profile, ProfileStore, Secret, SecretStore, Vault};
//!
//! # fn main() -> onedeck_vault::Result<()> {
//! let secrets = match SecretStore::os_keyring() {
//!     Ok(store) => store,
//!     // The message says what is missing and what to do; the app may offer session-only mode.
//!     Err(e) if e.is_keyring_unavailable() => SecretStore::session_only(),
//!     Err(e) => return Err(e),
//! };
//! let vault = Vault::new(ProfileStore::open_default()?, secrets);
//! let profile = Profile::new("Lab", "http://127.0.0.1:2633/RPC2", "oneadmin")?;
//! let saved = vault.save_profile(profile, Some(&Secret::new("opennebula".into())))?;
//! assert!(vault.secret(&saved.id)?.is_some());
//! # Ok(())
//! # }
//! ```

mod atomic;
mod error;
#[doc(hidden)]
pub mod fuzzing;
mod profile;
mod profiles;
mod secret;
mod transport;
mod vault;

pub use error::{Error, Result};
pub use profile::{
    AuthMode, MAX_ID_LEN, Profile, ProfileId, SshJump, TlsOptions, VmFilter, normalize_fingerprint,
};
pub use profiles::{CONFIG_DIR_ENV, FILE_NAME, ProfileStore, SCHEMA_VERSION, default_config_dir};
pub use secret::{SERVICE, Secret, SecretSlot, SecretStore};
pub use transport::{ConsoleTransport, SshAuthKind, SshTransport};
pub use vault::{SecretRemoval, Vault, save_profile_with};

#[cfg(test)]
mod tests {
    /// The app shares one vault between commands (behind `Arc`, called from `spawn_blocking`).
    #[test]
    fn vault_is_send_and_sync() {
        fn shareable<T: Send + Sync>() {}
        shareable::<crate::Vault>();
        shareable::<crate::SecretStore>();
        shareable::<crate::Secret>();
    }
}
