//! The app's own websockify: a loopback WebSocket-to-TCP relay for VNC consoles.
//!
//! It owns the listener on 127.0.0.1, single-use tickets bound to one target, the Origin and Host
//! guards, the piping with bounded buffers, per-session stats and events, and optional session
//! recording (format in docs/RECORDING.md).
//!
//! It leaves to others: deciding which target a VM has (`onedeck-opennebula`), the audit log on
//! disk (`onedeck-store`), the console window itself (the app) and replay (the recording viewer).
//!
//! Rules it keeps (docs/SECURITY.md): tickets are 256-bit, URL-safe, single use, expire
//! after 30 s unused and are compared in constant time; Origin, Host and ticket are checked in the
//! upgrade callback, before the 101 answer and before any target is dialled; a slow or oversized
//! upgrade request is dropped; at most `max_sessions` sessions live at once; each direction holds
//! at most one 64 KiB buffer (on Linux, bulk target-to-client data moves socket to pipe to socket
//! with `splice(2)`, at most 256 KiB per frame, and is never copied into the relay); logs and events name sessions by id,
//! never by token.
//!
//! Headless mode ([`Relay::set_static_tokens`], `onedeck-cli relay --token-file`) accepts
//! websockify's reusable token files: that is for trusted local use (benchmarks, interop tests)
//! only, never for the app.
//!
//! ```no_run
//! # async fn demo() -> onedeck_relay::Result<()> {
//! use onedeck_relay::{Relay, RelayConfig, Target, TicketOptions};
//!
//! let relay = Relay::start(RelayConfig::default()).await?;
//! let mut events = relay.subscribe();
//! let ticket = relay.issue_ticket(Target::new("10.0.0.5", 5905), TicketOptions::labelled("vm 42 (web-1)"))?;
//! // Hand ticket.ws_url() to the console window over IPC; noVNC connects to it once.
//! # let _ = (ticket, events.try_recv());
//! relay.shutdown(std::time::Duration::from_secs(2)).await;
//! # Ok(()) }
//! ```

mod dial;
mod error;
pub mod forward;
mod frame;
#[doc(hidden)]
pub mod fuzzing;
mod guard;
mod handshake;
mod input;
mod origin;
pub mod recording;
mod relay;
pub mod rfb;
mod session;
mod ticket;
mod token_file;
#[cfg(target_os = "linux")]
mod zero_copy;

pub use dial::{DialError, DialFuture, Dialer, Via};
pub use error::{Error, Result};
pub use forward::{Forward, ForwardEnd, ForwardOptions, ForwardStats};
pub use guard::{MIN_GUARDED_PORT, TargetGuard};
pub use handshake::{MAX_REQUEST_BYTES, Rejection};
pub use origin::{DEV_ORIGIN, OriginPolicy, OriginRefusal, TAURI_ORIGINS, host_allowed};
pub use recording::{Record, RecordingMeta, RecordingReader, RecordingSummary};
pub use relay::{
    EVENT_CAPACITY, HANDSHAKE_TIMEOUT, MAX_PENDING_HANDSHAKES, Relay, RelayConfig, ShutdownReport,
};
pub use session::{
    CLOSE_GRACE, EndReason, MAX_BUFFER, MAX_BUFFERED, SessionEvent, SessionId, SessionInfo,
    SessionStats,
};
pub use ticket::{StaticToken, TOKEN_BYTES, Target, Ticket, TicketOptions, TicketRefusal, Token};
pub use token_file::{parse_token_file, read_token_file};
