//! A VM's console window settings, remembered across restarts (SQLite).

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// How the screen fits the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum ScaleMode {
    /// 1:1, with scrollbars.
    Off,
    /// Scaled to fit the window (the default).
    #[default]
    Fit,
    /// The guest resizes to the window (ExtendedDesktopSize), scaled when it cannot.
    Remote,
}

/// A console window's size, in logical pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct WindowSize {
    /// Width.
    pub width: u32,
    /// Height.
    pub height: u32,
}

/// Paces a paste may be typed at, characters per second.
pub const PASTE_RATES: [u32; 4] = [1000, 100, 30, 10];

/// What a VM's console window remembers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConsoleSettings {
    /// How the screen fits the window.
    #[serde(default)]
    pub scale_mode: ScaleMode,
    /// The guest's keyboard layout for pastes (`us`, `gb`, `de`, `fr`).
    #[serde(default = "default_layout")]
    pub layout: String,
    /// The pace of pastes, characters per second (one of [`PASTE_RATES`]).
    #[serde(default = "default_rate")]
    pub paste_rate: u32,
    /// The window's last size.
    #[serde(default)]
    pub window: Option<WindowSize>,
    /// A key combination the user recorded for the send-key menu (keysyms, the last one the
    /// key, the others held); at most 6.
    #[serde(default)]
    pub custom_keys: Vec<u32>,
    /// Share the clipboard with the VM (off by default: it may hold a password): what the guest
    /// copies reaches the local clipboard, and the local one is sent when the window gets focus.
    #[serde(default)]
    pub clipboard: bool,
}

fn default_layout() -> String {
    "us".to_owned()
}

fn default_rate() -> u32 {
    100
}

impl Default for ConsoleSettings {
    fn default() -> Self {
        Self {
            scale_mode: ScaleMode::Fit,
            layout: default_layout(),
            paste_rate: default_rate(),
            window: None,
            custom_keys: Vec::new(),
            clipboard: false,
        }
    }
}

impl ConsoleSettings {
    /// `invalidInput` naming the first field out of bounds: an unknown layout, a pace not
    /// offered, a window smaller than the console window's minimum or absurdly large, more than
    /// six keys.
    pub fn validate(&self) -> Result<()> {
        let bad = |field: &'static str, reason: String| Err(Error::InvalidInput { field, reason });
        if !crate::keyboard_layouts()
            .iter()
            .any(|(code, _)| *code == self.layout)
        {
            return bad("layout", format!("no keyboard layout {:?}", self.layout));
        }
        if !PASTE_RATES.contains(&self.paste_rate) {
            return bad(
                "pasteRate",
                format!("{} characters/s is not offered", self.paste_rate),
            );
        }
        if let Some(w) = self.window
            && !(480..=16_384).contains(&w.width) | !(360..=16_384).contains(&w.height)
        {
            return bad("window", format!("{}×{}", w.width, w.height));
        }
        if self.custom_keys.len() > 6 {
            return bad(
                "customKeys",
                format!("{} keys (at most 6)", self.custom_keys.len()),
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_bounds_and_unknown_fields() {
        let d = ConsoleSettings::default();
        assert!(d.validate().is_ok());
        let parsed: ConsoleSettings = serde_json::from_str("{}").expect("all defaulted");
        assert_eq!(parsed, d);
        let json = serde_json::to_string(&d).expect("serialises");
        assert_eq!(
            json,
            r#"{"scaleMode":"fit","layout":"us","pasteRate":100,"window":null,"customKeys":[],"clipboard":false}"#
        );
        assert!(
            serde_json::from_str::<ConsoleSettings>(r#"{"autoType":true}"#).is_err(),
            "unknown settings are refused"
        );
        for bad in [
            ConsoleSettings {
                layout: "xx".into(),
                ..d.clone()
            },
            ConsoleSettings {
                paste_rate: 5,
                ..d.clone()
            },
            ConsoleSettings {
                window: Some(WindowSize {
                    width: 10,
                    height: 900,
                }),
                ..d.clone()
            },
            ConsoleSettings {
                custom_keys: vec![1; 7],
                ..d.clone()
            },
        ] {
            assert!(
                matches!(bad.validate(), Err(Error::InvalidInput { .. })),
                "{bad:?}"
            );
        }
    }
}
