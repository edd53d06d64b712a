//! X11 keysyms (what RFB's KeyEvent carries) as people read them: the character a press types,
//! or the key's name. Covers Latin-1, the Unicode range (0x0100_0000 + code point), and the
//! function, cursor, keypad and modifier keys of `X11/keysymdef.h`.

/// The character a press of `keysym` types, if it types one.
pub fn text(keysym: u32) -> Option<char> {
    match keysym {
        0x20..=0x7e | 0xa0..=0xff => char::from_u32(keysym),
        0x0100_0100..=0x0110_ffff => char::from_u32(keysym - 0x0100_0000),
        0xff0d | 0xff8d => Some('\n'), // Return, KP_Enter
        0xff09 => Some('\t'),
        0xff80 => Some(' '), // KP_Space
        0xffaa => Some('*'),
        0xffab => Some('+'),
        0xffad => Some('-'),
        0xffae => Some('.'),
        0xffaf => Some('/'),
        0xffb0..=0xffb9 => char::from_digit(keysym - 0xffb0, 10), // KP_0…KP_9
        _ => None,
    }
}

/// The key's X11 name (`Return`, `Shift_L`, `F5`…), if it is not a plain character.
pub fn name(keysym: u32) -> Option<&'static str> {
    const F: [&str; 12] = [
        "F1", "F2", "F3", "F4", "F5", "F6", "F7", "F8", "F9", "F10", "F11", "F12",
    ];
    Some(match keysym {
        0x20 => "space",
        0xff08 => "BackSpace",
        0xff09 => "Tab",
        0xff0d => "Return",
        0xff13 => "Pause",
        0xff14 => "Scroll_Lock",
        0xff15 => "Sys_Req",
        0xff1b => "Escape",
        0xff50 => "Home",
        0xff51 => "Left",
        0xff52 => "Up",
        0xff53 => "Right",
        0xff54 => "Down",
        0xff55 => "Page_Up",
        0xff56 => "Page_Down",
        0xff57 => "End",
        0xff61 => "Print",
        0xff63 => "Insert",
        0xff67 => "Menu",
        0xff7f => "Num_Lock",
        0xff8d => "KP_Enter",
        0xffbe..=0xffc9 => F[(keysym - 0xffbe) as usize],
        0xffe1 => "Shift_L",
        0xffe2 => "Shift_R",
        0xffe3 => "Control_L",
        0xffe4 => "Control_R",
        0xffe5 => "Caps_Lock",
        0xffe7 => "Meta_L",
        0xffe8 => "Meta_R",
        0xffe9 => "Alt_L",
        0xffea => "Alt_R",
        0xffeb => "Super_L",
        0xffec => "Super_R",
        0xfe03 => "ISO_Level3_Shift",
        0xffff => "Delete",
        _ => return None,
    })
}

/// The modifier a keysym is, as the timeline names it.
pub fn modifier(keysym: u32) -> Option<&'static str> {
    Some(match keysym {
        0xffe1 | 0xffe2 => "Shift",
        0xffe3 | 0xffe4 => "Ctrl",
        0xffe7..=0xffea => "Alt",
        0xffeb | 0xffec => "Super",
        0xfe03 => "AltGr",
        _ => return None,
    })
}

/// How to show a key in a list: its name, else its character, else its number.
pub fn label(keysym: u32) -> String {
    match (name(keysym), text(keysym)) {
        (Some(n), _) => n.to_owned(),
        (None, Some(c)) => c.to_string(),
        (None, None) => format!("0x{keysym:x}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn characters_names_and_modifiers() {
        assert_eq!(text(0x61), Some('a'));
        assert_eq!(text(0xe9), Some('é'));
        assert_eq!(text(0x0100_20ac), Some('€'));
        assert_eq!(text(0xff0d), Some('\n'));
        assert_eq!(text(0xffe1), None);
        assert_eq!(text(0xffb7), Some('7'));
        assert_eq!(name(0xff0d), Some("Return"));
        assert_eq!(name(0xffc9), Some("F12"));
        assert_eq!(name(0x61), None);
        assert_eq!(modifier(0xffe4), Some("Ctrl"));
        assert_eq!(label(0x41), "A");
        assert_eq!(label(0xff1b), "Escape");
        assert_eq!(label(0x1234_5678), "0x12345678");
    }
}
