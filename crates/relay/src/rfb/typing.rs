//! Typing text into a console as key events ("paste as keystrokes"), for the guest's keyboard
//! layout, and the send-key menu's combinations.
//!
//! A VNC server turns each keysym into a key of the guest's keyboard with its own keymap and
//! does not press modifiers on its own: to type `A` or `@` a viewer must hold Shift (or AltGr)
//! as a person would on that layout. The layout says which characters it can type and with
//! which modifiers; a character it cannot type is reported before anything is sent.

use serde::{Deserialize, Serialize};

use super::layouts::{self, Level, Table};

/// Left Shift.
pub const SHIFT: u32 = 0xffe1;
/// AltGr (ISO Level 3 Shift).
pub const ALT_GR: u32 = 0xfe03;
const CONTROL: u32 = 0xffe3;
const ALT: u32 = 0xffe9;
const SUPER: u32 = 0xffeb;
const RETURN: u32 = 0xff0d;
const TAB: u32 = 0xff09;
/// A paste is at most this many characters (a plan is four to six events per character).
pub const MAX_PASTE_CHARS: usize = 100_000;

/// A guest keyboard layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Layout {
    /// US English (the default).
    #[default]
    Us,
    /// United Kingdom.
    Gb,
    /// German (QWERTZ).
    De,
    /// French (AZERTY).
    Fr,
}

impl Layout {
    /// Every layout, in the order a menu shows them.
    pub const ALL: [Layout; 4] = [Layout::Us, Layout::Gb, Layout::De, Layout::Fr];

    /// The layout's short name (`us`, `gb`, `de`, `fr`), as settings and the CLI write it.
    pub fn code(self) -> &'static str {
        match self {
            Layout::Us => "us",
            Layout::Gb => "gb",
            Layout::De => "de",
            Layout::Fr => "fr",
        }
    }

    /// The layout named `code`.
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|l| l.code() == code)
    }

    fn table(self) -> &'static Table {
        match self {
            Layout::Us => &layouts::US,
            Layout::Gb => &layouts::GB,
            Layout::De => &layouts::DE,
            Layout::Fr => &layouts::FR,
        }
    }
}

/// One key event to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyStep {
    /// The X11 keysym.
    pub keysym: u32,
    /// The physical key (`KeyboardEvent.code`, e.g. `KeyY`): a server that takes QEMU's
    /// extended key events gets its scancode, so the guest's own layout types the character.
    pub code: &'static str,
    /// Pressed (true) or released.
    pub down: bool,
}

/// A key: its keysym and physical position.
type Key = (u32, &'static str);

const SHIFT_KEY: Key = (SHIFT, "ShiftLeft");
const ALT_GR_KEY: Key = (ALT_GR, "AltRight");
const CONTROL_KEY: Key = (CONTROL, "ControlLeft");
const ALT_KEY: Key = (ALT, "AltLeft");
const SPACE_KEY: Key = (0x20, "Space");

/// A character of the text that the layout cannot type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Untypable {
    /// Its position in the text, in characters from 0.
    pub index: usize,
    /// The character.
    pub text: String,
}

/// The key events that type a text, grouped by character (so a sender can pace, show progress
/// and stop between characters), or what stops it from being typed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TypingPlan {
    /// The layout planned for.
    pub layout: Layout,
    /// Each typed character's events, in order (a CR LF pair is one Return).
    pub chars: Vec<Vec<KeyStep>>,
    /// Characters no key of the layout types; the plan must not be sent while there are any.
    pub untypable: Vec<Untypable>,
}

/// Plans typing `text` on `layout`. `\n` (and `\r\n`) is Return, `\t` is Tab.
///
/// # Errors
/// The text is longer than [`MAX_PASTE_CHARS`] characters (the count is returned).
pub fn plan(text: &str, layout: Layout) -> Result<TypingPlan, usize> {
    let count = text.chars().count();
    if count > MAX_PASTE_CHARS {
        return Err(count);
    }
    let mut chars = Vec::with_capacity(count);
    let mut untypable = Vec::new();
    let mut prev_cr = false;
    for (index, c) in text.chars().enumerate() {
        let was_cr = std::mem::replace(&mut prev_cr, c == '\r');
        let steps = match c {
            '\n' if was_cr => continue,
            '\n' | '\r' => press(&[], (RETURN, "Enter")),
            '\t' => press(&[], (TAB, "Tab")),
            c => match layout.table().place(c) {
                Some(place) => {
                    let key = (keysym_of(c), place.code);
                    let mut steps = match place.level {
                        Level::Plain => press(&[], key),
                        Level::Shift => press(&[SHIFT_KEY], key),
                        Level::AltGr => press(&[ALT_GR_KEY], key),
                    };
                    if place.dead {
                        // A dead key shows its character once a space follows.
                        steps.extend(press(&[], SPACE_KEY));
                    }
                    steps
                }
                None => {
                    untypable.push(Untypable {
                        index,
                        text: c.to_string(),
                    });
                    continue;
                }
            },
        };
        chars.push(steps);
    }
    Ok(TypingPlan {
        layout,
        chars,
        untypable,
    })
}

/// The keysym of a character: Latin-1 is its code point, the rest Unicode keysyms.
fn keysym_of(c: char) -> u32 {
    let cp = u32::from(c);
    match cp {
        0x20..=0x7e | 0xa0..=0xff => cp,
        // The euro sign has a legacy keysym that servers' keymaps know better.
        0x20ac => 0x20ac,
        _ => 0x0100_0000 + cp,
    }
}

/// Holds `mods` in order, presses and releases `key`, then lets go of `mods` in reverse.
fn press(mods: &[Key], key: Key) -> Vec<KeyStep> {
    let step = |(keysym, code): Key, down| KeyStep { keysym, code, down };
    let mut steps = Vec::with_capacity(mods.len() * 2 + 2);
    steps.extend(mods.iter().map(|&k| step(k, true)));
    steps.push(step(key, true));
    steps.push(step(key, false));
    steps.extend(mods.iter().rev().map(|&k| step(k, false)));
    steps
}

/// One item of the send-key menu.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SendKey {
    /// Stable name (`ctrl-alt-f2`): the UI's test id is `sendkey-<name>`.
    pub name: String,
    /// What the menu shows (`Ctrl+Alt+F2`).
    pub label: String,
    /// The events, in order.
    pub steps: Vec<KeyStep>,
}

/// The send-key menu: Ctrl+Alt+Del, Ctrl+Alt+Backspace, Ctrl+Alt+F1…F12, Print, SysRq, Alt+Tab,
/// Super and Esc.
pub fn send_keys() -> Vec<SendKey> {
    let item = |name: &str, label: &str, mods: &[Key], key: Key| SendKey {
        name: name.to_owned(),
        label: label.to_owned(),
        steps: press(mods, key),
    };
    let mut items = vec![
        item(
            "ctrl-alt-del",
            "Ctrl+Alt+Del",
            &[CONTROL_KEY, ALT_KEY],
            (0xffff, "Delete"),
        ),
        item(
            "ctrl-alt-backspace",
            "Ctrl+Alt+Backspace",
            &[CONTROL_KEY, ALT_KEY],
            (0xff08, "Backspace"),
        ),
    ];
    const F: [&str; 12] = [
        "F1", "F2", "F3", "F4", "F5", "F6", "F7", "F8", "F9", "F10", "F11", "F12",
    ];
    for (n, code) in (1..=12u32).zip(F) {
        items.push(item(
            &format!("ctrl-alt-f{n}"),
            &format!("Ctrl+Alt+F{n}"),
            &[CONTROL_KEY, ALT_KEY],
            (0xffbe + n - 1, code),
        ));
    }
    items.extend([
        item("print", "Print", &[], (0xff61, "PrintScreen")),
        // Alt+SysRq, as Linux's magic SysRq key is pressed (SysRq is Print's key with Alt).
        item("sysrq", "Alt+SysRq", &[ALT_KEY], (0xff15, "PrintScreen")),
        item("alt-tab", "Alt+Tab", &[ALT_KEY], (TAB, "Tab")),
        item("super", "Super", &[], (SUPER, "MetaLeft")),
        item("esc", "Esc", &[], (0xff1b, "Escape")),
    ]);
    items
}

/// Keysyms a recorded combination may hold: modifiers are pressed in order and released in
/// reverse, the last key is pressed and released.
pub fn combination(keys: &[u32]) -> Option<Vec<KeyStep>> {
    let (&key, mods) = keys.split_last()?;
    if keys.len() > 6 {
        return None;
    }
    // Keysyms only (no physical key): a server then maps them with its own keymap.
    let mods: Vec<Key> = mods.iter().map(|&k| (k, "")).collect();
    Some(press(&mods, (key, "")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn typed(plan: &TypingPlan) -> String {
        // What a server applying the keysyms (modifiers ignored) would show.
        plan.chars
            .iter()
            .flatten()
            .filter(|s| s.down && ![SHIFT, ALT_GR].contains(&s.keysym))
            .filter_map(|s| super::super::keysym::text(s.keysym))
            .collect()
    }

    #[test]
    fn us_types_ascii_with_shift_where_a_person_would() {
        let text = "Hello, World! 1+1=2\tnext\r\nline~`";
        let p = plan(text, Layout::Us).expect("short");
        assert!(p.untypable.is_empty());
        assert_eq!(typed(&p), "Hello, World! 1+1=2\tnext\nline~`");
        // 'H': Shift down, H down, H up, Shift up, with their physical keys.
        let h: Vec<_> = p.chars[0]
            .iter()
            .map(|s| (s.keysym, s.code, s.down))
            .collect();
        assert_eq!(
            h,
            [
                (SHIFT, "ShiftLeft", true),
                (0x48, "KeyH", true),
                (0x48, "KeyH", false),
                (SHIFT, "ShiftLeft", false)
            ]
        );
        assert_eq!(p.chars[1].len(), 2, "'e' needs no modifier");
        // Every printable ASCII character types on US.
        let all: String = (0x20u8..0x7f).map(char::from).collect();
        assert!(plan(&all, Layout::Us).expect("short").untypable.is_empty());
    }

    #[test]
    fn what_a_layout_cannot_type_is_listed_with_its_position() {
        let p = plan("a€b😀ä", Layout::Us).expect("short");
        let bad: Vec<_> = p
            .untypable
            .iter()
            .map(|u| (u.index, u.text.as_str()))
            .collect();
        assert_eq!(bad, [(1, "€"), (3, "😀"), (4, "ä")]);
        let de = plan("ä@€{", Layout::De).expect("short");
        assert!(de.untypable.is_empty());
        let at: Vec<_> = de.chars[1].iter().map(|s| (s.keysym, s.code)).collect();
        assert_eq!(at[0], (ALT_GR, "AltRight"), "@ is AltGr+Q");
        assert_eq!(at[1], (0x40, "KeyQ"));
        // QWERTZ: z is where a US keyboard has y; a dead ^ is followed by a space.
        let zy = plan("zy^", Layout::De).expect("short");
        assert_eq!(zy.chars[0][0].code, "KeyY");
        assert_eq!(zy.chars[1][0].code, "KeyZ");
        let caret: Vec<_> = zy.chars[2].iter().map(|s| (s.code, s.down)).collect();
        assert_eq!(
            caret,
            [
                ("Backquote", true),
                ("Backquote", false),
                ("Space", true),
                ("Space", false)
            ]
        );
        assert_eq!(de.chars[2][1].keysym, 0x20ac, "the euro's keysym");
        let fr = plan("A1é", Layout::Fr).expect("short");
        assert!(fr.untypable.is_empty());
        assert_eq!(fr.chars[1][0].keysym, SHIFT, "digits are shifted on AZERTY");
        assert_eq!(
            plan("£", Layout::Gb).expect("short").chars[0][0].keysym,
            SHIFT
        );
    }

    #[test]
    fn long_texts_are_refused_with_their_length() {
        assert_eq!(
            plan(&"x".repeat(MAX_PASTE_CHARS + 1), Layout::Us),
            Err(MAX_PASTE_CHARS + 1)
        );
        assert_eq!(
            plan(&"x".repeat(10_000), Layout::Us).map(|p| p.chars.len()),
            Ok(10_000)
        );
    }

    #[test]
    fn the_send_key_menu_presses_and_releases_in_order() {
        let items = send_keys();
        let names: Vec<_> = items.iter().map(|i| i.name.as_str()).collect();
        assert_eq!(names.len(), 19);
        for want in [
            "ctrl-alt-del",
            "ctrl-alt-backspace",
            "ctrl-alt-f1",
            "ctrl-alt-f12",
            "print",
            "sysrq",
            "alt-tab",
            "super",
            "esc",
        ] {
            assert!(names.contains(&want), "{want}");
        }
        let f2 = items
            .iter()
            .find(|i| i.name == "ctrl-alt-f2")
            .expect("listed");
        let seq: Vec<_> = f2.steps.iter().map(|s| (s.keysym, s.down)).collect();
        assert_eq!(
            seq,
            [
                (CONTROL, true),
                (ALT, true),
                (0xffbf, true),
                (0xffbf, false),
                (ALT, false),
                (CONTROL, false)
            ]
        );
        for i in &items {
            let downs = i.steps.iter().filter(|s| s.down).count();
            assert_eq!(
                downs * 2,
                i.steps.len(),
                "{}: every press is released",
                i.name
            );
        }
        assert_eq!(combination(&[CONTROL, 0x63]).map(|s| s.len()), Some(4));
        assert_eq!(combination(&[]), None);
    }
}
