//! Every refusal happens before the upgrade and before any dial: each test's counting target
//! must see zero connections.

use std::time::Duration;

use onedeck_relay::{
    HANDSHAKE_TIMEOUT, OriginPolicy, Rejection, SessionEvent, TicketOptions, TicketRefusal,
};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

use crate::support::*;

/// Sends one upgrade request with the given Host/path/Origin; returns the HTTP status.
async fn attempt(
    relay: &onedeck_relay::Relay,
    host: &str,
    path: &str,
    origin: Option<&str>,
) -> TestResult<u16> {
    let answer = raw_exchange(
        relay.local_addr(),
        upgrade_request(host, path, origin).as_bytes(),
    )
    .await?;
    Ok(status_of(&answer))
}

/// The status of an upgrade with `ticket`, from the app's origin to the right host.
async fn attempt_ticket(
    relay: &onedeck_relay::Relay,
    ticket: &onedeck_relay::Ticket,
) -> TestResult<u16> {
    let path = format!("/?token={}", ticket.token().expose());
    attempt(
        relay,
        &relay.local_addr().to_string(),
        &path,
        Some(APP_ORIGIN),
    )
    .await
}

#[tokio::test]
async fn unknown_token_is_403_and_dials_nothing() -> TestResult {
    let target = CountingTarget::echo().await?;
    let relay = relay_with(|_| {}).await?;
    let host = relay.local_addr().to_string();
    let real = ticket(&relay, target.target(), "vm 1")?;
    let tok = real.token().expose();
    for path in [
        "/?token=unknown".to_owned(),
        format!("/?token={}", &tok[..tok.len() - 1]),
        format!("/?token={tok}x"),
        format!("/?token={}", tok.to_uppercase()),
        format!("/?token={tok}%00"),
        format!("/?tok={tok}"),
        "/?token=127.0.0.1:5900".to_owned(),
    ] {
        let status = attempt(&relay, &host, &path, Some(APP_ORIGIN)).await?;
        assert_eq!(status, 403, "{path} must be refused with 403");
    }
    for path in [
        "/vnc.html?token=x",
        "//example.com/%2F..?token=x",
        "/../?token=x",
    ] {
        assert_eq!(
            attempt(&relay, &host, path, Some(APP_ORIGIN)).await?,
            404,
            "{path}: no file serving, no redirect"
        );
    }
    assert_eq!(target.count(), 0, "a refused request must not dial");
    // The real ticket is still good: the refusals above did not consume it.
    let mut ws = connect(&relay, &real).await?;
    send(&mut ws, b"ping").await?;
    assert_eq!(read_bytes(&mut ws, 4).await?, b"ping");
    assert_eq!(target.count(), 1);
    relay.shutdown(Duration::from_secs(2)).await;
    Ok(())
}

#[tokio::test]
async fn reused_ticket_is_403() -> TestResult {
    let target = CountingTarget::echo().await?;
    let relay = relay_with(|_| {}).await?;
    let t = ticket(&relay, target.target(), "vm 1")?;
    let ws = connect(&relay, &t).await?;
    drop(ws);
    let path = t
        .ws_url()
        .split_once(&relay.local_addr().to_string())
        .map(|(_, p)| p.to_owned())
        .unwrap_or_default();
    let status = attempt(
        &relay,
        &relay.local_addr().to_string(),
        &path,
        Some(APP_ORIGIN),
    )
    .await?;
    assert_eq!(status, 403, "a second use of a ticket must be refused");
    assert_eq!(target.count(), 1, "only the first use dials");
    relay.shutdown(Duration::from_secs(2)).await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn expired_ticket_is_403() -> TestResult {
    let target = CountingTarget::echo().await?;
    let relay = relay_with(|_| {}).await?;
    let mut events = relay.subscribe();
    let t = relay.issue_ticket(target.target(), TicketOptions::labelled("vm 1"))?;
    tokio::time::advance(Duration::from_secs(31)).await;
    assert_eq!(attempt_ticket(&relay, &t).await?, 403);
    assert_eq!(target.count(), 0);
    let ev = events.recv().await?;
    assert!(
        matches!(
            ev,
            SessionEvent::Rejected {
                reason: Rejection::Ticket(TicketRefusal::Expired),
                ..
            }
        ),
        "got {ev:?}"
    );
    assert!(
        !format!("{ev:?}").contains(t.token().expose()),
        "events never carry the token"
    );
    relay.shutdown(Duration::from_secs(2)).await;
    Ok(())
}

#[tokio::test]
async fn foreign_or_missing_origin_is_403() -> TestResult {
    let target = CountingTarget::echo().await?;
    let relay = relay_with(|_| {}).await?;
    let host = relay.local_addr().to_string();
    for origin in [
        Some("https://evil.com"),
        Some("null"),
        Some("http://tauri.localhost.evil.com"),
        Some("http://127.0.0.1:8000"),
        None,
    ] {
        let t = ticket(&relay, target.target(), "vm 1")?;
        let path = format!("/?token={}", t.token().expose());
        assert_eq!(
            attempt(&relay, &host, &path, origin).await?,
            403,
            "Origin {origin:?} must be refused"
        );
    }
    assert_eq!(target.count(), 0);
    relay.shutdown(Duration::from_secs(2)).await;
    Ok(())
}

#[tokio::test]
async fn headless_policy_refuses_browsers_and_admits_non_browsers() -> TestResult {
    let target = CountingTarget::echo().await?;
    let relay = relay_with(|c| c.origins = OriginPolicy::headless(Vec::<String>::new())).await?;
    let t = ticket(&relay, target.target(), "vm 1")?;
    let path = format!("/?token={}", t.token().expose());
    assert_eq!(
        attempt(
            &relay,
            &relay.local_addr().to_string(),
            &path,
            Some("http://127.0.0.1:8000")
        )
        .await?,
        403
    );
    assert_eq!(target.count(), 0);
    let mut ws = connect_url(&t.ws_url(), None, relay.local_addr()).await?;
    send(&mut ws, b"hi").await?;
    assert_eq!(read_bytes(&mut ws, 2).await?, b"hi");
    relay.shutdown(Duration::from_secs(2)).await;
    Ok(())
}

#[tokio::test]
async fn foreign_host_is_400() -> TestResult {
    let target = CountingTarget::echo().await?;
    let relay = relay_with(|_| {}).await?;
    let port = relay.local_addr().port();
    for host in [
        format!("evil.example:{port}"),
        format!("127.0.0.1:{}", port.wrapping_add(1)),
        "127.0.0.1".to_owned(),
    ] {
        let t = ticket(&relay, target.target(), "vm 1")?;
        let path = format!("/?token={}", t.token().expose());
        assert_eq!(
            attempt(&relay, &host, &path, Some(APP_ORIGIN)).await?,
            400,
            "Host {host} must be refused"
        );
    }
    // localhost:PORT is the relay's own address too.
    let t = ticket(&relay, target.target(), "vm 1")?;
    let url = format!(
        "ws://localhost:{port}/websockify?token={}",
        t.token().expose()
    );
    let mut ws = connect_url(&url, Some(APP_ORIGIN), relay.local_addr()).await?;
    send(&mut ws, b"ok").await?;
    assert_eq!(read_bytes(&mut ws, 2).await?, b"ok");
    assert_eq!(target.count(), 1, "only the good request dialled");
    relay.shutdown(Duration::from_secs(2)).await;
    Ok(())
}

#[tokio::test]
async fn plain_http_get_is_400() -> TestResult {
    let target = CountingTarget::echo().await?;
    let relay = relay_with(|_| {}).await?;
    let t = ticket(&relay, target.target(), "vm 1")?;
    let req = format!(
        "GET /?token={} HTTP/1.1\r\nHost: {}\r\nOrigin: {APP_ORIGIN}\r\n\r\n",
        t.token().expose(),
        relay.local_addr()
    );
    let answer = raw_exchange(relay.local_addr(), req.as_bytes()).await?;
    assert_eq!(status_of(&answer), 400, "answer: {answer}");
    assert!(
        !answer.to_ascii_lowercase().contains("location:"),
        "never a redirect"
    );
    assert_eq!(target.count(), 0);
    relay.shutdown(Duration::from_secs(2)).await;
    Ok(())
}

#[tokio::test]
async fn hundred_kilobytes_of_headers_are_refused() -> TestResult {
    let target = CountingTarget::echo().await?;
    let relay = relay_with(|_| {}).await?;
    let mut events = relay.subscribe();
    let t = ticket(&relay, target.target(), "vm 1")?;
    let mut req = format!(
        "GET /?token={} HTTP/1.1\r\nHost: {}\r\nOrigin: {APP_ORIGIN}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n",
        t.token().expose(),
        relay.local_addr()
    );
    for i in 0..100 {
        req.push_str(&format!("X-Filler-{i}: {}\r\n", "a".repeat(1000)));
    }
    req.push_str(
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    );
    assert!(req.len() > 100_000);
    let mut s = TcpStream::connect(relay.local_addr()).await?;
    // The relay stops reading at its cap, so the write may fail part-way: that is the point.
    let _ = s.write_all(req.as_bytes()).await;
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut out)).await?;
    assert!(
        !String::from_utf8_lossy(&out).contains(" 101 "),
        "no upgrade for a header flood"
    );
    let ev = tokio::time::timeout(Duration::from_secs(10), events.recv()).await??;
    assert!(
        matches!(
            ev,
            SessionEvent::Rejected {
                reason: Rejection::RequestTooLarge,
                ..
            }
        ),
        "got {ev:?}"
    );
    assert_eq!(target.count(), 0);
    relay.shutdown(Duration::from_secs(2)).await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn one_byte_per_second_is_dropped_at_the_handshake_timeout() -> TestResult {
    let target = CountingTarget::echo().await?;
    let relay = relay_with(|_| {}).await?;
    let mut events = relay.subscribe();
    let t = ticket(&relay, target.target(), "vm 1")?;
    let req = upgrade_request(
        &relay.local_addr().to_string(),
        &format!("/?token={}", t.token().expose()),
        Some(APP_ORIGIN),
    );
    let mut s = TcpStream::connect(relay.local_addr()).await?;
    let start = tokio::time::Instant::now();
    let mut sent = 0;
    for b in req.as_bytes() {
        if s.write_all(&[*b]).await.is_err() {
            break;
        }
        sent += 1;
        tokio::time::sleep(Duration::from_secs(1)).await;
        if let Ok(SessionEvent::Rejected { reason, .. }) = events.try_recv() {
            assert_eq!(reason, Rejection::HandshakeTimeout);
            break;
        }
    }
    let waited = start.elapsed();
    assert!(
        sent < req.len(),
        "the relay must give up before the slow request completes"
    );
    assert!(
        waited >= HANDSHAKE_TIMEOUT && waited <= HANDSHAKE_TIMEOUT + Duration::from_secs(2),
        "dropped after {waited:?}, expected about {HANDSHAKE_TIMEOUT:?}"
    );
    let mut rest = Vec::new();
    let n = s.read_to_end(&mut rest).await.unwrap_or(0);
    assert_eq!(n, 0, "no answer, just a closed connection");
    assert_eq!(target.count(), 0);
    relay.shutdown(Duration::from_secs(2)).await;
    Ok(())
}

#[tokio::test]
async fn session_limit_answers_429_without_burning_the_ticket() -> TestResult {
    let target = CountingTarget::echo().await?;
    let relay = relay_with(|c| c.max_sessions = 1).await?;
    let first = ticket(&relay, target.target(), "vm 1")?;
    let mut ws = connect(&relay, &first).await?;
    send(&mut ws, b"x").await?;
    read_bytes(&mut ws, 1).await?;
    let second = ticket(&relay, target.target(), "vm 2")?;
    assert_eq!(attempt_ticket(&relay, &second).await?, 429);
    assert_eq!(target.count(), 1);
    drop(ws);
    until_no_sessions(&relay).await?;
    // The refused ticket was not consumed by the 429.
    let mut ws = connect(&relay, &second).await?;
    send(&mut ws, b"y").await?;
    assert_eq!(read_bytes(&mut ws, 1).await?, b"y");
    relay.shutdown(Duration::from_secs(2)).await;
    Ok(())
}

#[tokio::test]
async fn a_non_loopback_listen_address_is_refused() {
    let r = relay_with(|c| c.listen = "0.0.0.0:0".parse().unwrap_or(c.listen)).await;
    assert!(matches!(r.map_err(|e| e.to_string()), Err(e) if e.contains("loopback")));
}

#[tokio::test]
async fn revoked_tickets_and_closed_labels_open_nothing() -> TestResult {
    let target = CountingTarget::echo().await?;
    let relay = relay_with(|_| {}).await?;
    let live = ticket(&relay, target.target(), "vm 5")?;
    let mut ws = connect(&relay, &live).await?;
    send(&mut ws, b"x").await?;
    read_bytes(&mut ws, 1).await?;
    let pending = ticket(&relay, target.target(), "vm 5")?;
    let other = ticket(&relay, target.target(), "vm 6")?;
    // The VM left RUNNING: close its console and void its unused tickets, and only its.
    assert_eq!(relay.close_sessions_for("vm 5"), 1);
    let close = read_close(&mut ws).await?.ok_or("no close frame")?;
    assert_eq!(close.reason.as_str(), "session closed by the app");
    assert_eq!(attempt_ticket(&relay, &pending).await?, 403);
    assert_eq!(target.count(), 1);
    let mut ws = connect(&relay, &other).await?;
    send(&mut ws, b"y").await?;
    assert_eq!(read_bytes(&mut ws, 1).await?, b"y");
    relay.shutdown(Duration::from_secs(2)).await;
    Ok(())
}

/// Security finding 6: a guarded ticket whose target resolves to this machine (or a link-local,
/// unspecified or multicast address, or a port below 1024) closes with 1008 and dials nothing.
#[tokio::test]
async fn a_guarded_target_on_this_machine_is_refused_and_never_dialled() -> TestResult {
    let relay = relay_with(|_| {}).await?;
    let target = CountingTarget::echo().await?;
    let mut events = relay.subscribe();
    // By name: the guard looks at what `localhost` resolves to, not at the text.
    let guarded = onedeck_relay::Target::new("localhost", target.addr.port())
        .guarded(onedeck_relay::TargetGuard::Remote);
    let ticket = relay.issue_ticket(guarded, TicketOptions::labelled("vm 1"))?;
    let mut ws = connect(&relay, &ticket).await?;
    let close = read_close(&mut ws).await?.ok_or("no close frame")?;
    assert_eq!(u16::from(close.code), 1008, "{close:?}");
    match next_end(&mut events).await? {
        SessionEvent::Ended { reason, .. } => assert!(
            matches!(&reason, onedeck_relay::EndReason::TargetRefused { why } if why.contains("loopback")),
            "{reason:?}"
        ),
        other => panic!("expected the session's end, got {other:?}"),
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(target.count(), 0, "nothing was dialled");
    // The same target unguarded (the headless relay, tests) still connects.
    let ticket = relay.issue_ticket(target.target(), TicketOptions::labelled("vm 1"))?;
    let mut ws = connect(&relay, &ticket).await?;
    send(&mut ws, b"ping").await?;
    assert_eq!(read_bytes(&mut ws, 4).await?, b"ping");
    assert_eq!(target.count(), 1);
    Ok(())
}
