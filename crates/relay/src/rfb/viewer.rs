//! The observer's viewer side: client messages by type, what the person did, SetPixelFormat,
//! and (in a recorded session) the SetEncodings rewrite.

use super::client::{Message, fixed_len, message};
use super::{
    Client, ClientEvent, MAX_CUT_TEXT, MAX_HEADER, Observer, Phase, SECURITY_NONE, SECURITY_VNC,
    Server, Version, encoding_kept, parse_version,
};

impl Observer {
    pub(super) fn client_inner(
        &mut self,
        all: &[u8],
        mut event: impl FnMut(ClientEvent),
        mut patches: Option<&mut Vec<usize>>,
    ) -> usize {
        let mut data = all;
        let mut active = 0;
        while !data.is_empty() {
            match self.client {
                Client::Done => {
                    if matches!(self.phase, Phase::Opaque(_)) {
                        active += data.len();
                    }
                    return active;
                }
                Client::Version => {
                    let Some(v) = self.client_acc.fill(&mut data, 12) else {
                        continue;
                    };
                    match parse_version(v) {
                        Some(v) => self.version = Some(v),
                        None => {
                            self.opaque("the viewer did not send an RFB version");
                            continue;
                        }
                    }
                    self.client = Client::Choice;
                }
                Client::Choice => match self.version {
                    Some(Version::V3_3) => match self.security {
                        Some(SECURITY_VNC) => self.client = Client::Response,
                        Some(_) => self.client = Client::Init,
                        None => self.opaque("the viewer spoke before the server chose security"),
                    },
                    _ => {
                        if self.server != Server::AwaitChoice {
                            self.opaque("the viewer chose before the server offered");
                            continue;
                        }
                        let Some(c) = self.client_acc.fill(&mut data, 1) else {
                            continue;
                        };
                        let c = c[0];
                        if c != SECURITY_NONE && c != SECURITY_VNC {
                            self.opaque("an unsupported security type");
                            continue;
                        }
                        self.security = Some(c);
                        self.server = self.after_choice(c);
                        self.client = if c == SECURITY_VNC {
                            Client::Response
                        } else {
                            Client::Init
                        };
                    }
                },
                Client::Response => {
                    let take = (16 - self.client_acc.have).min(data.len());
                    self.secret_bytes += take as u64;
                    if self.client_acc.fill(&mut data, 16).is_some() {
                        self.client = Client::Init;
                    }
                }
                Client::Init => {
                    if self.client_acc.fill(&mut data, 1).is_some() {
                        self.client_init_sent = true;
                        self.client = Client::Type;
                        self.maybe_normal();
                    }
                }
                Client::Type => {
                    let t = data[0];
                    let Some(len) = fixed_len(t) else {
                        self.opaque(&format!("client message type {t}"));
                        continue;
                    };
                    self.client = Client::Fixed(t, len);
                }
                Client::Fixed(t, len) => {
                    let Some(m) = self.client_acc.fill(&mut data, len) else {
                        continue;
                    };
                    let mut m2 = [0u8; MAX_HEADER];
                    m2[..len].copy_from_slice(m);
                    let m = &m2[..len];
                    self.client = Client::Type;
                    if t == 0 {
                        let mut pf = [0u8; 16];
                        pf.copy_from_slice(&m[4..20]);
                        self.pixel_format = Some(pf);
                    }
                    if t == 2 {
                        let n = u16::from_be_bytes([m[2], m[3]]);
                        if n > 0 {
                            self.client = Client::Encodings(n);
                        }
                        continue;
                    }
                    match message(t, m) {
                        Message::Event(e, skip) => {
                            active += len;
                            event(e);
                            if let ClientEvent::CutText { len } = e {
                                self.cut = Some((len, Vec::new()));
                                if len == 0 {
                                    self.finish_cut();
                                }
                            }
                            if skip > 0 {
                                self.client = Client::Skip(skip);
                            }
                        }
                        Message::Plain(skip) => {
                            if skip > 0 {
                                self.client = Client::Skip(skip);
                            }
                        }
                        Message::Sub(total) => {
                            // The bytes read so far stay in the accumulator: read on to `total`.
                            self.client_acc.have = len;
                            self.client = Client::Fixed(t, total);
                        }
                        Message::Unknown => self.opaque(&format!("client message {t}/{}", m[1])),
                    }
                }
                Client::Encodings(left) => {
                    let whole = self.client_acc.have == 0 && data.len() >= 4;
                    let at = all.len() - data.len();
                    let Some(e) = self.client_acc.fill(&mut data, 4) else {
                        continue;
                    };
                    let e = i32::from_be_bytes([e[0], e[1], e[2], e[3]]);
                    if let Some(patches) = patches.as_deref_mut()
                        && !encoding_kept(e)
                    {
                        if whole {
                            patches.push(at);
                        } else {
                            self.unrestricted = true;
                        }
                    }
                    self.client = if left == 1 {
                        Client::Type
                    } else {
                        Client::Encodings(left - 1)
                    };
                }
                Client::Skip(left) => {
                    let take = usize::try_from(left).unwrap_or(usize::MAX).min(data.len());
                    if let Some((_, kept)) = &mut self.cut {
                        let room = MAX_CUT_TEXT.saturating_sub(kept.len()).min(take);
                        kept.extend_from_slice(&data[..room]);
                    }
                    data = &data[take..];
                    let left = left - u32::try_from(take).unwrap_or(left);
                    self.client = if left == 0 {
                        self.finish_cut();
                        Client::Type
                    } else {
                        Client::Skip(left)
                    };
                }
            }
        }
        active
    }

    fn finish_cut(&mut self) {
        if let Some(cut) = self.cut.take() {
            self.cut_texts.push(cut);
        }
    }
}
