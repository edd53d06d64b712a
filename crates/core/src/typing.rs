//! Console input the app plans for a console window: the send-key menu, and typing a text as
//! key events for the guest's keyboard layout (`onedeck_relay::rfb::typing`). Pure functions:
//! a window asks, then sends the events itself, paced, through noVNC.

use onedeck_relay::rfb::typing::{self, Layout};

pub use typing::{KeyStep, MAX_PASTE_CHARS, SendKey, TypingPlan, Untypable};

use crate::error::{Error, Result};

/// The layouts a paste can be planned for, as `(code, name)`: `us` first (the default).
pub fn keyboard_layouts() -> Vec<(&'static str, &'static str)> {
    Layout::ALL
        .iter()
        .map(|l| {
            let name = match l {
                Layout::Us => "English (US)",
                Layout::Gb => "English (UK)",
                Layout::De => "German",
                Layout::Fr => "French (AZERTY)",
            };
            (l.code(), name)
        })
        .collect()
}

/// The key events that type `text` on the layout `layout` (a code of [`keyboard_layouts`]), and
/// the characters it cannot type.
///
/// # Errors
/// `invalidInput` for an unknown layout or a text longer than [`MAX_PASTE_CHARS`].
pub fn typing_plan(text: &str, layout: &str) -> Result<TypingPlan> {
    let layout = Layout::from_code(layout).ok_or_else(|| Error::InvalidInput {
        field: "layout",
        reason: format!("no keyboard layout {layout:?} (us, gb, de, fr)"),
    })?;
    typing::plan(text, layout).map_err(|count| Error::InvalidInput {
        field: "text",
        reason: format!("{count} characters; at most {MAX_PASTE_CHARS} are typed at once"),
    })
}

/// The send-key menu.
pub fn send_keys() -> Vec<SendKey> {
    typing::send_keys()
}
