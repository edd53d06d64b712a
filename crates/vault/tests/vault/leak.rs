//! The password reaches no file: after a crate-level flow (profile with secret, inventory
//! snapshot, console audit row, recording index entry, debug logging), every file under the
//! config, data and cache dirs — and the keyring daemon's own files — is scanned for it.
//! (The app-level version, with the webview's storage, belongs to the app's end-to-end tests.)

use std::path::Path;
use std::time::{Duration, SystemTime};

use onedeck_store::{NewRecording, SessionEnd, SessionStart, Store, VmRow};
use onedeck_vault::{Profile, ProfileStore, Secret, Vault};

use crate::support::keyring_or_skip;

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// Every regular file under `root`, recursively (symlinks not followed).
fn files(root: &Path, out: &mut Vec<std::path::PathBuf>) -> std::io::Result<()> {
    if !root.exists() {
        return Ok(());
    }
    for entry in std::fs::read_dir(root)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        if kind.is_dir() {
            files(&entry.path(), out)?;
        } else if kind.is_file() {
            out.push(entry.path());
        }
    }
    Ok(())
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn password_reaches_no_file() -> TestResult {
    let Some(secrets) = keyring_or_skip("password_reaches_no_file") else {
        return Ok(());
    };
    let password = format!("Leak-Canary-{:016x}", rand::random::<u64>());
    let root = tempfile::tempdir()?;
    let (config, data, cache) = (
        root.path().join("config"),
        root.path().join("data"),
        root.path().join("cache"),
    );

    let vault = Vault::new(ProfileStore::in_dir(&config)?, secrets);
    let profile = vault.save_profile(
        Profile::new("Leak check", "http://127.0.0.1:2633/RPC2", "alice")?,
        Some(&Secret::new(password.clone())),
    )?;
    // Update the profile too (a second write and a backup file).
    let mut renamed = profile.clone();
    renamed.name = "Leak check (renamed)".into();
    vault.save_profile(renamed, None)?;

    let mut store = Store::open(&data.join(onedeck_store::FILE_NAME))?;
    let rows: Vec<VmRow> = (0..50)
        .map(|i| VmRow {
            vm_id: i,
            json: format!(
                r#"{{"id":{i},"name":"vm-{i}","graphics":{{"type":"VNC","port":{}}}}}"#,
                5900 + i
            ),
        })
        .collect();
    store.save_inventory(profile.id.as_str(), SystemTime::now(), &rows)?;
    // A caller that forgot to strip the VNC password is refused, and nothing is written.
    let leaky = VmRow {
        vm_id: 99,
        json: format!(r#"{{"id":99,"graphics":{{"PASSWD":"{password}"}}}}"#),
    };
    assert!(matches!(
        store.save_inventory(profile.id.as_str(), SystemTime::now(), &[leaky]),
        Err(onedeck_store::Error::SecretInRow { vm_id: 99, .. })
    ));
    let start = SystemTime::now();
    let audit = store.audit_start(&SessionStart {
        profile_id: profile.id.to_string(),
        user: profile.user.clone(),
        vm_id: 7,
        vm_name: "vm-7".into(),
        target_host: "127.0.0.1".into(),
        target_port: 5907,
        started_at: start,
        recording_file: Some(cache.join("rec-7.bin")),
    })?;
    store.audit_end(
        audit,
        &SessionEnd {
            ended_at: start + Duration::from_secs(3),
            bytes_to_client: 1000,
            bytes_to_server: 20,
            end_reason: "client_closed".into(),
            recording_head: None,
            typed_text: None,
        },
    )?;
    store.recording_add(&NewRecording {
        audit_id: Some(audit),
        path: cache.join("rec-7.bin"),
        profile_id: profile.id.to_string(),
        vm_id: 7,
        started_at: start,
        format: "onedeck-rec-1".into(),
    })?;
    drop(store);

    // Whatever a careless log line would print.
    let secret = vault.secret(&profile.id)?.ok_or("secret not stored")?;
    assert_eq!(secret.expose(), password, "the secret is in the keyring");
    std::fs::create_dir_all(&cache)?;
    std::fs::write(
        cache.join("debug.log"),
        format!("{vault:?}\n{secret:?}\n{:?}\n", Some(&secret)),
    )?;

    let mut all = Vec::new();
    files(root.path(), &mut all)?;
    // The keyring daemon's files (encrypted at rest) when run under scripts/with-keyring.sh.
    if let Some(xdg_data) = std::env::var_os("XDG_DATA_HOME") {
        files(&Path::new(&xdg_data).join("keyrings"), &mut all)?;
    }
    assert!(
        all.len() >= 5,
        "expected profiles, backup, database and log files, found {all:?}"
    );
    for file in &all {
        let bytes = std::fs::read(file)?;
        assert!(
            !contains(&bytes, password.as_bytes()),
            "the password leaked into {}",
            file.display()
        );
    }
    eprintln!("leak scan: {} files clean", all.len());
    vault.remove_profile(&profile.id)?;
    Ok(())
}
