use onedeck_core::{AuthModeName, ErrorKind, SecretStorage};

use crate::support::{Env, PASSWORD, Signed, TestResult, input, kind, signed_in, sim};

#[tokio::test]
async fn a_wrong_password_saves_nothing() -> TestResult {
    let sim = sim().await?;
    let env = Env::new()?;
    let deck = env.deck().await?;
    let err = deck
        .save_profile(
            input(&sim.endpoint_url(), AuthModeName::Password),
            Some("nope".into()),
            false,
        )
        .await
        .err()
        .ok_or("a wrong password was accepted")?;
    assert_eq!(err.kind(), ErrorKind::Authentication, "{err}");
    assert!(deck.profiles().await?.is_empty(), "no half profile");
    assert!(
        !env.dir.path().join("config/profiles.toml").exists() || deck.profiles().await?.is_empty()
    );
    deck.shutdown().await;
    sim.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn save_sign_out_and_sign_in_again_with_the_stored_password() -> TestResult {
    let t = signed_in(AuthModeName::Password, false).await?;
    let saved = t.profile.clone();
    assert!(saved.signed_in);
    assert_eq!(saved.secret_storage, SecretStorage::Keyring);
    assert!(!saved.demo);
    let id = saved.id.clone();
    assert_eq!(
        t.env.secrets.get(&id)?.map(|s| s.expose().to_owned()),
        Some(PASSWORD.to_owned())
    );
    let file = std::fs::read_to_string(t.env.dir.path().join("config/profiles.toml"))?;
    assert!(
        file.contains("Lab cloud") && !file.contains(PASSWORD),
        "{file}"
    );

    assert!(!t.deck.sign_out(&saved.id).await?.signed_in);
    assert_eq!(
        kind(t.deck.inventory_refresh(&saved.id).await),
        Some(ErrorKind::NotSignedIn)
    );
    t.deck.shutdown().await;

    // A new start (same keyring) signs in with the stored password.
    let deck = t.env.deck().await?;
    let list = deck.profiles().await?;
    assert_eq!(list.len(), 1);
    assert!(!list[0].signed_in, "sessions do not survive a restart");
    assert!(deck.sign_in(&saved.id, None, false).await?.signed_in);
    assert!(!deck.inventory_refresh(&saved.id).await?.vms.is_empty());
    Signed { deck, ..t }.stop().await
}

#[tokio::test]
async fn session_only_keeps_the_password_out_of_the_keyring() -> TestResult {
    let t = signed_in(AuthModeName::Password, true).await?;
    assert_eq!(t.profile.secret_storage, SecretStorage::Session);
    assert!(t.env.secrets.get(&t.profile.id.clone())?.is_none());
    t.deck.sign_out(&t.profile.id).await?;
    assert_eq!(
        kind(t.deck.sign_in(&t.profile.id, None, false).await),
        Some(ErrorKind::SecretMissing)
    );
    t.stop().await
}

#[tokio::test]
async fn bad_fields_are_refused_by_name() -> TestResult {
    let env = Env::new()?;
    let deck = env.deck().await?;
    let mut bad = input("ftp://example", AuthModeName::Password);
    let err = deck
        .save_profile(bad.clone(), Some("x".into()), true)
        .await
        .err()
        .ok_or("ftp accepted")?;
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.to_string().contains("url"), "{err}");
    bad.url = "http://127.0.0.1:9/RPC2".into();
    bad.pinned_sha256 = Some("not-hex".into());
    let err = deck
        .save_profile(bad, Some("x".into()), true)
        .await
        .err()
        .ok_or("bad pin accepted")?;
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    assert!(deck.profiles().await?.is_empty());
    deck.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn an_unreachable_endpoint_serves_the_cached_inventory_marked_stale() -> TestResult {
    let Signed {
        sim,
        env,
        deck,
        profile,
    } = signed_in(AuthModeName::Password, false).await?;
    let fresh = deck.inventory_refresh(&profile.id).await?;
    assert!(!fresh.stale && !fresh.vms.is_empty());
    assert!(
        fresh.vms.windows(2).all(|w| w[0].id < w[1].id),
        "ascending ids"
    );
    sim.shutdown().await?;

    let offline = deck.inventory_refresh(&profile.id).await?;
    assert!(offline.stale);
    assert!(offline.stale_reason.is_some());
    assert_eq!(offline.vms, fresh.vms);
    assert_eq!(offline.fetched_at, fresh.fetched_at);

    // The cache survives a restart and shows at once.
    deck.shutdown().await;
    let deck = env.deck().await?;
    let cached = deck
        .inventory_cached(&profile.id)
        .await?
        .ok_or("no cache after restart")?;
    assert_eq!(cached.vms, fresh.vms);
    // Removing the profile removes its secret and its cache.
    deck.remove_profile(&profile.id).await?;
    assert!(deck.inventory_cached(&profile.id).await?.is_none());
    assert!(env.secrets.get(&profile.id.clone())?.is_none());
    assert_eq!(
        kind(deck.remove_profile(&profile.id).await),
        Some(ErrorKind::NotFound)
    );
    deck.shutdown().await;
    Ok(())
}

/// With no keyring reachable, saving asks the user (keyringUnavailable) before the password goes
/// anywhere, and "keep for this session only" then works. Runs in a child process with no bus.
#[test]
fn no_keyring_is_reported_before_sign_in_and_session_only_still_works() -> TestResult {
    let runtime = tempfile::tempdir()?;
    let out = std::process::Command::new(std::env::current_exe()?)
        .args([
            "profiles::child_no_keyring",
            "--exact",
            "--ignored",
            "--nocapture",
        ])
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .env("XDG_RUNTIME_DIR", runtime.path())
        .output()?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("CHILD-NO-KEYRING-OK"),
        "child failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(())
}

#[tokio::test]
#[ignore = "child process of no_keyring_is_reported_before_sign_in_and_session_only_still_works"]
async fn child_no_keyring() -> TestResult {
    let sim = sim().await?;
    let env = Env::new()?;
    let config = onedeck_core::DeckConfig {
        secrets: onedeck_core::SecretBackend::OsKeyring,
        ..env.config(onedeck_core::DemoPolicy::Never)
    };
    let deck = onedeck_core::Deck::start(config).await?;
    let err = deck
        .save_profile(
            input(&sim.endpoint_url(), AuthModeName::Password),
            Some(PASSWORD.into()),
            false,
        )
        .await
        .err()
        .ok_or("saved without a keyring")?;
    assert_eq!(err.kind(), ErrorKind::KeyringUnavailable, "{err}");
    assert!(deck.profiles().await?.is_empty(), "nothing saved");
    let saved = deck
        .save_profile(
            input(&sim.endpoint_url(), AuthModeName::Password),
            Some(PASSWORD.into()),
            true,
        )
        .await?;
    assert_eq!(saved.secret_storage, SecretStorage::Session);
    assert!(!deck.inventory_refresh(&saved.id).await?.vms.is_empty());
    deck.shutdown().await;
    sim.shutdown().await?;
    println!("CHILD-NO-KEYRING-OK");
    Ok(())
}
