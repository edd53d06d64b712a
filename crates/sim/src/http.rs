//! The simulator's HTTP/1.1, as oned's Abyss server speaks it: one bounded request per
//! connection (head, `Content-length` body, the test hooks' GET paths), and replies with
//! Abyss's exact head (`Content-type`, `Content-length`, `Connection: close`).

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::server::{MAX_BODY, MAX_HEAD};

/// Why a request could not be read.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum HttpError {
    Closed,
    BadRequest(&'static str),
    TooLarge,
    LengthRequired,
    MethodNotAllowed,
    NotFound,
    /// `GET /sim/consoles/<id>/typed`: the simulator's test hook (not an oned path).
    ConsoleText(u32),
    ConsoleKeys(u32),
    ConsoleClipboard(u32),
    /// `GET /sim/vms/<id>/transitions`: the states a VM went through (test hook).
    Transitions(u32),
}

/// Reads one request; returns its body. `embedded` holds the server's port when it runs as the
/// app's demo cloud: then the `Host` header must name this server on loopback, and the test hook
/// does not exist.
pub(crate) async fn read_request(
    sock: &mut TcpStream,
    embedded: Option<u16>,
) -> std::result::Result<Vec<u8>, HttpError> {
    let mut buf = Vec::with_capacity(4096);
    let head_end = loop {
        if let Some(i) = find(&buf, b"\r\n\r\n") {
            break i + 4;
        }
        if buf.len() > MAX_HEAD {
            return Err(HttpError::TooLarge);
        }
        let mut chunk = [0u8; 4096];
        let n = sock.read(&mut chunk).await.map_err(|_| HttpError::Closed)?;
        if n == 0 {
            return Err(HttpError::Closed);
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = std::str::from_utf8(&buf[..head_end])
        .map_err(|_| HttpError::BadRequest("head is not UTF-8"))?;
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or_default();
    let mut parts = request_line.split(' ');
    let method = parts.next().unwrap_or_default();
    let path = parts.next().unwrap_or_default();
    if !parts.next().unwrap_or_default().starts_with("HTTP/1.") {
        return Err(HttpError::BadRequest("not HTTP/1.x"));
    }
    let mut length: Option<usize> = None;
    let mut expect_continue = false;
    let mut host_ok = embedded.is_none();
    for line in lines {
        if let Some((k, v)) = line.split_once(':') {
            let k = k.trim();
            if k.eq_ignore_ascii_case("host") {
                if let Some(port) = embedded {
                    let v = v.trim();
                    host_ok = v == format!("127.0.0.1:{port}") || v == format!("localhost:{port}");
                }
            } else if k.eq_ignore_ascii_case("content-length") {
                length = Some(
                    v.trim()
                        .parse()
                        .map_err(|_| HttpError::BadRequest("bad Content-Length"))?,
                );
            } else if k.eq_ignore_ascii_case("transfer-encoding") {
                return Err(HttpError::LengthRequired);
            } else if k.eq_ignore_ascii_case("expect")
                && v.trim().eq_ignore_ascii_case("100-continue")
            {
                expect_continue = true;
            }
        }
    }
    if !host_ok {
        return Err(HttpError::BadRequest("Host is not this server"));
    }
    if method == "GET"
        && embedded.is_none()
        && let Some(id) = path
            .strip_prefix("/sim/vms/")
            .and_then(|p| p.strip_suffix("/transitions"))
            .and_then(|id| id.parse().ok())
    {
        return Err(HttpError::Transitions(id));
    }
    if method == "GET"
        && embedded.is_none()
        && let Some(id) = path
            .strip_prefix("/sim/consoles/")
            .and_then(|p| p.strip_suffix("/typed"))
            .and_then(|id| id.parse().ok())
    {
        return Err(HttpError::ConsoleText(id));
    }
    if method == "GET"
        && embedded.is_none()
        && let Some(id) = path
            .strip_prefix("/sim/consoles/")
            .and_then(|p| p.strip_suffix("/keys"))
            .and_then(|id| id.parse().ok())
    {
        return Err(HttpError::ConsoleKeys(id));
    }
    if method == "GET"
        && embedded.is_none()
        && let Some(id) = path
            .strip_prefix("/sim/consoles/")
            .and_then(|p| p.strip_suffix("/clipboard"))
            .and_then(|id| id.parse().ok())
    {
        return Err(HttpError::ConsoleClipboard(id));
    }
    if method != "POST" {
        return Err(HttpError::MethodNotAllowed);
    }
    if path != "/RPC2" {
        return Err(HttpError::NotFound);
    }
    let length = length.ok_or(HttpError::LengthRequired)?;
    if length > MAX_BODY {
        return Err(HttpError::TooLarge);
    }
    let mut body = buf.split_off(head_end);
    // curl asks before sending bodies over 1 KiB; answer at once instead of making it wait.
    if expect_continue && body.len() < length {
        sock.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")
            .await
            .map_err(|_| HttpError::Closed)?;
    }
    while body.len() < length {
        let mut chunk = vec![0u8; (length - body.len()).min(64 * 1024)];
        let n = sock.read(&mut chunk).await.map_err(|_| HttpError::Closed)?;
        if n == 0 {
            return Err(HttpError::Closed);
        }
        body.extend_from_slice(&chunk[..n]);
    }
    body.truncate(length);
    Ok(body)
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn http_date() -> String {
    let fmt = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] UTC"
    );
    time::OffsetDateTime::now_utc()
        .format(&fmt)
        .unwrap_or_default()
}

/// The reply head exactly as Abyss writes it (index.json of the captures).
fn head(status: &str, len: usize, content_type: &str) -> String {
    format!(
        "HTTP/1.1 {status}\r\nContent-type: {content_type}\r\nContent-length: {len}\r\nConnection: close\r\nDate: {}\r\nServer: Xmlrpc-c_Abyss/1.33.14\r\n\r\n",
        http_date()
    )
}

pub(crate) async fn send(sock: &mut TcpStream, status: &str, body: &[u8], content_type: &str) {
    let h = head(status, body.len(), content_type);
    let _ = sock.write_all(h.as_bytes()).await;
    let _ = sock.write_all(body).await;
    let _ = sock.shutdown().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn abyss_like_head() {
        let h = head("200 OK", 263, "text/xml; charset=utf-8");
        assert!(h.starts_with("HTTP/1.1 200 OK\r\nContent-type: text/xml; charset=utf-8\r\nContent-length: 263\r\nConnection: close\r\nDate: "));
        assert!(h.ends_with(" UTC\r\nServer: Xmlrpc-c_Abyss/1.33.14\r\n\r\n"));
    }
}
