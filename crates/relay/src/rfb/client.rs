//! The client (viewer) messages the observer knows: their fixed sizes and what they mean.

use super::ClientEvent;

/// The fixed first part of a client message of type `t` (type byte included).
pub(super) fn fixed_len(t: u8) -> Option<usize> {
    Some(match t {
        0 => 20,   // SetPixelFormat
        2 => 4,    // SetEncodings, then 4 per encoding
        3 => 10,   // FramebufferUpdateRequest
        4 => 8,    // KeyEvent
        5 => 6,    // PointerEvent
        6 => 8,    // ClientCutText, then the text
        150 => 10, // EnableContinuousUpdates
        248 => 9,  // ClientFence, then its payload
        250 => 4,  // xvp
        251 => 8,  // SetDesktopSize, then 16 per screen
        255 => 2,  // QEMU: the submessage type decides
        _ => return None,
    })
}

pub(super) enum Message {
    /// Something the person did, then this many bytes to skip.
    Event(ClientEvent, u32),
    /// The viewer's own business, then this many bytes to skip.
    Plain(u32),
    /// The message is longer: read this many bytes in all.
    Sub(usize),
    Unknown,
}

fn be16(m: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([m[at], m[at + 1]])
}

fn be32(m: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([m[at], m[at + 1], m[at + 2], m[at + 3]])
}

pub(super) fn message(t: u8, m: &[u8]) -> Message {
    match (t, m.len()) {
        (2, _) => Message::Plain(u32::from(be16(m, 2)) * 4),
        (4, _) => Message::Event(
            ClientEvent::Key {
                down: m[1] != 0,
                keysym: be32(m, 4),
                keycode: None,
            },
            0,
        ),
        (5, _) => Message::Event(
            ClientEvent::Pointer {
                buttons: m[1],
                x: be16(m, 2),
                y: be16(m, 4),
            },
            0,
        ),
        (6, _) => {
            // A negative length is the extended clipboard's: its absolute value follows.
            let len = (be32(m, 4) as i32).unsigned_abs();
            Message::Event(ClientEvent::CutText { len }, len)
        }
        (248, _) => Message::Plain(u32::from(m[8])),
        (251, _) => Message::Event(
            ClientEvent::Resize {
                width: be16(m, 2),
                height: be16(m, 4),
            },
            u32::from(m[6]) * 16,
        ),
        (255, 2) => match m[1] {
            0 => Message::Sub(12),
            1 => Message::Sub(4),
            _ => Message::Unknown,
        },
        (255, 12) => Message::Event(
            ClientEvent::Key {
                down: be16(m, 2) != 0,
                keysym: be32(m, 4),
                keycode: Some(be32(m, 8)),
            },
            0,
        ),
        // QEMU audio: operation 2 (set format) carries 6 more bytes.
        (255, 4) if be16(m, 2) == 2 => Message::Sub(10),
        (255, 4 | 10) => Message::Plain(0),
        _ => Message::Plain(0),
    }
}
