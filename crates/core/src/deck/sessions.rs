//! Profiles and their signed-in sessions: save, remove, sign in and out, the secret store.

use std::path::PathBuf;
use std::sync::Arc;

use onedeck_vault::{AuthMode, Profile, ProfileId, ProfileStore, Secret, SecretStore};

use super::auth::{Credential, authenticate};
use super::{DEMO_PROFILE_ID, Deck, SecretBackend, Session, lock, read};

/// What became of a removed profile's secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub enum SecretRemoved {
    /// It was deleted from the keyring (or from memory).
    Deleted,
    /// None was stored.
    NoneStored,
    /// The keyring could not be asked: it may still hold the secret (service `onedeck`, account
    /// = the profile id).
    MayRemain,
}

/// The session id of an endpoint given on the command line rather than a saved profile.
pub const DIRECT_PROFILE_ID: &str = "direct";
use crate::error::{Error, Result};
use crate::view::{
    AuthModeName, ProfileInput, ProfileSummary, SecretStorage, TOKEN_RENEW_BEFORE_SECS,
    TOKEN_TTL_SECS,
};

impl Deck {
    // ---- profiles and sessions ----

    /// Every profile, the demo cloud first, with its sign-in state.
    ///
    /// # Errors
    /// [`Error::Vault`] when the profiles file cannot be read (kind `profileFile`).
    pub async fn profiles(&self) -> Result<Vec<ProfileSummary>> {
        let store = self.inner.profiles.clone();
        let list = tokio::task::spawn_blocking(move || store.list()).await??;
        let sessions = read(&self.inner.sessions);
        let mut out = Vec::with_capacity(list.len() + 1);
        if let Some(demo) = read(&self.inner.demo).as_ref() {
            let storage = sessions.get(&super::demo_profile_id()).map(|s| s.storage);
            out.push(ProfileSummary::of(demo, true, storage));
        }
        for p in &list {
            let storage = sessions.get(&p.id).map(|s| s.storage);
            out.push(ProfileSummary::of(p, false, storage));
        }
        Ok(out)
    }

    /// The profile whose id, or else whose name, is `id_or_name` (how the CLI's `--profile`
    /// names one).
    ///
    /// # Errors
    /// `notFound` when none matches; `invalidInput` when several profiles have that name.
    pub async fn find_profile(&self, id_or_name: &str) -> Result<ProfileSummary> {
        let all = self.profiles().await?;
        if let Some(p) = all.iter().find(|p| p.id == id_or_name) {
            return Ok(p.clone());
        }
        let mut named = all.into_iter().filter(|p| p.name == id_or_name);
        match (named.next(), named.next()) {
            (Some(p), None) => Ok(p),
            (Some(_), Some(_)) => Err(Error::InvalidInput {
                field: "profile",
                reason: format!("several profiles are named {id_or_name:?}: give the id"),
            }),
            (None, _) => Err(Error::Vault(onedeck_vault::Error::ProfileNotFound(
                id_or_name.to_owned(),
            ))),
        }
    }

    /// Connects to the keyring (unless the deck keeps secrets in memory) and checks that it can
    /// be used, so a front end can say "no keyring" before it asks for a password.
    ///
    /// # Errors
    /// `keyringUnavailable`.
    pub async fn keyring_check(&self) -> Result<()> {
        self.secret_store().await.map(|_| ())
    }

    /// Signs in to an endpoint given directly (the CLI's `--endpoint/--user` form) without
    /// saving anything: the session lives in memory under [`DIRECT_PROFILE_ID`] until the deck
    /// stops. The same checks and TLS settings as a saved profile apply.
    ///
    /// # Errors
    /// `invalidInput` for a refused URL or pin; sign-in errors.
    pub async fn sign_in_direct(
        &self,
        input: ProfileInput,
        password: String,
    ) -> Result<ProfileSummary> {
        let mut profile = self
            .profile_from_input(ProfileInput { id: None, ..input })
            .await?;
        profile.id = ProfileId::parse(DIRECT_PROFILE_ID)?;
        let session = authenticate(&profile, &Credential::Password(Secret::new(password))).await?;
        self.install_session(Session {
            storage: SecretStorage::Session,
            ..session
        });
        Ok(ProfileSummary::of(
            &profile,
            false,
            Some(SecretStorage::Session),
        ))
    }

    /// Checks the form, signs in with `password` (or the stored secret when editing), and only
    /// then saves the profile and the secret, so a failed sign-in leaves nothing behind. With
    /// `session_only` the secret stays in memory and the keyring is not asked.
    ///
    /// # Errors
    /// `invalidInput` for a refused field; `keyringUnavailable` (before anything is sent to the
    /// endpoint) when the keyring cannot be used and `session_only` is false; sign-in errors.
    pub async fn save_profile(
        &self,
        input: ProfileInput,
        password: Option<String>,
        session_only: bool,
    ) -> Result<ProfileSummary> {
        let password = password.filter(|p| !p.is_empty()).map(Secret::new);
        let profile = self.profile_from_input(input).await?;
        let secrets = if session_only {
            None
        } else {
            Some(self.secret_store().await?)
        };
        let secret = match password {
            Some(p) => Credential::Password(p),
            None => {
                // The stored secret only ever goes where it was typed for: a changed URL, user,
                // pin or CA needs the password again (security finding 2).
                let pid = profile.id.clone();
                let profiles = self.inner.profiles.clone();
                let stored = tokio::task::spawn_blocking(move || profiles.get(&pid)).await?;
                if let Ok(old) = stored
                    && let Some(field) = changed_endpoint(&old, &profile)
                {
                    return Err(Error::PasswordRequired {
                        profile: profile.name.clone(),
                        field,
                    });
                }
                match self.stored_secret(&profile.id).await? {
                    Some(s) => Credential::Stored(s),
                    None => return Err(Error::SecretMissing(profile.name.clone())),
                }
            }
        };
        let session = authenticate(&profile, &secret).await?;
        let to_store = session.stored_secret(&secret);
        let storage = if session_only {
            SecretStorage::Session
        } else {
            SecretStorage::Keyring
        };
        let saved = {
            let profiles = self.inner.profiles.clone();
            let profile = profile.clone();
            tokio::task::spawn_blocking(move || {
                save(&profiles, secrets.as_deref(), profile, &to_store)
            })
            .await??
        };
        self.install_session(Session {
            profile: saved.clone(),
            storage,
            ..session
        });
        Ok(ProfileSummary::of(&saved, false, Some(storage)))
    }

    /// Removes a profile, its secret, its session, its cached inventory and its consoles.
    ///
    /// # Errors
    /// `notFound`; `invalidInput` for the demo cloud.
    pub async fn remove_profile(&self, id: &ProfileId) -> Result<SecretRemoved> {
        if id == DEMO_PROFILE_ID && read(&self.inner.demo).is_some() {
            return Err(Error::DemoReadOnly);
        }
        let pid = id.clone();
        let profiles = self.inner.profiles.clone();
        tokio::task::spawn_blocking(move || profiles.remove(&pid)).await??;
        self.end_session(id, None);
        // The profile is gone either way; a keyring or cache left behind is reported, not fatal.
        let secret = match self.secret_store().await {
            Ok(secrets) => {
                let pid = id.clone();
                // Both of its secrets: the endpoint's and the SSH one of its console transport.
                let both = move || {
                    let ssh = secrets.delete_in(onedeck_vault::SecretSlot::Ssh, &pid);
                    let endpoint = secrets.delete(&pid)?;
                    ssh.map(|ssh| endpoint || ssh)
                };
                match tokio::task::spawn_blocking(both).await? {
                    Ok(true) => SecretRemoved::Deleted,
                    Ok(false) => SecretRemoved::NoneStored,
                    Err(e) => {
                        tracing::warn!(error = %e, "the removed profile's secret may still be in the keyring");
                        SecretRemoved::MayRemain
                    }
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "no keyring: a removed profile's secret may remain");
                SecretRemoved::MayRemain
            }
        };
        let key = id.to_string();
        let forget = move |s: &mut onedeck_store::Store| {
            s.delete_inventory(&key)?;
            s.forget_console_settings(&key)
        };
        if let Err(e) = self.with_store(forget).await {
            tracing::warn!(error = %e, "could not delete the removed profile's cached inventory and console settings");
        }
        Ok(secret)
    }

    /// Signs a profile in: with `password` when given, else with the stored secret (a stored
    /// login token is renewed on the way, which also proves it still works).
    ///
    /// # Errors
    /// `secretMissing` when nothing is stored; `authentication`; `network`, `tls`...
    pub async fn sign_in(
        &self,
        id: &ProfileId,
        password: Option<String>,
        session_only: bool,
    ) -> Result<ProfileSummary> {
        let password = password.filter(|p| !p.is_empty()).map(Secret::new);
        let demo = read(&self.inner.demo).clone();
        if id == DEMO_PROFILE_ID
            && let Some(demo) = demo
        {
            let password = lock(&self.inner.demo_password)
                .clone()
                .ok_or_else(|| Error::SecretMissing(demo.name.clone()))?;
            let secret = Credential::Password(password);
            let session = authenticate(&demo, &secret).await?;
            self.install_session(Session {
                storage: SecretStorage::Session,
                ..session
            });
            return Ok(ProfileSummary::of(
                &demo,
                true,
                Some(SecretStorage::Session),
            ));
        }
        let pid = id.clone();
        let profile = {
            let profiles = self.inner.profiles.clone();
            let pid = pid.clone();
            tokio::task::spawn_blocking(move || profiles.get(&pid)).await??
        };
        let credential = match password {
            Some(p) => Credential::Password(p),
            None => match self.stored_secret(&pid).await? {
                Some(s) => Credential::Stored(s),
                None => return Err(Error::SecretMissing(profile.name.clone())),
            },
        };
        let session = authenticate(&profile, &credential).await?;
        let storage = match (&credential, session_only) {
            (Credential::Stored(_), _) => SecretStorage::Keyring,
            (Credential::Password(_), true) => SecretStorage::Session,
            (Credential::Password(_), false) => {
                let secrets = self.secret_store().await?;
                let to_store = session.stored_secret(&credential);
                tokio::task::spawn_blocking(move || secrets.set(&pid, &to_store)).await??;
                SecretStorage::Keyring
            }
        };
        if let (Credential::Stored(old), Some(lease)) = (&credential, &session.lease)
            && old.expose() != lease.token.expose()
        {
            // Signing in with a stored token traded it for a new one: keep that one instead.
            self.store_secret(&profile.id, lease.token.expose()).await?;
        }
        self.install_session(Session { storage, ..session });
        Ok(ProfileSummary::of(&profile, false, Some(storage)))
    }

    /// Ends a profile's session (the stored secret stays) and closes its consoles.
    ///
    /// # Errors
    /// `notFound` for an unknown profile.
    pub async fn sign_out(&self, id: &ProfileId) -> Result<ProfileSummary> {
        self.end_session(id, None);
        let demo = read(&self.inner.demo).clone();
        if id == DEMO_PROFILE_ID
            && let Some(demo) = demo
        {
            return Ok(ProfileSummary::of(&demo, true, None));
        }
        let pid = id.clone();
        let profiles = self.inner.profiles.clone();
        let profile = tokio::task::spawn_blocking(move || profiles.get(&pid)).await??;
        Ok(ProfileSummary::of(&profile, false, None))
    }

    pub(super) async fn profile_from_input(&self, input: ProfileInput) -> Result<Profile> {
        if input.id.as_deref() == Some(DEMO_PROFILE_ID) && read(&self.inner.demo).is_some() {
            return Err(Error::DemoReadOnly);
        }
        let mut profile = match &input.id {
            Some(id) => {
                let pid = ProfileId::parse(id)?;
                let profiles = self.inner.profiles.clone();
                let mut p = tokio::task::spawn_blocking(move || profiles.get(&pid)).await??;
                p.name = input.name.trim().to_owned();
                p.url = input.url.trim().to_owned();
                p.user = input.user.trim().to_owned();
                p
            }
            None => Profile::new(&input.name, &input.url, &input.user)?,
        };
        profile.auth = match input.auth_mode {
            AuthModeName::Password => AuthMode::Password,
            AuthModeName::LoginToken => match profile.auth {
                keep @ AuthMode::LoginToken { .. } => keep,
                AuthMode::Password => AuthMode::LoginToken {
                    token_ttl_secs: TOKEN_TTL_SECS,
                    renew_before_secs: TOKEN_RENEW_BEFORE_SECS,
                },
            },
        };
        if let AuthMode::LoginToken {
            token_ttl_secs,
            renew_before_secs,
        } = &mut profile.auth
        {
            if let Some(ttl) = input.token_ttl_secs {
                *token_ttl_secs = ttl;
            }
            if let Some(before) = input.renew_before_secs {
                *renew_before_secs = before;
            }
        }
        if let Some(hosts) = input.console_hosts {
            profile.console_hosts = hosts;
        }
        profile.vm_filter = input.vm_filter.into();
        profile.tls.allow_plain_http = input.allow_plain_http;
        profile.record_consoles = input.record_consoles;
        if let Some(transport) = input.console_transport {
            profile.console_transport = transport.into();
        }
        profile.tls.pinned_sha256 = input.pinned_sha256.filter(|s| !s.trim().is_empty());
        profile.tls.ca_file = input
            .ca_file
            .filter(|s| !s.trim().is_empty())
            .map(PathBuf::from);
        profile.normalize()?;
        Ok(profile)
    }

    /// The secret store, connecting to the OS keyring when not connected yet.
    pub(super) async fn secret_store(&self) -> Result<Arc<SecretStore>> {
        if let Some(s) = lock(&self.inner.secrets).clone() {
            return Ok(s);
        }
        let store = match &self.inner.secret_backend {
            SecretBackend::OsKeyring => {
                let store = tokio::task::spawn_blocking(|| -> Result<SecretStore> {
                    let store = SecretStore::os_keyring()?;
                    // A locked collection shows only on use: find out before a password is sent.
                    store.check()?;
                    Ok(store)
                })
                .await??;
                Arc::new(store)
            }
            SecretBackend::Memory => Arc::new(SecretStore::session_only()),
            SecretBackend::Given(store) => store.clone(),
        };
        *lock(&self.inner.secrets) = Some(store.clone());
        Ok(store)
    }

    pub(super) async fn stored_secret(&self, id: &ProfileId) -> Result<Option<Secret>> {
        let secrets = self.secret_store().await?;
        let id = id.clone();
        let result = tokio::task::spawn_blocking(move || secrets.get(&id)).await?;
        if matches!(&result, Err(e) if e.is_keyring_unavailable()) {
            lock(&self.inner.secrets).take();
        }
        Ok(result?)
    }

    pub(super) async fn store_secret(&self, id: &ProfileId, secret: &str) -> Result<()> {
        let secrets = self.secret_store().await?;
        let id = id.clone();
        let secret = Secret::new(secret.to_owned());
        tokio::task::spawn_blocking(move || secrets.set(&id, &secret)).await??;
        Ok(())
    }
}

/// Saves the profile, and its secret unless the session keeps it (`secrets: None`).
/// The first field that decides where a secret is sent (URL, user, pinned fingerprint, CA file)
/// and differs between the stored profile and the edited one.
fn changed_endpoint(old: &Profile, new: &Profile) -> Option<&'static str> {
    if old.url != new.url {
        Some("url")
    } else if old.user != new.user {
        Some("user")
    } else if old.tls.pinned_sha256 != new.tls.pinned_sha256 {
        Some("pinnedSha256")
    } else if old.tls.ca_file != new.tls.ca_file {
        Some("caFile")
    } else {
        None
    }
}

pub(super) fn save(
    profiles: &ProfileStore,
    secrets: Option<&SecretStore>,
    profile: Profile,
    secret: &Secret,
) -> Result<Profile> {
    Ok(match secrets {
        Some(secrets) => {
            onedeck_vault::save_profile_with(profiles, secrets, profile, Some(secret))?
        }
        None => profiles.upsert(profile)?,
    })
}
