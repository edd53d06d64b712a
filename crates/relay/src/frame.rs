//! The RFC 6455 frame layer of the data phase, written by hand so that the hot path has no
//! per-message allocation: the server reads the target into a reused buffer behind a reserved
//! header gap and sends header + payload in one write; client frames are unmasked in place.

/// Continuation frame.
pub const OP_CONTINUATION: u8 = 0x0;
/// Text frame (refused: consoles speak binary).
pub const OP_TEXT: u8 = 0x1;
/// Binary frame.
pub const OP_BINARY: u8 = 0x2;
/// Close frame.
pub const OP_CLOSE: u8 = 0x8;
/// Ping frame.
pub const OP_PING: u8 = 0x9;
/// Pong frame.
pub const OP_PONG: u8 = 0xA;

/// Room reserved in front of a payload for the longest server frame header (2 + 8 bytes).
pub const MAX_SERVER_HEADER: usize = 10;

/// The longest client frame header (2 + 8 + 4 mask bytes).
#[cfg(test)]
pub const MAX_CLIENT_HEADER: usize = 14;

/// The longest control frame payload (RFC 6455 §5.5).
pub const MAX_CONTROL_PAYLOAD: usize = 125;

/// A parsed client frame header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientHeader {
    /// Final fragment of a message.
    pub fin: bool,
    /// The opcode.
    pub opcode: u8,
    /// The masking key.
    pub mask: [u8; 4],
    /// Payload length.
    pub len: u64,
}

/// Ways a client frame breaks RFC 6455.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameError {
    /// A reserved bit is set (no extension was negotiated).
    ReservedBits,
    /// A client frame without a mask.
    Unmasked,
    /// An opcode RFC 6455 does not define.
    BadOpcode,
    /// A control frame that is fragmented or longer than 125 bytes.
    BadControl,
    /// A 64-bit length with the top bit set, or a non-minimal length encoding is tolerated but
    /// this is not.
    BadLength,
}

impl FrameError {
    /// A short human reason for the Close frame.
    pub fn reason(self) -> &'static str {
        match self {
            Self::ReservedBits => "reserved bits set",
            Self::Unmasked => "client frame not masked",
            Self::BadOpcode => "unknown opcode",
            Self::BadControl => "malformed control frame",
            Self::BadLength => "bad payload length",
        }
    }
}

/// Parses a client frame header from the start of `buf`. `Ok(None)` means more bytes are needed.
pub fn parse_client_header(buf: &[u8]) -> Result<Option<(ClientHeader, usize)>, FrameError> {
    let [b0, b1, ..] = *buf else { return Ok(None) };
    if b0 & 0x70 != 0 {
        return Err(FrameError::ReservedBits);
    }
    let fin = b0 & 0x80 != 0;
    let opcode = b0 & 0x0F;
    if !matches!(
        opcode,
        OP_CONTINUATION | OP_TEXT | OP_BINARY | OP_CLOSE | OP_PING | OP_PONG
    ) {
        return Err(FrameError::BadOpcode);
    }
    if b1 & 0x80 == 0 {
        return Err(FrameError::Unmasked);
    }
    let (len, mut at) = match b1 & 0x7F {
        126 => {
            let Some(b) = buf.get(2..4) else {
                return Ok(None);
            };
            (u64::from(u16::from_be_bytes([b[0], b[1]])), 4)
        }
        127 => {
            let Some(b) = buf.get(2..10) else {
                return Ok(None);
            };
            let mut a = [0u8; 8];
            a.copy_from_slice(b);
            let len = u64::from_be_bytes(a);
            if len >> 63 != 0 {
                return Err(FrameError::BadLength);
            }
            (len, 10)
        }
        n => (u64::from(n), 2),
    };
    if opcode >= OP_CLOSE && (!fin || len > MAX_CONTROL_PAYLOAD as u64) {
        return Err(FrameError::BadControl);
    }
    let Some(m) = buf.get(at..at + 4) else {
        return Ok(None);
    };
    let mask = [m[0], m[1], m[2], m[3]];
    at += 4;
    Ok(Some((
        ClientHeader {
            fin,
            opcode,
            mask,
            len,
        },
        at,
    )))
}

/// Writes an unmasked server frame header for a final frame of `len` bytes so that it ends exactly
/// at `buf[end]`; returns where it starts. `end` must be at least [`MAX_SERVER_HEADER`].
pub fn put_server_header(buf: &mut [u8], end: usize, opcode: u8, len: usize) -> usize {
    let b0 = 0x80 | opcode;
    if len < 126 {
        let start = end - 2;
        buf[start] = b0;
        buf[start + 1] = len as u8;
        start
    } else if let Ok(l) = u16::try_from(len) {
        let start = end - 4;
        buf[start] = b0;
        buf[start + 1] = 126;
        buf[start + 2..end].copy_from_slice(&l.to_be_bytes());
        start
    } else {
        let start = end - 10;
        buf[start] = b0;
        buf[start + 1] = 127;
        buf[start + 2..end].copy_from_slice(&(len as u64).to_be_bytes());
        start
    }
}

/// Builds a small control frame (ping, pong, close) into `out`; returns its length.
pub fn control_frame(out: &mut [u8; 2 + MAX_CONTROL_PAYLOAD], opcode: u8, payload: &[u8]) -> usize {
    let n = payload.len().min(MAX_CONTROL_PAYLOAD);
    out[0] = 0x80 | opcode;
    out[1] = n as u8;
    out[2..2 + n].copy_from_slice(&payload[..n]);
    2 + n
}

/// Builds a Close frame with a status code and a reason (cut to fit, on a char boundary).
pub fn close_frame(out: &mut [u8; 2 + MAX_CONTROL_PAYLOAD], code: u16, reason: &str) -> usize {
    let mut payload = [0u8; MAX_CONTROL_PAYLOAD];
    payload[..2].copy_from_slice(&code.to_be_bytes());
    let mut r = reason.len().min(MAX_CONTROL_PAYLOAD - 2);
    while !reason.is_char_boundary(r) {
        r -= 1;
    }
    payload[2..2 + r].copy_from_slice(&reason.as_bytes()[..r]);
    control_frame(out, OP_CLOSE, &payload[..2 + r])
}

/// Unmasks `data` in place; `offset` is the position of `data[0]` within the frame's payload.
pub fn unmask(data: &mut [u8], mask: [u8; 4], offset: u64) {
    let rot = (offset % 4) as usize;
    // The key repeated over 64 bytes: XOR of two fixed-size arrays is what LLVM turns into
    // vector instructions, so unmasking runs at memory speed without `unsafe`.
    let mut key = [0u8; 64];
    for (i, k) in key.iter_mut().enumerate() {
        *k = mask[(rot + i) % 4];
    }
    let mut chunks = data.chunks_exact_mut(64);
    for chunk in &mut chunks {
        for (b, k) in chunk.iter_mut().zip(key.iter()) {
            *b ^= *k;
        }
    }
    for (b, k) in chunks.into_remainder().iter_mut().zip(key.iter()) {
        *b ^= *k;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mask_frame(opcode: u8, fin: bool, payload: &[u8], mask: [u8; 4]) -> Vec<u8> {
        let mut v = vec![(if fin { 0x80 } else { 0 }) | opcode];
        let n = payload.len();
        if n < 126 {
            v.push(0x80 | n as u8);
        } else if n <= 0xFFFF {
            v.push(0x80 | 126);
            v.extend_from_slice(&(n as u16).to_be_bytes());
        } else {
            v.push(0x80 | 127);
            v.extend_from_slice(&(n as u64).to_be_bytes());
        }
        v.extend_from_slice(&mask);
        v.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        v
    }

    #[test]
    fn parses_each_length_form() -> Result<(), FrameError> {
        for n in [0usize, 5, 125, 126, 65535, 65536, 200_000] {
            let payload: Vec<u8> = (0..n).map(|i| (i % 251) as u8).collect();
            let f = mask_frame(OP_BINARY, true, &payload, [1, 2, 3, 4]);
            let (h, at) = parse_client_header(&f)?.ok_or(FrameError::BadLength)?;
            assert_eq!(h.len, n as u64);
            assert!(at <= MAX_CLIENT_HEADER);
            assert_eq!((h.opcode, h.fin, h.mask), (OP_BINARY, true, [1, 2, 3, 4]));
            let mut body = f[at..].to_vec();
            unmask(&mut body, h.mask, 0);
            assert_eq!(body, payload, "round trip of {n} bytes");
            // Every strict prefix of the header asks for more bytes.
            for cut in 0..at {
                assert_eq!(parse_client_header(&f[..cut])?, None);
            }
        }
        Ok(())
    }

    #[test]
    fn unmask_in_pieces_matches_unmask_at_once() {
        let mask = [0xde, 0xad, 0xbe, 0xef];
        let orig: Vec<u8> = (0..1000u32).map(|i| (i * 7) as u8).collect();
        let mut whole = orig.clone();
        unmask(&mut whole, mask, 0);
        let mut pieces = orig.clone();
        let mut off = 0;
        for len in [3usize, 1, 17, 64, 5, 910] {
            unmask(&mut pieces[off..off + len], mask, off as u64);
            off += len;
        }
        assert_eq!(whole, pieces);
        let expect: Vec<u8> = orig
            .iter()
            .enumerate()
            .map(|(i, b)| b ^ mask[i % 4])
            .collect();
        assert_eq!(whole, expect);
    }

    #[test]
    fn refuses_protocol_violations() {
        assert_eq!(
            parse_client_header(&[0x82, 0x05]),
            Err(FrameError::Unmasked)
        );
        assert_eq!(
            parse_client_header(&[0xC2, 0x85]),
            Err(FrameError::ReservedBits)
        );
        assert_eq!(
            parse_client_header(&[0x83, 0x85]),
            Err(FrameError::BadOpcode)
        );
        assert_eq!(
            parse_client_header(&[0x09, 0x80]),
            Err(FrameError::BadControl)
        );
        assert_eq!(
            parse_client_header(&[0x89, 0xFE, 0, 126]),
            Err(FrameError::BadControl)
        );
        let mut big = vec![0x82, 0xFF];
        big.extend_from_slice(&u64::MAX.to_be_bytes());
        assert_eq!(parse_client_header(&big), Err(FrameError::BadLength));
    }

    #[test]
    fn server_headers_end_where_asked() {
        let mut buf = [0u8; 32];
        for (len, hlen) in [
            (0usize, 2usize),
            (125, 2),
            (126, 4),
            (65535, 4),
            (65536, 10),
        ] {
            let start = put_server_header(&mut buf, 10, OP_BINARY, len);
            assert_eq!(10 - start, hlen, "header size for {len}");
            assert_eq!(buf[start], 0x82);
        }
    }

    #[test]
    fn close_reason_is_cut_on_a_char_boundary() {
        let mut out = [0u8; 2 + MAX_CONTROL_PAYLOAD];
        let reason = "é".repeat(100);
        let n = close_frame(&mut out, 1000, &reason);
        assert!(n <= 2 + MAX_CONTROL_PAYLOAD);
        assert!(std::str::from_utf8(&out[4..n]).is_ok());
        assert_eq!(&out[2..4], &1000u16.to_be_bytes());
    }
}
