//! The upgrade: every guard runs in `accept_hdr_async`'s callback, before the 101 answer and
//! before anything is dialled.

use std::{
    io,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
};

use serde::Serialize;
use tokio::{
    io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf},
    sync::OwnedSemaphorePermit,
};
use tokio_tungstenite::tungstenite::{
    self,
    handshake::server::{Callback, ErrorResponse, Request, Response},
    http::{self, HeaderValue, StatusCode, header},
};

use crate::{
    origin::{OriginRefusal, host_allowed},
    relay::Inner,
    ticket::{Grant, PathRefusal, TicketRefusal, token_from_path},
};

/// The most bytes a client may send before its upgrade request is complete. A browser's request
/// to 127.0.0.1 is well under 2 KiB (no cookies); this cap stops header floods.
pub const MAX_REQUEST_BYTES: usize = 16 * 1024;

/// Why a connection was refused before the upgrade. None of them dials a target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "detail")]
pub enum Rejection {
    /// `Host` is not the relay's own loopback address and port (DNS rebinding). 400.
    BadHost,
    /// `Origin` is not in the allowlist. 403.
    OriginNotAllowed,
    /// No `Origin` header where the policy requires one. 403.
    MissingOrigin,
    /// The path is neither `/` nor `/websockify`. 404.
    NotFound,
    /// No usable `token` query parameter. 403.
    NoToken,
    /// The token opened nothing. 403.
    Ticket(TicketRefusal),
    /// The session limit is reached. 429.
    TooManySessions,
    /// The client offered subprotocols but not `binary`. 400.
    UnsupportedSubprotocol,
    /// A plain HTTP request, or an upgrade request RFC 6455 does not accept. 400.
    NotWebSocket,
    /// The request grew past [`MAX_REQUEST_BYTES`]. 400, then the connection is dropped.
    RequestTooLarge,
    /// The request was not complete within the handshake timeout (slowloris). Dropped.
    HandshakeTimeout,
    /// The client went away or sent bytes that are not HTTP. Dropped.
    Incomplete,
}

impl Rejection {
    /// The HTTP status the client gets, if it gets an answer at all.
    pub fn status(self) -> Option<u16> {
        Some(match self {
            Self::BadHost
            | Self::UnsupportedSubprotocol
            | Self::NotWebSocket
            | Self::RequestTooLarge => 400,
            Self::OriginNotAllowed | Self::MissingOrigin | Self::NoToken | Self::Ticket(_) => 403,
            Self::NotFound => 404,
            Self::TooManySessions => 429,
            Self::HandshakeTimeout | Self::Incomplete => return None,
        })
    }
}

/// What a successful upgrade brings to the session.
#[derive(Debug)]
pub(crate) struct Admission {
    pub grant: Grant,
    pub permit: OwnedSemaphorePermit,
}

/// Wraps the client socket during the handshake: counts what is read and fails the read once
/// the request passes [`MAX_REQUEST_BYTES`].
struct Capped<'a, S> {
    inner: &'a mut S,
    read: usize,
    exceeded: bool,
}

impl<S: AsyncRead + Unpin> AsyncRead for Capped<'_, S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.read >= MAX_REQUEST_BYTES {
            self.exceeded = true;
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "request too large",
            )));
        }
        let before = buf.filled().len();
        let res = Pin::new(&mut *self.inner).poll_read(cx, buf);
        let got = buf.filled().len() - before;
        self.read += got;
        res
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Capped<'_, S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut *self.inner).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.inner).poll_shutdown(cx)
    }
}

struct Gate<'a> {
    inner: &'a Arc<Inner>,
    outcome: &'a mut Option<Result<Admission, Rejection>>,
}

impl Callback for Gate<'_> {
    fn on_request(
        self,
        request: &Request,
        mut response: Response,
    ) -> Result<Response, ErrorResponse> {
        match admit(self.inner, request) {
            Ok((admission, binary)) => {
                if binary {
                    response.headers_mut().insert(
                        header::SEC_WEBSOCKET_PROTOCOL,
                        HeaderValue::from_static("binary"),
                    );
                }
                *self.outcome = Some(Ok(admission));
                Ok(response)
            }
            Err(rejection) => {
                *self.outcome = Some(Err(rejection));
                Err(error_response(rejection))
            }
        }
    }
}

/// The guards, in order: Host, Origin, path and token syntax, subprotocol, session limit, and
/// last the ticket itself (so that a 429 does not burn a single-use ticket).
fn admit(inner: &Arc<Inner>, request: &Request) -> Result<(Admission, bool), Rejection> {
    let headers = request.headers();
    let mut hosts = headers.get_all(header::HOST).iter();
    match (hosts.next(), hosts.next()) {
        (Some(h), None) if host_allowed(h.as_bytes(), inner.local_addr.port()) => {}
        _ => return Err(Rejection::BadHost),
    }
    inner
        .config
        .origins
        .check(
            headers
                .get_all(header::ORIGIN)
                .iter()
                .map(HeaderValue::as_bytes),
        )
        .map_err(|r| match r {
            OriginRefusal::Missing => Rejection::MissingOrigin,
            OriginRefusal::NotAllowed => Rejection::OriginNotAllowed,
        })?;
    let path = request
        .uri()
        .path_and_query()
        .map_or("/", http::uri::PathAndQuery::as_str);
    let token = token_from_path(path).map_err(|r| match r {
        PathRefusal::NotFound => Rejection::NotFound,
        PathRefusal::BadToken => Rejection::NoToken,
    })?;
    let binary = offers_binary(headers)?;
    let permit = Arc::clone(&inner.permits)
        .try_acquire_owned()
        .map_err(|_| Rejection::TooManySessions)?;
    let grant = inner
        .tickets
        .redeem(&token, tokio::time::Instant::now())
        .map_err(Rejection::Ticket)?;
    Ok((Admission { grant, permit }, binary))
}

/// `Ok(true)` when the client offers `binary`, `Ok(false)` when it offers no subprotocol.
fn offers_binary(headers: &http::HeaderMap) -> Result<bool, Rejection> {
    let mut offered = false;
    for value in headers.get_all(header::SEC_WEBSOCKET_PROTOCOL) {
        let value = value
            .to_str()
            .map_err(|_| Rejection::UnsupportedSubprotocol)?;
        for proto in value.split(',').map(str::trim) {
            if proto == "binary" {
                return Ok(true);
            }
            offered = true;
        }
    }
    if offered {
        Err(Rejection::UnsupportedSubprotocol)
    } else {
        Ok(false)
    }
}

fn error_response(rejection: Rejection) -> ErrorResponse {
    let status = rejection
        .status()
        .and_then(|s| StatusCode::from_u16(s).ok())
        .unwrap_or(StatusCode::BAD_REQUEST);
    let mut resp = http::Response::new(Some(format!(
        "{}\n",
        status.canonical_reason().unwrap_or("refused")
    )));
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    resp
}

/// Runs the upgrade on `stream` (bounded in size here, in time by the caller). On success the
/// 101 answer has been sent and the stream is ready for frames: tungstenite 0.30 refuses bytes
/// after the request ("junk after request"), so nothing was read past it.
pub(crate) async fn upgrade<S: AsyncRead + AsyncWrite + Unpin>(
    inner: &Arc<Inner>,
    stream: &mut S,
) -> Result<Admission, Rejection> {
    let mut outcome = None;
    let mut capped = Capped {
        inner: stream,
        read: 0,
        exceeded: false,
    };
    // The WebSocketStream is dropped at once: the data phase speaks frames itself (crate::frame).
    let result = tokio_tungstenite::accept_hdr_async(
        &mut capped,
        Gate {
            inner,
            outcome: &mut outcome,
        },
    )
    .await
    .map(drop);
    let exceeded = capped.exceeded;
    match (result, outcome) {
        (Ok(()), Some(Ok(admission))) => Ok(admission),
        // The callback refused and tungstenite wrote our answer.
        (_, Some(Err(rejection))) => Err(rejection),
        (Err(e), outcome) => {
            drop(outcome);
            let rejection = if exceeded {
                Rejection::RequestTooLarge
            } else {
                match e {
                    tungstenite::Error::Protocol(_)
                    | tungstenite::Error::Http(_)
                    | tungstenite::Error::HttpFormat(_) => Rejection::NotWebSocket,
                    _ => Rejection::Incomplete,
                }
            };
            if rejection.status().is_some() {
                // Best effort: a client still flooding us may not read it.
                let body = b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: 12\r\n\r\nBad Request\n";
                let _ = stream.write_all(body).await;
                let _ = stream.shutdown().await;
            }
            Err(rejection)
        }
        // The callback always runs before a successful handshake completes.
        (Ok(()), None) => Err(Rejection::Incomplete),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_match_the_design() {
        assert_eq!(Rejection::BadHost.status(), Some(400));
        assert_eq!(Rejection::OriginNotAllowed.status(), Some(403));
        assert_eq!(
            Rejection::Ticket(TicketRefusal::AlreadyUsed).status(),
            Some(403)
        );
        assert_eq!(Rejection::TooManySessions.status(), Some(429));
        assert_eq!(Rejection::NotWebSocket.status(), Some(400));
        assert_eq!(Rejection::HandshakeTimeout.status(), None);
    }

    #[test]
    fn subprotocol_binary_or_none() {
        let mut h = http::HeaderMap::new();
        assert_eq!(offers_binary(&h), Ok(false));
        h.insert(
            header::SEC_WEBSOCKET_PROTOCOL,
            HeaderValue::from_static("base64, binary"),
        );
        assert_eq!(offers_binary(&h), Ok(true));
        h.insert(
            header::SEC_WEBSOCKET_PROTOCOL,
            HeaderValue::from_static("base64"),
        );
        assert_eq!(offers_binary(&h), Err(Rejection::UnsupportedSubprotocol));
    }
}
