//! Where to connect and how to authenticate.

use std::path::PathBuf;
use std::time::Duration;

use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::known_hosts::KnownHosts;

/// One SSH host on the way: a jump host or the host that dials the consoles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshHop {
    /// Host name or address.
    pub host: String,
    /// Port (22 by default).
    pub port: u16,
    /// User name.
    pub user: String,
}

impl SshHop {
    /// Parses `[user@]host[:port]` (an IPv6 address in brackets); `default_user` when no user.
    ///
    /// # Errors
    /// [`Error::Destination`] for an empty host, a bad port or a user with spaces.
    pub fn parse(destination: &str, default_user: &str) -> Result<Self> {
        let bad = || Error::Destination(destination.to_owned());
        let (user, rest) = match destination.rsplit_once('@') {
            Some((u, r)) => (u.to_owned(), r),
            None => (default_user.to_owned(), destination),
        };
        let (host, port) = if let Some(inner) = rest.strip_prefix('[') {
            let (h, after) = inner.split_once(']').ok_or_else(bad)?;
            let port = match after.strip_prefix(':') {
                Some(p) => p.parse().map_err(|_| bad())?,
                None if after.is_empty() => 22,
                None => return Err(bad()),
            };
            (h.to_owned(), port)
        } else {
            match rest.rsplit_once(':') {
                Some((h, p)) if !h.contains(':') => (h.to_owned(), p.parse().map_err(|_| bad())?),
                _ => (rest.to_owned(), 22),
            }
        };
        if host.is_empty()
            || port == 0
            || user.is_empty()
            || user.chars().any(|c| c.is_whitespace() || c.is_control())
            || host
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || c == '/')
        {
            return Err(bad());
        }
        Ok(Self { host, port, user })
    }
}

impl std::fmt::Display for SshHop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.host.contains(':') {
            write!(f, "{}@[{}]:{}", self.user, self.host, self.port)
        } else {
            write!(f, "{}@{}:{}", self.user, self.host, self.port)
        }
    }
}

/// How to prove who the user is. Secrets are wiped from memory when dropped.
#[derive(Clone)]
pub enum SshAuth {
    /// The keys of an ssh-agent (`SSH_AUTH_SOCK` when `socket` is `None`).
    Agent {
        /// The agent's socket.
        socket: Option<PathBuf>,
    },
    /// A private key file, with its passphrase if it has one.
    Key {
        /// The key file (OpenSSH or PEM).
        path: PathBuf,
        /// Its passphrase.
        passphrase: Option<Zeroizing<String>>,
    },
    /// A password.
    Password(Zeroizing<String>),
}

impl std::fmt::Debug for SshAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the secret itself.
        match self {
            Self::Agent { socket } => f.debug_struct("Agent").field("socket", socket).finish(),
            Self::Key { path, passphrase } => f
                .debug_struct("Key")
                .field("path", path)
                .field("passphrase", &passphrase.as_ref().map(|_| "…"))
                .finish(),
            Self::Password(_) => f.write_str("Password(…)"),
        }
    }
}

impl SshAuth {
    /// The method's name in messages.
    pub fn method(&self) -> &'static str {
        match self {
            Self::Agent { .. } => "agent",
            Self::Key { .. } => "key",
            Self::Password(_) => "password",
        }
    }
}

/// A path to consoles through SSH.
#[derive(Debug, Clone)]
pub struct SshConfig {
    /// Jump hosts in order, then the host that dials the consoles (at least one).
    pub hops: Vec<SshHop>,
    /// The credentials, used on every hop.
    pub auth: SshAuth,
    /// Where host keys are checked.
    pub known_hosts: KnownHosts,
    /// How long each hop may take to answer and authenticate.
    pub connect_timeout: Duration,
    /// Keepalives on an idle connection; three unanswered end it.
    pub keepalive: Duration,
}

impl SshConfig {
    /// A config with the usual timeouts: 10 s to connect, a keepalive every 15 s.
    pub fn new(hops: Vec<SshHop>, auth: SshAuth, known_hosts: KnownHosts) -> Self {
        Self {
            hops,
            auth,
            known_hosts,
            connect_timeout: Duration::from_secs(10),
            keepalive: Duration::from_secs(15),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destinations() {
        let hop = |d: &str| SshHop::parse(d, "me");
        assert_eq!(
            hop("oneadmin@front.example:2222").ok(),
            Some(SshHop {
                host: "front.example".into(),
                port: 2222,
                user: "oneadmin".into()
            })
        );
        assert_eq!(
            hop("front.example").ok(),
            Some(SshHop {
                host: "front.example".into(),
                port: 22,
                user: "me".into()
            })
        );
        assert_eq!(
            hop("a@[fd00::1]:22").ok(),
            Some(SshHop {
                host: "fd00::1".into(),
                port: 22,
                user: "a".into()
            })
        );
        assert_eq!(hop("fd00::1").ok().map(|h| h.port), Some(22));
        for bad in [
            "",
            "@host",
            "u@",
            "u@host:0",
            "u@host:99999",
            "u@[::1",
            "u v@h",
            "u@h/x",
            "u@[::1]x",
        ] {
            assert!(hop(bad).is_err(), "{bad}");
        }
        let shown = hop("a@[fd00::1]:2200").map(|h| h.to_string()).ok();
        assert_eq!(shown.as_deref(), Some("a@[fd00::1]:2200"));
    }

    #[test]
    fn debug_never_shows_secrets() {
        let a = SshAuth::Password(Zeroizing::new("hunter2".into()));
        assert!(!format!("{a:?}").contains("hunter2"));
        let k = SshAuth::Key {
            path: "k".into(),
            passphrase: Some(Zeroizing::new("pp-secret".into())),
        };
        assert!(!format!("{k:?}").contains("pp-secret"));
    }
}
