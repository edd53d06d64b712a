//! A tiny HTTP/1.1 server on 127.0.0.1:0 that answers like oned's Abyss: the captured reply
//! bytes, `Content-type: text/xml; charset=utf-8`, `Content-length`, `Connection: close`, one
//! call per connection. It records every request body for the request-shape assertions.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// What the server sends back.
pub enum Body {
    /// These bytes, with a Content-length.
    Bytes(Vec<u8>),
    /// `total` filler bytes written in 64 KiB chunks, optionally without a Content-length
    /// (then the body ends when the connection closes).
    Filler { total: u64, declare_length: bool },
}

/// A reply: status, extra headers, body.
pub struct Reply {
    pub status: u16,
    pub content_type: &'static str,
    pub body: Body,
}

impl Reply {
    /// 200 with oned's content type.
    pub fn xml(body: impl Into<Vec<u8>>) -> Self {
        Self {
            status: 200,
            content_type: "text/xml; charset=utf-8",
            body: Body::Bytes(body.into()),
        }
    }
}

type Handler = Arc<dyn Fn(&str) -> Reply + Send + Sync>;

/// A running server; stopped when dropped.
pub struct Server {
    pub url: String,
    requests: Arc<Mutex<Vec<String>>>,
    pub written: Arc<AtomicU64>,
    task: JoinHandle<()>,
}

impl Server {
    /// Starts a server answering every request with `handler(request_body)`.
    pub async fn start(
        handler: impl Fn(&str) -> Reply + Send + Sync + 'static,
    ) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}/RPC2", listener.local_addr()?);
        let requests = Arc::new(Mutex::new(Vec::new()));
        let written = Arc::new(AtomicU64::new(0));
        let handler: Handler = Arc::new(handler);
        let (req, wr) = (requests.clone(), written.clone());
        let task = tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                let (handler, req, wr) = (handler.clone(), req.clone(), wr.clone());
                tokio::spawn(async move {
                    let _ = serve(sock, handler, req, wr).await;
                });
            }
        });
        Ok(Self {
            url,
            requests,
            written,
            task,
        })
    }

    /// Like [`Server::start`], over TLS with the given PEM certificate and key (`https://` URL).
    pub async fn start_tls(
        cert_pem: &[u8],
        key_pem: &[u8],
        handler: impl Fn(&str) -> Reply + Send + Sync + 'static,
    ) -> Result<Self, Box<dyn std::error::Error>> {
        use tokio_rustls::rustls;
        use tokio_rustls::rustls::pki_types::pem::PemObject;
        use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
        let certs = CertificateDer::pem_slice_iter(cert_pem).collect::<Result<Vec<_>, _>>()?;
        let key = PrivateKeyDer::from_pem_slice(key_pem)?;
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(certs, key)?;
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("https://{}/RPC2", listener.local_addr()?);
        let requests = Arc::new(Mutex::new(Vec::new()));
        let written = Arc::new(AtomicU64::new(0));
        let handler: Handler = Arc::new(handler);
        let (req, wr) = (requests.clone(), written.clone());
        let task = tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                let (handler, req, wr, acceptor) =
                    (handler.clone(), req.clone(), wr.clone(), acceptor.clone());
                tokio::spawn(async move {
                    // A client that refuses our certificate aborts the handshake: nothing to serve.
                    if let Ok(tls) = acceptor.accept(sock).await {
                        let _ = serve(tls, handler, req, wr).await;
                    }
                });
            }
        });
        Ok(Self {
            url,
            requests,
            written,
            task,
        })
    }

    /// Replays one captured response file for every call.
    pub async fn replay(bytes: Vec<u8>) -> std::io::Result<Self> {
        Self::start(move |_| Reply::xml(bytes.clone())).await
    }

    /// The request bodies received so far.
    pub fn requests(&self) -> Vec<String> {
        self.requests.lock().map(|r| r.clone()).unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve<S: AsyncRead + AsyncWrite + Unpin>(
    mut sock: S,
    handler: Handler,
    requests: Arc<Mutex<Vec<String>>>,
    written: Arc<AtomicU64>,
) -> std::io::Result<()> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let header_end = loop {
        let n = sock.read(&mut chunk).await?;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..header_end]).to_ascii_lowercase();
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    while buf.len() < header_end + length {
        let n = sock.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let body = String::from_utf8_lossy(&buf[header_end..]).into_owned();
    if let Ok(mut r) = requests.lock() {
        r.push(body.clone());
    }
    let reply = handler(&body);
    let reason = match reply.status {
        200 => "OK",
        401 => "Unauthorized",
        500 => "Internal Server Error",
        _ => "Status",
    };
    let mut head = format!(
        "HTTP/1.1 {} {reason}\r\nContent-type: {}\r\n",
        reply.status, reply.content_type
    );
    match &reply.body {
        Body::Bytes(b) => head.push_str(&format!("Content-length: {}\r\n", b.len())),
        Body::Filler {
            total,
            declare_length: true,
        } => head.push_str(&format!("Content-length: {total}\r\n")),
        Body::Filler { .. } => {}
    }
    head.push_str("Connection: close\r\nServer: Xmlrpc-c_Abyss/1.33.14\r\n\r\n");
    sock.write_all(head.as_bytes()).await?;
    match reply.body {
        Body::Bytes(b) => {
            sock.write_all(&b).await?;
            written.fetch_add(b.len() as u64, Ordering::Relaxed);
        }
        Body::Filler { total, .. } => {
            // A reply that is an endless `<string>`: valid-looking XML, just far too big.
            let start =
                b"<?xml version=\"1.0\"?>\r\n<methodResponse><params><param><value><string>";
            sock.write_all(start).await?;
            let block = vec![b'x'; 64 * 1024];
            let mut sent = start.len() as u64;
            while sent < total {
                let n = block
                    .len()
                    .min(usize::try_from(total - sent).unwrap_or(block.len()));
                sock.write_all(&block[..n]).await?;
                sent += n as u64;
                written.store(sent, Ordering::Relaxed);
            }
        }
    }
    sock.shutdown().await
}

/// Reads a fixture file (byte-exact copy of the shared samples).
pub fn fixture(path: &str) -> Vec<u8> {
    let full = format!("{}/tests/fixtures/{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&full).unwrap_or_else(|e| panic!("fixture {full}: {e}"))
}

/// A captured oned response.
pub fn response(stem: &str) -> Vec<u8> {
    fixture(&format!("real-oned-7.4.0/{stem}.response.xml"))
}

/// A captured request body.
pub fn request(stem: &str) -> String {
    String::from_utf8_lossy(&fixture(&format!("real-oned-7.4.0/{stem}.request.xml"))).into_owned()
}

/// A request body reduced to its shape: method name and (type, value) of each parameter after
/// the session string; `<int>` and `<i4>` count as the same type.
pub fn shape(body: &str) -> (String, Vec<(String, String)>) {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(body);
    reader.config_mut().trim_text(true);
    let mut method = String::new();
    let mut params = Vec::new();
    let mut current: Option<String> = None;
    let mut in_name = false;
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) => {
                let n = e.name().0.to_owned();
                match n.as_str() {
                    "methodName" => in_name = true,
                    "int" | "i4" => current = Some("int".into()),
                    "string" | "boolean" => current = Some(n),
                    _ => {}
                }
            }
            Ok(Event::Empty(e)) if e.name().0 == "string" => {
                params.push(("string".into(), String::new()))
            }
            Ok(Event::Text(t)) => {
                let text = t.into_inner().into_owned();
                if in_name {
                    method = text;
                } else if let Some(kind) = current.take() {
                    params.push((kind, text));
                }
            }
            Ok(Event::GeneralRef(r)) => {
                if let Some((_, v)) = params.last_mut() {
                    v.push_str(quick_xml::escape::resolve_predefined_entity(&r).unwrap_or("?"));
                }
            }
            Ok(Event::End(e)) => {
                if e.name().0 == "methodName" {
                    in_name = false;
                }
                if let Some(kind) = current.take() {
                    // An empty `<string></string>`.
                    params.push((kind, String::new()));
                }
            }
            Ok(Event::Eof) | Err(_) => break,
            Ok(_) => {}
        }
    }
    if !params.is_empty() {
        params.remove(0); // the session string differs by design
    }
    (method, params)
}
