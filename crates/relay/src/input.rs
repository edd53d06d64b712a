//! A session's view of its RFB stream: the [`Observer`](crate::rfb::Observer) both pumps feed,
//! when the person at the console last did something (for the input idle timeout), and what of
//! each direction a recording may keep.

use std::sync::{
    Mutex,
    atomic::{AtomicBool, AtomicU64, Ordering},
};

use tokio::time::{Duration, Instant};

use crate::rfb::{ClientEvent, Observer, ServerInit};

/// What a piece of server bytes is, for the recorder.
#[derive(Debug)]
pub(crate) enum ServerPart {
    /// Handshake (or bytes the observer cannot follow): never recorded.
    Handshake,
    /// ServerInit ended inside this piece; the messages start at `from`.
    Init { init: ServerInit, from: usize },
    /// Messages after ServerInit.
    Messages,
}

/// What the viewer did in a piece of client bytes.
#[derive(Debug, Default)]
pub(crate) struct ClientPart {
    /// Inputs decoded, in order.
    pub events: Vec<ClientEvent>,
    /// Clipboard texts completed: full length and the kept bytes.
    pub cut_texts: Vec<(u32, Vec<u8>)>,
    /// The viewer's last SetPixelFormat.
    pub pixel_format: Option<[u8; 16]>,
}

/// Shared by a session's two pumps, which run in one task: the lock is never contended.
#[derive(Debug)]
pub(crate) struct InputWatch {
    observer: Mutex<Observer>,
    server_settled: AtomicBool,
    server_messages: AtomicBool,
    start: Instant,
    /// Milliseconds after `start` of the last input (0: none yet, the session start counts).
    last_input_ms: AtomicU64,
}

impl InputWatch {
    pub fn new() -> Self {
        Self {
            observer: Mutex::new(Observer::new()),
            server_settled: AtomicBool::new(false),
            server_messages: AtomicBool::new(false),
            start: Instant::now(),
            last_input_ms: AtomicU64::new(0),
        }
    }

    fn observer(&self) -> std::sync::MutexGuard<'_, Observer> {
        // The observer is plain data: a panic elsewhere leaves it usable.
        self.observer.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether the server's bytes no longer need watching (so they may be spliced).
    pub fn server_settled(&self) -> bool {
        self.server_settled.load(Ordering::Relaxed)
    }

    /// Bytes the target sent to the client.
    pub fn server(&self, bytes: &[u8]) -> ServerPart {
        if self.server_settled() {
            return if self.server_messages.load(Ordering::Relaxed) {
                ServerPart::Messages
            } else {
                ServerPart::Handshake
            };
        }
        let mut o = self.observer();
        let from = o.server_bytes(bytes);
        if o.server_settled() {
            self.server_messages
                .store(o.server_in_messages(), Ordering::Relaxed);
            self.server_settled.store(true, Ordering::Relaxed);
        }
        match (from, o.server_init()) {
            (Some(from), Some(init)) => ServerPart::Init {
                init: init.clone(),
                from,
            },
            _ => ServerPart::Handshake,
        }
    }

    /// Bytes the client sent to the target; with `out` (a recorded session), what the person
    /// did is collected there and the encodings offered are limited to what the recording's
    /// keyframes can be rebuilt from (rewritten in place).
    pub fn client(&self, bytes: &mut [u8], out: Option<&mut ClientPart>) {
        let mut o = self.observer();
        let active = match out {
            Some(out) => {
                let n = o.client_bytes_restricted(bytes, |e| out.events.push(e));
                out.cut_texts.append(&mut o.take_cut_texts());
                if let Some(pf) = o.take_pixel_format() {
                    out.pixel_format = Some(pf);
                }
                n
            }
            None => {
                let n = o.client_bytes(bytes, |_| {});
                drop(o.take_cut_texts());
                n
            }
        };
        if active > 0 {
            let ms = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX);
            self.last_input_ms.store(ms.max(1), Ordering::Relaxed);
        }
    }

    /// When the last input came (the session start when none has).
    pub fn last_input(&self) -> Instant {
        self.start + Duration::from_millis(self.last_input_ms.load(Ordering::Relaxed))
    }

    /// A note for the recording when the observer could not follow the session (or could not
    /// limit its encodings).
    pub fn opaque_reason(&self) -> Option<String> {
        let o = self.observer();
        match o.phase() {
            crate::rfb::Phase::Opaque(why) => Some(why.clone()),
            _ if o.unrestricted() => {
                Some("an encoding list split across reads could not be limited".to_owned())
            }
            _ => None,
        }
    }
}
