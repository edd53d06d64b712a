//! A small RFB (VNC) server: versions 3.3/3.7/3.8, security None or VNC authentication (DES
//! challenge), Raw encoding in any true-colour pixel format the client sets. It draws a text
//! console with the VM's name and echoes typed keys, so end-to-end tests can check keystrokes.

use std::sync::Arc;

use des::cipher::generic_array::GenericArray;
use des::cipher::{BlockEncrypt, KeyInit};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

pub use crate::screen::{HEIGHT, MAX_TYPED, Screen, WIDTH};

/// Time a client has to finish the handshake (version, security, ClientInit): a client that
/// connects and stays silent is dropped rather than holding a session open for ever. Generous,
/// because a viewer may hold the handshake open while a person types the VNC password.
pub const HANDSHAKE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(120);

/// A client's pixel format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PixelFormat {
    /// Bits per pixel (8, 16 or 32).
    pub bpp: u8,
    /// Depth.
    pub depth: u8,
    /// Big-endian pixels.
    pub big_endian: bool,
    /// True colour (the only mode served).
    pub true_colour: bool,
    /// Channel maxima.
    pub max: [u16; 3],
    /// Channel shifts.
    pub shift: [u8; 3],
}

impl PixelFormat {
    /// The server's native format: 32 bpp, depth 24, little-endian, 8 bits per channel.
    pub const NATIVE: Self = Self {
        bpp: 32,
        depth: 24,
        big_endian: false,
        true_colour: true,
        max: [255, 255, 255],
        shift: [16, 8, 0],
    };

    fn to_bytes(self) -> [u8; 16] {
        let mut b = [0u8; 16];
        b[0] = self.bpp;
        b[1] = self.depth;
        b[2] = u8::from(self.big_endian);
        b[3] = u8::from(self.true_colour);
        b[4..6].copy_from_slice(&self.max[0].to_be_bytes());
        b[6..8].copy_from_slice(&self.max[1].to_be_bytes());
        b[8..10].copy_from_slice(&self.max[2].to_be_bytes());
        b[10] = self.shift[0];
        b[11] = self.shift[1];
        b[12] = self.shift[2];
        b
    }

    fn from_bytes(b: &[u8; 16]) -> Self {
        Self {
            bpp: b[0],
            depth: b[1],
            big_endian: b[2] != 0,
            true_colour: b[3] != 0,
            max: [
                u16::from_be_bytes([b[4], b[5]]),
                u16::from_be_bytes([b[6], b[7]]),
                u16::from_be_bytes([b[8], b[9]]),
            ],
            shift: [b[10], b[11], b[12]],
        }
    }

    /// Encodes 0x00RRGGBB pixels in this format.
    pub fn encode(&self, px: &[u32], out: &mut Vec<u8>) {
        let bytes = usize::from(self.bpp / 8).max(1);
        out.reserve(px.len() * bytes);
        for &p in px {
            let ch = |v: u32, i: usize| (v * u32::from(self.max[i]) / 255) << self.shift[i];
            let v = ch((p >> 16) & 0xff, 0) | ch((p >> 8) & 0xff, 1) | ch(p & 0xff, 2);
            match (bytes, self.big_endian) {
                (1, _) => out.push(v as u8),
                (2, false) => out.extend_from_slice(&(v as u16).to_le_bytes()),
                (2, true) => out.extend_from_slice(&(v as u16).to_be_bytes()),
                (_, false) => out.extend_from_slice(&v.to_le_bytes()),
                (_, true) => out.extend_from_slice(&v.to_be_bytes()),
            }
        }
    }
}

/// The DES key VNC derives from a password: 8 bytes, zero-padded, each byte bit-reversed.
pub fn vnc_key(password: &str) -> [u8; 8] {
    let mut key = [0u8; 8];
    for (k, b) in key.iter_mut().zip(password.bytes()) {
        *k = b.reverse_bits();
    }
    key
}

/// The response a client sends to `challenge` for `password` (DES-ECB of both halves).
pub fn vnc_response(password: &str, challenge: &[u8; 16]) -> [u8; 16] {
    let cipher = des::Des::new(GenericArray::from_slice(&vnc_key(password)));
    let mut out = *challenge;
    for half in out.chunks_mut(8) {
        cipher.encrypt_block(GenericArray::from_mut_slice(half));
    }
    out
}

/// Why a session ended early.
#[derive(Debug, thiserror::Error)]
pub enum RfbError {
    /// Socket error or the client went away.
    #[error("connection: {0}")]
    Io(#[from] std::io::Error),
    /// The client spoke something else.
    #[error("protocol: {0}")]
    Protocol(String),
}

/// Serves one client on `stream` until it disconnects.
pub async fn serve<S>(
    mut stream: S,
    screen: Arc<Screen>,
    desktop: &str,
    password: Option<&str>,
) -> Result<(), RfbError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    // Everything up to ServerInit is bounded in time (the session loop after it is not: a
    // viewer may sit idle for hours).
    let handshake = async {
        stream.write_all(b"RFB 003.008\n").await?;
        let mut ver = [0u8; 12];
        stream.read_exact(&mut ver).await?;
        let minor = match &ver {
            b"RFB 003.003\n" => 3,
            b"RFB 003.007\n" => 7,
            b"RFB 003.008\n" | b"RFB 003.889\n" => 8,
            v if v.starts_with(b"RFB 003.") => 8,
            _ => return Err(RfbError::Protocol("not an RFB client".into())),
        };
        let sec: u8 = if password.is_some() { 2 } else { 1 };
        if minor == 3 {
            stream.write_all(&u32::from(sec).to_be_bytes()).await?;
        } else {
            stream.write_all(&[1, sec]).await?;
            let mut chosen = [0u8; 1];
            stream.read_exact(&mut chosen).await?;
            if chosen[0] != sec {
                if minor == 8 {
                    fail(&mut stream, "Security type not offered").await?;
                }
                return Err(RfbError::Protocol(
                    "client chose another security type".into(),
                ));
            }
        }
        if let Some(pw) = password {
            let challenge: [u8; 16] = rand::random();
            stream.write_all(&challenge).await?;
            let mut resp = [0u8; 16];
            stream.read_exact(&mut resp).await?;
            if resp != vnc_response(pw, &challenge) {
                if minor == 8 {
                    fail(&mut stream, "Authentication failed").await?;
                } else {
                    stream.write_all(&1u32.to_be_bytes()).await?;
                }
                return Err(RfbError::Protocol("wrong VNC password".into()));
            }
            stream.write_all(&0u32.to_be_bytes()).await?;
        } else if minor == 8 {
            stream.write_all(&0u32.to_be_bytes()).await?;
        }
        let mut shared = [0u8; 1];
        stream.read_exact(&mut shared).await?;
        let mut init = Vec::with_capacity(24 + desktop.len());
        let (width, height) = screen.size();
        init.extend_from_slice(&width.to_be_bytes());
        init.extend_from_slice(&height.to_be_bytes());
        init.extend_from_slice(&PixelFormat::NATIVE.to_bytes());
        init.extend_from_slice(&(desktop.len() as u32).to_be_bytes());
        init.extend_from_slice(desktop.as_bytes());
        stream.write_all(&init).await?;
        Ok::<(), RfbError>(())
    };
    match tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake).await {
        Ok(done) => done?,
        Err(_) => {
            return Err(RfbError::Protocol(format!(
                "no complete handshake within {} s",
                HANDSHAKE_TIMEOUT.as_secs()
            )));
        }
    }

    let mut pf = PixelFormat::NATIVE;
    let mut changes = screen.subscribe();
    let mut clips = screen.clipboard_to_viewers();
    clips.mark_unchanged();
    let mut sent_version: Option<u64> = None;
    let mut pending = false;
    // The size this viewer knows, and whether it speaks ExtendedDesktopSize / DesktopSize.
    let mut view = View {
        size: screen.size(),
        extended: false,
        desktop_size: false,
        announced: false,
    };
    loop {
        tokio::select! {
            msg = read_u8(&mut stream) => {
                let Some(kind) = msg? else { return Ok(()) };
                match kind {
                    0 => {
                        let mut b = [0u8; 19];
                        stream.read_exact(&mut b).await?;
                        let mut f = [0u8; 16];
                        f.copy_from_slice(&b[3..19]);
                        let new = PixelFormat::from_bytes(&f);
                        if !new.true_colour || ![8, 16, 32].contains(&new.bpp) {
                            return Err(RfbError::Protocol("only true-colour 8/16/32 bpp is served".into()));
                        }
                        pf = new;
                        sent_version = None;
                    }
                    2 => {
                        let mut b = [0u8; 3];
                        stream.read_exact(&mut b).await?;
                        let n = u16::from_be_bytes([b[1], b[2]]) as usize;
                        let mut list = vec![0u8; n * 4];
                        stream.read_exact(&mut list).await?;
                        let encodings: Vec<i32> = list
                            .chunks_exact(4)
                            .map(|c| i32::from_be_bytes([c[0], c[1], c[2], c[3]]))
                            .collect();
                        view.extended = encodings.contains(&EXTENDED_DESKTOP_SIZE);
                        view.desktop_size = encodings.contains(&DESKTOP_SIZE);
                    }
                    3 => {
                        let mut b = [0u8; 9];
                        stream.read_exact(&mut b).await?;
                        let incremental = b[0] != 0;
                        let current = *changes.borrow_and_update();
                        if !incremental || sent_version != Some(current) {
                            send_frame(&mut stream, &screen, &pf, &mut view).await?;
                            sent_version = Some(current);
                            pending = false;
                        } else {
                            pending = true;
                        }
                    }
                    4 => {
                        let mut b = [0u8; 7];
                        stream.read_exact(&mut b).await?;
                        screen.key_event(u32::from_be_bytes([b[3], b[4], b[5], b[6]]), b[0] != 0);
                    }
                    5 => {
                        let mut b = [0u8; 5];
                        stream.read_exact(&mut b).await?;
                    }
                    6 => {
                        let mut b = [0u8; 7];
                        stream.read_exact(&mut b).await?;
                        let n = u32::from_be_bytes([b[3], b[4], b[5], b[6]]) as usize;
                        if n > 1 << 20 {
                            return Err(RfbError::Protocol("cut text too long".into()));
                        }
                        let mut text = vec![0u8; n];
                        stream.read_exact(&mut text).await?;
                        screen.viewer_clipboard(&text);
                    }
                    251 => {
                        // SetDesktopSize: padding, width, height, screens, padding, screens × 16.
                        let mut b = [0u8; 7];
                        stream.read_exact(&mut b).await?;
                        let (w, h) = (u16::from_be_bytes([b[1], b[2]]), u16::from_be_bytes([b[3], b[4]]));
                        let mut screens = vec![0u8; usize::from(b[5]) * 16];
                        stream.read_exact(&mut screens).await?;
                        // Status 0: done; 3: an invalid screen layout (a size out of bounds).
                        let status = if b[5] >= 1 && screen.set_size(w, h) { 0 } else { 3 };
                        view.size = screen.size();
                        view.announced = true;
                        let mut m = vec![0, 0, 0, 1];
                        extended_desktop_size(&mut m, 1, status, view.size);
                        stream.write_all(&m).await?;
                    }
                    other => return Err(RfbError::Protocol(format!("unknown message type {other}"))),
                }
            }
            clip = clips.changed() => {
                if clip.is_err() {
                    return Ok(());
                }
                // ServerCutText, Latin-1 (what is not is sent as '?').
                let text: Vec<u8> = clips
                    .borrow_and_update()
                    .chars()
                    .map(|c| u8::try_from(u32::from(c)).unwrap_or(b'?'))
                    .collect();
                let mut m = vec![3, 0, 0, 0];
                m.extend_from_slice(&(text.len() as u32).to_be_bytes());
                m.extend_from_slice(&text);
                stream.write_all(&m).await?;
            }
            changed = changes.changed(), if pending => {
                if changed.is_err() {
                    return Ok(());
                }
                let current = *changes.borrow_and_update();
                send_frame(&mut stream, &screen, &pf, &mut view).await?;
                sent_version = Some(current);
                pending = false;
            }
        }
    }
}

async fn read_u8<S: AsyncRead + Unpin>(s: &mut S) -> std::io::Result<Option<u8>> {
    let mut b = [0u8; 1];
    match s.read(&mut b).await? {
        0 => Ok(None),
        _ => Ok(Some(b[0])),
    }
}

async fn fail<S: AsyncWrite + Unpin>(s: &mut S, reason: &str) -> std::io::Result<()> {
    let mut b = Vec::new();
    b.extend_from_slice(&1u32.to_be_bytes());
    b.extend_from_slice(&(reason.len() as u32).to_be_bytes());
    b.extend_from_slice(reason.as_bytes());
    s.write_all(&b).await
}

/// The ExtendedDesktopSize pseudo-encoding (RFB community extension).
const EXTENDED_DESKTOP_SIZE: i32 = -308;
/// The DesktopSize pseudo-encoding.
const DESKTOP_SIZE: i32 = -223;

/// What one viewer knows of the screen's size.
struct View {
    size: (u16, u16),
    extended: bool,
    desktop_size: bool,
    /// An ExtendedDesktopSize rectangle was sent (it tells the viewer resizing is offered).
    announced: bool,
}

/// An ExtendedDesktopSize rectangle: `reason` (0 server, 1 this client, 2 another client) and
/// `status` in x and y, one screen of `size`.
fn extended_desktop_size(out: &mut Vec<u8>, reason: u16, status: u16, size: (u16, u16)) {
    for v in [reason, status, size.0, size.1] {
        out.extend_from_slice(&v.to_be_bytes());
    }
    out.extend_from_slice(&EXTENDED_DESKTOP_SIZE.to_be_bytes());
    out.extend_from_slice(&[1, 0, 0, 0]);
    out.extend_from_slice(&0u32.to_be_bytes());
    out.extend_from_slice(&[0, 0, 0, 0]);
    out.extend_from_slice(&size.0.to_be_bytes());
    out.extend_from_slice(&size.1.to_be_bytes());
    out.extend_from_slice(&0u32.to_be_bytes());
}

async fn send_frame<S: AsyncWrite + Unpin>(
    s: &mut S,
    screen: &Screen,
    pf: &PixelFormat,
    view: &mut View,
) -> std::io::Result<()> {
    let size = screen.size();
    let px = screen.render();
    // A screen of another size than the viewer knows needs a size rectangle first; a viewer that
    // speaks neither pseudo-encoding gets the pixels of the part it knows.
    let (w, h) = if size == view.size || view.extended || view.desktop_size {
        size
    } else {
        view.size
    };
    let mut out = Vec::with_capacity(32 + usize::from(w) * usize::from(h) * 4);
    let resize = size != view.size && (view.extended || view.desktop_size);
    let announce = view.extended && !view.announced;
    out.extend_from_slice(&[0, 0, 0]);
    out.push(1 + u8::from(resize || announce));
    if view.extended && (resize || announce) {
        extended_desktop_size(&mut out, 0, 0, size);
        view.announced = true;
    } else if resize {
        for v in [0, 0, size.0, size.1] {
            out.extend_from_slice(&v.to_be_bytes());
        }
        out.extend_from_slice(&DESKTOP_SIZE.to_be_bytes());
    }
    if resize {
        view.size = size;
    }
    for v in [0, 0, w, h] {
        out.extend_from_slice(&v.to_be_bytes());
    }
    out.extend_from_slice(&0i32.to_be_bytes());
    if (w, h) == size {
        pf.encode(&px, &mut out);
    } else {
        let cut: Vec<u32> = (0..usize::from(h))
            .flat_map(|y| {
                let row = y * usize::from(size.0);
                (0..usize::from(w)).map(move |x| (row, x))
            })
            .map(|(row, x)| {
                if x < usize::from(size.0) {
                    px.get(row + x).copied().unwrap_or(0)
                } else {
                    0
                }
            })
            .collect();
        pf.encode(&cut, &mut out);
    }
    s.write_all(&out).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn des_matches_the_standard_vector() {
        // FIPS test vector: key 133457799BBCDFF1, plaintext 0123456789ABCDEF -> 85E813540F0AB405.
        let key = [0x13, 0x34, 0x57, 0x79, 0x9B, 0xBC, 0xDF, 0xF1];
        let c = des::Des::new(GenericArray::from_slice(&key));
        let mut b = [0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEF];
        c.encrypt_block(GenericArray::from_mut_slice(&mut b));
        assert_eq!(b, [0x85, 0xE8, 0x13, 0x54, 0x0F, 0x0A, 0xB4, 0x05]);
    }

    #[test]
    fn vnc_key_reverses_bits_and_truncates() {
        assert_eq!(vnc_key("a")[0], b'a'.reverse_bits());
        assert_eq!(vnc_key("s3cretpassw0rd"), vnc_key("s3cretpa"));
    }

    #[test]
    fn keys_echo_and_render() {
        let s = Screen::new(3, "alice-run");
        let blank = s.render();
        s.key(u32::from(b'h'));
        s.key(u32::from(b'i'));
        s.key(0xff0d);
        s.key(0xffe1); // shift: ignored
        assert_eq!(s.typed(), "hi\n");
        assert!(s.lines().iter().any(|l| l.ends_with("login: hi")));
        assert_ne!(blank, s.render());
    }

    #[test]
    fn every_key_event_is_logged_and_tab_is_typed() {
        let s = Screen::new(3, "vm");
        for (k, down) in [
            (0xffe3, true),
            (0xff09, true),
            (0xff09, false),
            (0xffe3, false),
        ] {
            s.key_event(k, down);
        }
        assert_eq!(s.key_events(), "d ffe3\nd ff09\nu ff09\nu ffe3\n");
        assert_eq!(s.typed(), "\t");
        for _ in 0..(MAX_TYPED + 10) {
            s.key_event(0x61, false);
        }
        assert_eq!(s.key_events().lines().count(), MAX_TYPED, "bounded");
    }

    /// A client that types for ever must not grow the test hook's record without bound.
    #[test]
    fn typed_keys_are_bounded() {
        let s = Screen::new(1, "vm");
        for _ in 0..(MAX_TYPED + 100) {
            s.key(u32::from(b'k'));
        }
        s.key(u32::from(b'z'));
        let typed = s.typed();
        assert_eq!(typed.len(), MAX_TYPED, "only the newest keys are kept");
        assert!(typed.ends_with("kz"), "the newest key is last");
    }

    /// A client that connects and says nothing is dropped after the handshake timeout, instead
    /// of holding a session (a task and a socket) for ever.
    #[tokio::test(start_paused = true)]
    async fn silent_client_is_dropped_after_the_handshake_timeout() {
        let (server_side, _client) = tokio::io::duplex(1024);
        let session = tokio::spawn(serve(server_side, Screen::new(1, "vm"), "vm", None));
        tokio::time::sleep(HANDSHAKE_TIMEOUT + std::time::Duration::from_secs(1)).await;
        assert!(session.is_finished(), "the silent session is still open");
        let ended = session.await.expect("the session task does not panic");
        assert!(
            matches!(ended, Err(RfbError::Protocol(_))),
            "a timeout is a protocol error: {ended:?}"
        );
    }

    #[test]
    fn encodes_16bpp_big_endian() {
        let pf = PixelFormat {
            bpp: 16,
            depth: 16,
            big_endian: true,
            true_colour: true,
            max: [31, 63, 31],
            shift: [11, 5, 0],
        };
        let mut out = Vec::new();
        pf.encode(&[0x00ff_ffff, 0x0000_00ff], &mut out);
        assert_eq!(out, vec![0xff, 0xff, 0x00, 0x1f]);
    }
}
