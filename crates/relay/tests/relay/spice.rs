//! One-shot loopback forwards (the SPICE hand-off): several channels to QEMU's real SPICE server,
//! and how a forward ends.

use std::time::Duration;

use onedeck_relay::{ForwardEnd, ForwardOptions, Target, TargetGuard};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::qemu::{Display, start_qemu_with};
use crate::support::*;

const MAIN: u8 = 1;
const DISPLAY: u8 = 2;
const MSG_MAIN_INIT: u16 = 103;

/// SPICE's link handshake (spice-protocol's SpiceLinkHeader, SpiceLinkMess, SpiceLinkReply) with
/// no capabilities, then the legacy ticket: the empty password, RSA-OAEP encrypted with the key
/// the server sent (ticketing is off, but the server still decrypts it). Returns the link
/// result: 0 is SPICE_LINK_ERR_OK.
async fn link(s: &mut TcpStream, connection_id: u32, channel: u8) -> TestResult<u32> {
    let mut mess = Vec::new();
    mess.extend_from_slice(&connection_id.to_le_bytes());
    mess.extend_from_slice(&[channel, 0]);
    mess.extend_from_slice(&0u32.to_le_bytes()); // common caps
    mess.extend_from_slice(&0u32.to_le_bytes()); // channel caps
    mess.extend_from_slice(&18u32.to_le_bytes()); // caps offset
    let mut out = b"REDQ".to_vec();
    for v in [2u32, 2, mess.len() as u32] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out.extend_from_slice(&mess);
    s.write_all(&out).await?;
    let mut header = [0u8; 16];
    s.read_exact(&mut header).await?;
    assert_eq!(&header[..4], b"REDQ", "a SPICE link reply");
    let size = u32::from_le_bytes(header[12..16].try_into()?) as usize;
    assert!((4..4096).contains(&size), "reply size {size}");
    let mut reply = vec![0u8; size];
    s.read_exact(&mut reply).await?;
    let error = u32::from_le_bytes(reply[..4].try_into()?);
    assert_eq!(error, 0, "the link is accepted");
    let ticket = encrypt_empty_password(&reply[4..166]).await?;
    s.write_all(&ticket).await?;
    let mut result = [0u8; 4];
    s.read_exact(&mut result).await?;
    Ok(u32::from_le_bytes(result))
}

/// What spice-gtk sends for no password: `"\0"`, RSA-OAEP (SHA-1) encrypted with the server's
/// 1024-bit key (DER SubjectPublicKeyInfo). OpenSSL's command line does the RSA.
async fn encrypt_empty_password(der: &[u8]) -> TestResult<Vec<u8>> {
    let dir = tempfile::tempdir()?;
    let key = dir.path().join("key.der");
    std::fs::write(&key, der)?;
    let mut child = tokio::process::Command::new("openssl")
        .args(["pkeyutl", "-encrypt", "-pubin", "-keyform", "DER", "-inkey"])
        .arg(&key)
        .args(["-pkeyopt", "rsa_padding_mode:oaep"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()?;
    child.stdin.take().ok_or("stdin")?.write_all(b"\0").await?;
    let out = child.wait_with_output().await?;
    assert!(out.status.success(), "openssl pkeyutl");
    assert_eq!(out.stdout.len(), 128, "a 1024-bit RSA block");
    Ok(out.stdout)
}

/// Reads the main channel's messages (full 18-byte data headers: no mini-header capability was
/// offered) until SPICE_MSG_MAIN_INIT, and returns its session id.
async fn session_id(s: &mut TcpStream) -> TestResult<u32> {
    for _ in 0..16 {
        let mut header = [0u8; 18];
        s.read_exact(&mut header).await?;
        let kind = u16::from_le_bytes(header[8..10].try_into()?);
        let size = u32::from_le_bytes(header[10..14].try_into()?) as usize;
        assert!(size < 1 << 20, "message size {size}");
        let mut body = vec![0u8; size];
        s.read_exact(&mut body).await?;
        if kind == MSG_MAIN_INIT {
            return Ok(u32::from_le_bytes(body[..4].try_into()?));
        }
    }
    Err("no SPICE_MSG_MAIN_INIT in 16 messages".into())
}

#[tokio::test]
async fn spice_channels_reach_qemu_through_one_forward() -> TestResult {
    let test = "spice_channels_reach_qemu_through_one_forward";
    let Some((qemu, port)) = start_qemu_with(test, Display::Spice).await? else {
        return Ok(());
    };
    let relay = relay_with(|_| {}).await?;
    let forward = relay
        .open_forward(
            Target::new("127.0.0.1", port),
            ForwardOptions::labelled("spice test"),
        )
        .await?;
    let addr = forward.local_addr();
    assert!(addr.ip().is_loopback());

    // Bounded: a SPICE server that stops answering fails the test instead of hanging it.
    let (main, display) = tokio::time::timeout(Duration::from_secs(30), async {
        let mut main = TcpStream::connect(addr).await?;
        assert_eq!(link(&mut main, 0, MAIN).await?, 0, "main channel linked");
        let session = session_id(&mut main).await?;
        // A second channel joins the session by its id, over a second connection.
        let mut display = TcpStream::connect(addr).await?;
        assert_eq!(
            link(&mut display, session, DISPLAY).await?,
            0,
            "display channel linked"
        );
        Ok::<_, Box<dyn std::error::Error + Send + Sync>>((main, display))
    })
    .await??;
    // QEMU lists a channel once its SPICE thread told the main loop, a moment after the link
    // reply: ask again for a while rather than racing it.
    let mut spice = String::new();
    let mut kinds: Vec<i64> = Vec::new();
    for _ in 0..50 {
        spice = qemu
            .qmp(serde_json::json!({"execute": "query-spice"}))
            .await?;
        let info: serde_json::Value = serde_json::from_str(&spice)?;
        kinds = info["return"]["channels"]
            .as_array()
            .ok_or("query-spice lists channels")?
            .iter()
            .filter_map(|c| c["channel-type"].as_i64())
            .collect();
        kinds.sort_unstable();
        if kinds == [1, 2] {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(kinds, [1, 2], "QEMU sees both channels: {spice}");
    assert_eq!(forward.stats().connections, 2);
    assert_eq!(forward.stats().live, 2);
    assert_eq!(forward.end(), None);

    drop(main);
    drop(display);
    let end = tokio::time::timeout(Duration::from_secs(10), forward.ended()).await?;
    assert_eq!(end, ForwardEnd::ViewerClosed);
    let stats = forward.stats();
    assert_eq!(stats.live, 0);
    assert!(stats.bytes_from_target > 200, "{stats:?}");
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "an ended forward no longer listens"
    );
    Ok(())
}

/// An echo target, a relay and a forward to the target with `options`.
async fn echo_forward(
    options: ForwardOptions,
) -> TestResult<(CountingTarget, onedeck_relay::Relay, onedeck_relay::Forward)> {
    let target = CountingTarget::echo().await?;
    let relay = relay_with(|_| {}).await?;
    let forward = relay.open_forward(target.target(), options).await?;
    Ok((target, relay, forward))
}

#[tokio::test]
async fn a_forward_nobody_uses_ends_on_its_own() -> TestResult {
    let (target, _relay, forward) = echo_forward(ForwardOptions {
        first_within: Duration::from_millis(200),
        ..ForwardOptions::labelled("unused")
    })
    .await?;
    let end = tokio::time::timeout(Duration::from_secs(5), forward.ended()).await?;
    assert_eq!(end, ForwardEnd::NoViewer);
    assert!(!forward.first_connection().await);
    assert_eq!(target.count(), 0, "nothing was dialled");
    Ok(())
}

#[tokio::test]
async fn a_forward_pipes_both_ways_then_ends_when_the_viewer_leaves() -> TestResult {
    let (target, _relay, forward) = echo_forward(ForwardOptions::labelled("echo")).await?;
    let mut s = TcpStream::connect(forward.local_addr()).await?;
    assert!(forward.first_connection().await);
    s.write_all(b"hello spice").await?;
    let mut back = [0u8; 11];
    s.read_exact(&mut back).await?;
    assert_eq!(&back, b"hello spice");
    drop(s);
    let end = tokio::time::timeout(Duration::from_secs(10), forward.ended()).await?;
    assert_eq!(end, ForwardEnd::ViewerClosed);
    let stats = forward.stats();
    assert_eq!((stats.bytes_to_target, stats.bytes_from_target), (11, 11));
    assert_eq!(target.count(), 1);
    Ok(())
}

#[tokio::test]
async fn a_forward_over_its_limit_refuses_the_extra_connection() -> TestResult {
    let (target, _relay, forward) = echo_forward(ForwardOptions {
        max_live: 1,
        ..ForwardOptions::labelled("one")
    })
    .await?;
    let mut first = TcpStream::connect(forward.local_addr()).await?;
    first.write_all(b"x").await?;
    let mut one = [0u8; 1];
    first.read_exact(&mut one).await?;
    let mut second = TcpStream::connect(forward.local_addr()).await?;
    let mut buf = [0u8; 1];
    let n = tokio::time::timeout(Duration::from_secs(5), second.read(&mut buf)).await??;
    assert_eq!(n, 0, "the extra connection is closed at once");
    assert_eq!(forward.stats().refused, 1);
    assert_eq!(target.count(), 1, "only the first was dialled");
    forward.close();
    assert_eq!(forward.ended().await, ForwardEnd::Closed);
    Ok(())
}

#[tokio::test]
async fn a_forward_says_why_its_target_failed() -> TestResult {
    let relay = relay_with(|_| {}).await?;
    let dead = dead_port().await?;
    let forward = relay
        .open_forward(Target::from(dead), ForwardOptions::labelled("dead"))
        .await?;
    let _viewer = TcpStream::connect(forward.local_addr()).await?;
    let end = tokio::time::timeout(Duration::from_secs(10), forward.ended()).await?;
    assert!(
        matches!(end, ForwardEnd::TargetUnreachable { .. }),
        "{end:?}"
    );

    // A guarded target on this machine is refused without a connection.
    let target = CountingTarget::echo().await?;
    let forward = relay
        .open_forward(
            target.target().guarded(TargetGuard::Remote),
            ForwardOptions::labelled("guarded"),
        )
        .await?;
    let _viewer = TcpStream::connect(forward.local_addr()).await?;
    let end = tokio::time::timeout(Duration::from_secs(10), forward.ended()).await?;
    assert!(matches!(end, ForwardEnd::TargetRefused { .. }), "{end:?}");
    assert_eq!(target.count(), 0, "no byte reached the refused target");
    Ok(())
}

#[tokio::test]
async fn a_forward_ends_with_the_relay() -> TestResult {
    let (_target, relay, forward) = echo_forward(ForwardOptions::labelled("shutdown")).await?;
    let _viewer = TcpStream::connect(forward.local_addr()).await?;
    assert!(forward.first_connection().await);
    let report = relay.shutdown(Duration::from_secs(5)).await;
    assert!(report.clean);
    assert_eq!(forward.end(), Some(ForwardEnd::Closed));
    Ok(())
}
