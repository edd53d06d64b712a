//! The real OS keyring: CRUD, two profiles, removal, the naming contract, the no-keyring error and
//! retrying without a restart.

use std::process::Command;

use onedeck_vault::{Error, Profile, ProfileStore, Secret, SecretRemoval, SecretStore, Vault};

use crate::support::{assert_child_passed, child, keyring_or_skip, unique_id};

type TestResult = Result<(), Box<dyn std::error::Error>>;

#[test]
fn secret_store_read_update_delete() -> TestResult {
    let Some(store) = keyring_or_skip("secret_store_read_update_delete") else {
        return Ok(());
    };
    let id = unique_id("crud");
    assert_eq!(store.get(&id)?, None, "nothing stored yet");
    store.set(&id, &Secret::new("first-pw".into()))?;
    assert_eq!(store.get(&id)?, Some(Secret::new("first-pw".into())));
    store.set(&id, &Secret::new("second-pw ünïcödé".into()))?;
    assert_eq!(
        store.get(&id)?,
        Some(Secret::new("second-pw ünïcödé".into())),
        "update replaces"
    );
    // A second connection (another app instance) sees the same secret.
    assert_eq!(
        SecretStore::os_keyring()?.get(&id)?,
        Some(Secret::new("second-pw ünïcödé".into()))
    );
    assert!(store.delete(&id)?, "there was one to delete");
    assert_eq!(store.get(&id)?, None);
    assert!(
        !store.delete(&id)?,
        "deleting twice reports nothing deleted"
    );
    Ok(())
}

#[test]
fn two_profiles_keep_separate_secrets() -> TestResult {
    let Some(store) = keyring_or_skip("two_profiles_keep_separate_secrets") else {
        return Ok(());
    };
    let (a, b) = (unique_id("two-a"), unique_id("two-b"));
    store.set(&a, &Secret::new("pw-a".into()))?;
    store.set(&b, &Secret::new("pw-b".into()))?;
    assert_eq!(store.get(&a)?, Some(Secret::new("pw-a".into())));
    assert_eq!(store.get(&b)?, Some(Secret::new("pw-b".into())));
    store.delete(&a)?;
    assert_eq!(store.get(&a)?, None);
    assert_eq!(
        store.get(&b)?,
        Some(Secret::new("pw-b".into())),
        "deleting one leaves the other"
    );
    store.delete(&b)?;
    Ok(())
}

#[test]
fn removing_a_profile_removes_its_secret() -> TestResult {
    let Some(store) = keyring_or_skip("removing_a_profile_removes_its_secret") else {
        return Ok(());
    };
    let dir = tempfile::tempdir()?;
    let vault = Vault::new(ProfileStore::in_dir(dir.path())?, store);
    let keep = vault.save_profile(
        Profile::new("Keep", "http://127.0.0.1:2633/RPC2", "alice")?,
        Some(&Secret::new("keep-pw".into())),
    )?;
    let gone = vault.save_profile(
        Profile::new("Gone", "http://127.0.0.1:2633/RPC2", "bob")?,
        Some(&Secret::new("gone-pw".into())),
    )?;
    let (removed, secret) = vault.remove_profile(&gone.id)?;
    assert_eq!(removed.id, gone.id);
    assert!(matches!(secret, SecretRemoval::Deleted), "{secret:?}");
    let fresh = SecretStore::os_keyring()?;
    assert_eq!(fresh.get(&gone.id)?, None, "the keyring no longer has it");
    assert_eq!(fresh.get(&keep.id)?, Some(Secret::new("keep-pw".into())));
    assert_eq!(vault.profiles.list()?, vec![keep.clone()]);
    vault.remove_profile(&keep.id)?;
    Ok(())
}

/// Other Secret Service clients (Seahorse, `secret-tool`) find the secret under service
/// `onedeck` and the profile id: the contract docs/SECURITY.md states.
#[test]
fn secret_is_filed_under_service_onedeck_and_the_profile_id() -> TestResult {
    let Some(store) = keyring_or_skip("secret_is_filed_under_service_onedeck_and_the_profile_id")
    else {
        return Ok(());
    };
    let id = unique_id("contract");
    store.set(&id, &Secret::new("contract-pw".into()))?;
    let lookup = Command::new("secret-tool")
        .args(["lookup", "service", "onedeck", "username", id.as_str()])
        .output();
    store.delete(&id)?;
    let out = match lookup {
        Ok(out) => out,
        Err(e) => panic!("secret-tool (Debian libsecret-tools) is needed for this test: {e}"),
    };
    assert!(out.status.success(), "secret-tool lookup failed: {out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim_end(),
        "contract-pw"
    );
    Ok(())
}

/// Keyring browsers list the item under a label naming OneDeck and the profile.
#[test]
fn secret_item_is_labelled_for_keyring_browsers() -> TestResult {
    let Some(store) = keyring_or_skip("secret_item_is_labelled_for_keyring_browsers") else {
        return Ok(());
    };
    let id = unique_id("label");
    store.set(&id, &Secret::new("label-pw".into()))?;
    let search = Command::new("secret-tool")
        .args(["search", "service", "onedeck", "username", id.as_str()])
        .output();
    store.delete(&id)?;
    let out = search.map_err(|e| format!("secret-tool (Debian libsecret-tools) is needed: {e}"))?;
    let listing = String::from_utf8_lossy(&out.stdout);
    assert!(
        listing.contains(&format!("label = OneDeck endpoint password ({id})")),
        "{listing}"
    );
    Ok(())
}

/// No keyring at all: the typed error, its message, and the session-only fallback. Runs in child
/// processes because the bus address is read per process; needs no keyring itself.
#[test]
fn no_keyring_gives_the_documented_error() {
    let runtime = tempfile::tempdir().expect("temp dir");
    // A bus address that points nowhere, and no address at all (zbus then tries
    // $XDG_RUNTIME_DIR/bus, here an empty dir).
    let nowhere = format!("unix:path={}/no-bus-here", runtime.path().display());
    for bus in [Some(nowhere.as_str()), None] {
        let mut cmd = child("keyring::child_no_keyring");
        cmd.env("XDG_RUNTIME_DIR", runtime.path());
        match bus {
            Some(address) => cmd.env("DBUS_SESSION_BUS_ADDRESS", address),
            None => cmd.env_remove("DBUS_SESSION_BUS_ADDRESS"),
        };
        let out = cmd.output().expect("spawn the child test");
        assert_child_passed(&out, "CHILD-NO-KEYRING-OK");
    }
}

#[test]
#[ignore = "child process of no_keyring_gives_the_documented_error"]
fn child_no_keyring() -> TestResult {
    let err = SecretStore::os_keyring()
        .err()
        .ok_or("a keyring was reachable")?;
    assert!(
        matches!(err, Error::KeyringUnavailable { .. }),
        "wrong variant: {err:?}"
    );
    assert!(err.is_keyring_unavailable());
    let message = err.to_string();
    for words in [
        "no keyring is available",
        "gnome-keyring-daemon",
        "keep for this session only",
        "never writes passwords to disk",
    ] {
        assert!(
            message.contains(words),
            "message lacks {words:?}: {message}"
        );
    }
    // The user's explicit choice: session only. It works, and nothing reaches the file.
    let dir = tempfile::tempdir()?;
    let vault = Vault::new(
        ProfileStore::in_dir(dir.path())?,
        SecretStore::session_only(),
    );
    let p = vault.save_profile(
        Profile::new("Lab", "http://127.0.0.1:2633/RPC2", "alice")?,
        Some(&Secret::new("session-only-pw-7731".into())),
    )?;
    assert_eq!(
        vault.secret(&p.id)?,
        Some(Secret::new("session-only-pw-7731".into()))
    );
    let text = std::fs::read_to_string(vault.profiles.path())?;
    assert!(!text.contains("session-only-pw-7731"));
    println!("CHILD-NO-KEYRING-OK");
    Ok(())
}

/// keyring 4's own default store is fixed at first use; ours is built per call, so once the
/// keyring appears a retry works in the same process. The child starts with a bus address whose
/// socket does not exist yet, fails, then links the real bus socket there and retries.
#[test]
fn retry_after_no_keyring_works_without_restart() -> TestResult {
    if keyring_or_skip("retry_after_no_keyring_works_without_restart").is_none() {
        return Ok(());
    }
    let address = std::env::var("DBUS_SESSION_BUS_ADDRESS")?;
    let real = address
        .split(',')
        .find_map(|part| part.strip_prefix("unix:path="))
        .ok_or_else(|| format!("this test needs a unix:path= bus address, got {address}"))?;
    let dir = tempfile::tempdir()?;
    let link = dir.path().join("bus");
    let out = child("keyring::child_retry")
        .env(
            "DBUS_SESSION_BUS_ADDRESS",
            format!("unix:path={}", link.display()),
        )
        .env("ONEDECK_TEST_BUS_LINK", &link)
        .env("ONEDECK_TEST_REAL_BUS", real)
        .output()?;
    assert_child_passed(&out, "CHILD-RETRY-OK");
    Ok(())
}

#[test]
#[ignore = "child process of retry_after_no_keyring_works_without_restart"]
fn child_retry() -> TestResult {
    let link = std::env::var("ONEDECK_TEST_BUS_LINK")?;
    let real = std::env::var("ONEDECK_TEST_REAL_BUS")?;
    let first = SecretStore::os_keyring();
    assert!(
        matches!(first, Err(Error::KeyringUnavailable { .. })),
        "first attempt must fail: {first:?}"
    );
    #[cfg(unix)]
    std::os::unix::fs::symlink(&real, &link)?;
    let store = SecretStore::os_keyring()?;
    let id = unique_id("retry");
    store.set(&id, &Secret::new("after-retry".into()))?;
    assert_eq!(store.get(&id)?, Some(Secret::new("after-retry".into())));
    store.delete(&id)?;
    println!("CHILD-RETRY-OK");
    Ok(())
}

/// A locked collection: the typed "locked" error. Runs in its own private bus and keyring
/// (`scripts/with-keyring.sh` around a child process), so locking cannot disturb the other tests,
/// and without a display, so the unlock prompt fails instead of waiting for a click.
#[test]
fn locked_keyring_gives_the_locked_error() -> TestResult {
    if keyring_or_skip("locked_keyring_gives_the_locked_error").is_none() {
        return Ok(());
    }
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/with-keyring.sh");
    let exe = std::env::current_exe()?;
    let out = Command::new(script)
        .arg(exe)
        .args([
            "keyring::child_locked",
            "--exact",
            "--ignored",
            "--nocapture",
        ])
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .output()?;
    assert_child_passed(&out, "CHILD-LOCKED-OK");
    Ok(())
}

#[test]
#[ignore = "child process of locked_keyring_gives_the_locked_error"]
fn child_locked() -> TestResult {
    let store = SecretStore::os_keyring()?;
    let id = unique_id("locked");
    store.set(&id, &Secret::new("locked-pw".into()))?;
    let lock = Command::new("dbus-send")
        .args([
            "--session",
            "--print-reply",
            "--dest=org.freedesktop.secrets",
            "/org/freedesktop/secrets",
            "org.freedesktop.Secret.Service.Lock",
            "array:objpath:/org/freedesktop/secrets/collection/login",
        ])
        .output()?;
    assert!(
        lock.status.success(),
        "could not lock the collection: {lock:?}"
    );
    let err = store.get(&id).err().ok_or("read a locked collection")?;
    assert!(
        matches!(err, Error::KeyringLocked { .. }),
        "wrong variant: {err:?}"
    );
    assert!(err.is_keyring_unavailable());
    let message = err.to_string();
    assert!(message.contains("locked"), "{message}");
    assert!(message.contains("Unlock your login keyring"), "{message}");
    println!("CHILD-LOCKED-OK");
    Ok(())
}

/// The way the app calls the vault: from `spawn_blocking` inside a multi-threaded tokio runtime.
#[test]
fn keyring_works_from_spawn_blocking_in_a_tokio_runtime() -> TestResult {
    let Some(store) = keyring_or_skip("keyring_works_from_spawn_blocking_in_a_tokio_runtime")
    else {
        return Ok(());
    };
    let store = std::sync::Arc::new(store);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let id = unique_id("tokio");
    let got = runtime.block_on(async {
        let (s, i) = (store.clone(), id.clone());
        tokio::task::spawn_blocking(move || s.set(&i, &Secret::new("from-tokio".into()))).await??;
        let (s, i) = (store.clone(), id.clone());
        let got = tokio::task::spawn_blocking(move || s.get(&i)).await??;
        let (s, i) = (store.clone(), id.clone());
        tokio::task::spawn_blocking(move || s.delete(&i)).await??;
        Ok::<_, Box<dyn std::error::Error>>(got)
    })?;
    assert_eq!(got, Some(Secret::new("from-tokio".into())));
    Ok(())
}
