//! The keystroke timeline of a recording: every key event with the character it typed or the
//! key's name, and the modifiers held.

use serde::Serialize;

use super::Record;
use crate::rfb::keysym;

/// One key event, as `onedeck-cli recording keys --json` prints it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyStroke {
    /// Milliseconds since the session started.
    pub t_ms: u64,
    /// Pressed (true) or released.
    pub down: bool,
    /// The X11 keysym.
    pub keysym: u32,
    /// The character this press typed (`None` for releases, named keys and shortcuts).
    pub text: Option<String>,
    /// The key: its name (`Return`, `Shift_L`) or its character.
    pub key: String,
    /// Modifiers held at the time (`Ctrl`, `Alt`, `Shift`, `Super`, `AltGr`).
    pub modifiers: Vec<&'static str>,
}

/// Builds the timeline from records in order (other records are skipped).
#[derive(Debug, Default)]
pub struct Timeline {
    held: Vec<u32>,
    strokes: Vec<KeyStroke>,
}

impl Timeline {
    /// Takes the next record.
    pub fn push(&mut self, record: &Record) {
        let Record::Key {
            at, down, keysym, ..
        } = *record
        else {
            return;
        };
        let mut modifiers: Vec<&'static str> = self
            .held
            .iter()
            .filter_map(|&k| keysym::modifier(k))
            .collect();
        modifiers.dedup();
        let shortcut = modifiers
            .iter()
            .any(|m| matches!(*m, "Ctrl" | "Alt" | "Super"));
        let text = (down && !shortcut)
            .then(|| keysym::text(keysym))
            .flatten()
            .map(String::from);
        if keysym::modifier(keysym).is_some() {
            if down {
                if !self.held.contains(&keysym) && self.held.len() < 16 {
                    self.held.push(keysym);
                }
            } else {
                self.held.retain(|&k| k != keysym);
            }
        }
        self.strokes.push(KeyStroke {
            t_ms: u64::try_from(at.as_millis()).unwrap_or(u64::MAX),
            down,
            keysym,
            text,
            key: keysym::label(keysym),
            modifiers,
        });
    }

    /// The timeline so far.
    pub fn strokes(&self) -> &[KeyStroke] {
        &self.strokes
    }

    /// The timeline.
    pub fn finish(self) -> Vec<KeyStroke> {
        self.strokes
    }
}

/// What the keys typed, built as keys arrive (the writer keeps one per recording): at most
/// [`MAX_TYPED`] bytes, the newest kept.
#[derive(Debug, Default)]
pub struct TypedText {
    held: Vec<u32>,
    text: String,
}

/// The typed text kept per recording (for the audit log's search).
pub const MAX_TYPED: usize = 256 << 10;

impl TypedText {
    /// Takes one key event.
    pub fn key(&mut self, down: bool, keysym: u32) {
        if keysym::modifier(keysym).is_some() {
            if down {
                if !self.held.contains(&keysym) && self.held.len() < 16 {
                    self.held.push(keysym);
                }
            } else {
                self.held.retain(|&k| k != keysym);
            }
            return;
        }
        if !down {
            return;
        }
        let shortcut = self
            .held
            .iter()
            .any(|&k| matches!(keysym::modifier(k), Some("Ctrl" | "Alt" | "Super")));
        match keysym::text(keysym) {
            Some(c) if !shortcut => {
                if self.text.len() >= MAX_TYPED {
                    let cut = self.text.len() / 2;
                    let cut = (cut..self.text.len())
                        .find(|&i| self.text.is_char_boundary(i))
                        .unwrap_or(self.text.len());
                    self.text.drain(..cut);
                }
                self.text.push(c);
            }
            None if keysym == 0xff08 => {
                self.text.pop();
            }
            _ => {}
        }
    }

    /// The text.
    pub fn finish(self) -> String {
        self.text
    }
}

/// What the keys typed, as one string: characters in order, a BackSpace removing the last one.
/// What an audit search for "typed text contains…" looks in.
pub fn typed_text(strokes: &[KeyStroke]) -> String {
    let mut out = String::new();
    for s in strokes.iter().filter(|s| s.down) {
        match (&s.text, s.keysym) {
            (Some(t), _) => out.push_str(t),
            (None, 0xff08) => {
                out.pop();
            }
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn key(ms: u64, down: bool, keysym: u32) -> Record {
        Record::Key {
            at: Duration::from_millis(ms),
            down,
            keysym,
            keycode: None,
        }
    }

    #[test]
    fn text_names_modifiers_and_shortcuts() {
        let mut t = Timeline::default();
        for r in [
            key(1, true, 0xffe1),
            key(2, true, 0x48), // Shift+H
            key(3, false, 0x48),
            key(4, false, 0xffe1),
            key(5, true, 0x69),
            key(6, true, 0xff08), // BackSpace
            key(7, true, 0x6f),
            key(8, true, 0xffe3),
            key(9, true, 0x63), // Ctrl+C types nothing
            key(10, false, 0xffe3),
            key(11, true, 0xff0d),
        ] {
            t.push(&r);
        }
        let s = t.finish();
        assert_eq!(s[1].modifiers, ["Shift"]);
        assert_eq!(s[1].text.as_deref(), Some("H"));
        assert_eq!(s[2].text, None, "a release types nothing");
        assert_eq!(s[5].key, "BackSpace");
        assert_eq!(s[8].modifiers, ["Ctrl"]);
        assert_eq!(s[8].text, None);
        assert_eq!(s[10].key, "Return");
        assert_eq!(typed_text(&s), "Ho\n");
        let json = serde_json::to_value(&s[1]).unwrap_or_default();
        for field in ["t_ms", "down", "keysym", "text", "key"] {
            assert!(json.get(field).is_some(), "{field} in {json}");
        }
    }
}
