//! How a session reaches its target: a TCP connection from here (the default), or a stream a
//! [`Dialer`] opens some other way (an SSH tunnel through the front-end). The relay keeps no
//! secret: whoever owns the tunnel's credentials hands the relay a dialer.

use std::future::Future;
use std::hash::{Hash, Hasher};
use std::pin::Pin;
use std::sync::Arc;

use tokio::net::TcpStream;

/// Why a dialer could not reach a target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DialError {
    /// The path worked but the target refused or could not be reached from its end.
    Target(String),
    /// The path itself failed; `path` is a stable name (`ssh_unreachable`, `ssh_auth`,
    /// `ssh_host_key_unknown`, `ssh_host_key_changed`, `ssh_disconnected`…).
    Path {
        /// Which part failed.
        path: &'static str,
        /// In words.
        error: String,
    },
}

/// The future a [`Dialer`] returns.
pub type DialFuture<'a> = Pin<Box<dyn Future<Output = Result<TcpStream, DialError>> + Send + 'a>>;

/// Opens streams to console targets another way than a direct TCP connection. The stream is a
/// loopback TCP socket whose other end the dialer feeds, so the relay pipes every session the
/// same way.
pub trait Dialer: Send + Sync + std::fmt::Debug {
    /// A stream to `host:port` as the far end of the path sees them.
    fn dial<'a>(&'a self, host: &'a str, port: u16) -> DialFuture<'a>;

    /// Names the path in logs and the audit log (`ssh oneadmin@front:22`); never a secret.
    fn describe(&self) -> String;
}

/// A [`Dialer`] as a target carries it: compared and hashed by identity.
#[derive(Clone)]
pub struct Via(pub Arc<dyn Dialer>);

impl std::fmt::Debug for Via {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.describe())
    }
}

impl PartialEq for Via {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for Via {}

impl Hash for Via {
    fn hash<H: Hasher>(&self, state: &mut H) {
        std::ptr::hash(Arc::as_ptr(&self.0).cast::<()>(), state);
    }
}
