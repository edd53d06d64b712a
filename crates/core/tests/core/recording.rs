//! Recorded consoles end to end in the library: a profile whose policy records consoles, a real
//! RFB session (the simulator's VNC server, VNC authentication) through the relay, then the
//! audit view's search, the keystroke timeline, verification, tampering and retention.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use onedeck_core::{AuditQuery, AuthModeName, Deck, DeckEvent, DemoPolicy, Retention};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::support::{Env, PASSWORD, TestResult, input, sim};

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The viewer's side: reads exactly `n` bytes, keeping what came beyond them.
async fn take(
    ws: &mut Ws,
    pending: &mut Vec<u8>,
    n: usize,
) -> Result<Vec<u8>, Box<dyn std::error::Error>> {
    while pending.len() < n {
        let next = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await?
            .ok_or("closed early")??;
        if let Message::Binary(b) = next {
            pending.extend_from_slice(&b);
        }
    }
    let rest = pending.split_off(n);
    Ok(std::mem::replace(pending, rest))
}

async fn send(ws: &mut Ws, b: &[u8]) -> TestResult {
    ws.send(Message::Binary(b.to_vec().into())).await?;
    Ok(())
}

/// Opens the VM's console, authenticates, types `text` and closes; returns whether the grant
/// said the session is recorded.
async fn type_into_console(
    deck: &Deck,
    profile: &onedeck_core::ProfileId,
    vm: onedeck_core::VmId,
    text: &str,
) -> Result<(bool, Option<String>), Box<dyn std::error::Error>> {
    let window = deck.console_open(profile, vm).await?;
    let grant = deck.console_connect(&window.label).await?;
    let mut request = grant.ws_url.as_str().into_client_request()?;
    request
        .headers_mut()
        .insert("Origin", "tauri://localhost".parse()?);
    let (mut ws, _) = tokio_tungstenite::connect_async(request).await?;
    let mut p = Vec::new();
    assert_eq!(take(&mut ws, &mut p, 12).await?, b"RFB 003.008\n");
    send(&mut ws, b"RFB 003.008\n").await?;
    let n = take(&mut ws, &mut p, 1).await?[0];
    let types = take(&mut ws, &mut p, usize::from(n)).await?;
    if types.contains(&2) {
        send(&mut ws, &[2]).await?;
        let challenge: [u8; 16] = take(&mut ws, &mut p, 16)
            .await?
            .try_into()
            .map_err(|_| "16 bytes")?;
        let password = grant.password.clone().ok_or("a VNC password")?;
        send(
            &mut ws,
            &onedeck_sim::rfb::vnc_response(&password, &challenge),
        )
        .await?;
    } else {
        send(&mut ws, &[1]).await?;
    }
    assert_eq!(
        take(&mut ws, &mut p, 4).await?,
        [0, 0, 0, 0],
        "authenticated"
    );
    send(&mut ws, &[1]).await?;
    let head = take(&mut ws, &mut p, 24).await?;
    let name_len = u32::from_be_bytes([head[20], head[21], head[22], head[23]]) as usize;
    take(&mut ws, &mut p, name_len).await?;
    for c in text.chars() {
        for down in [1u8, 0] {
            let mut k = vec![4, down, 0, 0];
            k.extend_from_slice(&u32::from(c).to_be_bytes());
            send(&mut ws, &k).await?;
        }
    }
    // A full update request, so the screen shows in the recording.
    send(&mut ws, &[3, 0, 0, 0, 0, 0, 2, 128, 1, 144]).await?;
    take(&mut ws, &mut p, 4).await?;
    ws.close(None).await?;
    Ok((grant.recording, grant.password.clone()))
}

async fn console_ended(events: &mut tokio::sync::broadcast::Receiver<DeckEvent>) -> TestResult {
    loop {
        let e = tokio::time::timeout(Duration::from_secs(10), events.recv()).await??;
        if matches!(e, DeckEvent::ConsoleEnded { .. }) {
            // The audit writer handles the end after telling the UI: let it finish.
            tokio::time::sleep(Duration::from_millis(300)).await;
            return Ok(());
        }
    }
}

#[tokio::test]
async fn a_recorded_console_is_searchable_replayable_and_verified() -> TestResult {
    let sim = sim().await?;
    let env = Env::new()?;
    let mut config = env.config(DemoPolicy::Never);
    // A keyframe at every message boundary after a change, so this short session has some.
    config
        .relay
        .as_mut()
        .ok_or("the deck runs a relay")?
        .keyframe_interval = Duration::ZERO;
    let deck = Deck::start(config).await?;
    let mut form = input(&sim.endpoint_url(), AuthModeName::Password);
    form.record_consoles = true;
    let profile = deck
        .save_profile(form, Some(PASSWORD.into()), false)
        .await?;
    assert!(profile.record_consoles);
    let inv = deck.inventory_refresh(&profile.id).await?;
    let vm = inv.vms.iter().find(|v| v.console).ok_or("no console")?.id;
    let mut events = deck.subscribe();
    let (recording, password) = type_into_console(&deck, &profile.id, vm, "echo hi").await?;
    assert!(recording, "the window is told it records");
    console_ended(&mut events).await?;

    let found = deck
        .audit_search(AuditQuery {
            typed: Some("echo hi".into()),
            ..AuditQuery::default()
        })
        .await?;
    assert_eq!(found.len(), 1, "the typed text is searchable");
    let row = &found[0];
    assert!(row.recorded && row.recording_available);
    assert_eq!(row.vm_id, u64::try_from(vm.0)?);
    assert!(
        deck.audit_search(AuditQuery {
            typed: Some("rm -rf".into()),
            ..AuditQuery::default()
        })
        .await?
        .is_empty()
    );
    let keys = deck.recording_keys(row.id).await?;
    let typed: String = keys.iter().filter_map(|k| k.text.clone()).collect();
    assert_eq!(typed, "echo hi");
    assert!(keys.windows(2).all(|w| w[0].t_ms <= w[1].t_ms));
    let path = deck.recording_path(row.id).await?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&path)?.permissions().mode() & 0o777,
            0o600
        );
    }
    // Neither the VNC password the window received nor the endpoint's is in the recording.
    let mut every_byte = Vec::new();
    for record in onedeck_relay::RecordingReader::open(&path)? {
        match record? {
            onedeck_relay::Record::Server { bytes, .. }
            | onedeck_relay::Record::ServerInit { bytes, .. } => every_byte.extend(bytes),
            onedeck_relay::Record::CutText { text, .. } => every_byte.extend(text),
            onedeck_relay::Record::Note { text, .. } => every_byte.extend(text.into_bytes()),
            _ => {}
        }
    }
    // (The simulator's VMs here have no VNC password; the relay test covers the challenge.)
    for secret in password.into_iter().chain([PASSWORD.to_owned()]) {
        let s = secret.as_bytes();
        assert!(
            !every_byte.windows(s.len()).any(|w| w == s),
            "a secret is in the recording"
        );
    }
    let report = deck.audit_verify().await?;
    assert!(report.intact, "{report:?}");
    assert_eq!(report.recordings_checked, 1);

    // A replay window for it: header, timeline, then the screen's bytes from ServerInit on.
    let window = deck.replay_open(row.id).await?;
    assert!(window.label.starts_with("replay-"));
    assert!(
        deck.replay_open(row.id).await?.existing,
        "one window per session"
    );
    let info = deck.replay_info(&window.label).await?;
    assert_eq!(info.entry.id, row.id);
    let replay_typed: String = info.keys.iter().filter_map(|k| k.text.clone()).collect();
    assert_eq!(replay_typed, "echo hi");
    assert!(!info.chunks.is_empty());
    let data = deck.replay_data(&window.label, 0, 16, false).await?;
    assert_eq!(data.first(), Some(&0x10), "ServerInit first");
    let init_len = u32::from_le_bytes([data[5], data[6], data[7], data[8]]) as usize;
    assert_eq!(
        u16::from_be_bytes([data[9], data[10]]),
        640,
        "the sim's width"
    );
    assert!(data.len() > 9 + init_len, "screen bytes follow");
    // Keyframes lie between the screen's records as markers naming their chunk; each is
    // served in full on its own.
    let mut markers = Vec::new();
    let mut at = 0;
    while at + 9 <= data.len() {
        let len = u32::from_le_bytes([data[at + 5], data[at + 6], data[at + 7], data[at + 8]]);
        let body = &data[at + 9..at + 9 + len as usize];
        if data[at] == 0x16 {
            assert_eq!(body.len(), 4, "a marker, not the keyframe");
            markers.push((
                u32::from_le_bytes([data[at + 1], data[at + 2], data[at + 3], data[at + 4]]),
                u32::from_le_bytes([body[0], body[1], body[2], body[3]]),
            ));
        }
        at += 9 + len as usize;
    }
    assert!(!markers.is_empty(), "keyframes were written");
    for (at_ms, seq) in markers {
        assert!(
            info.chunks
                .iter()
                .any(|c| c.seq == seq && c.keyframe && c.first_ms == u64::from(at_ms))
        );
        let full = deck.replay_data(&window.label, seq, 1, true).await?;
        assert_eq!(full[0], 0x16);
        assert_eq!(&full[1..5], &at_ms.to_le_bytes());
        let len = u32::from_le_bytes([full[5], full[6], full[7], full[8]]) as usize;
        assert_eq!(full.len(), 9 + len, "one keyframe, nothing else");
        assert_eq!(
            u16::from_be_bytes([full[9], full[10]]),
            640,
            "its ServerInit"
        );
        let name_len = u32::from_be_bytes([full[29], full[30], full[31], full[32]]) as usize;
        let update = &full[33 + name_len..];
        assert_eq!(&update[..2], &[0, 0], "then a FramebufferUpdate");
        assert!(
            update.len() >= 4 + 12 + 640 * 400 * 4,
            "of the whole screen"
        );
    }
    assert!(
        deck.replay_data("console-1", 0, 1, false).await.is_err(),
        "only replay windows"
    );
    assert!(
        deck.replay_data(&window.label, 999, 1, false)
            .await?
            .is_empty()
    );
    deck.replay_closed(&window.label);
    assert!(deck.replay_info(&window.label).await.is_err());

    // Exports: the rows as CSV and JSON, the recording with its verification data; all 0600.
    let csv = deck
        .audit_export(AuditQuery::default(), onedeck_core::ExportFormat::Csv)
        .await?;
    let text = std::fs::read_to_string(&csv)?;
    assert!(text.starts_with("id,profile_id,user,vm_id"));
    assert_eq!(text.lines().count(), 2);
    let json = deck
        .audit_export(AuditQuery::default(), onedeck_core::ExportFormat::Json)
        .await?;
    let rows: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json)?)?;
    assert_eq!(rows[0]["id"], row.id);
    let copy = deck.recording_export(row.id).await?;
    let proof: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(copy.with_file_name(format!(
            "{}.verify.json",
            copy.file_name().and_then(|n| n.to_str()).unwrap_or("")
        )))?)?;
    assert_eq!(
        proof["recording"]["head"].as_str(),
        row.recording_head.as_deref()
    );
    onedeck_relay::recording::verify(&copy, row.recording_head.as_deref())?;
    #[cfg(unix)]
    for f in [&csv, &json, &copy] {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(f)?.permissions().mode() & 0o777,
            0o600,
            "{}",
            f.display()
        );
    }

    // One flipped byte in the recording is found and named.
    let mut bytes = std::fs::read(&path)?;
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x20;
    std::fs::write(&path, &bytes)?;
    let report = deck.audit_verify().await?;
    assert!(!report.intact);
    let brk = report
        .recording_breaks
        .first()
        .ok_or("the break is named")?;
    assert_eq!(brk.audit_id, row.id);
    assert!(
        brk.link.starts_with("chunk") || brk.link == "the end",
        "{brk:?}"
    );
    let e = deck
        .recording_keys(row.id)
        .await
        .err()
        .ok_or("a broken recording reads")?;
    assert_eq!(e.kind(), onedeck_core::ErrorKind::Recording, "{e}");
    deck.shutdown().await;
    sim.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn retention_deletes_old_recordings_and_says_so_in_the_audit_log() -> TestResult {
    let sim = sim().await?;
    let env = Env::new()?;
    let mut config = env.config(DemoPolicy::Never);
    config.retention = Retention {
        max_age: Duration::from_secs(3600),
        max_total_bytes: 0,
    };
    let deck = Deck::start(config).await?;
    let mut form = input(&sim.endpoint_url(), AuthModeName::Password);
    form.record_consoles = true;
    let profile = deck
        .save_profile(form, Some(PASSWORD.into()), false)
        .await?;
    let inv = deck.inventory_refresh(&profile.id).await?;
    let vm = inv.vms.iter().find(|v| v.console).ok_or("no console")?.id;
    let mut events = deck.subscribe();
    type_into_console(&deck, &profile.id, vm, "x").await?;
    console_ended(&mut events).await?;
    let rows = deck.audit_search(AuditQuery::default()).await?;
    assert_eq!(rows.len(), 1);
    assert!(
        rows[0].recorded && !rows[0].recording_available,
        "pruned at once: over the size budget"
    );
    assert_eq!(
        deck.recording_path(rows[0].id)
            .await
            .err()
            .map(|e| e.kind()),
        Some(onedeck_core::ErrorKind::NotFound)
    );
    let report = deck.audit_verify().await?;
    assert!(
        report.intact,
        "a pruned recording is not a broken one: {report:?}"
    );
    assert_eq!(report.events, 3, "start, end, pruned");
    deck.shutdown().await;
    sim.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn without_the_policy_nothing_is_recorded() -> TestResult {
    let sim = sim().await?;
    let env = Env::new()?;
    let deck = Deck::start(env.config(DemoPolicy::Never)).await?;
    let profile = deck
        .save_profile(
            input(&sim.endpoint_url(), AuthModeName::Password),
            Some(PASSWORD.into()),
            false,
        )
        .await?;
    assert!(!profile.record_consoles, "recording is off by default");
    let inv = deck.inventory_refresh(&profile.id).await?;
    let vm = inv.vms.iter().find(|v| v.console).ok_or("no console")?.id;
    let mut events = deck.subscribe();
    assert!(!type_into_console(&deck, &profile.id, vm, "y").await?.0);
    console_ended(&mut events).await?;
    let rows = deck.audit_search(AuditQuery::default()).await?;
    assert!(!rows[0].recorded);
    let dir = env.dir.path().join("data/recordings");
    let files = std::fs::read_dir(&dir).map(|d| d.count()).unwrap_or(0);
    assert_eq!(files, 0, "no file in {}", dir.display());
    deck.shutdown().await;
    sim.shutdown().await?;
    Ok(())
}
