//! A framebuffer rebuilt from a server's updates, in the pixel format the viewer asked for: what
//! a recording's keyframes hold and what `onedeck-cli recording frame` turns into a PNG.

/// A screen larger than this (bytes of pixels) is not rebuilt: 64 MiB holds 4096×4096 at 32 bits.
pub const MAX_SCREEN_BYTES: usize = 64 << 20;
/// A cursor image larger than this is not kept for keyframes (256×256 at 32 bits, with its mask).
pub const MAX_CURSOR_BYTES: usize = 270 << 10;

/// An RFB pixel format (RFC 6143 §7.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PixelFormat {
    /// 8, 16 or 32.
    pub bits_per_pixel: u8,
    /// Bits of colour used.
    pub depth: u8,
    /// Multi-byte pixels are big-endian.
    pub big_endian: bool,
    /// Pixels are colour values (not colour-map indices).
    pub true_colour: bool,
    /// Largest red value.
    pub red_max: u16,
    /// Largest green value.
    pub green_max: u16,
    /// Largest blue value.
    pub blue_max: u16,
    /// Shift of red in a pixel value.
    pub red_shift: u8,
    /// Shift of green.
    pub green_shift: u8,
    /// Shift of blue.
    pub blue_shift: u8,
}

impl PixelFormat {
    /// Reads the 16 bytes RFB sends; `Err` for a pixel size RFB does not define.
    pub fn parse(b: &[u8; 16]) -> Result<Self, String> {
        if !matches!(b[0], 8 | 16 | 32) {
            return Err(format!("a pixel format of {} bits per pixel", b[0]));
        }
        Ok(Self {
            bits_per_pixel: b[0],
            depth: b[1],
            big_endian: b[2] != 0,
            true_colour: b[3] != 0,
            red_max: u16::from_be_bytes([b[4], b[5]]),
            green_max: u16::from_be_bytes([b[6], b[7]]),
            blue_max: u16::from_be_bytes([b[8], b[9]]),
            red_shift: b[10],
            green_shift: b[11],
            blue_shift: b[12],
        })
    }

    /// The 16 bytes RFB sends.
    pub fn encode(&self) -> [u8; 16] {
        let mut b = [0u8; 16];
        b[0] = self.bits_per_pixel;
        b[1] = self.depth;
        b[2] = u8::from(self.big_endian);
        b[3] = u8::from(self.true_colour);
        b[4..6].copy_from_slice(&self.red_max.to_be_bytes());
        b[6..8].copy_from_slice(&self.green_max.to_be_bytes());
        b[8..10].copy_from_slice(&self.blue_max.to_be_bytes());
        b[10] = self.red_shift;
        b[11] = self.green_shift;
        b[12] = self.blue_shift;
        b
    }

    /// Bytes per pixel: 1, 2 or 4.
    pub fn bytes_per_pixel(&self) -> usize {
        usize::from(self.bits_per_pixel / 8)
    }

    /// A pixel's red, green and blue scaled to 0–255.
    fn rgb(&self, px: &[u8]) -> [u8; 3] {
        let v = match (px.len(), self.big_endian) {
            (1, _) => u32::from(px[0]),
            (2, true) => u32::from(u16::from_be_bytes([px[0], px[1]])),
            (2, false) => u32::from(u16::from_le_bytes([px[0], px[1]])),
            (_, true) => u32::from_be_bytes([px[0], px[1], px[2], px[3]]),
            (_, false) => u32::from_le_bytes([px[0], px[1], px[2], px[3]]),
        };
        let scale = |shift: u8, max: u16| -> u8 {
            if max == 0 {
                return 0;
            }
            let c = (v.checked_shr(u32::from(shift)).unwrap_or(0)) & u32::from(max);
            // Rounded to the nearest 0–255 value; `c <= max`, so this fits a u8.
            ((c * 255 + u32::from(max) / 2) / u32::from(max)) as u8
        };
        [
            scale(self.red_shift, self.red_max),
            scale(self.green_shift, self.green_max),
            scale(self.blue_shift, self.blue_max),
        ]
    }
}

/// A framebuffer: its size, pixel format and pixels, and the last cursor shape the server sent.
#[derive(Clone)]
pub struct Screen {
    width: u16,
    height: u16,
    format: PixelFormat,
    name: String,
    pixels: Vec<u8>,
    /// The last Cursor pseudo-rectangle as RFB sends it (header and payload), for keyframes.
    cursor: Option<Vec<u8>>,
    /// The most pixel bytes this screen may grow to.
    limit: usize,
}

impl std::fmt::Debug for Screen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Screen")
            .field("width", &self.width)
            .field("height", &self.height)
            .field("format", &self.format)
            .finish_non_exhaustive()
    }
}

fn alloc(width: u16, height: u16, bpp: usize, limit: usize) -> Result<Vec<u8>, String> {
    let len = usize::from(width) * usize::from(height) * bpp;
    if len > limit {
        return Err(format!(
            "a {width}×{height} screen is larger than the relay rebuilds"
        ));
    }
    Ok(vec![0; len])
}

impl Screen {
    /// A black screen.
    pub fn new(width: u16, height: u16, format: PixelFormat, name: &str) -> Result<Self, String> {
        Ok(Self {
            width,
            height,
            format,
            name: crate::recording::cut_utf8(name, super::MAX_DESKTOP_NAME).to_owned(),
            pixels: alloc(width, height, format.bytes_per_pixel(), MAX_SCREEN_BYTES)?,
            cursor: None,
            limit: MAX_SCREEN_BYTES,
        })
    }

    /// The same screen, refusing to grow past `limit` bytes of pixels (below
    /// [`MAX_SCREEN_BYTES`]; the fuzzer keeps screens small this way).
    pub fn with_limit(mut self, limit: usize) -> Self {
        self.limit = limit.min(MAX_SCREEN_BYTES);
        self
    }

    /// A black screen of the size and format a ServerInit message (RFB bytes) gives.
    pub fn from_server_init(b: &[u8]) -> Result<Self, String> {
        if b.len() < 24 {
            return Err("a ServerInit message is too short".into());
        }
        let mut pf = [0u8; 16];
        pf.copy_from_slice(&b[4..20]);
        let len = u32::from_be_bytes([b[20], b[21], b[22], b[23]]) as usize;
        let name = b.get(24..24 + len).unwrap_or(&b[24..]);
        Self::new(
            u16::from_be_bytes([b[0], b[1]]),
            u16::from_be_bytes([b[2], b[3]]),
            PixelFormat::parse(&pf)?,
            &String::from_utf8_lossy(name),
        )
    }

    /// Width in pixels.
    pub fn width(&self) -> u16 {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> u16 {
        self.height
    }

    /// The pixel format of the pixels.
    pub fn format(&self) -> &PixelFormat {
        &self.format
    }

    /// The pixels, row after row, in [`Screen::format`].
    pub fn pixels(&self) -> &[u8] {
        &self.pixels
    }

    /// The viewer changed the pixel format: what follows comes in it. A different pixel size
    /// starts from black (noVNC sets its format before its first update request).
    pub fn set_format(&mut self, format: PixelFormat) -> Result<(), String> {
        if format.bytes_per_pixel() != self.format.bytes_per_pixel() {
            self.pixels = alloc(
                self.width,
                self.height,
                format.bytes_per_pixel(),
                self.limit,
            )?;
        }
        self.format = format;
        Ok(())
    }

    /// A new size; what overlaps the old one is kept, the rest is black (as noVNC does).
    pub fn resize(&mut self, width: u16, height: u16) -> Result<(), String> {
        if (width, height) == (self.width, self.height) {
            return Ok(());
        }
        let bpp = self.format.bytes_per_pixel();
        let mut next = alloc(width, height, bpp, self.limit)?;
        let row = usize::from(width.min(self.width)) * bpp;
        for y in 0..usize::from(height.min(self.height)) {
            let from = y * usize::from(self.width) * bpp;
            let to = y * usize::from(width) * bpp;
            next[to..to + row].copy_from_slice(&self.pixels[from..from + row]);
        }
        self.pixels = next;
        self.width = width;
        self.height = height;
        Ok(())
    }

    /// `Err` unless the rectangle lies inside the screen.
    pub fn check(&self, x: u16, y: u16, w: u16, h: u16) -> Result<(), String> {
        if u32::from(x) + u32::from(w) > u32::from(self.width)
            || u32::from(y) + u32::from(h) > u32::from(self.height)
        {
            return Err(format!(
                "a {w}×{h} rectangle at {x},{y} outside the {}×{} screen",
                self.width, self.height
            ));
        }
        Ok(())
    }

    fn offset(&self, x: u16, y: u16) -> usize {
        (usize::from(y) * usize::from(self.width) + usize::from(x)) * self.format.bytes_per_pixel()
    }

    /// Pixel bytes of rectangle (x, y, w, h) from byte `at` of its row-major data on
    /// (streaming: `data` may be any piece). The rectangle was checked.
    pub fn put(&mut self, x: u16, y: u16, w: u16, at: usize, data: &[u8]) {
        let row = usize::from(w) * self.format.bytes_per_pixel();
        if row == 0 {
            return;
        }
        let (mut at, mut data) = (at, data);
        while !data.is_empty() {
            let (r, c) = (at / row, at % row);
            let n = (row - c).min(data.len());
            let o = self.offset(x, y + r as u16) + c;
            self.pixels[o..o + n].copy_from_slice(&data[..n]);
            at += n;
            data = &data[n..];
        }
    }

    /// Fills a rectangle with one pixel value, clipped to the screen.
    pub fn fill(&mut self, x: u16, y: u16, w: u16, h: u16, px: &[u8]) {
        let bpp = self.format.bytes_per_pixel();
        let x2 = (usize::from(x) + usize::from(w)).min(usize::from(self.width));
        let y2 = (usize::from(y) + usize::from(h)).min(usize::from(self.height));
        let (x, y) = (usize::from(x), usize::from(y));
        if x >= x2 || y >= y2 || px.len() != bpp {
            return;
        }
        for row in y..y2 {
            let start = (row * usize::from(self.width) + x) * bpp;
            for p in self.pixels[start..start + (x2 - x) * bpp].chunks_exact_mut(bpp) {
                p.copy_from_slice(px);
            }
        }
    }

    /// Copies a rectangle from (sx, sy) to (x, y) (CopyRect); both were checked.
    pub fn copy(&mut self, sx: u16, sy: u16, x: u16, y: u16, w: u16, h: u16) {
        let row = usize::from(w) * self.format.bytes_per_pixel();
        // Rows are copied away from the overlap: bottom-up when moving down.
        let rows: Box<dyn Iterator<Item = u16>> = if y > sy {
            Box::new((0..h).rev())
        } else {
            Box::new(0..h)
        };
        for r in rows {
            let from = self.offset(sx, sy + r);
            let to = self.offset(x, y + r);
            self.pixels.copy_within(from..from + row, to);
        }
    }

    /// Keeps the last cursor shape (header and payload as RFB sends them) for keyframes.
    pub fn set_cursor(&mut self, rect: Option<Vec<u8>>) {
        self.cursor = rect;
    }

    /// The ServerInit message a viewer needs before [`Screen::update`]: this size, this pixel
    /// format (so the pixels read right) and the desktop name.
    pub fn server_init(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(24 + self.name.len());
        b.extend_from_slice(&self.width.to_be_bytes());
        b.extend_from_slice(&self.height.to_be_bytes());
        b.extend_from_slice(&self.format.encode());
        b.extend_from_slice(&(self.name.len() as u32).to_be_bytes());
        b.extend_from_slice(self.name.as_bytes());
        b
    }

    /// One FramebufferUpdate that paints the whole screen (Raw) and sets the cursor shape.
    pub fn update(&self) -> Vec<u8> {
        let cursor = self.cursor.as_deref().unwrap_or_default();
        let mut b = Vec::with_capacity(4 + 12 + self.pixels.len() + cursor.len());
        b.extend_from_slice(&[0, 0]);
        b.extend_from_slice(&(1 + u16::from(!cursor.is_empty())).to_be_bytes());
        for v in [0, 0, self.width, self.height] {
            b.extend_from_slice(&v.to_be_bytes());
        }
        b.extend_from_slice(&0i32.to_be_bytes());
        b.extend_from_slice(&self.pixels);
        b.extend_from_slice(cursor);
        b
    }

    /// The screen as 8-bit RGBA, row after row (for a PNG).
    pub fn rgba(&self) -> Result<Vec<u8>, String> {
        if !self.format.true_colour {
            return Err("a colour-map pixel format cannot be shown".into());
        }
        let bpp = self.format.bytes_per_pixel();
        let mut out = Vec::with_capacity(self.pixels.len() / bpp * 4);
        for px in self.pixels.chunks_exact(bpp) {
            out.extend_from_slice(&self.format.rgb(px));
            out.push(255);
        }
        Ok(out)
    }
}
