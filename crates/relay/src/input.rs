//! A session's view of its RFB stream: the [`Observer`](crate::rfb::Observer) both pumps feed,
//! and when the person at the console last did something (for the input idle timeout).

use std::sync::{
    Mutex,
    atomic::{AtomicBool, AtomicU64, Ordering},
};

use tokio::time::{Duration, Instant};

use crate::rfb::{ClientEvent, Observer};

/// Shared by a session's two pumps, which run in one task: the lock is never contended.
#[derive(Debug)]
pub(crate) struct InputWatch {
    observer: Mutex<Observer>,
    server_settled: AtomicBool,
    start: Instant,
    /// Milliseconds after `start` of the last input (0: none yet, the session start counts).
    last_input_ms: AtomicU64,
}

impl InputWatch {
    pub fn new() -> Self {
        Self {
            observer: Mutex::new(Observer::new()),
            server_settled: AtomicBool::new(false),
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
    pub fn server(&self, bytes: &[u8]) {
        if self.server_settled() {
            return;
        }
        let mut o = self.observer();
        o.server_bytes(bytes);
        if o.server_settled() {
            self.server_settled.store(true, Ordering::Relaxed);
        }
    }

    /// Bytes the client sent to the target; `event` gets each input decoded from them.
    pub fn client(&self, bytes: &[u8], event: impl FnMut(ClientEvent)) {
        let active = self.observer().client_bytes(bytes, event);
        if active > 0 {
            let ms = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX);
            self.last_input_ms.store(ms.max(1), Ordering::Relaxed);
        }
    }

    /// When the last input came (the session start when none has).
    pub fn last_input(&self) -> Instant {
        self.start + Duration::from_millis(self.last_input_ms.load(Ordering::Relaxed))
    }
}
