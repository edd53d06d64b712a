use onedeck_core::{DEMO_PROFILE_ID, DemoPolicy, ErrorKind, StateClass, demo_profile_id};

use crate::support::{Env, TestResult};

#[tokio::test]
async fn with_no_profile_the_demo_cloud_is_signed_in_and_listed_first() -> TestResult {
    let env = Env::new()?;
    let deck = onedeck_core::Deck::start(env.config(DemoPolicy::WhenNoProfile)).await?;
    let list = deck.profiles().await?;
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].id, DEMO_PROFILE_ID);
    assert!(list[0].demo && list[0].signed_in);
    let inv = deck.inventory_refresh(&demo_profile_id()).await?;
    assert!(
        inv.vms
            .iter()
            .any(|v| v.console && v.state_class == StateClass::Running),
        "{inv:?}"
    );
    assert!(
        inv.vms.iter().any(|v| !v.console),
        "some demo VMs are not running"
    );
    // The demo is rebuilt at every start: it is never cached nor written as a profile.
    assert!(deck.inventory_cached(&demo_profile_id()).await?.is_none());
    assert!(!env.dir.path().join("config/profiles.toml").exists());
    assert_eq!(
        deck.remove_profile(&demo_profile_id())
            .await
            .err()
            .map(|e| e.kind()),
        Some(ErrorKind::InvalidInput)
    );
    deck.sign_out(&demo_profile_id()).await?;
    assert!(!deck.profiles().await?[0].signed_in);
    deck.sign_in(&demo_profile_id(), None, false).await?;
    assert!(deck.profiles().await?[0].signed_in);
    deck.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn no_demo_when_a_profile_exists() -> TestResult {
    let env = Env::new()?;
    let profiles = onedeck_vault::ProfileStore::in_dir(&env.dir.path().join("config"))?;
    profiles.upsert(onedeck_vault::Profile::new(
        "Prod",
        "https://one.example.org/RPC2",
        "me",
    )?)?;
    let deck = onedeck_core::Deck::start(env.config(DemoPolicy::WhenNoProfile)).await?;
    let list = deck.profiles().await?;
    assert_eq!(list.len(), 1);
    assert!(!list[0].demo);
    assert!(deck.demo_url().is_none());
    deck.shutdown().await;
    Ok(())
}
