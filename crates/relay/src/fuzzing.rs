//! Entry points for the fuzz targets (`crates/fuzz`) and their corpus replay tests: what a
//! WebSocket client, a VNC server or a recording file holds, parsed without panicking whatever
//! the bytes. Not API.

use std::{
    net::{Ipv4Addr, SocketAddr},
    pin::Pin,
    task::{Context, Poll},
};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::{RelayConfig, StaticToken, Target, relay::Inner};

/// The token the handshake target's relay accepts.
pub const FUZZ_TOKEN: &str = "fuzz-token-0123456789";

/// A client frame header, then the payload unmasked as the pumps do.
pub fn frame_header(data: &[u8]) {
    if let Ok(Some((header, used))) = crate::frame::parse_client_header(data) {
        let len = usize::try_from(header.len).unwrap_or(usize::MAX);
        let end = data.len().min(used.saturating_add(len));
        let mut payload = data[used.min(end)..end].to_vec();
        crate::frame::unmask(&mut payload, header.mask, 0);
    }
}

/// The client's side of a connection, from memory: reads `input` in pieces of at most 61
/// bytes (so requests straddle reads), swallows what the relay answers.
struct Scripted<'a> {
    input: &'a [u8],
}

impl AsyncRead for Scripted<'_> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let n = self.input.len().min(buf.remaining()).min(61);
        buf.put_slice(&self.input[..n]);
        self.input = &self.input[n..];
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for Scripted<'_> {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        b: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Poll::Ready(Ok(b.len()))
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// An HTTP upgrade request as the relay reads it: tungstenite's parser, then every guard. A
/// request the relay admits must carry the allowed Origin and Host and the token. Returns
/// whether it was admitted.
pub fn upgrade_request(data: &[u8]) -> bool {
    thread_local! {
        static RUNTIME: Option<tokio::runtime::Runtime> =
            tokio::runtime::Builder::new_current_thread().enable_time().build().ok();
    }
    thread_local! {
        // One relay state for every input: the token is reusable, and an admission's permit
        // is returned when it is dropped.
        static INNER: std::sync::Arc<Inner> = {
            let inner = Inner::new(
                RelayConfig::default(),
                SocketAddr::from((Ipv4Addr::LOCALHOST, 4242)),
            );
            inner.tickets.replace_static(vec![StaticToken {
                token: FUZZ_TOKEN.to_owned(),
                target: Target::new("127.0.0.1", 5900),
            }], false);
            inner
        };
    }
    let inner = INNER.with(std::sync::Arc::clone);
    let admitted = RUNTIME.with(|rt| {
        let rt = rt.as_ref().expect("a current-thread runtime");
        rt.block_on(crate::handshake::upgrade(
            &inner,
            &mut Scripted { input: data },
        ))
        .is_ok()
    });
    if admitted {
        let has = |needle: &[u8]| {
            data.windows(needle.len())
                .any(|w| w.eq_ignore_ascii_case(needle))
        };
        assert!(has(FUZZ_TOKEN.as_bytes()), "admitted without the token");
        assert!(
            has(b"tauri://localhost") || has(b"http://tauri.localhost"),
            "admitted without the app's Origin"
        );
        assert!(
            has(b"127.0.0.1:4242") || has(b"localhost:4242") || has(b"[::1]:4242"),
            "admitted without the relay's Host"
        );
    }
    admitted
}

/// Both directions of an RFB session, interleaved: each piece is a length byte (its top bit
/// says which side sends) and that many bytes. Returns where the session ended up and how
/// many inputs were decoded.
pub fn rfb_streams(mut data: &[u8]) -> (crate::rfb::Phase, usize) {
    let mut o = crate::rfb::Observer::new();
    let (mut events, mut client_bytes) = (0usize, 0usize);
    while let [head, rest @ ..] = data {
        let n = usize::from(head & 0x7f).min(rest.len());
        let (piece, rest) = rest.split_at(n);
        if head & 0x80 == 0 {
            o.server_bytes(piece);
        } else {
            client_bytes += piece.len();
            o.client_bytes(piece, |_| events += 1);
            assert!(
                events <= client_bytes / 6,
                "more events than messages could hold"
            );
        }
        data = rest;
    }
    assert!(o.secret_bytes() <= 32, "a challenge and a response at most");
    (o.phase().clone(), events)
}

/// A recording: an odd first byte reads the rest as a recording file (header, chunks, hash
/// chain, trailer); an even one reads the rest as one chunk's decompressed records (the fuzzer
/// cannot forge SHA-256 links or zstd frames, so the record parser gets its own way in).
/// Returns the records read before the end or the first error.
pub fn recording(data: &[u8]) -> usize {
    let Some((&mode, rest)) = data.split_first() else {
        return 0;
    };
    let reader = if mode & 1 == 1 {
        match crate::RecordingReader::from_reader("fuzz", std::io::Cursor::new(rest.to_vec())) {
            Ok(r) => r,
            Err(_) => return 0,
        }
    } else {
        crate::RecordingReader::for_records(rest.to_vec())
    };
    let mut records = 0usize;
    for record in reader {
        if record.is_err() {
            break;
        }
        records += 1;
    }
    assert!(
        records <= rest.len() / 13 + 1,
        "more records than bytes could hold"
    );
    records
}

/// A server's stream after ServerInit through the decoder that rebuilds screens for keyframes:
/// the first byte picks the pixel format (32, 16 or 8 bits), the next two the screen size (up
/// to 64×64), the rest is fed in pieces whose sizes the stream's own bytes decide (every 97th
/// byte). Returns why the decoder stopped, if it did. Checks that a keyframe of any screen it
/// reaches decodes to that same screen.
pub fn rfb_server(data: &[u8]) -> Option<String> {
    use crate::rfb::{PixelFormat, Screen, ServerDecoder};
    let [fmt, w, h, rest @ ..] = data else {
        return None;
    };
    let pf: [u8; 16] = match fmt % 3 {
        0 => [32, 24, 0, 1, 0, 255, 0, 255, 0, 255, 0, 8, 16, 0, 0, 0],
        1 => [16, 16, 1, 1, 0, 31, 0, 63, 0, 31, 11, 5, 0, 0, 0, 0],
        _ => [8, 8, 0, 1, 0, 7, 0, 7, 0, 3, 0, 3, 6, 0, 0, 0],
    };
    let format = PixelFormat::parse(&pf).expect("a valid format");
    // Resizes stay small: a real screen may take 64 MiB, and allocating that per input would
    // leave the fuzzer little time for anything else.
    let screen = Screen::new(u16::from(w % 65), u16::from(h % 65), format, "fuzz")
        .expect("a small screen")
        .with_limit(16 << 10);
    let mut d = ServerDecoder::new(screen);
    for piece in rest.chunks(97) {
        let split = usize::from(piece[0]) % piece.len();
        for part in [&piece[..split], &piece[split..]] {
            let mut part = part;
            while !part.is_empty() {
                let n = d.feed(part, true);
                assert!(n > 0 && n <= part.len(), "feeding makes progress");
                part = &part[n..];
            }
        }
        if let Some(why) = d.broken() {
            return Some(why.to_owned());
        }
    }
    if d.broken().is_none() {
        let mut again = ServerDecoder::new(
            Screen::from_server_init(&d.screen().server_init()).expect("its own ServerInit"),
        );
        again.feed(&d.screen().update(), false);
        assert_eq!(again.broken(), None, "a keyframe decodes");
        assert_eq!(
            again.screen().pixels(),
            d.screen().pixels(),
            "to the same screen"
        );
    }
    None
}
