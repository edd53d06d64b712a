//! Keyboard layouts as rows of physical keys (named by their `KeyboardEvent.code`, which noVNC
//! turns into the XT scancode of QEMU's extended key events): what each key types plain, with
//! Shift and with AltGr. One table serves both ways of typing: keysyms (the character and the
//! modifiers a person would hold) and scancodes (the key itself, for a server that takes them).

/// The physical keys of the four typing rows, left to right (ISO: `IntlBackslash` left of `Z`,
/// `Backslash` left of Enter on ISO boards, above it on ANSI ones).
const ROWS: [&[&str]; 4] = [
    &[
        "Backquote",
        "Digit1",
        "Digit2",
        "Digit3",
        "Digit4",
        "Digit5",
        "Digit6",
        "Digit7",
        "Digit8",
        "Digit9",
        "Digit0",
        "Minus",
        "Equal",
    ],
    &[
        "KeyQ",
        "KeyW",
        "KeyE",
        "KeyR",
        "KeyT",
        "KeyY",
        "KeyU",
        "KeyI",
        "KeyO",
        "KeyP",
        "BracketLeft",
        "BracketRight",
    ],
    &[
        "KeyA",
        "KeyS",
        "KeyD",
        "KeyF",
        "KeyG",
        "KeyH",
        "KeyJ",
        "KeyK",
        "KeyL",
        "Semicolon",
        "Quote",
        "Backslash",
    ],
    &[
        "IntlBackslash",
        "KeyZ",
        "KeyX",
        "KeyC",
        "KeyV",
        "KeyB",
        "KeyN",
        "KeyM",
        "Comma",
        "Period",
        "Slash",
    ],
];

/// One layout: per row, what the keys type plain, with Shift and with AltGr (a space: nothing),
/// and its dead keys (the character appears only once a space follows).
pub(super) struct Table {
    rows: [[&'static str; 3]; 4],
    dead: &'static [(&'static str, Level)],
}

/// US English (ANSI: no key left of Z).
pub(super) const US: Table = Table {
    rows: [
        ["`1234567890-=", "~!@#$%^&*()_+", "             "],
        ["qwertyuiop[]", "QWERTYUIOP{}", "            "],
        ["asdfghjkl;'\\", "ASDFGHJKL:\"|", "            "],
        [" zxcvbnm,./", " ZXCVBNM<>?", "           "],
    ],
    dead: &[],
};

/// United Kingdom.
pub(super) const GB: Table = Table {
    rows: [
        ["`1234567890-=", "¬!\"£$%^&*()_+", "¦   €        "],
        ["qwertyuiop[]", "QWERTYUIOP{}", "  é         "],
        ["asdfghjkl;'#", "ASDFGHJKL:@~", "            "],
        ["\\zxcvbnm,./", "|ZXCVBNM<>?", "           "],
    ],
    dead: &[],
};

/// German (QWERTZ).
pub(super) const DE: Table = Table {
    rows: [
        ["^1234567890ß´", "°!\"§$%&/()=?`", "  ²³   {[]}\\ "],
        ["qwertzuiopü+", "QWERTZUIOPÜ*", "@ €        ~"],
        ["asdfghjklöä#", "ASDFGHJKLÖÄ'", "            "],
        ["<yxcvbnm,.-", ">YXCVBNM;:_", "|      µ   "],
    ],
    dead: &[
        ("Backquote", Level::Plain),
        ("Equal", Level::Plain),
        ("Equal", Level::Shift),
    ],
};

/// French (AZERTY).
pub(super) const FR: Table = Table {
    rows: [
        ["²&é\"'(-è_çà)=", " 1234567890°+", "  ~#{[|`\\^@]}"],
        ["azertyuiop^$", "AZERTYUIOP¨£", "  €        ¤"],
        ["qsdfghjklmù*", "QSDFGHJKLM%µ", "            "],
        ["<wxcvbn,;:!", ">WXCVBN?./§", "           "],
    ],
    dead: &[("BracketLeft", Level::Plain), ("BracketLeft", Level::Shift)],
};

/// Which modifier a character needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Level {
    Plain,
    Shift,
    AltGr,
}

/// Where a character is on a layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Place {
    /// The key's `KeyboardEvent.code`.
    pub code: &'static str,
    pub level: Level,
    /// A dead key: the character appears only once a space follows.
    pub dead: bool,
}

impl Table {
    /// The key and level that type `c`, if any key does (space and digits included).
    pub(super) fn place(&self, c: char) -> Option<Place> {
        if c == ' ' {
            return Some(Place {
                code: "Space",
                level: Level::Plain,
                dead: false,
            });
        }
        for (row, levels) in ROWS.iter().zip(&self.rows) {
            for (level, chars) in [Level::Plain, Level::Shift, Level::AltGr]
                .into_iter()
                .zip(levels)
            {
                if let Some(i) = chars.chars().position(|x| x == c && x != ' ') {
                    let code = row.get(i)?;
                    return Some(Place {
                        code,
                        level,
                        dead: self.dead.contains(&(*code, level)),
                    });
                }
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_row_fits_its_keys() {
        for (name, t) in [("us", US), ("gb", GB), ("de", DE), ("fr", FR)] {
            for (row, levels) in ROWS.iter().zip(&t.rows) {
                for chars in levels {
                    assert!(
                        chars.chars().count() <= row.len(),
                        "{name}: {chars:?} has more characters than its row has keys"
                    );
                }
            }
        }
    }

    #[test]
    fn keys_are_where_a_person_finds_them() {
        let at = |t: &Table, c| t.place(c).map(|p| (p.code, p.level, p.dead));
        assert_eq!(at(&US, 'a'), Some(("KeyA", Level::Plain, false)));
        assert_eq!(at(&US, '@'), Some(("Digit2", Level::Shift, false)));
        assert_eq!(at(&DE, 'z'), Some(("KeyY", Level::Plain, false)));
        assert_eq!(at(&DE, 'y'), Some(("KeyZ", Level::Plain, false)));
        assert_eq!(at(&DE, '@'), Some(("KeyQ", Level::AltGr, false)));
        assert_eq!(at(&DE, '^'), Some(("Backquote", Level::Plain, true)));
        assert_eq!(at(&DE, '{'), Some(("Digit7", Level::AltGr, false)));
        assert_eq!(at(&DE, '~'), Some(("BracketRight", Level::AltGr, false)));
        assert_eq!(at(&DE, '`'), Some(("Equal", Level::Shift, true)));
        assert_eq!(
            at(&FR, '^'),
            Some(("Digit9", Level::AltGr, false)),
            "not the dead one"
        );
        assert_eq!(at(&FR, '¤'), Some(("BracketRight", Level::AltGr, false)));
        assert_eq!(at(&FR, 'a'), Some(("KeyQ", Level::Plain, false)));
        assert_eq!(at(&FR, '1'), Some(("Digit1", Level::Shift, false)));
        assert_eq!(at(&FR, 'm'), Some(("Semicolon", Level::Plain, false)));
        assert_eq!(at(&GB, '"'), Some(("Digit2", Level::Shift, false)));
        assert_eq!(at(&GB, '#'), Some(("Backslash", Level::Plain, false)));
        assert_eq!(at(&US, '€'), None);
        assert_eq!(at(&US, ' '), Some(("Space", Level::Plain, false)));
    }
}
