//! The `.odrec` layout (docs/RECORDING.md): header, hash-chained zstd chunks of records, trailer.
//! Shared by the writer and the reader so the two cannot disagree.

use sha2::{Digest, Sha256};

use crate::rfb::screen::{MAX_CURSOR_BYTES, MAX_SCREEN_BYTES};

/// The first 6 bytes of a recording.
pub const MAGIC: [u8; 6] = *b"ODREC\0";
/// The format version this crate writes (it reads this one and [`OLDEST_READ`]).
pub const FORMAT_VERSION: u16 = 3;
/// The oldest format version this crate still reads (version 2: no keyframes).
pub const OLDEST_READ: u16 = 2;
/// File name extension of recordings.
pub const EXTENSION: &str = "odrec";
/// The header's metadata is at most this long.
pub const MAX_META: u32 = 64 << 10;
/// A keyframe record is at most this long: a screen of [`MAX_SCREEN_BYTES`], its cursor shape,
/// ServerInit and headers.
pub const MAX_KEYFRAME: u32 = (MAX_SCREEN_BYTES + MAX_CURSOR_BYTES) as u32 + (128 << 10);
/// A chunk holds at most this many bytes of records before compression (the writer closes one
/// at 1 MiB, or after its keyframe; the reader refuses more, so a corrupt length cannot make it
/// allocate more).
pub const MAX_CHUNK_RAW: u32 = MAX_KEYFRAME + (2 << 20);
/// A record other than a keyframe is at most this long (the relay's buffer is 64 KiB; cut text
/// is capped below).
pub const MAX_RECORD: u32 = 1 << 20;
/// Clipboard text sent to a VM is kept up to this many bytes (the full length is noted).
pub const MAX_CUT_TEXT: usize = 64 << 10;
/// The end reason is at most this long.
pub const MAX_REASON: usize = 1024;

/// Tag of a chunk.
pub const TAG_CHUNK: u8 = b'C';
/// Tag of the trailer.
pub const TAG_END: u8 = b'E';
/// Chunk header: tag, seq u32, first_us u64, last_us u64, raw_len u32, comp_len u32, flags u8.
pub const CHUNK_HEAD: usize = 1 + 4 + 8 + 8 + 4 + 4 + 1;
/// Trailer flag: the recording stopped at its size cap before the session ended.
pub const FLAG_CAPPED: u8 = 1;
/// Chunk flag: the chunk's first record is a keyframe (replay may start there).
pub const FLAG_KEYFRAME: u8 = 1;

/// Record kinds inside a chunk.
pub mod kind {
    /// Server-to-viewer bytes after ServerInit, exactly as relayed.
    pub const SERVER: u8 = 0x01;
    /// The server's ServerInit message (RFB bytes, big-endian), rebuilt from what was seen.
    pub const SERVER_INIT: u8 = 0x10;
    /// A key press or release: down u8, keysym u32, keycode u32 (0: none).
    pub const KEY: u8 = 0x11;
    /// A pointer button change: buttons u8, x u16, y u16.
    pub const POINTER: u8 = 0x12;
    /// Clipboard text the viewer sent: full length u32, then the text kept.
    pub const CUT_TEXT: u8 = 0x13;
    /// A resize the viewer asked for: width u16, height u16.
    pub const RESIZE: u8 = 0x14;
    /// The viewer's SetPixelFormat (the 16 RFB bytes): the server's updates after it use it.
    pub const PIXEL_FORMAT: u8 = 0x15;
    /// The whole screen at a server message boundary: a ServerInit message (size, the pixel
    /// format in use, name) then one FramebufferUpdate (a Raw rectangle of the screen and the
    /// cursor shape), RFB bytes both. Always the first record of its chunk.
    pub const KEYFRAME: u8 = 0x16;
    /// A note from the relay (UTF-8), e.g. why content is missing.
    pub const NOTE: u8 = 0x30;
}

/// A record's header: kind u8, at_us u64, len u32 (all little-endian).
pub const RECORD_HEAD: usize = 13;

/// Appends one record to `out`.
pub fn put_record(out: &mut Vec<u8>, kind: u8, at_us: u64, payload: &[u8]) {
    out.push(kind);
    out.extend_from_slice(&at_us.to_le_bytes());
    // Payloads are at most a relay buffer or MAX_CUT_TEXT: far below u32::MAX.
    out.extend_from_slice(
        &u32::try_from(payload.len())
            .unwrap_or(u32::MAX)
            .to_le_bytes(),
    );
    out.extend_from_slice(payload);
}

/// A chunk's header fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkHead {
    /// 0, 1, 2… in file order.
    pub seq: u32,
    /// Time of its first record, microseconds since the session started.
    pub first_us: u64,
    /// Time of its last record.
    pub last_us: u64,
    /// Bytes of records once decompressed.
    pub raw_len: u32,
    /// Bytes of the zstd frame that follows.
    pub comp_len: u32,
    /// [`FLAG_KEYFRAME`] or 0.
    pub flags: u8,
}

impl ChunkHead {
    /// The header's bytes as written (and hashed).
    pub fn encode(&self) -> [u8; CHUNK_HEAD] {
        let mut b = [0u8; CHUNK_HEAD];
        b[0] = TAG_CHUNK;
        b[1..5].copy_from_slice(&self.seq.to_le_bytes());
        b[5..13].copy_from_slice(&self.first_us.to_le_bytes());
        b[13..21].copy_from_slice(&self.last_us.to_le_bytes());
        b[21..25].copy_from_slice(&self.raw_len.to_le_bytes());
        b[25..29].copy_from_slice(&self.comp_len.to_le_bytes());
        b[29] = self.flags;
        b
    }

    /// Reads the fields after the tag byte.
    pub fn decode(b: &[u8; CHUNK_HEAD]) -> Self {
        let u32_at = |i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        let u64_at = |i: usize| {
            let mut x = [0u8; 8];
            x.copy_from_slice(&b[i..i + 8]);
            u64::from_le_bytes(x)
        };
        Self {
            seq: u32_at(1),
            first_us: u64_at(5),
            last_us: u64_at(13),
            raw_len: u32_at(21),
            comp_len: u32_at(25),
            flags: b[29],
        }
    }
}

/// The chain's start: the hash of the header bytes.
pub fn genesis(header: &[u8]) -> [u8; 32] {
    Sha256::digest(header).into()
}

/// The next link: hash of the previous link, the chunk header and the compressed bytes.
pub fn link(prev: &[u8; 32], head: &[u8; CHUNK_HEAD], comp: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(prev);
    h.update(head);
    h.update(comp);
    h.finalize().into()
}

/// The trailer's fixed part after the tag: chunks u32, end_us u64, flags u8, reason_len u16.
pub const TRAILER_HEAD: usize = 1 + 4 + 8 + 1 + 2;

/// The trailer's bytes up to (not including) the head hash.
pub fn trailer_body(chunks: u32, end_us: u64, flags: u8, reason: &str) -> Vec<u8> {
    let reason = cut_utf8(reason, MAX_REASON);
    let mut b = Vec::with_capacity(TRAILER_HEAD + reason.len());
    b.push(TAG_END);
    b.extend_from_slice(&chunks.to_le_bytes());
    b.extend_from_slice(&end_us.to_le_bytes());
    b.push(flags);
    b.extend_from_slice(&u16::try_from(reason.len()).unwrap_or(0).to_le_bytes());
    b.extend_from_slice(reason.as_bytes());
    b
}

/// The chain's head: hash of the last link and the trailer body. The audit log keeps it.
pub fn head(last: &[u8; 32], trailer_body: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(last);
    h.update(trailer_body);
    h.finalize().into()
}

/// `s` cut to at most `max` bytes at a character boundary.
pub fn cut_utf8(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Lower-case hex of a hash.
pub fn hex(hash: &[u8; 32]) -> String {
    hash.iter().map(|b| format!("{b:02x}")).collect()
}
