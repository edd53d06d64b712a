//! Login-token renewal.

use std::time::{Duration, SystemTime};

use super::auth::renew;
use super::{Deck, Session, read};
use crate::error::Error;
use crate::view::SecretStorage;
use onedeck_vault::ProfileId;

impl Deck {
    // ---- token renewal ----

    /// Renews every login token that [`AuthMode::renewal_due`] says is due at `now`. A token
    /// the endpoint refuses ends its session (a [`DeckEvent::SignedOut`] says why); a network
    /// failure leaves it for the next round. Returns the profiles renewed.
    pub async fn renew_due_tokens(&self, now: SystemTime) -> Vec<ProfileId> {
        let due: Vec<Session> = read(&self.inner.sessions)
            .values()
            .filter(|s| {
                s.lease
                    .as_ref()
                    .is_some_and(|l| s.profile.auth.renewal_due(l.expires_at, now))
            })
            .cloned()
            .collect();
        let mut renewed = Vec::new();
        for session in due {
            let id = session.profile.id.clone();
            match renew(&session).await {
                Ok(next) => {
                    let changed = session
                        .lease
                        .as_ref()
                        .zip(next.lease.as_ref())
                        .is_some_and(|(a, b)| a.token.expose() != b.token.expose());
                    if changed
                        && session.storage == SecretStorage::Keyring
                        && let Some(lease) = &next.lease
                        && let Err(e) = self
                            .store_secret(&session.profile.id, lease.token.expose())
                            .await
                    {
                        tracing::warn!(error = %e, "a renewed login token could not be stored");
                    }
                    self.install_session(next);
                    renewed.push(id);
                }
                Err(e) if e.is_offline() => {
                    tracing::info!(error = %e, profile = %id, "token renewal postponed: endpoint unreachable");
                }
                Err(e) => {
                    tracing::warn!(error = %e, profile = %id, "login token renewal refused: signed out");
                    self.end_session(
                        &id,
                        Some(Error::TokenExpired(session.profile.name.clone()).to_string()),
                    );
                }
            }
        }
        renewed
    }

    /// When the login token of a signed-in profile expires, as the app believes.
    pub fn token_expiry(&self, id: &ProfileId) -> Option<SystemTime> {
        read(&self.inner.sessions)
            .get(id)
            .and_then(|s| s.lease.as_ref().map(|l| l.expires_at))
    }

    pub(super) fn spawn_renewal(&self, interval: Duration) {
        let deck = self.clone();
        let cancel = self.inner.cancel.clone();
        self.inner.tasks.spawn(async move {
            let mut ticker = tokio::time::interval(interval);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = ticker.tick() => {
                        deck.renew_due_tokens(SystemTime::now()).await;
                    }
                    () = cancel.cancelled() => return,
                }
            }
        });
    }
}
