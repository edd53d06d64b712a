//! Tickets: single-use, short-lived secrets that bind one WebSocket upgrade to one target.

use std::{
    fmt,
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use base64::Engine as _;
use serde::Serialize;
use subtle::{ConditionallySelectable, ConstantTimeEq};
use tokio::time::Instant;

use crate::guard::TargetGuard;
use crate::{Error, Result};

/// Bytes of randomness in a ticket token (256 bits).
pub const TOKEN_BYTES: usize = 32;

/// How long a used or expired ticket is remembered, so that a late attempt is logged as "used" or
/// "expired" rather than "unknown". Bounds the store's size to what was issued in this window.
const REMEMBER_SPENT: Duration = Duration::from_secs(300);

/// Where a session's TCP connection goes: the hypervisor's VNC endpoint for one VM.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Target {
    /// Host name or IP address of the VNC server.
    pub host: String,
    /// TCP port of the VNC server.
    pub port: u16,
    /// What the host may resolve to ([`TargetGuard::Any`] unless the caller narrows it).
    #[serde(skip)]
    pub guard: TargetGuard,
    /// The path to it when not a direct TCP connection (an SSH tunnel).
    #[serde(skip)]
    pub via: Option<crate::dial::Via>,
}

impl Target {
    /// A target from host and port.
    pub fn new(host: impl Into<String>, port: u16) -> Self {
        Self {
            host: host.into(),
            port,
            guard: TargetGuard::Any,
            via: None,
        }
    }

    /// The same target, reached through `dialer` (its far end resolves the host).
    pub fn via(mut self, dialer: std::sync::Arc<dyn crate::dial::Dialer>) -> Self {
        self.via = Some(crate::dial::Via(dialer));
        self
    }

    /// The same target, dialled only where `guard` allows.
    pub fn guarded(mut self, guard: TargetGuard) -> Self {
        self.guard = guard;
        self
    }
}

impl From<SocketAddr> for Target {
    fn from(addr: SocketAddr) -> Self {
        Self::new(addr.ip().to_string(), addr.port())
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

/// Options of one ticket.
#[derive(Debug, Clone, Default)]
pub struct TicketOptions {
    /// What the session is for, shown in events and the audit log (e.g. `vm 42 (web-1)`). Never
    /// put a secret here.
    pub label: String,
    /// How long the ticket stays usable before its first use; `None` takes the relay's default.
    pub ttl: Option<Duration>,
    /// Record the session (needs a recording directory in the relay's configuration).
    pub record: bool,
}

impl TicketOptions {
    /// Options with this label and the defaults otherwise.
    pub fn labelled(label: impl Into<String>) -> Self {
        Self {
            label: label.into(),
            ..Self::default()
        }
    }
}

/// A ticket's secret token. Its `Debug` is redacted and it does not serialise, so it cannot end up
/// in a log line or an event by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    /// A fresh 256-bit token from the OS CSPRNG, URL-safe base64 without padding (43 characters).
    pub(crate) fn generate() -> Result<Self> {
        let mut raw = [0u8; TOKEN_BYTES];
        getrandom::fill(&mut raw).map_err(|e| Error::Random(e.to_string()))?;
        Ok(Self(
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw),
        ))
    }

    /// The token as it goes into the WebSocket URL. Handle with care: it opens a console.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token([redacted])")
    }
}

/// A ticket handed to the console window: the URL to connect to and what it is for.
#[derive(Clone)]
pub struct Ticket {
    pub(crate) token: Token,
    pub(crate) relay: SocketAddr,
    pub(crate) target: Target,
    pub(crate) label: String,
    pub(crate) ttl: Duration,
}

impl Ticket {
    /// The secret token (give it to the console window over IPC, never in a logged URL).
    pub fn token(&self) -> &Token {
        &self.token
    }

    /// The WebSocket URL noVNC connects to, `ws://127.0.0.1:PORT/?token=…`. It contains the token.
    pub fn ws_url(&self) -> String {
        format!("ws://{}/?token={}", self.relay, self.token.0)
    }

    /// The target the ticket opens.
    pub fn target(&self) -> &Target {
        &self.target
    }

    /// The ticket's label.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// How long the ticket is usable before its first use.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }
}

impl fmt::Debug for Ticket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ticket")
            .field("token", &self.token)
            .field("relay", &self.relay)
            .field("target", &self.target)
            .field("label", &self.label)
            .field("ttl", &self.ttl)
            .finish()
    }
}

/// A reusable token for headless, trusted local use (websockify's TokenFile semantics).
#[derive(Clone, PartialEq, Eq)]
pub struct StaticToken {
    /// The token exactly as it appears in the URL's `token` parameter.
    pub token: String,
    /// Where it leads.
    pub target: Target,
}

impl fmt::Debug for StaticToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StaticToken")
            .field("token", &"[redacted]")
            .field("target", &self.target)
            .finish()
    }
}

/// Why a presented token opened nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketRefusal {
    /// No ticket has this token.
    Unknown,
    /// The ticket's time to live passed before it was used.
    Expired,
    /// The ticket was already used once.
    AlreadyUsed,
}

/// What a redeemed ticket grants.
#[derive(Debug, Clone)]
pub(crate) struct Grant {
    pub target: Target,
    pub label: Arc<str>,
    pub record: bool,
}

#[derive(Debug)]
enum Kind {
    SingleUse { expires_at: Instant, used: bool },
    Reusable,
}

#[derive(Debug)]
struct Entry {
    secret: Box<[u8]>,
    grant: Grant,
    kind: Kind,
}

/// The live tickets. Small (what was issued in the last few minutes plus the token file), so a
/// linear constant-time scan is both simple and free of timing leaks about which token is close.
#[derive(Debug, Default)]
pub(crate) struct TicketStore {
    entries: Mutex<Vec<Entry>>,
}

impl TicketStore {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Entry>> {
        // A panic while holding this lock cannot leave the Vec half-updated (every mutation is
        // one push/retain), so a poisoned lock is still safe to use.
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn insert_single_use(&self, token: &Token, grant: Grant, ttl: Duration, now: Instant) {
        let mut entries = self.lock();
        prune(&mut entries, now);
        entries.push(Entry {
            secret: token.0.as_bytes().into(),
            grant,
            kind: Kind::SingleUse {
                expires_at: now + ttl,
                used: false,
            },
        });
    }

    /// Replaces the reusable tokens; their sessions are recorded when `record` (the relay has a
    /// recording directory).
    pub fn replace_static(&self, tokens: Vec<StaticToken>, record: bool) {
        let mut entries = self.lock();
        entries.retain(|e| !matches!(e.kind, Kind::Reusable));
        entries.extend(tokens.into_iter().map(|t| Entry {
            secret: t.token.into_bytes().into(),
            grant: Grant {
                target: t.target,
                label: Arc::from("token-file"),
                record,
            },
            kind: Kind::Reusable,
        }));
    }

    /// Removes the unused tickets with this label; returns how many.
    pub fn revoke(&self, label: &str) -> usize {
        let mut entries = self.lock();
        let before = entries.len();
        entries.retain(|e| {
            !(matches!(e.kind, Kind::SingleUse { used: false, .. }) && &*e.grant.label == label)
        });
        before - entries.len()
    }

    /// Looks the token up in constant time over all entries and marks a single-use ticket used.
    pub fn redeem(&self, presented: &[u8], now: Instant) -> Result<Grant, TicketRefusal> {
        let mut entries = self.lock();
        prune(&mut entries, now);
        let mut found = u64::MAX;
        for (i, e) in entries.iter().enumerate() {
            // `ct_eq` on slices of different lengths returns false at once: that leaks only the
            // length, which is public (43 characters for issued tickets).
            let eq = e.secret.as_ref().ct_eq(presented);
            found = u64::conditional_select(&found, &(i as u64), eq);
        }
        let Some(entry) = usize::try_from(found).ok().and_then(|i| entries.get_mut(i)) else {
            return Err(TicketRefusal::Unknown);
        };
        match &mut entry.kind {
            Kind::Reusable => Ok(entry.grant.clone()),
            Kind::SingleUse { used: true, .. } => Err(TicketRefusal::AlreadyUsed),
            Kind::SingleUse { expires_at, .. } if now >= *expires_at => Err(TicketRefusal::Expired),
            Kind::SingleUse { used, .. } => {
                *used = true;
                Ok(entry.grant.clone())
            }
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock().len()
    }
}

fn prune(entries: &mut Vec<Entry>, now: Instant) {
    entries.retain(|e| match e.kind {
        Kind::SingleUse { expires_at, .. } => now < expires_at + REMEMBER_SPENT,
        Kind::Reusable => true,
    });
}

/// Takes the `token` query parameter of a request target `/?token=T` or `/websockify?token=T`,
/// percent-decoded. Any other path, a missing or empty token, or a repeated one gives `None`.
pub(crate) fn token_from_path(path_and_query: &str) -> Result<Vec<u8>, PathRefusal> {
    let (path, query) = path_and_query
        .split_once('?')
        .unwrap_or((path_and_query, ""));
    if path != "/" && path != "/websockify" {
        return Err(PathRefusal::NotFound);
    }
    let mut token = None;
    for pair in query.split('&') {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        if key == "token" {
            if token.is_some() {
                return Err(PathRefusal::BadToken);
            }
            token = Some(percent_decode(value).ok_or(PathRefusal::BadToken)?);
        }
    }
    match token {
        Some(t) if !t.is_empty() => Ok(t),
        _ => Err(PathRefusal::BadToken),
    }
}

/// Why a request target carries no usable token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PathRefusal {
    /// The path is neither `/` nor `/websockify`.
    NotFound,
    /// No token, an empty one, a repeated one, or bad percent-encoding.
    BadToken,
}

fn percent_decode(s: &str) -> Option<Vec<u8>> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = bytes.get(i + 1..i + 3)?;
                let hex = std::str::from_utf8(hex).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(label: &str) -> Grant {
        Grant {
            target: Target::new("127.0.0.1", 5901),
            label: Arc::from(label),
            record: false,
        }
    }

    #[test]
    fn tokens_are_256_bit_url_safe_and_distinct() -> Result<()> {
        let a = Token::generate()?;
        let b = Token::generate()?;
        assert_eq!(a.expose().len(), 43, "32 bytes in unpadded base64");
        assert!(
            a.expose()
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        );
        assert_ne!(a, b, "two draws from the CSPRNG must differ");
        assert_eq!(format!("{a:?}"), "Token([redacted])");
        Ok(())
    }

    #[test]
    fn ticket_debug_hides_the_token() -> Result<()> {
        let t = Ticket {
            token: Token::generate()?,
            relay: "127.0.0.1:1"
                .parse()
                .map_err(|_| Error::Config("addr".into()))?,
            target: Target::new("h", 1),
            label: "vm 1".into(),
            ttl: Duration::from_secs(30),
        };
        let dbg = format!("{t:?}");
        assert!(
            !dbg.contains(t.token.expose()),
            "Debug leaked the token: {dbg}"
        );
        assert!(t.ws_url().ends_with(t.token.expose()));
        Ok(())
    }

    #[test]
    fn single_use_then_already_used() -> Result<()> {
        let store = TicketStore::default();
        let now = Instant::now();
        let tok = Token::generate()?;
        store.insert_single_use(&tok, grant("a"), Duration::from_secs(30), now);
        assert!(store.redeem(tok.expose().as_bytes(), now).is_ok());
        assert_eq!(
            store.redeem(tok.expose().as_bytes(), now).err(),
            Some(TicketRefusal::AlreadyUsed)
        );
        Ok(())
    }

    #[test]
    fn expiry_and_unknown() -> Result<()> {
        let store = TicketStore::default();
        let now = Instant::now();
        let tok = Token::generate()?;
        store.insert_single_use(&tok, grant("a"), Duration::from_secs(30), now);
        let later = now + Duration::from_secs(30);
        assert_eq!(
            store.redeem(tok.expose().as_bytes(), later).err(),
            Some(TicketRefusal::Expired)
        );
        assert_eq!(
            store.redeem(b"nope", now).err(),
            Some(TicketRefusal::Unknown)
        );
        let mut prefix = tok.expose().as_bytes().to_vec();
        prefix.pop();
        assert_eq!(
            store.redeem(&prefix, now).err(),
            Some(TicketRefusal::Unknown)
        );
        // Long after, the spent ticket is forgotten: the store does not grow without bound.
        store.redeem(b"x", now + Duration::from_secs(3600)).err();
        assert_eq!(store.len(), 0);
        Ok(())
    }

    #[test]
    fn revoke_removes_unused_tickets_of_a_label() -> Result<()> {
        let store = TicketStore::default();
        let now = Instant::now();
        let (a, b) = (Token::generate()?, Token::generate()?);
        store.insert_single_use(&a, grant("vm 1"), Duration::from_secs(30), now);
        store.insert_single_use(&b, grant("vm 2"), Duration::from_secs(30), now);
        assert_eq!(store.revoke("vm 1"), 1);
        assert_eq!(
            store.redeem(a.expose().as_bytes(), now).err(),
            Some(TicketRefusal::Unknown)
        );
        assert!(store.redeem(b.expose().as_bytes(), now).is_ok());
        Ok(())
    }

    #[test]
    fn static_tokens_are_reusable_and_replaceable() {
        let store = TicketStore::default();
        let now = Instant::now();
        let st = StaticToken {
            token: "rb-down".into(),
            target: Target::new("127.0.0.1", 9),
        };
        store.replace_static(vec![st], true);
        assert!(store.redeem(b"rb-down", now).is_ok());
        assert!(
            store
                .redeem(b"rb-down", now + Duration::from_secs(86_400))
                .is_ok()
        );
        store.replace_static(vec![], true);
        assert_eq!(
            store.redeem(b"rb-down", now).err(),
            Some(TicketRefusal::Unknown)
        );
    }

    #[test]
    fn token_only_from_root_or_websockify_path() {
        assert_eq!(token_from_path("/?token=abc"), Ok(b"abc".to_vec()));
        assert_eq!(
            token_from_path("/websockify?token=abc"),
            Ok(b"abc".to_vec())
        );
        assert_eq!(token_from_path("/?a=1&token=a%2Db"), Ok(b"a-b".to_vec()));
        assert_eq!(token_from_path("/?token=abc%00"), Ok(b"abc\0".to_vec()));
        assert_eq!(
            token_from_path("/other?token=abc"),
            Err(PathRefusal::NotFound)
        );
        assert_eq!(
            token_from_path("//example.com/%2F..?token=abc"),
            Err(PathRefusal::NotFound)
        );
        assert_eq!(
            token_from_path("/../?token=abc"),
            Err(PathRefusal::NotFound)
        );
        assert_eq!(token_from_path("/?tok=abc"), Err(PathRefusal::BadToken));
        assert_eq!(token_from_path("/?token="), Err(PathRefusal::BadToken));
        assert_eq!(token_from_path("/"), Err(PathRefusal::BadToken));
        assert_eq!(
            token_from_path("/?token=a&token=b"),
            Err(PathRefusal::BadToken)
        );
        assert_eq!(token_from_path("/?token=%zz"), Err(PathRefusal::BadToken));
    }
}
