//! Secrets (passwords, login tokens): held in a zeroize-on-drop type, kept in the OS keyring, or in
//! memory only when the user chose "keep for this session only". Never on disk.
//!
//! Every [`SecretStore`] call may block on D-Bus (or Keychain / Credential Manager) and may show a
//! system prompt: the app calls them through `tokio::task::spawn_blocking`, never on the async
//! runtime's worker threads.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use keyring_core::{CredentialStore, Entry};
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::profile::ProfileId;

/// Keyring service name under which every OneDeck secret is stored (account = profile id).
pub const SERVICE: &str = "onedeck";

/// A password or token. Its memory is wiped on drop, `Debug` prints `Secret(<redacted>)`, and it
/// implements neither `Display` nor `Serialize`, so it cannot reach a log or a file by accident.
#[derive(Clone)]
pub struct Secret(Zeroizing<String>);

impl Secret {
    /// Wraps a secret, taking ownership so no unwiped copy is left behind by this call.
    pub fn new(text: String) -> Self {
        Self(Zeroizing::new(text))
    }

    /// The secret's text, for the one place that sends it (the XML-RPC session string).
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// True when the secret is the empty string.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<String> for Secret {
    fn from(text: String) -> Self {
        Self::new(text)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl PartialEq for Secret {
    /// Compares in time independent of where the texts first differ (only their lengths leak).
    fn eq(&self, other: &Self) -> bool {
        let (a, b) = (self.0.as_bytes(), other.0.as_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

impl Eq for Secret {}

/// Where secrets are kept.
enum Backend {
    /// The platform credential store (Secret Service, Keychain, Credential Manager).
    Keyring(Arc<CredentialStore>),
    /// Process memory only, forgotten on exit: the user's explicit choice when no keyring works.
    SessionOnly(Mutex<HashMap<(SecretSlot, ProfileId), Secret>>),
}

/// Which of a profile's secrets: the endpoint's password or token, or the SSH password or key
/// passphrase of its console transport.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SecretSlot {
    /// The OpenNebula password or login token (keyring account: the profile id).
    Endpoint,
    /// The SSH password or key passphrase (keyring account: `<profile id>#ssh`).
    Ssh,
}

impl SecretSlot {
    fn account(self, id: &ProfileId) -> String {
        match self {
            Self::Endpoint => id.as_str().to_owned(),
            Self::Ssh => format!("{id}#ssh"),
        }
    }

    fn label(self, id: &ProfileId) -> String {
        match self {
            Self::Endpoint => format!("OneDeck endpoint password ({id})"),
            Self::Ssh => format!("OneDeck SSH secret for consoles ({id})"),
        }
    }
}

/// Secrets by profile id: in the OS keyring, or in memory for this session only.
///
/// The platform store is built by this type, not through keyring 4's process-wide default (which
/// is fixed at first use): after a "no keyring" error, calling [`SecretStore::os_keyring`] again
/// connects afresh, so the user can start or unlock the keyring and retry without restarting.
pub struct SecretStore {
    backend: Backend,
}

impl fmt::Debug for SecretStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.backend {
            Backend::Keyring(_) => "os-keyring",
            Backend::SessionOnly(_) => "session-only",
        };
        f.debug_struct("SecretStore")
            .field("backend", &kind)
            .finish()
    }
}

impl SecretStore {
    /// Connects to the platform credential store. Blocking.
    ///
    /// This only connects: a locked collection shows up as [`Error::KeyringLocked`] on the first
    /// read or write (use [`SecretStore::check`] to find out up front).
    ///
    /// # Errors
    /// [`Error::KeyringUnavailable`] when no store can be reached (on Linux: no D-Bus session bus,
    /// or nothing owns the Secret Service name).
    pub fn os_keyring() -> Result<Self> {
        let store = platform_store().map_err(map_connect_error)?;
        Ok(Self {
            backend: Backend::Keyring(store),
        })
    }

    /// A store that keeps secrets in this process's memory only ("keep for this session only").
    pub fn session_only() -> Self {
        Self {
            backend: Backend::SessionOnly(Mutex::new(HashMap::new())),
        }
    }

    /// True for the in-memory store of [`SecretStore::session_only`].
    pub fn is_session_only(&self) -> bool {
        matches!(self.backend, Backend::SessionOnly(_))
    }

    /// Proves the store is usable by looking up a probe entry (absent is fine). Blocking.
    ///
    /// # Errors
    /// [`Error::KeyringLocked`] / [`Error::KeyringUnavailable`] when it is not.
    pub fn check(&self) -> Result<()> {
        match &self.backend {
            Backend::SessionOnly(_) => Ok(()),
            Backend::Keyring(store) => {
                let entry =
                    Entry::new_in_store(store, SERVICE, "onedeck-probe").map_err(map_error)?;
                match entry.get_secret() {
                    Ok(_) | Err(keyring_core::Error::NoEntry) => Ok(()),
                    Err(e) => Err(map_error(e)),
                }
            }
        }
    }

    /// Stores (or replaces) the secret of profile `id`. Blocking.
    ///
    /// # Errors
    /// [`Error::KeyringLocked`], [`Error::KeyringUnavailable`], [`Error::Keyring`].
    pub fn set(&self, id: &ProfileId, secret: &Secret) -> Result<()> {
        self.set_in(SecretSlot::Endpoint, id, secret)
    }

    /// Stores (or replaces) the `slot` secret of profile `id`. Blocking.
    ///
    /// # Errors
    /// As [`SecretStore::set`].
    pub fn set_in(&self, slot: SecretSlot, id: &ProfileId, secret: &Secret) -> Result<()> {
        match &self.backend {
            Backend::SessionOnly(map) => {
                lock(map).insert((slot, id.clone()), secret.clone());
                Ok(())
            }
            Backend::Keyring(store) => entry(store, slot, id)?
                .set_password(secret.expose())
                .map_err(map_error),
        }
    }

    /// The secret of profile `id`, or `None` when none is stored. Blocking.
    ///
    /// # Errors
    /// [`Error::KeyringLocked`], [`Error::KeyringUnavailable`], [`Error::SecretEncoding`],
    /// [`Error::Keyring`].
    pub fn get(&self, id: &ProfileId) -> Result<Option<Secret>> {
        self.get_in(SecretSlot::Endpoint, id)
    }

    /// The `slot` secret of profile `id`, or `None` when none is stored. Blocking.
    ///
    /// # Errors
    /// As [`SecretStore::get`].
    pub fn get_in(&self, slot: SecretSlot, id: &ProfileId) -> Result<Option<Secret>> {
        match &self.backend {
            Backend::SessionOnly(map) => Ok(lock(map).get(&(slot, id.clone())).cloned()),
            Backend::Keyring(store) => match entry(store, slot, id)?.get_secret() {
                Ok(bytes) => {
                    let bytes = Zeroizing::new(bytes);
                    match std::str::from_utf8(&bytes) {
                        Ok(text) => Ok(Some(Secret::new(text.to_owned()))),
                        Err(_) => Err(Error::SecretEncoding(id.to_string())),
                    }
                }
                Err(keyring_core::Error::NoEntry) => Ok(None),
                Err(e) => Err(map_error(e)),
            },
        }
    }

    /// Deletes the secret of profile `id`; returns whether there was one. Blocking.
    ///
    /// # Errors
    /// [`Error::KeyringLocked`], [`Error::KeyringUnavailable`], [`Error::Keyring`].
    pub fn delete(&self, id: &ProfileId) -> Result<bool> {
        self.delete_in(SecretSlot::Endpoint, id)
    }

    /// Deletes the `slot` secret of profile `id`; returns whether there was one. Blocking.
    ///
    /// # Errors
    /// As [`SecretStore::delete`].
    pub fn delete_in(&self, slot: SecretSlot, id: &ProfileId) -> Result<bool> {
        match &self.backend {
            Backend::SessionOnly(map) => Ok(lock(map).remove(&(slot, id.clone())).is_some()),
            Backend::Keyring(store) => match entry(store, slot, id)?.delete_credential() {
                Ok(()) => Ok(true),
                Err(keyring_core::Error::NoEntry) => Ok(false),
                Err(e) => Err(map_error(e)),
            },
        }
    }
}

type SessionMap = HashMap<(SecretSlot, ProfileId), Secret>;

fn lock(map: &Mutex<SessionMap>) -> std::sync::MutexGuard<'_, SessionMap> {
    // A panic while holding this lock cannot leave the map half-updated (single insert/remove).
    map.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn entry(store: &Arc<CredentialStore>, slot: SecretSlot, id: &ProfileId) -> Result<Entry> {
    let account = slot.account(id);
    // The Secret Service shows items by label (Seahorse, KWallet): name the app and the profile.
    // Other platforms' stores take no label modifier.
    #[cfg(all(
        unix,
        not(any(target_os = "macos", target_os = "ios", target_os = "android"))
    ))]
    {
        let label = slot.label(id);
        let modifiers = HashMap::from([("label", label.as_str())]);
        Entry::new_in_store_with_modifiers(store, SERVICE, &account, &modifiers).map_err(map_error)
    }
    #[cfg(not(all(
        unix,
        not(any(target_os = "macos", target_os = "ios", target_os = "android"))
    )))]
    {
        Entry::new_in_store(store, SERVICE, &account).map_err(map_error)
    }
}

/// The platform's store, as keyring 4's default glue would pick it, but built per call.
fn platform_store() -> keyring_core::Result<Arc<CredentialStore>> {
    #[cfg(all(
        unix,
        not(any(target_os = "macos", target_os = "ios", target_os = "android"))
    ))]
    {
        let store: Arc<CredentialStore> = zbus_secret_service_keyring_store::Store::new()?;
        Ok(store)
    }
    #[cfg(target_os = "macos")]
    {
        let store: Arc<CredentialStore> = apple_native_keyring_store::keychain::Store::new()?;
        Ok(store)
    }
    #[cfg(target_os = "windows")]
    {
        let store: Arc<CredentialStore> = windows_native_keyring_store::Store::new()?;
        Ok(store)
    }
    #[cfg(not(any(
        all(
            unix,
            not(any(target_os = "macos", target_os = "ios", target_os = "android"))
        ),
        target_os = "macos",
        target_os = "windows"
    )))]
    {
        Err(keyring_core::Error::NoDefaultStore)
    }
}

/// Any failure to build the store means "no keyring here" (no bus, no Secret Service).
fn map_connect_error(e: keyring_core::Error) -> Error {
    match e {
        keyring_core::Error::NoStorageAccess(inner) => Error::KeyringLocked {
            detail: inner.to_string(),
        },
        other => Error::KeyringUnavailable {
            detail: other.to_string(),
        },
    }
}

fn map_error(e: keyring_core::Error) -> Error {
    match e {
        keyring_core::Error::NoStorageAccess(inner) => Error::KeyringLocked {
            detail: inner.to_string(),
        },
        keyring_core::Error::NoDefaultStore => Error::KeyringUnavailable {
            detail: e.to_string(),
        },
        other => Error::Keyring(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted() {
        let s = Secret::new("hunter2-distinctive".into());
        let shown = format!("{s:?} {:?}", Some(s.clone()));
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("redacted"));
    }

    #[test]
    fn equality_compares_content() {
        assert_eq!(Secret::new("a".into()), Secret::new("a".into()));
        assert_ne!(Secret::new("a".into()), Secret::new("b".into()));
        assert_ne!(Secret::new("a".into()), Secret::new("ab".into()));
    }

    #[test]
    fn session_only_store_sets_gets_and_deletes() -> Result<()> {
        let store = SecretStore::session_only();
        let id = ProfileId::parse("p-1")?;
        assert!(store.is_session_only());
        store.check()?;
        assert_eq!(store.get(&id)?, None);
        store.set(&id, &Secret::new("pw".into()))?;
        assert_eq!(store.get(&id)?, Some(Secret::new("pw".into())));
        assert!(store.delete(&id)?);
        assert!(!store.delete(&id)?);
        assert_eq!(store.get(&id)?, None);
        Ok(())
    }

    #[test]
    fn keyring_errors_map_to_actionable_variants() {
        let locked = map_error(keyring_core::Error::NoStorageAccess(
            "collection is locked".into(),
        ));
        assert!(matches!(locked, Error::KeyringLocked { .. }));
        assert!(locked.is_keyring_unavailable());
        assert!(locked.to_string().contains("session only"));
        let none = map_error(keyring_core::Error::NoDefaultStore);
        assert!(matches!(none, Error::KeyringUnavailable { .. }));
        assert!(none.to_string().contains("never writes passwords to disk"));
        let connect = map_connect_error(keyring_core::Error::PlatformFailure("no bus".into()));
        assert!(matches!(connect, Error::KeyringUnavailable { .. }));
        assert!(!map_error(keyring_core::Error::NoEntry).is_keyring_unavailable());
    }
}
