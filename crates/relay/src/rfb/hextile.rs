//! Hextile (RFC 6143 §7.7.4): how long a tile is, and painting one. Tiles are 16×16 (smaller on
//! a rectangle's right and bottom edges); a tile's background and foreground carry over to the
//! next tile of the same rectangle.

use super::screen::Screen;

/// Where a tile lies on the screen.
#[derive(Debug, Clone, Copy)]
pub(super) struct Tile {
    pub x: u16,
    pub y: u16,
    pub w: u16,
    pub h: u16,
}

/// The background and foreground pixels that carry over from tile to tile.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct Colours {
    bg: [u8; 4],
    fg: [u8; 4],
}

/// The size of tile (tx, ty) of a `w`×`h` rectangle.
pub(super) fn tile_size(w: u16, h: u16, tx: u16, ty: u16) -> (u16, u16) {
    ((w - tx * 16).min(16), (h - ty * 16).min(16))
}

/// How many bytes the tile starting in `t` needs, as far as `t` tells: when the answer equals
/// `t.len()`, the tile is complete.
pub(super) fn tile_len(t: &[u8], bpp: usize, tw: u16, th: u16) -> usize {
    let Some(&sub) = t.first() else {
        return 1;
    };
    if sub & 1 != 0 {
        return 1 + usize::from(tw) * usize::from(th) * bpp;
    }
    let mut n = 1;
    if sub & 2 != 0 {
        n += bpp;
    }
    if sub & 4 != 0 {
        n += bpp;
    }
    if sub & 8 == 0 {
        return n;
    }
    match t.get(n) {
        None => n + 1,
        Some(&count) => {
            let each = if sub & 16 != 0 { bpp + 2 } else { 2 };
            n + 1 + usize::from(count) * each
        }
    }
}

/// Paints the complete tile `t` (as [`tile_len`] measured it) at `at`.
pub(super) fn paint(screen: &mut Screen, colours: &mut Colours, bpp: usize, t: &[u8], at: Tile) {
    let sub = t[0];
    if sub & 1 != 0 {
        screen.put(at.x, at.y, at.w, 0, &t[1..]);
        return;
    }
    let mut i = 1;
    if sub & 2 != 0 {
        colours.bg[..bpp].copy_from_slice(&t[i..i + bpp]);
        i += bpp;
    }
    if sub & 4 != 0 {
        colours.fg[..bpp].copy_from_slice(&t[i..i + bpp]);
        i += bpp;
    }
    screen.fill(at.x, at.y, at.w, at.h, &colours.bg[..bpp]);
    if sub & 8 == 0 {
        return;
    }
    let n = usize::from(t[i]);
    i += 1;
    let coloured = sub & 16 != 0;
    for _ in 0..n {
        let px = if coloured {
            i += bpp;
            &t[i - bpp..i]
        } else {
            &colours.fg[..bpp]
        };
        let (xy, wh) = (t[i], t[i + 1]);
        i += 2;
        let (sx, sy) = (u16::from(xy >> 4), u16::from(xy & 15));
        let (sw, sh) = (u16::from(wh >> 4) + 1, u16::from(wh & 15) + 1);
        // Clipped to the tile.
        let w = sw.min(at.w.saturating_sub(sx));
        let h = sh.min(at.h.saturating_sub(sy));
        screen.fill(at.x + sx.min(at.w), at.y + sy.min(at.h), w, h, px);
    }
}
