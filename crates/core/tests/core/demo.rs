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

/// Sends a raw HTTP request to `url`'s host and port; returns the status line.
async fn raw(url: &str, request: String) -> Result<String, Box<dyn std::error::Error>> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = url
        .trim_start_matches("http://")
        .split('/')
        .next()
        .ok_or("no address")?
        .to_owned();
    let mut s = tokio::net::TcpStream::connect(&addr).await?;
    s.write_all(request.replace("{addr}", &addr).as_bytes())
        .await?;
    let mut out = Vec::new();
    tokio::time::timeout(std::time::Duration::from_secs(5), s.read_to_end(&mut out)).await??;
    Ok(String::from_utf8_lossy(&out)
        .lines()
        .next()
        .unwrap_or("")
        .to_owned())
}

/// Security finding 7: the app's demo cloud had the documented passwords, no Host check (DNS
/// rebinding) and the simulator's test hook.
#[tokio::test]
async fn the_demo_cloud_has_random_passwords_a_host_check_and_no_test_hook() -> TestResult {
    let env = Env::new()?;
    let deck = onedeck_core::Deck::start(env.config(DemoPolicy::WhenNoProfile)).await?;
    let url = deck.demo_url().ok_or("no demo cloud")?;
    let call = |host: &str, session: &str| {
        let body = format!(
            "<?xml version=\"1.0\"?><methodCall><methodName>one.user.info</methodName><params><param><value><string>{session}</string></value></param><param><value><int>-1</int></value></param></params></methodCall>"
        );
        format!(
            "POST /RPC2 HTTP/1.1\r\nHost: {host}\r\nContent-Type: text/xml\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
    };
    assert!(
        raw(&url, call("evil.example", "alice:alice"))
            .await?
            .contains(" 400 "),
        "a foreign Host is refused"
    );
    assert!(
        raw(&url, call("{addr}", "alice:alice"))
            .await?
            .contains(" 200 "),
        "its own Host is served"
    );
    // The documented password no longer works: the reply is oned's authentication failure.
    let client = onedeck_opennebula::Client::new(
        onedeck_opennebula::Endpoint::new(url.clone()),
        onedeck_opennebula::Credentials::new("alice", "alice"),
    )?;
    assert!(matches!(
        client.user_info_self().await,
        Err(onedeck_opennebula::Error::Authentication(_))
    ));
    let hook = "GET /sim/consoles/0/typed HTTP/1.1\r\nHost: {addr}\r\n\r\n".to_owned();
    assert!(
        raw(&url, hook).await?.contains(" 405 "),
        "no test hook (only POST /RPC2 is served)"
    );
    // The app itself is signed in with the launch's password.
    assert!(deck.profiles().await?[0].signed_in);
    deck.shutdown().await;
    Ok(())
}
