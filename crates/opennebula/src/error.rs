//! The one error type of this crate: oned's own error classes, plus what can go wrong around them
//! (network, TLS, XML-RPC faults, malformed replies).

use std::fmt;

/// Result of every fallible operation in this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What oned said when it refused a call: its message (with the `[method]` prefix it adds), its
/// numeric error code and, for NO_EXISTS, the id it could not find.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct OnedError {
    /// oned's message, e.g. `[one.vm.info] Error getting virtual machine [999999].`.
    pub message: String,
    /// oned's error code (256 authentication, 512 authorization, 1024 not found, ...).
    pub code: i32,
    /// The object id oned reports (index 3 of the reply); `None` when it sent -1 or nothing.
    pub object_id: Option<i64>,
}

impl fmt::Display for OnedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (oned error {})", self.message, self.code)
    }
}

/// Where a malformed document broke: the element path, the position and what was wrong.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DecodeError {
    /// Which document was being read, e.g. `VM_POOL document` or `XML-RPC reply`.
    pub document: String,
    /// Element path from the root, e.g. `VM_POOL/VM[2]/TEMPLATE/CPU` (empty before the root).
    pub path: String,
    /// 1-based line inside that document.
    pub line: usize,
    /// 1-based column (in characters) inside that line.
    pub column: usize,
    /// What was wrong there.
    pub reason: String,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = if self.path.is_empty() {
            String::new()
        } else {
            format!(" at <{}>", self.path)
        };
        write!(
            f,
            "malformed {}{} (line {}, column {}): {}",
            self.document, at, self.line, self.column, self.reason
        )
    }
}

/// Why the HTTP exchange failed before oned's answer could be read.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum TransportError {
    /// The endpoint could not be reached (refused, DNS, reset).
    Connect {
        /// The underlying error, as text.
        detail: String,
    },
    /// The call did not complete within the configured timeout.
    Timeout,
    /// The server answered with an HTTP status other than 200 (a proxy's 401, a 502...).
    HttpStatus {
        /// The status code.
        status: u16,
    },
    /// The reply is not XML: an HTML login page of a proxy, or something else entirely.
    NotXml {
        /// The reply's `Content-Type`, if any.
        content_type: String,
        /// The start of the body, to show the user what came back.
        snippet: String,
    },
    /// The reply is larger than the endpoint's `max_reply_bytes`.
    TooLarge {
        /// The configured limit in bytes.
        limit: u64,
    },
    /// Any other I/O or protocol failure.
    Other {
        /// The underlying error, as text.
        detail: String,
    },
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Connect { detail } => write!(f, "cannot reach the endpoint: {detail}"),
            Self::Timeout => f.write_str("the endpoint did not answer in time"),
            Self::HttpStatus { status } => write!(f, "the endpoint answered HTTP {status}"),
            Self::NotXml {
                content_type,
                snippet,
            } => write!(
                f,
                "the endpoint did not answer with XML-RPC (Content-Type {content_type:?}, starts with {snippet:?}); is the URL the /RPC2 endpoint?"
            ),
            Self::TooLarge { limit } => write!(
                f,
                "the reply is larger than the limit of {limit} bytes; page the pool or raise the endpoint's max reply size"
            ),
            Self::Other { detail } => write!(f, "transport error: {detail}"),
        }
    }
}

/// Every failure of this crate. oned's classes carry its own message and code.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// 256: wrong user or password, revoked or expired token.
    #[error("authentication failed: {0}")]
    Authentication(OnedError),
    /// 512: not allowed by ACLs or permissions; quota overruns also come back as this.
    #[error("not authorized: {0}")]
    Authorization(OnedError),
    /// 1024: the object does not exist (or is not visible).
    #[error("not found: {0}")]
    NoExists(OnedError),
    /// 2048: the action is not possible in the object's current state.
    #[error("action refused: {0}")]
    Action(OnedError),
    /// 4096: a parameter value was rejected (a client bug or a version mismatch).
    #[error("bad request: {0}")]
    RpcApi(OnedError),
    /// 8192: oned's internal error (database, HA election: retry later).
    #[error("OpenNebula internal error: {0}")]
    Internal(OnedError),
    /// 16384: the object could not be allocated (bad template, name taken).
    #[error("allocation failed: {0}")]
    Allocate(OnedError),
    /// 32768: the object is locked.
    #[error("locked: {0}")]
    Locked(OnedError),
    /// 65536: the HA log could not be replicated (retry later).
    #[error("replication failed: {0}")]
    Replication(OnedError),
    /// A failure reply with a code this crate does not know.
    #[error("OpenNebula error: {0}")]
    Other(OnedError),
    /// An XML-RPC fault from xmlrpc-c: -501 wrong/missing parameters, -506 unknown method.
    #[error("XML-RPC fault {code}: {message} (client and server versions may not match)")]
    Fault {
        /// The fault code.
        code: i32,
        /// The fault string.
        message: String,
    },
    /// The HTTP exchange failed.
    #[error("{0}")]
    Transport(TransportError),
    /// The TLS handshake failed; `fingerprint` is the SHA-256 of the certificate the server
    /// presented, so the user can compare and pin it.
    #[error("TLS handshake failed: {reason}{}", fingerprint.map(|f| format!(" (server certificate SHA-256 {f})")).unwrap_or_default())]
    Tls {
        /// Why the handshake failed.
        reason: String,
        /// The presented end-entity certificate's SHA-256, when one was presented.
        fingerprint: Option<crate::Fingerprint>,
    },
    /// The reply or document is not what oned sends.
    #[error("{0}")]
    Decode(DecodeError),
    /// The endpoint configuration cannot be used (bad URL, unreadable CA bundle...).
    #[error("invalid endpoint configuration: {0}")]
    Config(String),
}

impl Error {
    /// Builds the typed error of a failure reply from oned's code.
    pub fn from_oned(code: i32, message: String, object_id: Option<i64>) -> Self {
        let e = OnedError {
            message,
            code,
            object_id,
        };
        match code {
            0x0100 => Self::Authentication(e),
            0x0200 => Self::Authorization(e),
            0x0400 => Self::NoExists(e),
            0x0800 => Self::Action(e),
            0x1000 => Self::RpcApi(e),
            0x2000 => Self::Internal(e),
            0x4000 => Self::Allocate(e),
            0x8000 => Self::Locked(e),
            0x10000 => Self::Replication(e),
            _ => Self::Other(e),
        }
    }

    /// oned's part of the error (message and code), for the oned classes.
    pub fn oned(&self) -> Option<&OnedError> {
        match self {
            Self::Authentication(e)
            | Self::Authorization(e)
            | Self::NoExists(e)
            | Self::Action(e)
            | Self::RpcApi(e)
            | Self::Internal(e)
            | Self::Allocate(e)
            | Self::Locked(e)
            | Self::Replication(e)
            | Self::Other(e) => Some(e),
            _ => None,
        }
    }

    /// The numeric code: oned's error code or the XML-RPC fault code.
    pub fn code(&self) -> Option<i32> {
        match self {
            Self::Fault { code, .. } => Some(*code),
            other => other.oned().map(|e| e.code),
        }
    }

    /// A stable camelCase name of the class, for the UI to branch on.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Authentication(_) => "authentication",
            Self::Authorization(_) => "authorization",
            Self::NoExists(_) => "notFound",
            Self::Action(_) => "wrongState",
            Self::RpcApi(_) => "badRequest",
            Self::Internal(_) => "internal",
            Self::Allocate(_) => "allocate",
            Self::Locked(_) => "locked",
            Self::Replication(_) => "replication",
            Self::Other(_) => "oned",
            Self::Fault { .. } => "fault",
            Self::Transport(TransportError::Timeout) => "timeout",
            Self::Transport(_) => "network",
            Self::Tls { .. } => "tls",
            Self::Decode(_) => "malformedReply",
            Self::Config(_) => "config",
        }
    }

    /// True when the same call may succeed if tried again later: network trouble, timeouts, and
    /// oned's INTERNAL/REPLICATION errors (HA elections, API.md §1.1).
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Self::Internal(_)
                | Self::Replication(_)
                | Self::Transport(
                    TransportError::Connect { .. }
                        | TransportError::Timeout
                        | TransportError::Other { .. }
                )
        )
    }

    /// True when the credentials are wrong and the user must sign in again.
    pub fn is_authentication(&self) -> bool {
        matches!(self, Self::Authentication(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_oned_code_maps_to_its_class() {
        let cases = [
            (256, "authentication"),
            (512, "authorization"),
            (1024, "notFound"),
            (2048, "wrongState"),
            (4096, "badRequest"),
            (8192, "internal"),
            (16384, "allocate"),
            (32768, "locked"),
            (65536, "replication"),
            (7, "oned"),
        ];
        for (code, kind) in cases {
            let e = Error::from_oned(code, format!("msg {code}"), None);
            assert_eq!(e.kind(), kind, "code {code}");
            assert_eq!(e.code(), Some(code));
            assert_eq!(
                e.oned().map(|o| o.message.as_str()),
                Some(format!("msg {code}").as_str())
            );
        }
    }

    #[test]
    fn only_transient_errors_are_retryable() {
        assert!(Error::from_oned(8192, "election".into(), None).is_retryable());
        assert!(Error::Transport(TransportError::Timeout).is_retryable());
        assert!(!Error::from_oned(256, "bad password".into(), None).is_retryable());
        assert!(!Error::Transport(TransportError::HttpStatus { status: 401 }).is_retryable());
    }
}
