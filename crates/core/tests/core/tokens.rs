use std::time::{Duration, SystemTime};

use onedeck_core::{AuthModeName, DeckEvent, ErrorKind};
use onedeck_opennebula::{Client, Credentials, Endpoint};

use crate::support::{Env, PASSWORD, TestResult, USER, input, sim};

/// The expiry oned records for `token` (epoch seconds), `None` when it does not know it.
async fn expiry_on_server(
    url: &str,
    token: &str,
) -> Result<Option<i64>, Box<dyn std::error::Error>> {
    let client = Client::new(Endpoint::new(url), Credentials::new(USER, PASSWORD))?;
    let user = client.user_info_self().await?;
    Ok(user
        .login_tokens
        .iter()
        .find(|t| t.token.as_ref().map(|s| s.expose()) == Some(token))
        .map(|t| t.expiration_time))
}

#[tokio::test]
async fn login_token_mode_keeps_only_the_token_and_renews_it_before_expiry() -> TestResult {
    let sim = sim().await?;
    let env = Env::new()?;
    let deck = env.deck().await?;
    let before = SystemTime::now();
    let saved = deck
        .save_profile(
            input(&sim.endpoint_url(), AuthModeName::LoginToken),
            Some(PASSWORD.into()),
            false,
        )
        .await?;
    let id = saved.id.clone();
    let token = env
        .secrets
        .get(&id)?
        .ok_or("nothing stored")?
        .expose()
        .to_owned();
    assert_ne!(
        token, PASSWORD,
        "the password is never stored in login-token mode"
    );
    let file = std::fs::read_to_string(env.dir.path().join("config/profiles.toml"))?;
    assert!(!file.contains(&token) && !file.contains(PASSWORD));
    let expiry = deck.token_expiry(&saved.id).ok_or("no lease")?;
    let ttl = expiry.duration_since(before)?;
    assert!(
        ttl >= Duration::from_secs(8 * 3600 - 5) && ttl <= Duration::from_secs(8 * 3600 + 5),
        "{ttl:?}"
    );
    let server_before = expiry_on_server(&sim.endpoint_url(), &token)
        .await?
        .ok_or("token unknown")?;

    // Not due yet: nothing happens.
    assert!(deck.renew_due_tokens(SystemTime::now()).await.is_empty());
    // Within the renewal window (15 min before expiry): a new token replaces the old one, which
    // is revoked, and the keyring holds the new one.
    let near_expiry = expiry - Duration::from_secs(60);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(
        deck.renew_due_tokens(near_expiry).await,
        vec![saved.id.clone()]
    );
    let renewed = deck.token_expiry(&saved.id).ok_or("lease lost")?;
    assert!(renewed > expiry, "the app's expiry moved on");
    let new_token = env
        .secrets
        .get(&id)?
        .ok_or("nothing stored")?
        .expose()
        .to_owned();
    assert_ne!(new_token, token);
    assert_eq!(
        expiry_on_server(&sim.endpoint_url(), &token).await?,
        None,
        "old token revoked"
    );
    let server_after = expiry_on_server(&sim.endpoint_url(), &new_token)
        .await?
        .ok_or("new token unknown")?;
    assert!(
        server_after > server_before,
        "{server_before} -> {server_after}"
    );
    assert!(!deck.inventory_refresh(&saved.id).await?.vms.is_empty());

    // After a restart the stored token signs in (and is extended on the way).
    deck.shutdown().await;
    let deck = env.deck().await?;
    deck.sign_in(&saved.id, None, false).await?;
    assert!(deck.token_expiry(&saved.id).is_some());

    // A revoked token: the next renewal signs the profile out and says why.
    let mut events = deck.subscribe();
    let admin = Client::new(
        Endpoint::new(sim.endpoint_url()),
        Credentials::new(USER, PASSWORD),
    )?;
    admin.login_token_revoke(None).await?;
    let far = SystemTime::now() + Duration::from_secs(9 * 3600);
    assert!(deck.renew_due_tokens(far).await.is_empty());
    let event = tokio::time::timeout(Duration::from_secs(5), events.recv()).await??;
    assert!(
        matches!(&event, DeckEvent::SignedOut { profile_id, reason } if profile_id == &saved.id && reason.contains("expired")),
        "{event:?}"
    );
    assert_eq!(
        deck.inventory_refresh(&saved.id)
            .await
            .err()
            .map(|e| e.kind()),
        Some(ErrorKind::NotSignedIn)
    );
    let err = deck
        .sign_in(&saved.id, None, false)
        .await
        .err()
        .ok_or("revoked token signed in")?;
    assert_eq!(err.kind(), ErrorKind::Authentication, "{err}");
    deck.sign_in(&saved.id, Some(PASSWORD.into()), false)
        .await?;
    deck.shutdown().await;
    sim.shutdown().await?;
    Ok(())
}

/// The deck's own loop renews a token nobody asked about: a 4 s token renewed when under 3 s is
/// left, checked every 100 ms, is replaced within a few seconds and the session keeps working.
#[tokio::test]
async fn the_background_loop_renews_tokens_by_itself() -> TestResult {
    let sim = sim().await?;
    let env = Env::new()?;
    let mut profile = onedeck_vault::Profile::new("Short tokens", &sim.endpoint_url(), USER)?;
    profile.auth = onedeck_vault::AuthMode::LoginToken {
        token_ttl_secs: 4,
        renew_before_secs: 3,
    };
    let profile =
        onedeck_vault::ProfileStore::in_dir(&env.dir.path().join("config"))?.upsert(profile)?;
    let config = onedeck_core::DeckConfig {
        renewal_interval: Duration::from_millis(100),
        ..env.config(onedeck_core::DemoPolicy::Never)
    };
    let deck = onedeck_core::Deck::start(config).await?;
    deck.sign_in(&profile.id, Some(PASSWORD.into()), false)
        .await?;
    let first = deck.token_expiry(&profile.id).ok_or("no lease")?;
    let first_token = env.secrets.get(&profile.id)?.ok_or("nothing stored")?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while deck.token_expiry(&profile.id) == Some(first) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the loop never renewed the token"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let second = env.secrets.get(&profile.id)?.ok_or("nothing stored")?;
    assert_ne!(
        second, first_token,
        "the renewed token replaced the old one in the keyring"
    );
    // Past the first token's lifetime the session still works.
    let until_first_expired = first.duration_since(SystemTime::now()).unwrap_or_default();
    tokio::time::sleep(until_first_expired + Duration::from_millis(1200)).await;
    assert!(!deck.inventory_refresh(&profile.id).await?.vms.is_empty());
    deck.shutdown().await;
    sim.shutdown().await?;
    Ok(())
}
