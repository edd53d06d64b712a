//! Proving a credential to an endpoint: clients, login tokens and their renewal.

use std::time::{Duration, SystemTime};

use onedeck_opennebula::{Client, Credentials, Endpoint, TokenValidity};
use onedeck_vault::{AuthMode, Profile, Secret};

use super::{Lease, Session};
use crate::error::{Error, Result};
use crate::view::SecretStorage;

/// What the user gave to sign in.
pub(super) enum Credential {
    /// A password just typed.
    Password(Secret),
    /// The secret from the keyring: a password or, in login-token mode, a token.
    Stored(Secret),
}

impl Session {
    /// What to keep for the next start: the token in login-token mode, else the password.
    pub(super) fn stored_secret(&self, credential: &Credential) -> Secret {
        match (&self.lease, credential) {
            (Some(lease), _) => Secret::new(lease.token.expose().to_owned()),
            (None, Credential::Password(s) | Credential::Stored(s)) => s.clone(),
        }
    }
}

/// A client of the profile's endpoint that signs calls with `secret`.
pub(super) fn client(profile: &Profile, secret: &str) -> Result<Client> {
    let mut endpoint = Endpoint::new(profile.url.clone());
    if let Some(ca) = &profile.tls.ca_file {
        endpoint.ca_bundle_pem =
            Some(
                std::fs::read_to_string(ca).map_err(|e| Error::InvalidInput {
                    field: "caFile",
                    reason: format!("cannot read {}: {e}", ca.display()),
                })?,
            );
    }
    if let Some(pin) = &profile.tls.pinned_sha256 {
        endpoint.pinned_sha256 = Some(pin.parse().map_err(|e| Error::InvalidInput {
            field: "pinnedSha256",
            reason: format!("{e}"),
        })?);
    }
    endpoint.host_overrides = profile.console_hosts.clone();
    let credentials = Credentials::new(profile.user.clone(), secret.to_owned());
    Ok(Client::new(endpoint, credentials)?)
}

pub(super) fn token_validity(profile: &Profile) -> TokenValidity {
    match profile.auth {
        AuthMode::LoginToken { token_ttl_secs, .. } => {
            TokenValidity::Seconds(u32::try_from(token_ttl_secs).unwrap_or(u32::MAX))
        }
        AuthMode::Password => TokenValidity::Never,
    }
}

pub(super) fn token_ttl(profile: &Profile) -> Duration {
    match profile.auth {
        AuthMode::LoginToken { token_ttl_secs, .. } => Duration::from_secs(token_ttl_secs),
        AuthMode::Password => Duration::ZERO,
    }
}

/// Proves the credential works and builds the session. In login-token mode a typed password is
/// traded for a token, and a stored token is extended (which proves it too).
pub(super) async fn authenticate(profile: &Profile, credential: &Credential) -> Result<Session> {
    // Also for profiles saved by an older version: plain http and SSH jump hosts are refused
    // here with the reason, before anything is sent.
    profile.check_transport()?;
    let make = |client: Client, lease: Option<Lease>| Session {
        profile: profile.clone(),
        client,
        storage: SecretStorage::None,
        lease,
    };
    match (&profile.auth, credential) {
        (AuthMode::Password, Credential::Password(s) | Credential::Stored(s)) => {
            let c = client(profile, s.expose())?;
            c.user_info_self().await?;
            Ok(make(c, None))
        }
        (AuthMode::LoginToken { .. }, Credential::Password(password)) => {
            let issued_at = SystemTime::now();
            let token = client(profile, password.expose())?
                .login_token_create(token_validity(profile), None)
                .await?;
            let c = client(profile, token.expose())?;
            c.user_info_self().await?;
            Ok(make(
                c,
                Some(Lease {
                    token,
                    expires_at: issued_at + token_ttl(profile),
                }),
            ))
        }
        (AuthMode::LoginToken { .. }, Credential::Stored(token)) => {
            // Trading the stored token for a fresh one proves it still works.
            let lease = Lease {
                token: token.expose().into(),
                expires_at: SystemTime::UNIX_EPOCH,
            };
            let session = make(client(profile, token.expose())?, Some(lease));
            renew(&session).await.map_err(|e| match e {
                Error::OpenNebula(one) if one.is_authentication() => {
                    Error::TokenExpired(profile.name.clone())
                }
                other => other,
            })
        }
    }
}

/// Trades the session's login token for a new one with the profile's full lifetime, then revokes
/// the old one. A new token rather than the same one extended: oned keeps a token's first expiry
/// when the same token is logged in again, and a fresh token works on every version.
pub(super) async fn renew(session: &Session) -> Result<Session> {
    let Some(lease) = &session.lease else {
        return Ok(session.clone());
    };
    let issued_at = SystemTime::now();
    let token = session
        .client
        .login_token_create(token_validity(&session.profile), None)
        .await?;
    let client = client(&session.profile, token.expose())?;
    if let Err(e) = client.login_token_revoke(Some(&lease.token)).await {
        // The old token then simply expires on its own.
        tracing::info!(error = %e, "the previous login token could not be revoked");
    }
    Ok(Session {
        client,
        lease: Some(Lease {
            token,
            expires_at: issued_at + token_ttl(&session.profile),
        }),
        ..session.clone()
    })
}
