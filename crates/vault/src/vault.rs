//! Profiles and their secrets together, so that saving and removing keep the two in step.

use crate::error::{Error, Result};
use crate::profile::{Profile, ProfileId};
use crate::profiles::ProfileStore;
use crate::secret::{Secret, SecretStore};

/// What became of a profile's secret when the profile was removed.
#[derive(Debug)]
pub enum SecretRemoval {
    /// The secret was deleted.
    Deleted,
    /// No secret was stored.
    NoneStored,
    /// The keyring could not be reached: the secret may still be there (the error says why).
    Left(Error),
}

/// [`Vault::save_profile`] for callers that hold the two stores apart (the app keeps one keyring
/// connection for many operations). Blocking.
///
/// # Errors
/// As [`Vault::save_profile`].
pub fn save_profile_with(
    profiles: &ProfileStore,
    secrets: &SecretStore,
    profile: Profile,
    secret: Option<&Secret>,
) -> Result<Profile> {
    let mut normalized = profile;
    normalized.normalize()?;
    let Some(secret) = secret else {
        return profiles.upsert(normalized);
    };
    let previous = secrets.get(&normalized.id)?;
    secrets.set(&normalized.id, secret)?;
    match profiles.upsert(normalized.clone()) {
        Ok(saved) => Ok(saved),
        Err(e) => {
            // Put the keyring back as it was; the write error is the one to report.
            let _ = match previous {
                Some(old) => secrets.set(&normalized.id, &old),
                None => secrets.delete(&normalized.id).map(|_| ()),
            };
            Err(e)
        }
    }
}

/// The profiles file and the secret store, used as one.
#[derive(Debug)]
pub struct Vault {
    /// Profiles (the TOML file).
    pub profiles: ProfileStore,
    /// Secrets (the keyring, or memory for this session).
    pub secrets: SecretStore,
}

impl Vault {
    /// Pairs a profiles file with a secret store.
    pub fn new(profiles: ProfileStore, secrets: SecretStore) -> Self {
        Self { profiles, secrets }
    }

    /// Saves the profile and, when given, its secret. The secret goes first: if the keyring refuses
    /// it, nothing is written, so a failed sign-in setup leaves no half profile. Blocking.
    ///
    /// # Errors
    /// Any error of [`ProfileStore::upsert`] or [`SecretStore::set`]. If the profile write fails
    /// after a new secret was stored, that secret is deleted again.
    pub fn save_profile(&self, profile: Profile, secret: Option<&Secret>) -> Result<Profile> {
        save_profile_with(&self.profiles, &self.secrets, profile, secret)
    }

    /// The secret of a profile, or `None` when none is stored. Blocking.
    ///
    /// # Errors
    /// Any error of [`SecretStore::get`].
    pub fn secret(&self, id: &ProfileId) -> Result<Option<Secret>> {
        self.secrets.get(id)
    }

    /// Removes the profile, then its secret. A profile can be removed even when the keyring is
    /// unreachable; [`SecretRemoval::Left`] then tells the caller to say so. Blocking.
    ///
    /// # Errors
    /// Any error of [`ProfileStore::remove`] (the secret is then left alone).
    pub fn remove_profile(&self, id: &ProfileId) -> Result<(Profile, SecretRemoval)> {
        let profile = self.profiles.remove(id)?;
        let ssh = self.secrets.delete_in(crate::SecretSlot::Ssh, id);
        let removal = match self.secrets.delete(id).and_then(|e| ssh.map(|s| e || s)) {
            Ok(true) => SecretRemoval::Deleted,
            Ok(false) => SecretRemoval::NoneStored,
            Err(e) => SecretRemoval::Left(e),
        };
        Ok((profile, removal))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn save_and_remove_keep_profile_and_secret_in_step() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|e| Error::io("tempdir", "/tmp", e))?;
        let vault = Vault::new(
            ProfileStore::in_dir(dir.path())?,
            SecretStore::session_only(),
        );
        let p = Profile::new("Lab", "http://127.0.0.1:2633/RPC2", "oneadmin")?;
        let saved = vault.save_profile(p, Some(&Secret::new("pw".into())))?;
        assert_eq!(vault.secret(&saved.id)?, Some(Secret::new("pw".into())));
        let (removed, secret) = vault.remove_profile(&saved.id)?;
        assert_eq!(removed, saved);
        assert!(matches!(secret, SecretRemoval::Deleted));
        assert_eq!(vault.secret(&saved.id)?, None);
        Ok(())
    }

    #[test]
    fn failed_profile_write_restores_the_keyring() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|e| Error::io("tempdir", "/tmp", e))?;
        let vault = Vault::new(
            ProfileStore::in_dir(dir.path())?,
            SecretStore::session_only(),
        );
        let p = vault.save_profile(
            Profile::new("Lab", "http://127.0.0.1:2633/RPC2", "oneadmin")?,
            Some(&Secret::new("old".into())),
        )?;
        std::fs::write(vault.profiles.path(), "not toml [")
            .map_err(|e| Error::io("write", "f", e))?;
        assert!(
            vault
                .save_profile(p.clone(), Some(&Secret::new("new".into())))
                .is_err()
        );
        assert_eq!(
            vault.secret(&p.id)?,
            Some(Secret::new("old".into())),
            "rolled back"
        );
        Ok(())
    }
}
