//! `onedeck-cli audit` and `recording` on a data directory the library filled with a recorded
//! console session: listing, export, and verification that names what was tampered with.

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use futures_util::StreamExt;
use onedeck_core::{
    AuditQuery, AuthModeName, Deck, DeckConfig, DemoPolicy, ProfileInput, SecretBackend,
    VmFilterName,
};
use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest};

fn cli(data: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_onedeck-cli"))
        .args(args)
        .env("ONEDECK_DATA_DIR", data)
        .env("ONEDECK_CONFIG_DIR", data.join("config"))
        .output()
        .unwrap_or_else(|e| panic!("cannot run onedeck-cli: {e}"))
}

/// One recorded console session into `dir/data` (the viewer reads the banner and leaves).
async fn recorded_session(
    dir: &Path,
) -> Result<(i64, std::path::PathBuf), Box<dyn std::error::Error>> {
    let sim = onedeck_sim::Simulator::start(onedeck_sim::SimConfig {
        vnc_base: onedeck_sim::free_vnc_base(64)?,
        users: vec![onedeck_sim::UserSpec {
            name: "carol".into(),
            password: "Carol-pw-1".into(),
            admin: true,
        }],
        ..onedeck_sim::SimConfig::default()
    })
    .await?;
    let deck = Deck::start(DeckConfig {
        config_dir: Some(dir.join("config")),
        data_dir: Some(dir.join("data")),
        secrets: SecretBackend::Memory,
        demo: DemoPolicy::Never,
        renewal_interval: Duration::ZERO,
        ..DeckConfig::default()
    })
    .await?;
    let profile = deck
        .save_profile(
            ProfileInput {
                id: None,
                name: "Lab".into(),
                url: sim.endpoint_url(),
                user: "carol".into(),
                auth_mode: AuthModeName::Password,
                vm_filter: VmFilterName::All,
                pinned_sha256: None,
                ca_file: None,
                token_ttl_secs: None,
                renew_before_secs: None,
                console_hosts: None,
                allow_plain_http: false,
                record_consoles: true,
                console_transport: None,
            },
            Some("Carol-pw-1".into()),
            true,
        )
        .await?;
    let vm = deck
        .inventory_refresh(&profile.id)
        .await?
        .vms
        .iter()
        .find(|v| v.console)
        .ok_or("no console")?
        .id;
    let mut events = deck.subscribe();
    let window = deck.console_open(&profile.id, vm).await?;
    let grant = deck.console_connect(&window.label).await?;
    let mut request = grant.ws_url.as_str().into_client_request()?;
    request
        .headers_mut()
        .insert("Origin", "tauri://localhost".parse()?);
    let (mut ws, _) = tokio_tungstenite::connect_async(request).await?;
    while !matches!(ws.next().await, Some(Ok(Message::Binary(_))) | None) {}
    ws.close(None).await?;
    loop {
        let e = tokio::time::timeout(Duration::from_secs(10), events.recv()).await??;
        if matches!(e, onedeck_core::DeckEvent::ConsoleEnded { .. }) {
            break;
        }
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let row = deck
        .audit_search(AuditQuery::default())
        .await?
        .first()
        .cloned()
        .ok_or("a row")?;
    let path = deck.recording_path(row.id).await?;
    deck.shutdown().await;
    sim.shutdown().await?;
    Ok((row.id, path))
}

#[tokio::test]
async fn audit_verify_names_what_was_tampered_with() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let (id, recording) = recorded_session(dir.path()).await?;
    let data = dir.path().join("data");

    let list = cli(&data, &["--json", "audit", "list"]);
    assert!(
        list.status.success(),
        "{}",
        String::from_utf8_lossy(&list.stderr)
    );
    let rows: serde_json::Value = serde_json::from_slice(&list.stdout)?;
    assert_eq!(rows[0]["id"], id);
    assert_eq!(rows[0]["recorded"], true);
    let csv = cli(&data, &["audit", "export", "--format", "csv"]);
    assert!(String::from_utf8_lossy(&csv.stdout).starts_with("id,profile_id"));
    let ok = cli(&data, &["--json", "audit", "verify"]);
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ok.stdout)
    );
    let head = serde_json::from_slice::<serde_json::Value>(
        &cli(&data, &["--json", "audit", "show", &id.to_string()]).stdout,
    )?["recordingHead"]
        .as_str()
        .map(str::to_owned)
        .ok_or("a sealed head")?;
    let rec = recording.to_string_lossy().into_owned();
    assert_eq!(
        cli(&data, &["recording", "verify", &rec, "--head", &head])
            .status
            .code(),
        Some(0)
    );

    // An edited audit row.
    let db = rusqlite::Connection::open(data.join("state.sqlite3"))?;
    db.execute("UPDATE console_audit SET user_name = 'mallory'", [])?;
    let out = cli(&data, &["--json", "audit", "verify"]);
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    assert_eq!(v["firstBreak"]["link"], format!("audit row {id}"));
    db.execute("UPDATE console_audit SET user_name = 'carol'", [])?;
    assert_eq!(
        cli(&data, &["audit", "verify"]).status.code(),
        Some(0),
        "restored"
    );

    // A flipped byte in the recording, and a truncated one.
    let original = std::fs::read(&recording)?;
    let mut flipped = original.clone();
    let at = flipped.len() - 40;
    flipped[at] ^= 1;
    std::fs::write(&recording, &flipped)?;
    let out = cli(&data, &["--json", "audit", "verify"]);
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    assert_eq!(v["recordingBreaks"][0]["auditId"], id);
    std::fs::write(&recording, &original[..original.len() - 10])?;
    let out = cli(&data, &["recording", "verify", &rec]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("broken"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(())
}
