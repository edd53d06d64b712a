//! Bytes both ways, backpressure, and every way a session can end.

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use futures_util::{SinkExt, StreamExt};
use onedeck_relay::{EndReason, MAX_BUFFER, MAX_BUFFERED, SessionEvent};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    sync::oneshot,
};
use tokio_tungstenite::tungstenite::{Message, protocol::frame::coding::CloseCode};

use crate::support::*;

fn pattern(n: usize, seed: usize) -> Vec<u8> {
    (0..n).map(|i| ((i + seed) % 251) as u8).collect()
}

#[tokio::test]
async fn echo_both_ways_with_exact_stats() -> TestResult {
    let target = CountingTarget::echo().await?;
    let relay = relay_with(|_| {}).await?;
    let mut events = relay.subscribe();
    let t = ticket(&relay, target.target(), "vm 7 (web)")?;
    let mut ws = connect(&relay, &t).await?;
    let mut total = 0;
    // Sizes across every frame-length form, and a fragmented message.
    for (i, n) in [1usize, 125, 126, 4000, 65535, 65536, 300_000]
        .into_iter()
        .enumerate()
    {
        let data = pattern(n, i);
        send(&mut ws, &data).await?;
        assert_eq!(read_bytes(&mut ws, n).await?, data, "echo of {n} bytes");
        total += n;
    }
    let sessions = relay.sessions();
    assert_eq!(sessions.len(), 1);
    assert_eq!(sessions[0].label, "vm 7 (web)");
    ws.send(Message::Ping(b"are you there".to_vec().into()))
        .await?;
    loop {
        match ws.next().await {
            Some(Ok(Message::Pong(p))) => {
                assert_eq!(&p[..], b"are you there");
                break;
            }
            Some(Ok(_)) => {}
            other => return Err(format!("no pong: {other:?}").into()),
        }
    }
    ws.close(None).await?;
    let _ = read_close(&mut ws).await;
    let ev = next_end(&mut events).await?;
    let SessionEvent::Ended {
        stats,
        reason,
        label,
        ..
    } = ev
    else {
        unreachable!()
    };
    assert_eq!(label, "vm 7 (web)");
    assert!(
        matches!(reason, EndReason::ClientClosed { .. }),
        "got {reason:?}"
    );
    assert_eq!(stats.bytes_to_target, total as u64);
    assert_eq!(stats.bytes_to_client, total as u64);
    assert!(
        stats.peak_buffered_to_client <= MAX_BUFFERED
            && stats.peak_buffered_to_target <= MAX_BUFFER
    );
    assert_eq!(relay.session_count(), 0);
    relay.shutdown(Duration::from_secs(2)).await;
    Ok(())
}

#[tokio::test]
async fn target_refused_gives_1011_and_no_leak() -> TestResult {
    let relay = relay_with(|_| {}).await?;
    let mut events = relay.subscribe();
    let dead = dead_port().await?;
    let t = ticket(&relay, dead.into(), "vm 9")?;
    let mut ws = connect(&relay, &t).await?;
    let close = read_close(&mut ws).await?.ok_or("no close frame")?;
    assert_eq!(close.code, CloseCode::Error);
    assert_eq!(close.reason.as_str(), "cannot reach the console target");
    let SessionEvent::Ended { reason, .. } = next_end(&mut events).await? else {
        unreachable!()
    };
    assert!(
        matches!(reason, EndReason::TargetUnreachable { .. }),
        "got {reason:?}"
    );
    until_no_sessions(&relay).await?;
    relay.shutdown(Duration::from_secs(2)).await;
    Ok(())
}

#[tokio::test]
async fn target_that_closes_mid_stream_gives_1000_after_its_data() -> TestResult {
    let target = CountingTarget::start(|mut s| async move {
        let _ = s.write_all(&pattern(100_000, 3)).await;
        // Clean close: EOF after the data.
    })
    .await?;
    let relay = relay_with(|_| {}).await?;
    let mut events = relay.subscribe();
    let t = ticket(&relay, target.target(), "vm 1")?;
    let mut ws = connect(&relay, &t).await?;
    assert_eq!(
        read_bytes(&mut ws, 100_000).await?,
        pattern(100_000, 3),
        "every byte before the close arrives"
    );
    let close = read_close(&mut ws).await?.ok_or("no close frame")?;
    assert_eq!(close.code, CloseCode::Normal);
    assert_eq!(
        close.reason.as_str(),
        "the console target closed the connection"
    );
    let SessionEvent::Ended { reason, stats, .. } = next_end(&mut events).await? else {
        unreachable!()
    };
    assert_eq!(reason, EndReason::TargetClosed);
    assert_eq!(stats.bytes_to_client, 100_000);
    until_no_sessions(&relay).await?;
    relay.shutdown(Duration::from_secs(2)).await;
    Ok(())
}

#[tokio::test]
async fn target_that_resets_mid_stream_gives_1011() -> TestResult {
    let target = CountingTarget::start(|mut s| async move {
        let _ = s.write_all(b"RFB 003.008\n").await;
        let mut b = [0u8; 16];
        let _ = s.read(&mut b).await;
        // Abortive close: RST instead of FIN.
        let _ = s.set_zero_linger();
        drop(s);
    })
    .await?;
    let relay = relay_with(|_| {}).await?;
    let mut events = relay.subscribe();
    let t = ticket(&relay, target.target(), "vm 1")?;
    let mut ws = connect(&relay, &t).await?;
    assert_eq!(read_bytes(&mut ws, 12).await?, b"RFB 003.008\n");
    send(&mut ws, b"RFB 003.008\n").await?;
    let close = read_close(&mut ws).await?.ok_or("no close frame")?;
    assert_eq!(close.code, CloseCode::Error);
    let SessionEvent::Ended { reason, .. } = next_end(&mut events).await? else {
        unreachable!()
    };
    assert!(
        matches!(
            reason,
            EndReason::TargetLost { .. } | EndReason::TargetClosed
        ),
        "got {reason:?}"
    );
    until_no_sessions(&relay).await?;
    relay.shutdown(Duration::from_secs(2)).await;
    Ok(())
}

#[tokio::test]
async fn client_that_vanishes_closes_the_target() -> TestResult {
    let (eof_tx, eof_rx) = oneshot::channel::<usize>();
    let eof_tx = Arc::new(std::sync::Mutex::new(Some(eof_tx)));
    let target = CountingTarget::start(move |mut s| {
        let eof_tx = Arc::clone(&eof_tx);
        async move {
            let mut got = 0;
            let mut b = [0u8; 1024];
            while let Ok(n) = s.read(&mut b).await {
                if n == 0 {
                    break;
                }
                got += n;
            }
            if let Some(tx) = eof_tx.lock().ok().and_then(|mut g| g.take()) {
                let _ = tx.send(got);
            }
        }
    })
    .await?;
    let relay = relay_with(|_| {}).await?;
    let mut events = relay.subscribe();
    let t = ticket(&relay, target.target(), "vm 1")?;
    let mut ws = connect(&relay, &t).await?;
    send(&mut ws, b"hello").await?;
    ws.flush().await?;
    // Drop the TCP connection without a Close frame.
    drop(ws);
    let got = tokio::time::timeout(Duration::from_secs(10), eof_rx).await??;
    assert_eq!(got, 5, "the target got the bytes, then EOF");
    let SessionEvent::Ended { reason, .. } = next_end(&mut events).await? else {
        unreachable!()
    };
    assert_eq!(reason, EndReason::ClientVanished);
    until_no_sessions(&relay).await?;
    relay.shutdown(Duration::from_secs(2)).await;
    Ok(())
}

#[tokio::test]
async fn client_close_half_closes_the_target() -> TestResult {
    let (eof_tx, eof_rx) = oneshot::channel::<Vec<u8>>();
    let eof_tx = Arc::new(std::sync::Mutex::new(Some(eof_tx)));
    let target = CountingTarget::start(move |mut s| {
        let eof_tx = Arc::clone(&eof_tx);
        async move {
            let mut all = Vec::new();
            let _ = s.read_to_end(&mut all).await;
            if let Some(tx) = eof_tx.lock().ok().and_then(|mut g| g.take()) {
                let _ = tx.send(all);
            }
        }
    })
    .await?;
    let relay = relay_with(|_| {}).await?;
    let mut events = relay.subscribe();
    let t = ticket(&relay, target.target(), "vm 1")?;
    let mut ws = connect(&relay, &t).await?;
    send(&mut ws, b"last words").await?;
    ws.close(None).await?;
    let close = read_close(&mut ws).await?;
    assert!(
        close.is_none() || close.as_ref().is_some_and(|c| c.code == CloseCode::Normal),
        "got {close:?}"
    );
    let got = tokio::time::timeout(Duration::from_secs(10), eof_rx).await??;
    assert_eq!(
        got, b"last words",
        "data before the Close reaches the target, then EOF"
    );
    let SessionEvent::Ended { reason, .. } = next_end(&mut events).await? else {
        unreachable!()
    };
    assert!(
        matches!(reason, EndReason::ClientClosed { .. }),
        "got {reason:?}"
    );
    relay.shutdown(Duration::from_secs(2)).await;
    Ok(())
}

#[tokio::test]
async fn slow_reader_cannot_grow_relay_memory() -> TestResult {
    const TOTAL: usize = 64 << 20;
    let written = Arc::new(AtomicUsize::new(0));
    let w = Arc::clone(&written);
    let target = CountingTarget::start(move |mut s| {
        let w = Arc::clone(&w);
        async move {
            let chunk = pattern(64 << 10, 0);
            let mut sent = 0;
            while sent < TOTAL {
                let n = (TOTAL - sent).min(chunk.len());
                if s.write_all(&chunk[..n]).await.is_err() {
                    return;
                }
                sent += n;
                w.store(sent, Ordering::SeqCst);
            }
        }
    })
    .await?;
    let relay = relay_with(|_| {}).await?;
    let mut events = relay.subscribe();
    let t = ticket(&relay, target.target(), "vm 1")?;
    let mut ws = connect(&relay, &t).await?;
    // The client reads nothing. The target can only fill the kernel's socket buffers and the
    // relay's one buffer; then its writes block. Wait until the count stops moving.
    let (mut last, mut still) = (usize::MAX, 0);
    for _ in 0..400 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let now = written.load(Ordering::SeqCst);
        still = if now == last { still + 1 } else { 0 };
        last = now;
        if still == 4 {
            break;
        }
    }
    assert_eq!(
        still, 4,
        "the target's writes never stopped: no backpressure"
    );
    let stalled_at = written.load(Ordering::SeqCst);
    // What the target got rid of sits in kernel socket buffers (autotuned, a few MiB here) and
    // in at most one relay buffer: far from everything.
    assert!(
        stalled_at < TOTAL / 2,
        "the target wrote {stalled_at} bytes into a client that reads nothing"
    );
    let live = relay.sessions();
    assert!(
        live[0].stats.peak_buffered_to_client <= MAX_BUFFERED,
        "relay held {} bytes",
        live[0].stats.peak_buffered_to_client
    );
    // Now read everything: nothing was lost or reordered while stalled.
    let mut got = 0usize;
    while got < TOTAL {
        match ws.next().await {
            Some(Ok(Message::Binary(b))) => {
                let expect: Vec<u8> = (got..got + b.len())
                    .map(|i| (i % (64 << 10) % 251) as u8)
                    .collect();
                assert!(b[..] == expect[..], "bytes {got}..{} differ", got + b.len());
                got += b.len();
            }
            Some(Ok(_)) => {}
            other => return Err(format!("stream ended at {got}: {other:?}").into()),
        }
    }
    let _ = read_close(&mut ws).await;
    let SessionEvent::Ended { stats, .. } = next_end(&mut events).await? else {
        unreachable!()
    };
    assert_eq!(stats.bytes_to_client, TOTAL as u64);
    assert!(stats.peak_buffered_to_client <= MAX_BUFFERED);
    relay.shutdown(Duration::from_secs(2)).await;
    Ok(())
}

#[tokio::test]
async fn app_can_close_a_session_and_shutdown_closes_the_rest() -> TestResult {
    let target = CountingTarget::echo().await?;
    let relay = relay_with(|_| {}).await?;
    let mut events = relay.subscribe();
    let a = ticket(&relay, target.target(), "vm 1")?;
    let b = ticket(&relay, target.target(), "vm 2")?;
    let mut wa = connect(&relay, &a).await?;
    let mut wb = connect(&relay, &b).await?;
    send(&mut wa, b"a").await?;
    read_bytes(&mut wa, 1).await?;
    send(&mut wb, b"b").await?;
    read_bytes(&mut wb, 1).await?;
    let id = relay
        .sessions()
        .iter()
        .find(|s| s.label == "vm 1")
        .map(|s| s.id)
        .ok_or("no session")?;
    assert!(relay.close_session(id));
    let close = read_close(&mut wa).await?.ok_or("no close frame")?;
    assert_eq!(
        (close.code, close.reason.as_str()),
        (CloseCode::Normal, "session closed by the app")
    );
    let SessionEvent::Ended { reason, .. } = next_end(&mut events).await? else {
        unreachable!()
    };
    assert_eq!(reason, EndReason::ClosedByApp);
    assert_eq!(relay.session_count(), 1);
    let report = relay.shutdown(Duration::from_secs(3)).await;
    assert!(report.clean, "every task finished within the deadline");
    assert_eq!(report.sessions_closed, 1);
    let close = read_close(&mut wb).await?.ok_or("no close frame")?;
    assert_eq!(close.code, CloseCode::Away);
    assert_eq!(relay.session_count(), 0);
    Ok(())
}

#[tokio::test]
async fn text_frames_and_protocol_errors_close_the_session() -> TestResult {
    let target = CountingTarget::echo().await?;
    let relay = relay_with(|_| {}).await?;
    let t = ticket(&relay, target.target(), "vm 1")?;
    let mut ws = connect(&relay, &t).await?;
    ws.send(Message::Text("hello".into())).await?;
    let close = read_close(&mut ws).await?.ok_or("no close frame")?;
    assert_eq!(close.code, CloseCode::Unsupported);
    until_no_sessions(&relay).await?;
    relay.shutdown(Duration::from_secs(2)).await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn a_silent_client_is_dropped_after_two_keepalive_intervals() -> TestResult {
    let target = CountingTarget::echo().await?;
    let relay = relay_with(|c| c.keepalive_interval = Duration::from_secs(10)).await?;
    let mut events = relay.subscribe();
    let t = ticket(&relay, target.target(), "vm 1")?;
    // A raw client that completes the upgrade and then never answers pings.
    let mut s = tokio::net::TcpStream::connect(relay.local_addr()).await?;
    let req = upgrade_request(
        &relay.local_addr().to_string(),
        &format!("/?token={}", t.token().expose()),
        Some(APP_ORIGIN),
    );
    s.write_all(req.as_bytes()).await?;
    let start = tokio::time::Instant::now();
    let ev = tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            if let Ok(ev @ SessionEvent::Ended { .. }) = events.recv().await {
                return ev;
            }
        }
    })
    .await?;
    let SessionEvent::Ended { reason, .. } = ev else {
        unreachable!()
    };
    assert_eq!(reason, EndReason::ClientTimeout);
    let waited = start.elapsed();
    assert!(
        waited >= Duration::from_secs(20) && waited < Duration::from_secs(25),
        "dropped after {waited:?}"
    );
    relay.shutdown(Duration::from_secs(2)).await;
    Ok(())
}

#[tokio::test]
async fn many_small_frames_in_one_read_arrive_whole_and_in_order() -> TestResult {
    let target = CountingTarget::echo().await?;
    let relay = relay_with(|_| {}).await?;
    let mut events = relay.subscribe();
    let t = ticket(&relay, target.target(), "vm 1")?;
    let mut ws = connect(&relay, &t).await?;
    // 200 key-event-sized messages queued and flushed at once: the relay sees many frames per
    // read and gathers their payloads into vectored writes.
    let mut expect = Vec::new();
    for i in 0..200usize {
        let msg = pattern(8 + i % 13, i);
        expect.extend_from_slice(&msg);
        ws.feed(Message::Binary(msg.into())).await?;
    }
    ws.flush().await?;
    assert_eq!(read_bytes(&mut ws, expect.len()).await?, expect);
    ws.close(None).await?;
    let SessionEvent::Ended { stats, .. } = next_end(&mut events).await? else {
        unreachable!()
    };
    assert_eq!(stats.bytes_to_target, expect.len() as u64);
    relay.shutdown(Duration::from_secs(2)).await;
    Ok(())
}

/// Security review: a console target that never answers (a black hole) ends with 1011 once the
/// connect timeout passes, and frees its session slot for the next console.
#[tokio::test]
async fn a_black_hole_target_closes_1011_and_frees_its_slot() -> TestResult {
    // A listener with a full accept queue: the kernel drops further SYNs, so a connect hangs.
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.bind("127.0.0.1:0".parse()?)?;
    let hole = socket.listen(1)?;
    let hole_addr = hole.local_addr()?;
    let mut fillers = Vec::new();
    for _ in 0..4 {
        if let Ok(Ok(s)) = tokio::time::timeout(
            Duration::from_millis(200),
            tokio::net::TcpStream::connect(hole_addr),
        )
        .await
        {
            fillers.push(s);
        }
    }
    let relay = relay_with(|c| {
        c.connect_timeout = Duration::from_millis(500);
        c.max_sessions = 1;
    })
    .await?;
    let mut events = relay.subscribe();
    let hole_ticket = ticket(&relay, onedeck_relay::Target::from(hole_addr), "vm 1")?;
    let mut ws = connect(&relay, &hole_ticket).await?;
    let close = tokio::time::timeout(Duration::from_secs(10), read_close(&mut ws))
        .await??
        .ok_or("no close frame")?;
    assert_eq!(u16::from(close.code), 1011, "{close:?}");
    match next_end(&mut events).await? {
        SessionEvent::Ended { reason, .. } => assert!(
            matches!(&reason, onedeck_relay::EndReason::TargetUnreachable { error } if error.contains("no answer within 500 ms")),
            "{reason:?}"
        ),
        other => panic!("expected the session's end, got {other:?}"),
    }
    // The only slot is free again.
    let echo = CountingTarget::echo().await?;
    let next = ticket(&relay, echo.target(), "vm 2")?;
    let mut ws = connect(&relay, &next).await?;
    send(&mut ws, b"still here").await?;
    assert_eq!(read_bytes(&mut ws, 10).await?, b"still here");
    drop(hole);
    Ok(())
}

/// Security review: hundreds of connections that never send a request do not lock a console out.
#[tokio::test]
async fn five_hundred_idle_sockets_do_not_keep_a_valid_ticket_out() -> TestResult {
    let relay = relay_with(|_| {}).await?;
    let mut idle = Vec::new();
    for _ in 0..512 {
        idle.push(tokio::net::TcpStream::connect(relay.local_addr()).await?);
    }
    let echo = CountingTarget::echo().await?;
    let valid = ticket(&relay, echo.target(), "vm 1")?;
    let mut ws = tokio::time::timeout(Duration::from_secs(10), connect(&relay, &valid)).await??;
    send(&mut ws, b"ok").await?;
    assert_eq!(read_bytes(&mut ws, 2).await?, b"ok");
    assert_eq!(idle.len(), 512);
    Ok(())
}
