//! The server's side after ServerInit: an incremental decoder of RFB server messages that keeps a
//! [`Screen`] up to date. It knows the encodings a recorded session is limited to (Raw, CopyRect,
//! RRE, Hextile and the pseudo-encodings noVNC asks for, see [`encoding_kept`]): all of them
//! stateless, so the screen at any message boundary is a complete keyframe.
//!
//! Like the observer it is bounded whatever the server sends: it buffers at most one Hextile
//! tile or one rectangle header (a few KiB), streams Raw pixels straight into the screen, skips
//! variable parts by count, and keeps a cursor shape only up to [`MAX_CURSOR_BYTES`]. What it
//! cannot follow (another encoding, a rectangle outside the screen) stops it for good: it
//! reports why, and a recording then simply gets no more keyframes.

use super::hextile;
use super::screen::{MAX_CURSOR_BYTES, PixelFormat, Screen};

const RAW: i32 = 0;
const COPY_RECT: i32 = 1;
const RRE: i32 = 2;
const HEXTILE: i32 = 5;
const DESKTOP_SIZE: i32 = -223;
const LAST_RECT: i32 = -224;
const CURSOR: i32 = -239;
const QEMU_EXTENDED_KEY: i32 = -258;
const QEMU_LED: i32 = -261;
const DESKTOP_NAME: i32 = -307;
const EXTENDED_DESKTOP_SIZE: i32 = -308;
const EXTENDED_MOUSE_BUTTONS: i32 = -316;

/// Whether a recorded session may offer encoding `e` to the server: what this decoder follows,
/// and pseudo-encodings that change no pixels (quality and compression levels, fences, xvp,
/// continuous updates, the extended clipboard).
pub fn encoding_kept(e: i32) -> bool {
    matches!(
        e,
        RAW | COPY_RECT
            | RRE
            | HEXTILE
            | DESKTOP_SIZE
            | LAST_RECT
            | CURSOR
            | QEMU_EXTENDED_KEY
            | QEMU_LED
            | DESKTOP_NAME
            | EXTENDED_DESKTOP_SIZE
            | EXTENDED_MOUSE_BUTTONS
            | -309 // xvp
            | -312 // fence
            | -313 // continuous updates
            | -32..=-23 // quality levels
            | -256..=-247 // compression levels
    ) || e as u32 == 0xc0a1_e5ce // extended clipboard
}

/// A rectangle being decoded.
#[derive(Debug, Clone, Copy)]
struct Rect {
    x: u16,
    y: u16,
    w: u16,
    h: u16,
}

#[derive(Debug, Clone, Copy)]
enum State {
    /// At a message boundary: the next byte is a message type.
    Type,
    /// The rest of a fixed message header after its type byte.
    Header(u8, usize),
    /// A rectangle's 12-byte header.
    RectHeader,
    Raw(Rect, usize),
    CopyRect(Rect),
    RreHead(Rect),
    RreSub(Rect, u32),
    /// Hextile: the tile at (column, row) in tiles.
    Tile(Rect, u16, u16),
    Cursor(usize),
    DesktopName,
    ExtendedDesktopSize(Rect),
    /// Bytes to skip, then the state after.
    Skip(u64, After),
    Broken,
}

#[derive(Debug, Clone, Copy)]
enum After {
    Message,
    Rect,
}

/// Follows a server's messages after ServerInit and rebuilds its screen.
#[derive(Debug)]
pub struct ServerDecoder {
    screen: Screen,
    state: State,
    acc: Vec<u8>,
    rects: u16,
    /// Hextile's background and foreground carry over from tile to tile.
    colours: hextile::Colours,
    broken: Option<String>,
    /// Pixels changed since [`ServerDecoder::take_changed`] was last called.
    changed: bool,
}

impl ServerDecoder {
    /// Starts at ServerInit's screen.
    pub fn new(screen: Screen) -> Self {
        Self {
            screen,
            state: State::Type,
            acc: Vec::new(),
            rects: 0,
            colours: hextile::Colours::default(),
            broken: None,
            changed: true,
        }
    }

    /// The screen as of the last byte fed.
    pub fn screen(&self) -> &Screen {
        &self.screen
    }

    /// Why decoding stopped, if it did.
    pub fn broken(&self) -> Option<&str> {
        self.broken.as_deref()
    }

    /// Whether the bytes fed so far end exactly between two messages.
    pub fn at_boundary(&self) -> bool {
        matches!(self.state, State::Type)
    }

    /// Whether pixels changed since [`ServerDecoder::take_changed`] was last called.
    pub fn changed(&self) -> bool {
        self.changed
    }

    /// Whether pixels changed since the last call.
    pub fn take_changed(&mut self) -> bool {
        std::mem::take(&mut self.changed)
    }

    /// The viewer's SetPixelFormat: updates after it come in this format.
    pub fn set_pixel_format(&mut self, pf: &[u8; 16]) {
        if self.broken.is_some() {
            return;
        }
        let set = PixelFormat::parse(pf).and_then(|f| self.screen.set_format(f));
        if let Err(why) = set {
            self.fail(why);
        }
    }

    fn fail(&mut self, why: String) {
        self.broken = Some(why);
        self.state = State::Broken;
        self.acc = Vec::new();
    }

    /// Takes bytes until `acc` holds `n`; true once it does.
    fn fill(&mut self, data: &mut &[u8], n: usize) -> bool {
        let take = n.saturating_sub(self.acc.len()).min(data.len());
        self.acc.extend_from_slice(&data[..take]);
        *data = &data[take..];
        self.acc.len() == n
    }

    /// Feeds server bytes; returns how many were taken. All are, unless `stop_at_boundary`: then
    /// it returns right after the first message that ends in `data` (so a keyframe can go there).
    pub fn feed(&mut self, data: &[u8], stop_at_boundary: bool) -> usize {
        let mut rest = data;
        while !rest.is_empty() {
            if let Err(why) = self.step(&mut rest) {
                self.fail(why);
                return data.len();
            }
            if matches!(self.state, State::Broken) {
                return data.len();
            }
            if stop_at_boundary && self.at_boundary() {
                break;
            }
        }
        data.len() - rest.len()
    }

    fn bpp(&self) -> usize {
        self.screen.format().bytes_per_pixel()
    }

    /// Skips `n` bytes, then goes on as `after` says (at once when there are none, so a message
    /// that ends here ends with its last byte).
    fn skip(&mut self, n: u64, after: After) -> State {
        match (n, after) {
            (0, After::Message) => State::Type,
            (0, After::Rect) => {
                self.next_rect();
                self.state
            }
            _ => State::Skip(n, after),
        }
    }

    fn next_rect(&mut self) {
        self.state = if self.rects == 0 {
            State::Type
        } else {
            State::RectHeader
        };
    }

    fn step(&mut self, data: &mut &[u8]) -> Result<(), String> {
        match self.state {
            State::Broken => *data = &[],
            State::Type => {
                let t = data[0];
                *data = &data[1..];
                self.state = match t {
                    0 => State::Header(0, 3),
                    1 => State::Header(1, 5),
                    2 | 150 => State::Type, // Bell, EndOfContinuousUpdates
                    3 => State::Header(3, 7),
                    248 => State::Header(248, 8),
                    250 => State::Header(250, 3),
                    t => return Err(format!("server message type {t}")),
                };
            }
            State::Header(t, n) => {
                if !self.fill(data, n) {
                    return Ok(());
                }
                let h = std::mem::take(&mut self.acc);
                let len = match t {
                    1 => 6 * u64::from(u16::from_be_bytes([h[3], h[4]])),
                    // A negative length is the extended clipboard's.
                    3 => u64::from(i32::from_be_bytes([h[3], h[4], h[5], h[6]]).unsigned_abs()),
                    248 => u64::from(h[7]),
                    _ => 0,
                };
                self.state = if t == 0 {
                    self.rects = u16::from_be_bytes([h[1], h[2]]);
                    if self.rects == 0 {
                        State::Type
                    } else {
                        State::RectHeader
                    }
                } else {
                    self.skip(len, After::Message)
                };
                self.acc = h;
                self.acc.clear();
            }
            State::RectHeader => {
                if !self.fill(data, 12) {
                    return Ok(());
                }
                let h = &self.acc;
                let be = |i: usize| u16::from_be_bytes([h[i], h[i + 1]]);
                let r = Rect {
                    x: be(0),
                    y: be(2),
                    w: be(4),
                    h: be(6),
                };
                let enc = i32::from_be_bytes([h[8], h[9], h[10], h[11]]);
                self.acc.clear();
                self.rects -= 1;
                self.rect(r, enc)?;
            }
            State::Raw(r, at) => {
                let total = usize::from(r.w) * usize::from(r.h) * self.bpp();
                let n = (total - at).min(data.len());
                self.screen.put(r.x, r.y, r.w, at, &data[..n]);
                *data = &data[n..];
                if at + n == total {
                    self.next_rect();
                } else {
                    self.state = State::Raw(r, at + n);
                }
            }
            State::CopyRect(r) => {
                if !self.fill(data, 4) {
                    return Ok(());
                }
                let (sx, sy) = (
                    u16::from_be_bytes([self.acc[0], self.acc[1]]),
                    u16::from_be_bytes([self.acc[2], self.acc[3]]),
                );
                self.acc.clear();
                self.screen.check(sx, sy, r.w, r.h)?;
                self.screen.copy(sx, sy, r.x, r.y, r.w, r.h);
                self.next_rect();
            }
            State::RreHead(r) => {
                let bpp = self.bpp();
                if !self.fill(data, 4 + bpp) {
                    return Ok(());
                }
                let n = u32::from_be_bytes([self.acc[0], self.acc[1], self.acc[2], self.acc[3]]);
                let bg = self.acc[4..].to_vec();
                self.acc.clear();
                self.screen.fill(r.x, r.y, r.w, r.h, &bg);
                if n == 0 {
                    self.next_rect();
                } else {
                    self.state = State::RreSub(r, n);
                }
            }
            State::RreSub(r, left) => {
                let bpp = self.bpp();
                if !self.fill(data, bpp + 8) {
                    return Ok(());
                }
                let s = &self.acc[bpp..];
                let be = |i: usize| u16::from_be_bytes([s[i], s[i + 1]]);
                let (sx, sy, sw, sh) = (be(0), be(2), be(4), be(6));
                // Clipped to the rectangle, as a subrectangle may not leave it.
                let x = r.x.saturating_add(sx.min(r.w));
                let y = r.y.saturating_add(sy.min(r.h));
                let w = sw.min(r.w.saturating_sub(sx));
                let h = sh.min(r.h.saturating_sub(sy));
                let px = self.acc[..bpp].to_vec();
                self.acc.clear();
                self.screen.fill(x, y, w, h, &px);
                if left == 1 {
                    self.next_rect();
                } else {
                    self.state = State::RreSub(r, left - 1);
                }
            }
            State::Tile(r, tx, ty) => {
                let (tw, th) = hextile::tile_size(r.w, r.h, tx, ty);
                loop {
                    let need = hextile::tile_len(&self.acc, self.bpp(), tw, th);
                    if !self.fill(data, need) {
                        return Ok(());
                    }
                    if hextile::tile_len(&self.acc, self.bpp(), tw, th) == need {
                        break;
                    }
                }
                let bpp = self.bpp();
                let tile = hextile::Tile {
                    x: r.x + tx * 16,
                    y: r.y + ty * 16,
                    w: tw,
                    h: th,
                };
                hextile::paint(&mut self.screen, &mut self.colours, bpp, &self.acc, tile);
                self.acc.clear();
                let cols = r.w.div_ceil(16);
                let (tx, ty) = if tx + 1 < cols {
                    (tx + 1, ty)
                } else {
                    (0, ty + 1)
                };
                if ty * 16 >= r.h {
                    self.next_rect();
                } else {
                    self.state = State::Tile(r, tx, ty);
                }
            }
            State::Cursor(total) => {
                if total > MAX_CURSOR_BYTES {
                    // Too large to keep: skipped, and keyframes carry no cursor shape.
                    self.screen.set_cursor(None);
                    self.acc.clear();
                    self.state = self.skip(total as u64 - 12, After::Rect);
                    return Ok(());
                }
                if !self.fill(data, total) {
                    return Ok(());
                }
                self.screen.set_cursor(Some(std::mem::take(&mut self.acc)));
                self.next_rect();
            }
            State::DesktopName => {
                if !self.fill(data, 4) {
                    return Ok(());
                }
                let n = u32::from_be_bytes([self.acc[0], self.acc[1], self.acc[2], self.acc[3]]);
                self.acc.clear();
                self.state = self.skip(u64::from(n), After::Rect);
            }
            State::ExtendedDesktopSize(r) => {
                if !self.fill(data, 4) {
                    return Ok(());
                }
                let screens = u64::from(self.acc[0]);
                self.acc.clear();
                // x = 1 with a non-zero y: the server refused the viewer's resize.
                if !(r.x == 1 && r.y != 0) {
                    self.resize(r.w, r.h)?;
                }
                self.state = self.skip(16 * screens, After::Rect);
            }
            State::Skip(left, after) => {
                let n = usize::try_from(left).unwrap_or(usize::MAX).min(data.len());
                *data = &data[n..];
                self.state = self.skip(left - n as u64, after);
            }
        }
        Ok(())
    }

    fn resize(&mut self, w: u16, h: u16) -> Result<(), String> {
        self.screen.resize(w, h)?;
        self.changed = true;
        Ok(())
    }

    /// A rectangle header was read: sets the state that reads its payload.
    fn rect(&mut self, r: Rect, enc: i32) -> Result<(), String> {
        let pixels = matches!(enc, RAW | COPY_RECT | RRE | HEXTILE);
        if pixels {
            self.screen.check(r.x, r.y, r.w, r.h)?;
            self.changed = true;
            if r.w == 0 || r.h == 0 {
                // Nothing to paint; RRE and CopyRect still carry their fixed parts.
                if enc == RAW || enc == HEXTILE {
                    self.next_rect();
                    return Ok(());
                }
            }
        }
        self.state = match enc {
            RAW => State::Raw(r, 0),
            COPY_RECT => State::CopyRect(r),
            RRE => State::RreHead(r),
            HEXTILE => {
                self.colours = hextile::Colours::default();
                State::Tile(r, 0, 0)
            }
            LAST_RECT => {
                self.rects = 0;
                State::Type
            }
            DESKTOP_SIZE => {
                self.resize(r.w, r.h)?;
                self.next_rect();
                self.state
            }
            QEMU_EXTENDED_KEY | EXTENDED_MOUSE_BUTTONS => {
                self.next_rect();
                self.state
            }
            QEMU_LED => self.skip(1, After::Rect),
            DESKTOP_NAME => State::DesktopName,
            EXTENDED_DESKTOP_SIZE => State::ExtendedDesktopSize(r),
            CURSOR => {
                let bpp = self.bpp();
                let (w, h) = (usize::from(r.w), usize::from(r.h));
                let total = 12 + w * h * bpp + w.div_ceil(8) * h;
                // The header is kept with the payload: a keyframe sends the rectangle as is.
                self.acc.extend_from_slice(&r.x.to_be_bytes());
                self.acc.extend_from_slice(&r.y.to_be_bytes());
                self.acc.extend_from_slice(&r.w.to_be_bytes());
                self.acc.extend_from_slice(&r.h.to_be_bytes());
                self.acc.extend_from_slice(&CURSOR.to_be_bytes());
                if total == 12 {
                    // An empty cursor (hidden): nothing follows its header.
                    self.screen.set_cursor(Some(std::mem::take(&mut self.acc)));
                    self.next_rect();
                    return Ok(());
                }
                State::Cursor(total)
            }
            e => return Err(format!("encoding {e}, which recordings do not decode")),
        };
        Ok(())
    }
}
