use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use onedeck_core::{
    DEMO_PROFILE_ID, Deck, DeckEvent, DemoPolicy, ErrorKind, VmId, demo_profile_id,
};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::support::{Env, TestResult};

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(url: &str) -> Result<Ws, Box<dyn std::error::Error>> {
    let mut request = url.into_client_request()?;
    request
        .headers_mut()
        .insert("Origin", "tauri://localhost".parse()?);
    let (ws, _) = tokio_tungstenite::connect_async(request).await?;
    Ok(ws)
}

/// The first bytes the VNC server sends: the RFB version banner.
async fn banner(ws: &mut Ws) -> Result<Vec<u8>, Box<dyn std::error::Error>> {
    loop {
        let next = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await?
            .ok_or("closed before the banner")??;
        if let Message::Binary(bytes) = next {
            return Ok(bytes.to_vec());
        }
    }
}

async fn ended(
    events: &mut tokio::sync::broadcast::Receiver<DeckEvent>,
) -> Result<DeckEvent, Box<dyn std::error::Error>> {
    loop {
        let event = tokio::time::timeout(Duration::from_secs(10), events.recv()).await??;
        if matches!(event, DeckEvent::ConsoleEnded { .. }) {
            return Ok(event);
        }
    }
}

async fn demo() -> Result<(Env, Deck, VmId, VmId), Box<dyn std::error::Error>> {
    let env = Env::new()?;
    let deck = Deck::start(env.config(DemoPolicy::WhenNoProfile)).await?;
    let inv = deck.inventory_refresh(&demo_profile_id()).await?;
    let running = inv
        .vms
        .iter()
        .find(|v| v.console)
        .ok_or("no VM with a console")?
        .id;
    let stopped = inv
        .vms
        .iter()
        .find(|v| !v.console)
        .ok_or("every VM has a console")?
        .id;
    Ok((env, deck, running, stopped))
}

#[tokio::test]
async fn a_console_session_goes_through_the_relay_and_is_audited() -> TestResult {
    let (_env, deck, vm, _) = demo().await?;
    let mut events = deck.subscribe();
    let window = deck.console_open(&demo_profile_id(), vm).await?;
    assert!(!window.existing);
    assert!(window.title.ends_with(" — OneDeck"), "{}", window.title);
    let again = deck.console_open(&demo_profile_id(), vm).await?;
    assert!(
        again.existing && again.label == window.label,
        "one window per VM"
    );

    let grant = deck.console_connect(&window.label).await?;
    assert!(grant.ws_url.starts_with(&format!(
        "ws://{}/?token=",
        deck.relay_addr().ok_or("a relay")?
    )));
    assert_eq!(grant.vm_id, vm);
    assert!(
        !format!("{grant:?}").contains(&grant.ws_url),
        "Debug redacts the ticket"
    );
    let mut ws = connect(&grant.ws_url).await?;
    assert_eq!(banner(&mut ws).await?, b"RFB 003.008\n");
    // The ticket was single use.
    assert!(
        connect(&grant.ws_url).await.is_err(),
        "a used ticket connected again"
    );
    ws.send(Message::Close(None)).await?;
    // Drive the closing handshake to its end.
    while let Some(Ok(_)) = ws.next().await {}
    let DeckEvent::ConsoleEnded { label, vm_id, .. } = ended(&mut events).await? else {
        unreachable!()
    };
    assert_eq!((label.as_str(), vm_id), (window.label.as_str(), vm));

    let log = deck.audit_log(Some(DEMO_PROFILE_ID), 10).await?;
    assert_eq!(log.len(), 1);
    let row = &log[0];
    assert_eq!(row.start.vm_id, u64::try_from(vm.0)?);
    assert_eq!(row.start.user, "alice");
    let end = row.end.as_ref().ok_or("audit row not completed")?;
    assert!(end.bytes_to_client >= 12, "{end:?}");
    assert_eq!(end.end_reason, "client_closed");

    // Reconnect gets a fresh ticket; closing the window ends the live session.
    let grant = deck.console_connect(&window.label).await?;
    let mut ws = connect(&grant.ws_url).await?;
    banner(&mut ws).await?;
    deck.console_closed(&window.label);
    ended(&mut events).await?;
    let log = deck.audit_log(None, 10).await?;
    assert_eq!(log.len(), 2);
    assert_eq!(
        log[0].end.as_ref().map(|e| e.end_reason.as_str()),
        Some("closed_by_app")
    );
    let err = deck
        .console_connect(&window.label)
        .await
        .err()
        .ok_or("closed window connected")?;
    assert_eq!(err.kind(), ErrorKind::NotFound);
    deck.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn a_vm_that_is_not_running_gets_a_reason_not_a_window() -> TestResult {
    let (_env, deck, _, stopped) = demo().await?;
    let err = deck
        .console_open(&demo_profile_id(), stopped)
        .await
        .err()
        .ok_or("window for a stopped VM")?;
    assert_eq!(err.kind(), ErrorKind::NoConsole);
    assert!(err.to_string().contains(&format!("VM {stopped}")), "{err}");
    assert!(deck.console_labels().is_empty());
    let err = deck
        .console_open(&demo_profile_id(), VmId(999_999))
        .await
        .err()
        .ok_or("window for no VM")?;
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    deck.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn quitting_closes_open_sessions_in_the_audit_log() -> TestResult {
    let (env, deck, vm, _) = demo().await?;
    let window = deck.console_open(&demo_profile_id(), vm).await?;
    let grant = deck.console_connect(&window.label).await?;
    let mut ws = connect(&grant.ws_url).await?;
    banner(&mut ws).await?;
    // Give the audit writer the Started event before quitting.
    for _ in 0..100 {
        if !deck.audit_log(None, 1).await?.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    deck.shutdown().await;
    let deck = Deck::start(env.config(DemoPolicy::Never)).await?;
    let log = deck.audit_log(None, 10).await?;
    assert_eq!(log.len(), 1);
    let end = log[0].end.as_ref().ok_or("quit left the session open")?;
    assert_eq!(end.end_reason, "shutdown");
    deck.shutdown().await;
    Ok(())
}

/// A run that ends without `shutdown` (a crash) leaves its console session open in the audit
/// log; the next start closes it as `app_crashed` rather than leaving it running forever.
#[test]
fn a_crash_leaves_no_session_open_after_the_next_start() -> crate::support::TestResult {
    let env = Env::new()?;
    let crashed = tokio::runtime::Runtime::new()?;
    let vm = crashed.block_on(async {
        let deck = Deck::start(env.config(DemoPolicy::WhenNoProfile)).await?;
        let inv = deck.inventory_refresh(&demo_profile_id()).await?;
        let vm = inv.vms.iter().find(|v| v.console).ok_or("no console")?.id;
        let window = deck.console_open(&demo_profile_id(), vm).await?;
        let grant = deck.console_connect(&window.label).await?;
        let mut ws = connect(&grant.ws_url).await?;
        banner(&mut ws).await?;
        for _ in 0..100 {
            if !deck.audit_log(None, 1).await?.is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        std::mem::forget(ws);
        Ok::<_, Box<dyn std::error::Error>>(vm)
    })?;
    // The "crash": every task of that run stops where it is, no shutdown, nothing flushed by hand.
    crashed.shutdown_background();

    let next = tokio::runtime::Runtime::new()?;
    next.block_on(async {
        let deck = Deck::start(env.config(DemoPolicy::Never)).await?;
        let log = deck.audit_log(None, 10).await?;
        assert_eq!(log.len(), 1);
        assert_eq!(log[0].start.vm_id, u64::try_from(vm.0)?);
        let end = log[0]
            .end
            .as_ref()
            .ok_or("still open after the next start")?;
        assert_eq!(end.end_reason, "app_crashed");
        deck.shutdown().await;
        Ok(())
    })
}

/// Security finding 5: each connect used to mint a ticket while older unused ones stayed valid,
/// so one window could take every relay session.
#[tokio::test]
async fn one_window_has_one_live_session_and_its_older_tickets_are_refused() -> TestResult {
    let env = Env::new()?;
    let deck = Deck::start(env.config(DemoPolicy::WhenNoProfile)).await?;
    let inv = deck.inventory_refresh(&demo_profile_id()).await?;
    let mut with_console = inv.vms.iter().filter(|v| v.console).map(|v| v.id);
    let (first, second) = (
        with_console.next().ok_or("no VM with a console")?,
        with_console.next().ok_or("only one VM with a console")?,
    );
    let window = deck.console_open(&demo_profile_id(), first).await?;
    let mut grants = Vec::new();
    for _ in 0..20 {
        grants.push(deck.console_connect(&window.label).await?);
    }
    for old in &grants[..19] {
        assert!(
            connect(&old.ws_url).await.is_err(),
            "an older ticket still connected"
        );
    }
    let mut live = connect(&grants[19].ws_url).await?;
    assert_eq!(banner(&mut live).await?, b"RFB 003.008\n");
    // A new ticket for the same window ends its live session: one at a time.
    let next = deck.console_connect(&window.label).await?;
    let closed = tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(Ok(m)) = live.next().await {
            if matches!(m, Message::Close(_)) {
                return true;
            }
        }
        true
    })
    .await?;
    assert!(closed, "the earlier session was ended");
    let mut again = connect(&next.ws_url).await?;
    assert_eq!(banner(&mut again).await?, b"RFB 003.008\n");
    // Another window is not affected.
    let other = deck.console_open(&demo_profile_id(), second).await?;
    let grant = deck.console_connect(&other.label).await?;
    let mut ws = connect(&grant.ws_url).await?;
    assert_eq!(banner(&mut ws).await?, b"RFB 003.008\n");
    deck.shutdown().await;
    Ok(())
}

/// Security finding 6: a VM document naming this machine, a link-local or the unspecified
/// address as its console target gets no console, with the reason, and nothing is dialled.
#[tokio::test]
async fn a_console_target_on_this_machine_or_link_local_is_refused() -> TestResult {
    let sim = crate::support::sim().await?;
    let env = Env::new()?;
    let mut config = env.config(DemoPolicy::Never);
    // The simulator is on loopback; guard its consoles as if it were another machine's.
    config.guard_local_endpoints = true;
    let deck = Deck::start(config).await?;
    for address in ["127.0.0.1", "169.254.169.254", "::1", "0.0.0.0"] {
        let mut input =
            crate::support::input(&sim.endpoint_url(), onedeck_core::AuthModeName::Password);
        input.name = format!("via {address}");
        // Every simulated host name leads to `address`.
        input.console_hosts = Some(
            ["localhost", "127.0.0.1"]
                .into_iter()
                .map(|h| (h.to_owned(), address.to_owned()))
                .collect(),
        );
        let profile = deck
            .save_profile(input, Some(crate::support::PASSWORD.into()), true)
            .await?;
        let inv = deck.inventory_refresh(&profile.id).await?;
        let vm = inv
            .vms
            .iter()
            .find(|v| v.console)
            .ok_or("no VM with a console")?;
        let e = deck
            .console_open(&profile.id, vm.id)
            .await
            .err()
            .ok_or(format!("a console to {address} was opened"))?;
        assert_eq!(e.kind(), ErrorKind::NoConsole, "{e}");
        assert_eq!(e.params()["reason"], "unsafe_target");
        assert!(e.to_string().contains(address), "the target is named: {e}");
    }
    assert!(
        deck.console_labels().is_empty(),
        "no window was registered, no ticket issued"
    );
    deck.shutdown().await;
    sim.shutdown().await?;
    Ok(())
}

/// Security finding 10: a console session used to outlive its VM's RUNNING state. The simulator
/// runs no consoles here: a stand-in VNC server on the VM's port stays up when the VM stops (as a
/// hypervisor's may), so only the app can end the session.
#[tokio::test]
async fn powering_off_the_vm_ends_its_console_session() -> TestResult {
    use tokio::io::AsyncWriteExt;
    let sim = onedeck_sim::Simulator::start(onedeck_sim::SimConfig {
        vnc: onedeck_sim::VncMode::None,
        vnc_base: onedeck_sim::free_vnc_base(64)?,
        users: vec![onedeck_sim::UserSpec {
            name: crate::support::USER.into(),
            password: crate::support::PASSWORD.into(),
            admin: true,
        }],
        ..onedeck_sim::SimConfig::default()
    })
    .await?;
    let env = Env::new()?;
    let deck = env.deck().await?;
    let profile = deck
        .save_profile(
            crate::support::input(&sim.endpoint_url(), onedeck_core::AuthModeName::Password),
            Some(crate::support::PASSWORD.into()),
            true,
        )
        .await?;
    let inv = deck.inventory_refresh(&profile.id).await?;
    let vm = inv
        .vms
        .iter()
        .find(|v| v.console)
        .ok_or("no VM with a console")?
        .id;
    let port = deck
        .vm_details(&profile.id, vm)
        .await?
        .graphics
        .and_then(|g| g.port)
        .ok_or("no port")?;
    let fake = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    let server = tokio::spawn(async move {
        while let Ok((mut s, _)) = fake.accept().await {
            let _ = s.write_all(b"RFB 003.008\n").await;
            tokio::spawn(async move {
                let mut buf = [0u8; 64];
                while matches!(tokio::io::AsyncReadExt::read(&mut s, &mut buf).await, Ok(n) if n > 0)
                {
                }
            });
        }
    });
    let mut events = deck.subscribe();
    let window = deck.console_open(&profile.id, vm).await?;
    let grant = deck.console_connect(&window.label).await?;
    let mut ws = connect(&grant.ws_url).await?;
    assert_eq!(banner(&mut ws).await?, b"RFB 003.008\n");
    deck.vm_action(&profile.id, vm, onedeck_core::VmAction::PoweroffHard)
        .await?;
    let DeckEvent::ConsoleEnded { label, reason, .. } = ended(&mut events).await? else {
        unreachable!()
    };
    assert_eq!(label, window.label);
    assert!(reason.contains("closed by the app"), "{reason}");
    // The window stays registered: a reconnect asks the API again and hears why not.
    let e = deck
        .console_connect(&window.label)
        .await
        .err()
        .ok_or("a powered-off VM got a ticket")?;
    assert_eq!(e.kind(), ErrorKind::NoConsole, "{e}");
    server.abort();
    deck.shutdown().await;
    sim.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn a_console_without_input_closes_and_its_window_learns_why() -> TestResult {
    let env = Env::new()?;
    let mut config = env.config(DemoPolicy::WhenNoProfile);
    assert_eq!(
        config.relay.as_ref().and_then(|r| r.input_idle_timeout),
        Some(onedeck_core::CONSOLE_IDLE_TIMEOUT),
        "the app closes idle consoles by default"
    );
    if let Some(relay) = &mut config.relay {
        relay.input_idle_timeout = Some(Duration::from_secs(1));
    }
    let deck = Deck::start(config).await?;
    let inv = deck.inventory_refresh(&demo_profile_id()).await?;
    let vm = inv.vms.iter().find(|v| v.console).ok_or("no console")?.id;
    let mut events = deck.subscribe();
    let window = deck.console_open(&demo_profile_id(), vm).await?;
    assert_eq!(deck.console_last_end(&window.label)?, None);
    let grant = deck.console_connect(&window.label).await?;
    let mut ws = connect(&grant.ws_url).await?;
    assert_eq!(banner(&mut ws).await?, b"RFB 003.008\n");
    // The viewer says nothing more: no key, no pointer.
    let DeckEvent::ConsoleEnded { kind, .. } = ended(&mut events).await? else {
        unreachable!()
    };
    assert_eq!(kind, "input_idle");
    let end = deck
        .console_last_end(&window.label)?
        .ok_or("the window's last end is known")?;
    assert_eq!((end.kind.as_str(), end.idle_secs), ("input_idle", Some(1)));
    // A new ticket starts afresh; another window's end is not this one's.
    deck.console_connect(&window.label).await?;
    assert_eq!(deck.console_last_end(&window.label)?, None);
    assert!(deck.console_last_end("console-elsewhere").is_err());
    deck.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn a_vms_console_settings_survive_a_restart_and_open_its_window_at_its_size() -> TestResult {
    let (env, deck, vm, _) = demo().await?;
    let window = deck.console_open(&demo_profile_id(), vm).await?;
    assert_eq!(window.size, None, "no size remembered yet");
    let defaults = deck.console_settings(&window.label).await?;
    assert_eq!(defaults, onedeck_core::ConsoleSettings::default());
    assert!(
        deck.console_clipboard_allowed(&window.label).await.is_err(),
        "no clipboard sharing until the user turns it on"
    );
    let mine = onedeck_core::ConsoleSettings {
        scale_mode: onedeck_core::ScaleMode::Remote,
        layout: "de".into(),
        paste_rate: 30,
        window: Some(onedeck_core::WindowSize {
            width: 1300,
            height: 900,
        }),
        custom_keys: vec![0xffe3, 0xffe1, 0x74],
        clipboard: true,
    };
    deck.console_settings_save(&window.label, mine.clone())
        .await?;
    deck.console_clipboard_allowed(&window.label).await?;
    let bad = onedeck_core::ConsoleSettings {
        layout: "klingon".into(),
        ..mine.clone()
    };
    let refused = deck.console_settings_save(&window.label, bad).await;
    assert!(
        matches!(
            refused,
            Err(onedeck_core::Error::InvalidInput {
                field: "layout",
                ..
            })
        ),
        "{refused:?}"
    );
    assert!(deck.console_settings("console-999").await.is_err());
    deck.console_closed(&window.label);
    deck.shutdown().await;

    // A restart: same data directory.
    let deck = Deck::start(env.config(DemoPolicy::WhenNoProfile)).await?;
    deck.inventory_refresh(&demo_profile_id()).await?;
    let window = deck.console_open(&demo_profile_id(), vm).await?;
    assert_eq!(window.size, mine.window);
    assert_eq!(deck.console_settings(&window.label).await?, mine);
    Ok(())
}
