//! Console screenshots: the window hands over the PNG its canvas encoded; this checks it is one
//! (bounded), names it, writes it (0600: a console's screen may show anything) or decodes it for
//! the clipboard. The shell asks the user where to save it; a window never picks a path.

use std::io::Write;
use std::path::Path;

use crate::error::{Error, Result};

/// A screenshot is at most this large (a 4096×4096 screen compresses far below).
pub const MAX_SCREENSHOT_BYTES: usize = 64 << 20;
/// Screens larger than this on a side are refused.
pub const MAX_SCREENSHOT_SIDE: u32 = 16_384;

const SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1a, b'\n'];

fn invalid(reason: impl Into<String>) -> Error {
    Error::InvalidInput {
        field: "screenshot",
        reason: reason.into(),
    }
}

/// The width and height of a PNG, after checking its signature, header and bounds.
///
/// # Errors
/// `invalidInput` for anything that is not a PNG within the bounds.
pub fn png_size(png: &[u8]) -> Result<(u32, u32)> {
    if png.len() > MAX_SCREENSHOT_BYTES {
        return Err(invalid(format!("{} bytes", png.len())));
    }
    if png.len() < 24 || png[..8] != SIGNATURE || &png[12..16] != b"IHDR" {
        return Err(invalid("not a PNG image"));
    }
    let w = u32::from_be_bytes([png[16], png[17], png[18], png[19]]);
    let h = u32::from_be_bytes([png[20], png[21], png[22], png[23]]);
    if w == 0 || h == 0 || w > MAX_SCREENSHOT_SIDE || h > MAX_SCREENSHOT_SIDE {
        return Err(invalid(format!("a {w}×{h} image")));
    }
    Ok((w, h))
}

/// The PNG as 8-bit RGBA, for the clipboard: width, height, pixels.
///
/// # Errors
/// `invalidInput` for a PNG that does not decode within the bounds.
pub fn png_rgba(png: &[u8]) -> Result<(u32, u32, Vec<u8>)> {
    png_size(png)?;
    let mut decoder = png::Decoder::new_with_limits(
        std::io::Cursor::new(png),
        png::Limits {
            bytes: 4 * (MAX_SCREENSHOT_SIDE as usize).pow(2) / 16,
        },
    );
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::ALPHA);
    let mut reader = decoder.read_info().map_err(|e| invalid(e.to_string()))?;
    let mut buf = vec![
        0;
        reader
            .output_buffer_size()
            .ok_or_else(|| invalid("too large"))?
    ];
    let info = reader
        .next_frame(&mut buf)
        .map_err(|e| invalid(e.to_string()))?;
    buf.truncate(info.buffer_size());
    let rgba = match info.color_type {
        png::ColorType::Rgba => buf,
        png::ColorType::GrayscaleAlpha => buf
            .chunks_exact(2)
            .flat_map(|p| [p[0], p[0], p[0], p[1]])
            .collect(),
        other => return Err(invalid(format!("{other:?} pixels"))),
    };
    Ok((info.width, info.height, rgba))
}

/// A file name for a screenshot of `vm_name` taken at `when` (`YYYY-MM-DD HH-MM-SS`), with
/// what a file system cannot take replaced.
pub fn screenshot_name(vm_name: &str, when: &str) -> String {
    let when: String = when
        .chars()
        .filter(|c| c.is_ascii_digit() || *c == '-' || *c == ' ')
        .take(32)
        .collect();
    let safe: String = vm_name
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || "-_. ".contains(c) {
                c
            } else {
                '_'
            }
        })
        .take(64)
        .collect();
    let safe = safe.trim_matches(|c: char| c == '.' || c == ' ');
    let safe = if safe.is_empty() { "console" } else { safe };
    format!("{safe} {}.png", when.trim())
}

/// Writes the PNG to `path`, created 0600 (replacing a file the user chose to overwrite).
///
/// # Errors
/// `invalidInput` for a non-PNG; `storage` with the OS's words when it cannot be written.
pub fn write_png(path: &Path, png: &[u8]) -> Result<()> {
    png_size(png)?;
    let mut options = std::fs::File::options();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let file_error = |source| Error::File {
        path: path.to_owned(),
        source,
    };
    let mut f = options.open(path).map_err(file_error)?;
    f.write_all(png).map_err(file_error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(w: u32, h: u32) -> Vec<u8> {
        let mut out = Vec::new();
        {
            let mut e = png::Encoder::new(&mut out, w, h);
            e.set_color(png::ColorType::Rgba);
            let mut wr = e.write_header().expect("header");
            let px: Vec<u8> = (0..w * h).flat_map(|i| [i as u8, 2, 3, 255]).collect();
            wr.write_image_data(&px).expect("data");
        }
        out
    }

    #[test]
    fn pngs_are_checked_decoded_and_written_private() {
        let p = png(5, 3);
        assert_eq!(png_size(&p).expect("a png"), (5, 3));
        let (w, h, rgba) = png_rgba(&p).expect("decodes");
        assert_eq!((w, h, rgba.len()), (5, 3, 60));
        assert_eq!(&rgba[4..8], &[1, 2, 3, 255]);
        assert!(png_size(b"GIF89a not a png at all....").is_err());
        let mut huge = p.clone();
        huge[16..20].copy_from_slice(&20_000u32.to_be_bytes());
        assert!(png_size(&huge).is_err());
        assert!(
            png_rgba(&p[..40]).is_err(),
            "a cut PNG is refused, not a panic"
        );
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("s.png");
        write_png(&path, &p).expect("written");
        assert_eq!(std::fs::read(&path).expect("read"), p);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(write_png(&dir.path().join("x.png"), b"nope").is_err());
        assert!(
            !dir.path().join("x.png").exists(),
            "nothing written for a non-PNG"
        );
    }

    #[test]
    fn names_are_safe_for_any_file_system() {
        assert_eq!(
            screenshot_name("web-01", "2026-12-06 22-35-10"),
            "web-01 2026-12-06 22-35-10.png"
        );
        assert_eq!(
            screenshot_name("a/b\\c:d", "2026-01-01 00-00-00"),
            "a_b_c_d 2026-01-01 00-00-00.png"
        );
        assert_eq!(screenshot_name("..", "2026/../../etc"), "console 2026.png");
    }
}
