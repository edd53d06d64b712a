//! How an endpoint's consoles reach the hypervisors: directly, or through an SSH host (by
//! default the front-end named by the endpoint URL) and optionally jump hosts before it.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The console transport of a profile.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ConsoleTransport {
    /// The relay connects to each VM's console target itself.
    #[default]
    Direct,
    /// Through an SSH host's `direct-tcpip` channels.
    Ssh(SshTransport),
}

impl ConsoleTransport {
    /// True for [`ConsoleTransport::Direct`] (not written to the file).
    pub fn is_direct(&self) -> bool {
        matches!(self, Self::Direct)
    }
}

/// How the user proves who they are to the SSH hosts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SshAuthKind {
    /// The keys of the running ssh-agent (`SSH_AUTH_SOCK`).
    #[default]
    Agent,
    /// A private key file; its passphrase, if any, in the OS keyring or asked each time.
    Key,
    /// A password, in the OS keyring or asked each time.
    Password,
}

/// Consoles through SSH.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SshTransport {
    /// The host whose sshd dials the consoles; `None` = the endpoint URL's host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// Its SSH port.
    #[serde(default = "default_port")]
    pub port: u16,
    /// The SSH user on every host.
    pub user: String,
    /// Jump hosts before it, in order, as `user@host[:port]` (`host` alone takes `user` and 22).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub jumps: Vec<String>,
    /// How to authenticate.
    #[serde(default)]
    pub auth: SshAuthKind,
    /// The private key file, for [`SshAuthKind::Key`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_file: Option<PathBuf>,
}

fn default_port() -> u16 {
    22
}

impl SshTransport {
    /// Checks every field.
    ///
    /// # Errors
    /// [`Error::InvalidProfile`] naming the field (`ssh.user`, `ssh.host`, `ssh.port`,
    /// `ssh.jumps`, `ssh.identity_file`).
    pub fn validate(&self) -> Result<()> {
        let bad = |field: &'static str, reason: &str| {
            Err(Error::InvalidProfile {
                field,
                reason: reason.to_owned(),
            })
        };
        let plain = |s: &str| {
            !s.is_empty()
                && !s
                    .chars()
                    .any(|c| c.is_whitespace() || c.is_control() || c == '/' || c == '@')
        };
        if !plain(self.user.trim()) {
            return bad("ssh.user", "must be a user name without spaces");
        }
        if let Some(host) = &self.host
            && !plain(host.trim())
        {
            return bad("ssh.host", "must be a host name or address without spaces");
        }
        if self.port == 0 {
            return bad("ssh.port", "must be between 1 and 65535");
        }
        for jump in &self.jumps {
            let (user, rest) = jump.rsplit_once('@').unwrap_or(("x", jump.as_str()));
            let host = rest
                .strip_prefix('[')
                .and_then(|r| r.split_once(']').map(|(h, _)| h))
                .unwrap_or_else(|| rest.rsplit_once(':').map_or(rest, |(h, _)| h));
            if !plain(user) || !plain(host) {
                return bad("ssh.jumps", "each jump host is user@host[:port]");
            }
        }
        match (&self.auth, &self.identity_file) {
            (SshAuthKind::Key, None) => bad("ssh.identity_file", "a key file is needed"),
            (SshAuthKind::Key, Some(p)) if !p.is_absolute() => {
                bad("ssh.identity_file", "must be an absolute path")
            }
            _ => Ok(()),
        }
    }
}

impl SshTransport {
    /// Refuses what this machine cannot do, at save: a key file that is not there, ssh-agent where
    /// OneDeck cannot reach one (Windows, for now). Consoles are never dialled another way instead.
    ///
    /// # Errors
    /// [`Error::InvalidProfile`] naming `ssh.identity_file` or `ssh.auth`.
    pub fn check_usable(&self) -> Result<()> {
        if self.auth == SshAuthKind::Key
            && let Some(path) = &self.identity_file
            && !path.is_file()
        {
            return Err(Error::InvalidProfile {
                field: "ssh.identity_file",
                reason: format!("{} is not a readable file", path.display()),
            });
        }
        if cfg!(windows) && self.auth == SshAuthKind::Agent {
            return Err(Error::InvalidProfile {
                field: "ssh.auth",
                reason: "ssh-agent is not supported on Windows yet: use a key file or a password"
                    .into(),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ssh() -> SshTransport {
        SshTransport {
            host: None,
            port: 22,
            user: "oneadmin".into(),
            jumps: vec![],
            auth: SshAuthKind::Agent,
            identity_file: None,
        }
    }

    #[test]
    fn fields_are_checked() {
        assert!(ssh().validate().is_ok());
        let field = |t: SshTransport| match t.validate() {
            Err(Error::InvalidProfile { field, .. }) => field,
            _ => "ok",
        };
        assert_eq!(
            field(SshTransport {
                user: " ".into(),
                ..ssh()
            }),
            "ssh.user"
        );
        assert_eq!(
            field(SshTransport {
                host: Some("a b".into()),
                ..ssh()
            }),
            "ssh.host"
        );
        assert_eq!(field(SshTransport { port: 0, ..ssh() }), "ssh.port");
        assert_eq!(
            field(SshTransport {
                jumps: vec!["u@".into()],
                ..ssh()
            }),
            "ssh.jumps"
        );
        assert_eq!(
            field(SshTransport {
                jumps: vec!["u@bastion:2222".into(), "[fd00::1]:22".into()],
                ..ssh()
            }),
            "ok"
        );
        assert_eq!(
            field(SshTransport {
                auth: SshAuthKind::Key,
                ..ssh()
            }),
            "ssh.identity_file"
        );
        assert_eq!(
            field(SshTransport {
                auth: SshAuthKind::Key,
                identity_file: Some("id".into()),
                ..ssh()
            }),
            "ssh.identity_file"
        );
    }

    #[test]
    fn a_missing_key_file_cannot_be_honoured() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let key = dir.path().join("id_ed25519");
        let t = SshTransport {
            auth: SshAuthKind::Key,
            identity_file: Some(key.clone()),
            ..ssh()
        };
        assert!(t.validate().is_ok(), "well formed");
        assert!(matches!(
            t.check_usable(),
            Err(Error::InvalidProfile {
                field: "ssh.identity_file",
                ..
            })
        ));
        std::fs::write(&key, "key").unwrap_or_else(|e| panic!("{e}"));
        assert!(t.check_usable().is_ok());
    }

    #[test]
    fn toml_shape() {
        let t = ConsoleTransport::Ssh(SshTransport {
            jumps: vec!["me@bastion".into()],
            ..ssh()
        });
        let text = toml::to_string(&t).unwrap_or_default();
        assert!(text.contains("kind = \"ssh\""), "{text}");
        let back: ConsoleTransport = toml::from_str(&text).unwrap_or_default();
        assert_eq!(back, t);
    }
}
