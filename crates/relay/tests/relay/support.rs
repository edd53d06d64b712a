//! Shared pieces: relays, counting targets, raw HTTP and WebSocket clients.

use std::{
    future::Future,
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use futures_util::{SinkExt, StreamExt};
use onedeck_relay::{
    OriginPolicy, Relay, RelayConfig, SessionEvent, Target, Ticket, TicketOptions,
};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
    sync::broadcast,
    task::JoinHandle,
};
use tokio_tungstenite::{
    MaybeTlsStream, WebSocketStream,
    tungstenite::{Message, client::IntoClientRequest, http::HeaderValue, protocol::CloseFrame},
};

pub type TestResult<T = ()> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// The Origin the app's webview sends.
pub const APP_ORIGIN: &str = "tauri://localhost";

/// A relay with the app's policy and a given config tweak.
pub async fn relay_with(tweak: impl FnOnce(&mut RelayConfig)) -> TestResult<Relay> {
    let mut config = RelayConfig {
        origins: OriginPolicy::tauri_app(),
        ..RelayConfig::default()
    };
    tweak(&mut config);
    Ok(Relay::start(config).await?)
}

/// A TCP server on 127.0.0.1:0 that counts connections and runs `handler` on each.
pub struct CountingTarget {
    pub addr: SocketAddr,
    pub accepted: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl CountingTarget {
    pub async fn start<F, Fut>(handler: F) -> TestResult<Self>
    where
        F: Fn(TcpStream) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let accepted = Arc::new(AtomicUsize::new(0));
        let count = Arc::clone(&accepted);
        let task = tokio::spawn(async move {
            while let Ok((s, _)) = listener.accept().await {
                count.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(handler(s));
            }
        });
        Ok(Self {
            addr,
            accepted,
            task,
        })
    }

    /// An echo server.
    pub async fn echo() -> TestResult<Self> {
        Self::start(|mut s| async move {
            let (mut r, mut w) = s.split();
            let _ = tokio::io::copy(&mut r, &mut w).await;
        })
        .await
    }

    pub fn target(&self) -> Target {
        Target::from(self.addr)
    }

    pub fn count(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

impl Drop for CountingTarget {
    fn drop(&mut self) {
        self.task.abort();
    }
}

pub fn ticket(relay: &Relay, target: Target, label: &str) -> TestResult<Ticket> {
    Ok(relay.issue_ticket(target, TicketOptions::labelled(label))?)
}

/// An upgrade request as a browser sends it.
pub fn upgrade_request(host: &str, path: &str, origin: Option<&str>) -> String {
    let origin = origin
        .map(|o| format!("Origin: {o}\r\n"))
        .unwrap_or_default();
    format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
         Sec-WebSocket-Protocol: binary\r\n{origin}\r\n"
    )
}

/// Sends raw bytes and reads what comes back until the relay closes the connection.
pub async fn raw_exchange(addr: SocketAddr, request: &[u8]) -> TestResult<String> {
    let mut s = TcpStream::connect(addr).await?;
    s.write_all(request).await?;
    let mut out = Vec::new();
    // The relay answers and closes; a relay that hangs fails the test instead of blocking it.
    tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut out)).await??;
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// The status code of an HTTP answer, or 0 when there was none.
pub fn status_of(answer: &str) -> u16 {
    answer
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A WebSocket client through the relay, as noVNC connects (Origin of the app, `binary`).
pub async fn connect(relay: &Relay, ticket: &Ticket) -> TestResult<Ws> {
    connect_url(&ticket.ws_url(), Some(APP_ORIGIN), relay.local_addr()).await
}

pub async fn connect_url(url: &str, origin: Option<&str>, addr: SocketAddr) -> TestResult<Ws> {
    let mut req = url.into_client_request()?;
    if let Some(o) = origin {
        req.headers_mut()
            .insert("Origin", HeaderValue::from_str(o)?);
    }
    req.headers_mut()
        .insert("Sec-WebSocket-Protocol", HeaderValue::from_static("binary"));
    let tcp = TcpStream::connect(addr).await?;
    let (ws, resp) = tokio_tungstenite::client_async(req, MaybeTlsStream::Plain(tcp)).await?;
    assert_eq!(
        resp.headers()
            .get("Sec-WebSocket-Protocol")
            .map(HeaderValue::as_bytes),
        Some(&b"binary"[..]),
        "the relay must choose the binary subprotocol noVNC offers"
    );
    Ok(ws)
}

/// Reads binary messages until `n` bytes arrived.
pub async fn read_bytes(ws: &mut Ws, n: usize) -> TestResult<Vec<u8>> {
    let mut got = Vec::with_capacity(n);
    while got.len() < n {
        match ws.next().await {
            Some(Ok(Message::Binary(b))) => got.extend_from_slice(&b),
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
            other => {
                return Err(
                    format!("expected data, got {other:?} after {} bytes", got.len()).into(),
                );
            }
        }
    }
    Ok(got)
}

/// Reads until the Close frame and returns it.
pub async fn read_close(ws: &mut Ws) -> TestResult<Option<CloseFrame>> {
    loop {
        match ws.next().await {
            Some(Ok(Message::Close(c))) => return Ok(c),
            Some(Ok(_)) => {}
            other => return Err(format!("expected a Close frame, got {other:?}").into()),
        }
    }
}

pub async fn send(ws: &mut Ws, data: &[u8]) -> TestResult {
    ws.send(Message::Binary(data.to_vec().into())).await?;
    Ok(())
}

/// The next Ended event (skipping others).
pub async fn next_end(events: &mut broadcast::Receiver<SessionEvent>) -> TestResult<SessionEvent> {
    loop {
        let ev = tokio::time::timeout(Duration::from_secs(10), events.recv()).await??;
        if matches!(ev, SessionEvent::Ended { .. }) {
            return Ok(ev);
        }
    }
}

/// Waits (bounded) until the relay has no live session.
pub async fn until_no_sessions(relay: &Relay) -> TestResult {
    for _ in 0..1000 {
        if relay.session_count() == 0 {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    Err(format!("{} sessions still live", relay.session_count()).into())
}

/// A port on 127.0.0.1 where nothing listens (bound, then released).
pub async fn dead_port() -> TestResult<SocketAddr> {
    let l = TcpListener::bind("127.0.0.1:0").await?;
    Ok(l.local_addr()?)
}
