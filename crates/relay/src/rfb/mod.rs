//! An RFB (RFC 6143) observer: follows both directions of a relayed console without changing a
//! byte, to tell what the person at the console did (keys, pointer, clipboard) from what the
//! viewer does on its own (update requests), and where the security exchange lies.
//!
//! It is incremental (bytes arrive in any split) and bounded: it holds at most one fixed-size
//! message header per direction and skips variable parts (cut text, encodings lists) by count,
//! so a hostile peer cannot make it allocate. What it cannot follow (a security type other than
//! None or VNC authentication, an unknown message type) turns it [`Phase::Opaque`]: from then on
//! it reports every client byte as activity, never as a key.

use serde::Serialize;

mod client;
mod hextile;
pub mod keysym;
mod layouts;
pub mod screen;
pub mod server;
pub mod typing;
mod viewer;

pub use screen::{PixelFormat, Screen};
pub use server::{ServerDecoder, encoding_kept};

/// Security type "None".
pub const SECURITY_NONE: u8 = 1;
/// Security type "VNC Authentication" (DES challenge and response).
pub const SECURITY_VNC: u8 = 2;
/// Desktop names longer than this are cut (the rest is skipped, not stored).
pub const MAX_DESKTOP_NAME: usize = 256;
/// The longest fixed part this observer buffers (a QEMU extended key event is 12 bytes; a
/// ServerInit header 24).
const MAX_HEADER: usize = 24;

/// Where the observed session is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "phase", content = "why")]
pub enum Phase {
    /// Version and security exchange; no input yet.
    Handshake,
    /// ServerInit seen and the client's init sent: messages flow.
    Normal,
    /// The server refused the client (no common security type, wrong password).
    Failed,
    /// Something this observer cannot follow; the reason says what.
    Opaque(String),
}

/// Something the person at the console did, decoded from a client message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum ClientEvent {
    /// A KeyEvent, or QEMU's extended key event (which adds the scancode).
    Key {
        /// Pressed (true) or released.
        down: bool,
        /// The X11 keysym.
        keysym: u32,
        /// QEMU's XT scancode, when the viewer sent an extended key event.
        keycode: Option<u32>,
    },
    /// A PointerEvent: the button mask (bit 0 = left) and the position.
    Pointer {
        /// Buttons held, bit 0 left, 1 middle, 2 right, 3/4 wheel.
        buttons: u8,
        /// Column in framebuffer pixels.
        x: u16,
        /// Row in framebuffer pixels.
        y: u16,
    },
    /// ClientCutText: the viewer sent its clipboard (only the length is reported).
    CutText {
        /// Bytes of text (or of extended clipboard data).
        len: u32,
    },
    /// SetDesktopSize: the viewer asked the guest to resize.
    Resize {
        /// Requested width.
        width: u16,
        /// Requested height.
        height: u16,
    },
}

/// What ServerInit said.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct ServerInit {
    /// Framebuffer width.
    pub width: u16,
    /// Framebuffer height.
    pub height: u16,
    /// The server's pixel format (16 bytes, as RFB sends it).
    pub pixel_format: [u8; 16],
    /// The desktop name, lossily decoded and cut at [`MAX_DESKTOP_NAME`] bytes.
    pub name: String,
}

/// A fixed-size accumulator for the part of a message being read.
#[derive(Debug, Default)]
struct Acc {
    buf: [u8; MAX_HEADER],
    have: usize,
}

impl Acc {
    /// Takes bytes from `data` until `need` are held; `Some` with them once complete.
    fn fill<'a>(&'a mut self, data: &mut &[u8], need: usize) -> Option<&'a [u8]> {
        let take = (need - self.have).min(data.len());
        self.buf[self.have..self.have + take].copy_from_slice(&data[..take]);
        self.have += take;
        *data = &data[take..];
        if self.have == need {
            self.have = 0;
            Some(&self.buf[..need])
        } else {
            None
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Version {
    V3_3,
    V3_7,
    V3_8,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Server {
    Version,
    /// Waiting for the client's version before the security part can be read.
    Security,
    Types,
    TypeList(u8),
    /// The client chooses (3.7+).
    AwaitChoice,
    Challenge,
    Result,
    Reason,
    ReasonText(u32),
    InitHeader,
    InitName(u32),
    Messages,
    Done,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Client {
    Version,
    /// 3.3: waiting for the server's decision; 3.7+: the choice byte.
    Choice,
    Response,
    Init,
    Type,
    Fixed(u8, usize),
    Skip(u32),
    /// SetEncodings: this many 4-byte entries left.
    Encodings(u16),
    Done,
}

/// Follows one RFB session in both directions. Feed it the bytes as relayed, in order per
/// direction; the server's bytes must be fed before the client's answer to them (which a relay
/// does by nature).
#[derive(Debug)]
pub struct Observer {
    phase: Phase,
    version: Option<Version>,
    security: Option<u8>,
    server: Server,
    server_acc: Acc,
    client: Client,
    client_acc: Acc,
    init: ServerInit,
    name: Vec<u8>,
    client_init_sent: bool,
    server_init_seen: bool,
    secret_bytes: u64,
    /// Clipboard texts the viewer finished sending: full length and the first
    /// [`MAX_CUT_TEXT`] bytes.
    cut_texts: Vec<(u32, Vec<u8>)>,
    /// The clipboard text being read: its full length and what was kept so far.
    cut: Option<(u32, Vec<u8>)>,
    /// The last SetPixelFormat the viewer sent, until taken.
    pixel_format: Option<[u8; 16]>,
    /// An encoding the recorder cannot decode was offered and could not be rewritten (its
    /// bytes straddled two reads).
    unrestricted: bool,
}

/// Clipboard text is kept up to this many bytes per message (the rest is skipped).
pub const MAX_CUT_TEXT: usize = 64 << 10;

impl Default for Observer {
    fn default() -> Self {
        Self::new()
    }
}

impl Observer {
    /// An observer at the start of a session.
    pub fn new() -> Self {
        Self {
            phase: Phase::Handshake,
            version: None,
            security: None,
            server: Server::Version,
            server_acc: Acc::default(),
            client: Client::Version,
            client_acc: Acc::default(),
            init: ServerInit::default(),
            name: Vec::new(),
            client_init_sent: false,
            server_init_seen: false,
            secret_bytes: 0,
            cut_texts: Vec::new(),
            cut: None,
            pixel_format: None,
            unrestricted: false,
        }
    }

    /// Where the session is.
    pub fn phase(&self) -> &Phase {
        &self.phase
    }

    /// The security type in use, once chosen.
    pub fn security(&self) -> Option<u8> {
        self.security
    }

    /// ServerInit's figures, once seen.
    pub fn server_init(&self) -> Option<&ServerInit> {
        self.server_init_seen.then_some(&self.init)
    }

    /// Whether the server's side needs no more watching (its handshake is over, or the
    /// observer gave up): its bytes may then bypass the observer.
    pub fn server_settled(&self) -> bool {
        matches!(self.server, Server::Messages | Server::Done)
    }

    /// The clipboard texts the viewer finished sending since the last call: full length and
    /// the first [`MAX_CUT_TEXT`] bytes of each.
    pub fn take_cut_texts(&mut self) -> Vec<(u32, Vec<u8>)> {
        std::mem::take(&mut self.cut_texts)
    }

    /// The pixel format the viewer last set (SetPixelFormat), once per message.
    pub fn take_pixel_format(&mut self) -> Option<[u8; 16]> {
        self.pixel_format.take()
    }

    /// Whether the viewer offered an encoding [`Observer::client_bytes_restricted`] could not
    /// rewrite (the server may then send what a recording cannot decode).
    pub fn unrestricted(&self) -> bool {
        self.unrestricted
    }

    /// Whether the server's bytes are RFB messages after ServerInit (what a recording keeps).
    pub fn server_in_messages(&self) -> bool {
        self.server == Server::Messages
    }

    /// Security-exchange bytes seen so far (challenge and response): what a recording must not
    /// hold.
    pub fn secret_bytes(&self) -> u64 {
        self.secret_bytes
    }

    fn opaque(&mut self, why: &str) {
        if !matches!(self.phase, Phase::Opaque(_) | Phase::Failed) {
            self.phase = Phase::Opaque(why.to_owned());
        }
        // Server messages after ServerInit stay readable whatever the viewer sent.
        if self.server != Server::Messages {
            self.server = Server::Done;
        }
        self.client = Client::Done;
    }

    fn failed(&mut self) {
        self.phase = Phase::Failed;
        self.server = Server::Done;
        self.client = Client::Done;
    }

    fn maybe_normal(&mut self) {
        if self.server_init_seen && self.client_init_sent && self.phase == Phase::Handshake {
            self.phase = Phase::Normal;
        }
    }

    /// Bytes from the server (target) to the viewer. Returns where in `data` the messages after
    /// ServerInit begin (0 when they had begun before), `None` while the handshake lasts or
    /// when the observer gave up on the server's side.
    pub fn server_bytes(&mut self, data: &[u8]) -> Option<usize> {
        if self.server == Server::Messages {
            return Some(0);
        }
        let mut rest = data;
        self.feed_server(&mut rest);
        (self.server == Server::Messages).then(|| data.len() - rest.len())
    }

    /// Reads handshake bytes from `data`, leaving it at what follows ServerInit.
    fn feed_server(&mut self, data: &mut &[u8]) {
        while !data.is_empty() {
            match self.server {
                Server::Messages | Server::Done => return,
                Server::Version => {
                    let Some(v) = self.server_acc.fill(data, 12) else {
                        return;
                    };
                    if parse_version(v).is_none() {
                        return self.opaque("the server did not send an RFB version");
                    }
                    self.server = Server::Security;
                }
                Server::Security => match self.version {
                    None => return self.opaque("the server spoke before the viewer's version"),
                    Some(Version::V3_3) => {
                        let Some(t) = self.server_acc.fill(data, 4) else {
                            return;
                        };
                        let t = u32::from_be_bytes([t[0], t[1], t[2], t[3]]);
                        match u8::try_from(t) {
                            Ok(0) => self.server = Server::Reason,
                            Ok(t @ (SECURITY_NONE | SECURITY_VNC)) => {
                                self.security = Some(t);
                                self.server = self.after_choice(t);
                            }
                            _ => return self.opaque("an unsupported security type"),
                        }
                    }
                    Some(_) => self.server = Server::Types,
                },
                Server::Types => {
                    let Some(n) = self.server_acc.fill(data, 1) else {
                        return;
                    };
                    self.server = match n[0] {
                        0 => Server::Reason,
                        n => Server::TypeList(n),
                    };
                }
                Server::TypeList(left) => {
                    let take = usize::from(left).min(data.len());
                    *data = &data[take..];
                    // `take` is at most `left`, a u8.
                    let left = left - take as u8;
                    self.server = if left == 0 {
                        Server::AwaitChoice
                    } else {
                        Server::TypeList(left)
                    };
                }
                Server::AwaitChoice => {
                    return self.opaque("the server spoke before the viewer chose a security type");
                }
                Server::Challenge => {
                    let take = (16 - self.server_acc.have).min(data.len());
                    self.secret_bytes += take as u64;
                    if self.server_acc.fill(data, 16).is_some() {
                        self.server = Server::Result;
                    }
                }
                Server::Result => {
                    let Some(r) = self.server_acc.fill(data, 4) else {
                        return;
                    };
                    if r != [0, 0, 0, 0] {
                        if self.version == Some(Version::V3_8) {
                            self.server = Server::Reason;
                            continue;
                        }
                        return self.failed();
                    }
                    self.server = Server::InitHeader;
                }
                Server::Reason => {
                    let Some(l) = self.server_acc.fill(data, 4) else {
                        return;
                    };
                    self.server = Server::ReasonText(u32::from_be_bytes([l[0], l[1], l[2], l[3]]));
                }
                Server::ReasonText(left) => {
                    let take = usize::try_from(left).unwrap_or(usize::MAX).min(data.len());
                    *data = &data[take..];
                    let left = left - u32::try_from(take).unwrap_or(left);
                    if left == 0 {
                        return self.failed();
                    }
                    self.server = Server::ReasonText(left);
                }
                Server::InitHeader => {
                    let Some(h) = self.server_acc.fill(data, 24) else {
                        return;
                    };
                    self.init.width = u16::from_be_bytes([h[0], h[1]]);
                    self.init.height = u16::from_be_bytes([h[2], h[3]]);
                    self.init.pixel_format.copy_from_slice(&h[4..20]);
                    let len = u32::from_be_bytes([h[20], h[21], h[22], h[23]]);
                    self.server = Server::InitName(len);
                    if len == 0 {
                        self.init_done();
                    }
                }
                Server::InitName(left) => {
                    let take = usize::try_from(left).unwrap_or(usize::MAX).min(data.len());
                    let keep = take.min(MAX_DESKTOP_NAME.saturating_sub(self.name.len()));
                    self.name.extend_from_slice(&data[..keep]);
                    *data = &data[take..];
                    let left = left - u32::try_from(take).unwrap_or(left);
                    self.server = Server::InitName(left);
                    if left == 0 {
                        self.init_done();
                    }
                }
            }
        }
    }

    fn init_done(&mut self) {
        self.init.name = String::from_utf8_lossy(&self.name).into_owned();
        self.name = Vec::new();
        self.server_init_seen = true;
        self.server = Server::Messages;
        self.maybe_normal();
    }

    /// What the server sends after the security type `t` is settled.
    fn after_choice(&self, t: u8) -> Server {
        match (t, self.version) {
            (SECURITY_VNC, _) => Server::Challenge,
            (_, Some(Version::V3_8)) => Server::Result,
            _ => Server::InitHeader,
        }
    }

    /// Bytes from the viewer to the server; `event` gets what the person did, in order.
    /// Returns how many of these bytes are user activity (key, pointer, clipboard, resize; in
    /// an opaque session, every byte).
    pub fn client_bytes(&mut self, data: &[u8], event: impl FnMut(ClientEvent)) -> usize {
        self.client_inner(data, event, None)
    }

    /// [`Observer::client_bytes`] that also rewrites, in place, every encoding in a
    /// SetEncodings message that [`encoding_kept`] refuses into Hextile (5): a recorded session
    /// then only carries what its keyframes can be rebuilt from, and a server that picks the
    /// first encoding it knows (QEMU does) picks the closest stateless one to the viewer's
    /// preference instead of falling back to Raw.
    pub fn client_bytes_restricted(
        &mut self,
        data: &mut [u8],
        event: impl FnMut(ClientEvent),
    ) -> usize {
        let mut patches = Vec::new();
        let active = self.client_inner(data, event, Some(&mut patches));
        for at in patches {
            data[at..at + 4].copy_from_slice(&5i32.to_be_bytes());
        }
        active
    }
}

fn parse_version(v: &[u8]) -> Option<Version> {
    if !v.starts_with(b"RFB ") || v[7] != b'.' || v[11] != b'\n' {
        return None;
    }
    let num = |s: &[u8]| -> Option<u32> { std::str::from_utf8(s).ok()?.parse().ok() };
    let major = num(&v[4..7])?;
    let minor = num(&v[8..11])?;
    // RFC 6143 §7.1.1: other 3.x minors are treated as 3.3; Apple's 3.889 speaks 3.8.
    Some(match (major, minor) {
        (3, 7) => Version::V3_7,
        (3, 8..) => Version::V3_8,
        (3, _) => Version::V3_3,
        _ if major > 3 => Version::V3_8,
        _ => return None,
    })
}

#[cfg(test)]
mod decode_tests;
#[cfg(test)]
mod tests;
