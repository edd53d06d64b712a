//! Recording benchmark (docs/PERFORMANCE.md): relay throughput with recording off and on, and
//! recording size per minute for an idle text console and a busy screen, against a synthetic
//! RFB 3.8 server on 127.0.0.1 (no security, 1024×768, Raw updates) and a real WebSocket client.
//!
//! `cargo run --release -p onedeck-relay --example record_bench [-- MIB [IDLE_SECS [BUSY_SECS]]]`

use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use onedeck_relay::{OriginPolicy, Relay, RelayConfig, Target, TicketOptions};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest};

const W: u16 = 1024;
const H: u16 = 768;

#[derive(Clone, Copy)]
enum Screen {
    /// Full-screen updates as fast as the relay takes them, until `mib` MiB are sent.
    Flood { mib: usize },
    /// A 16×16 cursor blinking twice a second (a text console doing nothing).
    Idle { secs: u64 },
    /// Ten full-screen updates a second of a moving gradient.
    Busy { secs: u64 },
}

fn fbu(x: u16, y: u16, w: u16, h: u16, px: impl Fn(usize) -> [u8; 4]) -> Vec<u8> {
    let mut m = vec![0, 0, 0, 1];
    for v in [x, y, w, h] {
        m.extend_from_slice(&v.to_be_bytes());
    }
    m.extend_from_slice(&0i32.to_be_bytes());
    m.reserve(usize::from(w) * usize::from(h) * 4);
    for i in 0..usize::from(w) * usize::from(h) {
        m.extend_from_slice(&px(i));
    }
    m
}

async fn serve(mut s: TcpStream, screen: Screen) -> std::io::Result<()> {
    let mut b = [0u8; 64];
    s.write_all(b"RFB 003.008\n").await?;
    s.read_exact(&mut b[..12]).await?;
    s.write_all(&[1, 1]).await?;
    s.read_exact(&mut b[..1]).await?;
    s.write_all(&[0, 0, 0, 0]).await?;
    s.read_exact(&mut b[..1]).await?;
    let mut init = Vec::new();
    init.extend_from_slice(&W.to_be_bytes());
    init.extend_from_slice(&H.to_be_bytes());
    init.extend_from_slice(&[32, 24, 0, 1, 0, 255, 0, 255, 0, 255, 16, 8, 0, 0, 0, 0]);
    init.extend_from_slice(&5u32.to_be_bytes());
    init.extend_from_slice(b"bench");
    s.write_all(&init).await?;
    match screen {
        Screen::Flood { mib } => {
            let frame = fbu(0, 0, W, H, |i| {
                [(i % 251) as u8, (i / 7 % 253) as u8, 40, 0]
            });
            let mut sent = 0;
            while sent < mib << 20 {
                s.write_all(&frame).await?;
                sent += frame.len();
            }
        }
        Screen::Idle { secs } => {
            let on = fbu(8, 8, 16, 16, |_| [200, 200, 200, 0]);
            let off = fbu(8, 8, 16, 16, |_| [0, 0, 0, 0]);
            s.write_all(&fbu(0, 0, W, H, |_| [0, 0, 0, 0])).await?;
            for i in 0..secs * 2 {
                tokio::time::sleep(Duration::from_millis(500)).await;
                s.write_all(if i % 2 == 0 { &on } else { &off }).await?;
            }
        }
        Screen::Busy { secs } => {
            for f in 0..secs * 10 {
                let frame = fbu(0, 0, W, H, |i| {
                    let x = i % usize::from(W);
                    let y = i / usize::from(W);
                    [
                        ((x + f as usize * 8) % 256) as u8,
                        ((y + f as usize * 3) % 256) as u8,
                        (x ^ y) as u8,
                        0,
                    ]
                });
                s.write_all(&frame).await?;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
    Ok(())
}

/// One session through a relay (recording into `dir` when given); returns (bytes, seconds,
/// recording size).
async fn run(screen: Screen, dir: Option<&std::path::Path>) -> (u64, f64, u64) {
    let target = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = target.local_addr().expect("addr");
    tokio::spawn(async move {
        if let Ok((s, _)) = target.accept().await {
            let _ = serve(s, screen).await;
        }
    });
    let relay = Relay::start(RelayConfig {
        origins: OriginPolicy::tauri_app(),
        recording_dir: dir.map(|d| d.to_owned()),
        ..RelayConfig::default()
    })
    .await
    .expect("relay");
    let mut events = relay.subscribe();
    let t = relay
        .issue_ticket(
            Target::from(addr),
            TicketOptions {
                label: "bench".into(),
                ttl: None,
                record: dir.is_some(),
            },
        )
        .expect("ticket");
    let mut req = t.ws_url().into_client_request().expect("url");
    req.headers_mut()
        .insert("Origin", "tauri://localhost".parse().expect("origin"));
    let (mut ws, _) = tokio_tungstenite::connect_async(req)
        .await
        .expect("connect");
    let start = Instant::now();
    let mut got = 0u64;
    let mut handshake = 0;
    while let Some(Ok(m)) = ws.next().await {
        if let Message::Binary(b) = m {
            got += b.len() as u64;
            // Answer the handshake as a viewer would: version, security None, ClientInit.
            let reply: Option<&[u8]> = match handshake {
                0 if got >= 12 => Some(b"RFB 003.008\n"),
                1 if got >= 14 => Some(&[1]),
                2 if got >= 18 => Some(&[1]),
                _ => None,
            };
            if let Some(r) = reply {
                handshake += 1;
                ws.send(Message::Binary(r.to_vec().into()))
                    .await
                    .expect("send");
            }
        }
    }
    let secs = start.elapsed().as_secs_f64();
    let mut size = 0;
    loop {
        match tokio::time::timeout(Duration::from_secs(10), events.recv()).await {
            Ok(Ok(onedeck_relay::SessionEvent::Ended { recording, .. })) => {
                size = recording.map_or(0, |r| r.bytes);
                break;
            }
            Ok(Ok(_)) => {}
            _ => break,
        }
    }
    relay.shutdown(Duration::from_secs(2)).await;
    (got, secs, size)
}

#[tokio::main]
async fn main() {
    let args: Vec<u64> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let mib = args.first().copied().unwrap_or(2048) as usize;
    let idle = args.get(1).copied().unwrap_or(60);
    let busy = args.get(2).copied().unwrap_or(20);
    let dir = tempfile::tempdir().expect("tmp");
    for round in 0..3 {
        let (b0, s0, _) = run(Screen::Flood { mib }, None).await;
        let (b1, s1, size) = run(Screen::Flood { mib }, Some(dir.path())).await;
        println!(
            "round {round}: throughput off {:.0} MiB/s, on {:.0} MiB/s (recording {:.1} MiB for {:.0} MiB relayed)",
            b0 as f64 / s0 / 1048576.0,
            b1 as f64 / s1 / 1048576.0,
            size as f64 / 1048576.0,
            b1 as f64 / 1048576.0
        );
    }
    let (_, s, size) = run(Screen::Idle { secs: idle }, Some(dir.path())).await;
    println!(
        "idle text console: {:.1} KiB per minute ({size} B in {s:.0} s)",
        size as f64 / 1024.0 * 60.0 / s
    );
    let (b, s, size) = run(Screen::Busy { secs: busy }, Some(dir.path())).await;
    println!(
        "busy screen (10 full 1024×768 updates/s): {:.1} MiB per minute ({:.0} MiB relayed in {s:.0} s)",
        size as f64 / 1048576.0 * 60.0 / s,
        b as f64 / 1048576.0
    );
}
