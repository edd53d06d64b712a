//! The text console a built-in console shows: lines of text with the VM's name and a login
//! prompt, the keys typed (echoed, and kept for the test hooks), and the guest's clipboard.

use std::sync::{Arc, Mutex};

use tokio::sync::watch;

/// Framebuffer width at boot.
pub const WIDTH: u16 = 640;
/// Framebuffer height at boot.
pub const HEIGHT: u16 = 400;
/// The smallest screen a viewer may ask for (SetDesktopSize).
pub const MIN_SIZE: (u16, u16) = (320, 200);
/// The largest screen a viewer may ask for.
pub const MAX_SIZE: (u16, u16) = (3840, 2160);
const SCALE: usize = 2;
const COLS: usize = WIDTH as usize / (8 * SCALE);
const ROWS: usize = HEIGHT as usize / (8 * SCALE);
/// Keys kept for the `typed` test hook; older ones are dropped so a client typing for ever
/// cannot grow the simulator's memory without bound.
pub const MAX_TYPED: usize = 64 * 1024;

/// The text shown on a VM's console, shared by every viewer of that VM.
#[derive(Debug)]
pub struct Screen {
    lines: Mutex<Vec<String>>,
    typed: Mutex<String>,
    /// Every key event, pressed or released, for the `keys` test hook (bounded like `typed`).
    events: Mutex<std::collections::VecDeque<(u32, bool)>>,
    /// The last clipboard text a viewer sent (ClientCutText), for the `clipboard` test hook.
    from_viewer: Mutex<String>,
    /// The guest's clipboard: each line typed (on Return) goes there and to every viewer.
    to_viewer: watch::Sender<String>,
    /// Width and height now: a viewer's SetDesktopSize changes it for every viewer, as a
    /// guest's display driver would.
    size: Mutex<(u16, u16)>,
    version: watch::Sender<u64>,
}

impl Screen {
    /// A console for VM `id` called `name`.
    pub fn new(id: u32, name: &str) -> Arc<Self> {
        let lines = vec![
            format!("OneDeck simulator - VM {id}"),
            name.chars().take(COLS).collect(),
            String::new(),
            format!(
                "{} login: ",
                name.chars().take(COLS - 8).collect::<String>()
            ),
        ];
        Arc::new(Self {
            lines: Mutex::new(lines),
            typed: Mutex::new(String::new()),
            events: Mutex::new(std::collections::VecDeque::new()),
            from_viewer: Mutex::new(String::new()),
            to_viewer: watch::channel(String::new()).0,
            size: Mutex::new((WIDTH, HEIGHT)),
            version: watch::channel(0).0,
        })
    }

    /// Everything typed so far (Return as `\n`).
    pub fn typed(&self) -> String {
        self.typed.lock().map(|t| t.clone()).unwrap_or_default()
    }

    /// Every key event so far, oldest first: `d` (pressed) or `u` (released) and the keysym in
    /// hex, one per line (`d ffe3`).
    pub fn key_events(&self) -> String {
        self.events
            .lock()
            .map(|e| {
                e.iter()
                    .map(|(k, down)| format!("{} {k:x}\n", if *down { 'd' } else { 'u' }))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// A KeyEvent as the viewer sent it: kept for the `keys` hook, and a press is applied.
    pub fn key_event(&self, keysym: u32, down: bool) {
        if let Ok(mut e) = self.events.lock() {
            e.push_back((keysym, down));
            if e.len() > MAX_TYPED {
                e.pop_front();
            }
        }
        if down {
            self.key(keysym);
        }
    }

    /// The guest's clipboard as viewers should get it (ServerCutText).
    pub(crate) fn clipboard_to_viewers(&self) -> watch::Receiver<String> {
        self.to_viewer.subscribe()
    }

    /// The last clipboard text a viewer sent.
    pub fn clipboard_from_viewer(&self) -> String {
        self.from_viewer
            .lock()
            .map(|c| c.clone())
            .unwrap_or_default()
    }

    /// A viewer sent its clipboard (Latin-1, as RFB's plain cut text is).
    pub(crate) fn viewer_clipboard(&self, text: &[u8]) {
        if let Ok(mut c) = self.from_viewer.lock() {
            *c = text.iter().map(|&b| char::from(b)).collect();
        }
    }

    /// The visible lines.
    pub fn lines(&self) -> Vec<String> {
        self.lines.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// Applies a key press (X11 keysym).
    pub fn key(&self, keysym: u32) {
        let (Ok(mut lines), Ok(mut typed)) = (self.lines.lock(), self.typed.lock()) else {
            return;
        };
        match keysym {
            0x20..=0x7e => {
                let c = char::from(keysym as u8);
                typed.push(c);
                if let Some(last) = lines.last_mut() {
                    if last.chars().count() >= COLS {
                        lines.push(c.to_string());
                    } else {
                        last.push(c);
                    }
                }
            }
            0xff0d | 0xff8d => {
                typed.push('\n');
                // The line just finished becomes the guest's clipboard.
                let line = lines
                    .last()
                    .map(|l| l.rsplit(": ").next().unwrap_or(l).to_owned())
                    .unwrap_or_default();
                self.to_viewer.send_replace(line);
                lines.push(String::new());
            }
            0xff09 => {
                typed.push('\t');
                if let Some(last) = lines.last_mut() {
                    last.push(' ');
                }
            }
            0xff08 => {
                typed.pop();
                if let Some(last) = lines.last_mut() {
                    last.pop();
                }
            }
            _ => return,
        }
        let excess = lines.len().saturating_sub(ROWS);
        lines.drain(..excess);
        // Only ASCII is recorded, so any byte offset is a character boundary.
        let over = typed.len().saturating_sub(MAX_TYPED);
        typed.drain(..over);
        drop(lines);
        drop(typed);
        self.version.send_modify(|v| *v += 1);
    }

    /// The screen's width and height now.
    pub fn size(&self) -> (u16, u16) {
        self.size.lock().map(|s| *s).unwrap_or((WIDTH, HEIGHT))
    }

    /// Resizes the screen, as a viewer's SetDesktopSize asks; false (and no change) outside
    /// [`MIN_SIZE`]..=[`MAX_SIZE`].
    pub fn set_size(&self, width: u16, height: u16) -> bool {
        if !(MIN_SIZE.0..=MAX_SIZE.0).contains(&width)
            || !(MIN_SIZE.1..=MAX_SIZE.1).contains(&height)
        {
            return false;
        }
        if let Ok(mut s) = self.size.lock() {
            *s = (width, height);
        }
        self.version.send_modify(|v| *v += 1);
        true
    }

    /// Renders the screen as 0x00RRGGBB pixels, row by row, at [`Screen::size`] (the text
    /// from the top left, cut at the right and bottom edges).
    pub fn render(&self) -> Vec<u32> {
        let (w, h) = self.size();
        let (w, h) = (usize::from(w), usize::from(h));
        let mut px = vec![0x0010_1820u32; w * h];
        let lines = self.lines();
        for (row, line) in lines.iter().enumerate().take(ROWS) {
            let colour = if row == 0 { 0x00ff_d75f } else { 0x00c0_ffc0 };
            for (col, ch) in line.chars().enumerate().take(COLS) {
                let glyph = font8x8::legacy::BASIC_LEGACY
                    .get(ch as usize)
                    .copied()
                    .unwrap_or([0; 8]);
                for (gy, bits) in glyph.iter().enumerate() {
                    for gx in 0..8 {
                        if bits & (1 << gx) == 0 {
                            continue;
                        }
                        for sy in 0..SCALE {
                            for sx in 0..SCALE {
                                let x = col * 8 * SCALE + gx * SCALE + sx;
                                let y = row * 8 * SCALE + gy * SCALE + sy;
                                if x < w && y < h {
                                    px[y * w + x] = colour;
                                }
                            }
                        }
                    }
                }
            }
        }
        px
    }

    /// Changes of the screen (a counter), for the viewers' update loop.
    pub(crate) fn subscribe(&self) -> watch::Receiver<u64> {
        self.version.subscribe()
    }
}
