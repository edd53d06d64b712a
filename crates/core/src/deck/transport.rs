//! Console transports: a profile whose consoles go through SSH gets one [`SshDialer`] (one SSH
//! connection for all its consoles), handed to the relay with each ticket; its password or key
//! passphrase lives in the keyring ([`SecretSlot::Ssh`]); an unknown host key is remembered only
//! once the user accepted its fingerprint.

use std::collections::HashMap;
use std::sync::Arc;

use onedeck_ssh::{KnownHosts, SshAuth, SshConfig, SshHop, Zeroizing};
use onedeck_vault::{ConsoleTransport, Profile, ProfileId, Secret, SecretSlot, SshAuthKind};

use super::{Deck, lock};
use crate::error::{Error, Result};
use crate::ssh_dialer::SshDialer;

/// A host key the user was shown and may accept.
#[derive(Clone)]
pub(super) struct PendingKey {
    host: String,
    port: u16,
    fingerprint: String,
    key: String,
}

/// The dialers of the profiles whose consoles go through SSH, and keys awaiting a decision.
#[derive(Default)]
pub(super) struct Transports {
    dialers: HashMap<ProfileId, (ConsoleTransport, Arc<SshDialer>)>,
    pending: HashMap<ProfileId, Vec<PendingKey>>,
}

impl Transports {
    /// Takes `id`'s dialer out.
    pub(super) fn dialers_remove(
        &mut self,
        id: &ProfileId,
    ) -> Option<(ConsoleTransport, Arc<SshDialer>)> {
        self.dialers.remove(id)
    }
}

impl Deck {
    /// The dialer of `profile`'s consoles, connected (so that a refused key or login is told
    /// now, to the window that opens the console); `None` for direct consoles.
    ///
    /// # Errors
    /// [`Error::Ssh`] (host key unknown, changed or revoked; auth refused; unreachable);
    /// [`Error::SshSecretMissing`] when a password or passphrase is needed and none is stored.
    pub(super) async fn console_dialer(&self, profile: &Profile) -> Result<Option<Arc<SshDialer>>> {
        let ConsoleTransport::Ssh(ssh) = &profile.console_transport else {
            return Ok(None);
        };
        let existing = lock(&self.inner.transports)
            .dialers
            .get(&profile.id)
            .filter(|(t, _)| t == &profile.console_transport)
            .map(|(_, d)| d.clone());
        let dialer = match existing {
            Some(d) => d,
            None => {
                let secret = self.ssh_secret(&profile.id).await?;
                let auth = match ssh.auth {
                    SshAuthKind::Agent => SshAuth::Agent { socket: None },
                    SshAuthKind::Key => SshAuth::Key {
                        path: ssh.identity_file.clone().unwrap_or_default(),
                        passphrase: secret.map(|s| Zeroizing::new(s.expose().to_owned())),
                    },
                    SshAuthKind::Password => SshAuth::Password(Zeroizing::new(
                        secret
                            .ok_or_else(|| Error::SshSecretMissing(profile.name.clone()))?
                            .expose()
                            .to_owned(),
                    )),
                };
                let alias = ssh
                    .host
                    .clone()
                    .or_else(|| profile.endpoint_host())
                    .unwrap_or_default();
                let hops = ssh_hops(ssh, &alias, &user_ssh_config())?;
                let config = SshConfig::new(hops, auth, self.known_hosts());
                let d = Arc::new(SshDialer::new(config));
                lock(&self.inner.transports).dialers.insert(
                    profile.id.clone(),
                    (profile.console_transport.clone(), d.clone()),
                );
                d
            }
        };
        match dialer.tunnel().await {
            Ok(_) => Ok(Some(dialer)),
            Err(e) => {
                if let onedeck_ssh::Error::HostKeyUnknown {
                    host,
                    port,
                    fingerprint,
                    key,
                } = &e
                {
                    let pending = PendingKey {
                        host: host.clone(),
                        port: *port,
                        fingerprint: fingerprint.clone(),
                        key: key.clone(),
                    };
                    let mut t = lock(&self.inner.transports);
                    let list = t.pending.entry(profile.id.clone()).or_default();
                    list.retain(|p| p.fingerprint != pending.fingerprint);
                    list.push(pending);
                }
                if matches!(
                    e,
                    onedeck_ssh::Error::AuthRefused { .. } | onedeck_ssh::Error::Credentials(_)
                ) {
                    // A refused secret is not tried again on every click.
                    lock(&self.inner.transports).dialers.remove(&profile.id);
                }
                Err(Error::Ssh(e))
            }
        }
    }

    /// The user compared the fingerprint of an SSH host key that
    /// [`crate::ErrorKind::Ssh`] (`hostKeyUnknown`) showed and accepts it: it is added to
    /// OneDeck's known_hosts file (0600), and consoles through that host work from now on.
    ///
    /// # Errors
    /// `notFound` when no key with that fingerprint was shown for this profile; `storage` when
    /// the file cannot be written.
    pub async fn ssh_host_key_accept(&self, id: &ProfileId, fingerprint: &str) -> Result<()> {
        let pending = lock(&self.inner.transports)
            .pending
            .get(id)
            .and_then(|l| l.iter().find(|p| p.fingerprint == fingerprint).cloned())
            .ok_or(Error::UnknownHostKey)?;
        let key = onedeck_ssh::known_hosts::parse_openssh_key(&pending.key)
            .map_err(|e| Error::Ssh(onedeck_ssh::Error::Protocol(e)))?;
        let known = self.known_hosts();
        let file = known.app_file.clone();
        tokio::task::spawn_blocking(move || known.remember(&pending.host, pending.port, &key))
            .await
            .map_err(|e| Error::Task(e.to_string()))?
            .map_err(|source| Error::File { path: file, source })?;
        tracing::info!(profile = %id, fingerprint, "SSH host key accepted");
        if let Some(list) = lock(&self.inner.transports).pending.get_mut(id) {
            list.retain(|p| p.fingerprint != fingerprint);
        }
        Ok(())
    }

    /// Stores the SSH password or key passphrase of `id`'s console transport (in the OS keyring,
    /// or for this session only), and drops its connection so the next console uses it.
    ///
    /// # Errors
    /// The keyring's errors.
    pub async fn ssh_secret_save(
        &self,
        id: &ProfileId,
        secret: String,
        session_only: bool,
    ) -> Result<()> {
        let secret = Secret::new(secret);
        let store = if session_only {
            self.session_secrets()
        } else {
            self.secret_store().await?
        };
        let pid = id.clone();
        tokio::task::spawn_blocking(move || store.set_in(SecretSlot::Ssh, &pid, &secret))
            .await
            .map_err(|e| Error::Task(e.to_string()))??;
        self.drop_console_dialer(id).await;
        Ok(())
    }

    /// Closes and forgets `id`'s SSH connection (sign-out, removal, a changed transport).
    pub(super) async fn drop_console_dialer(&self, id: &ProfileId) {
        let d = lock(&self.inner.transports).dialers_remove(id);
        if let Some((_, d)) = d {
            d.close().await;
        }
    }

    async fn ssh_secret(&self, id: &ProfileId) -> Result<Option<Secret>> {
        let session = self.session_secrets();
        let pid = id.clone();
        if let Some(s) = session.get_in(SecretSlot::Ssh, &pid)? {
            return Ok(Some(s));
        }
        let store = self.secret_store().await?;
        tokio::task::spawn_blocking(move || store.get_in(SecretSlot::Ssh, &pid))
            .await
            .map_err(|e| Error::Task(e.to_string()))?
            .map_err(Into::into)
    }

    /// The known_hosts files: the user's own (read only) and OneDeck's in its data directory.
    fn known_hosts(&self) -> KnownHosts {
        let home = std::env::var_os("HOME").map(std::path::PathBuf::from);
        KnownHosts::standard(home.as_deref(), self.inner.data_dir.join("ssh_known_hosts"))
    }
}

/// `~/.ssh/config`, when there is a home directory.
fn user_ssh_config() -> Option<std::path::PathBuf> {
    std::env::var_os("HOME").map(|h| std::path::PathBuf::from(h).join(".ssh").join("config"))
}

/// The hops to the SSH host `alias`: the profile's jump hosts (or the config's `ProxyJump` when
/// it names none), then the host; each name looked up in `config` for `HostName`, `Port` (when
/// the profile keeps 22) and `User` (for a jump host given without one).
fn ssh_hops(
    ssh: &onedeck_vault::SshTransport,
    alias: &str,
    config: &Option<std::path::PathBuf>,
) -> Result<Vec<SshHop>> {
    use onedeck_ssh::ssh_config::{HostConfig, lookup_file};
    let look = |name: &str| match config {
        Some(path) => lookup_file(path, name),
        None => HostConfig::default(),
    };
    let last = look(alias);
    let jumps = if ssh.jumps.is_empty() {
        last.proxy_jump.clone().unwrap_or_default()
    } else {
        ssh.jumps.clone()
    };
    let mut hops = Vec::with_capacity(jumps.len() + 1);
    for jump in &jumps {
        let given = SshHop::parse(jump, &ssh.user).map_err(Error::Ssh)?;
        let c = look(&given.host);
        // A jump host given without a user takes the config's, else the profile's.
        let user = match (jump.contains('@'), &c.user) {
            (false, Some(u)) => u.clone(),
            _ => given.user.clone(),
        };
        hops.push(SshHop {
            port: if given.port == 22 {
                c.port.unwrap_or(22)
            } else {
                given.port
            },
            host: c.host_name.unwrap_or(given.host),
            user,
        });
    }
    hops.push(SshHop {
        host: last.host_name.unwrap_or_else(|| alias.to_owned()),
        port: if ssh.port == 22 {
            last.port.unwrap_or(22)
        } else {
            ssh.port
        },
        user: ssh.user.clone(),
    });
    Ok(hops)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hops_follow_the_users_ssh_config() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("config");
        std::fs::write(
            &path,
            "Host front\n HostName 10.1.1.1\n Port 2222\n ProxyJump bastion\n\
             Host bastion\n HostName 10.9.9.9\n User jumper\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let ssh = onedeck_vault::SshTransport {
            host: Some("front".into()),
            port: 22,
            user: "oneadmin".into(),
            jumps: vec![],
            auth: SshAuthKind::Agent,
            identity_file: None,
        };
        let hops = ssh_hops(&ssh, "front", &Some(path.clone())).unwrap_or_default();
        let shown: Vec<String> = hops.iter().map(ToString::to_string).collect();
        assert_eq!(shown, ["jumper@10.9.9.9:22", "oneadmin@10.1.1.1:2222"]);
        // What the profile says wins over the config.
        let explicit = onedeck_vault::SshTransport {
            port: 2200,
            jumps: vec!["me@other:2022".into()],
            ..ssh
        };
        let hops = ssh_hops(&explicit, "front", &Some(path)).unwrap_or_default();
        let shown: Vec<String> = hops.iter().map(ToString::to_string).collect();
        assert_eq!(shown, ["me@other:2022", "oneadmin@10.1.1.1:2200"]);
        // No config: the names as given.
        let hops = ssh_hops(&explicit, "front", &None).unwrap_or_default();
        assert_eq!(hops[1].host, "front");
    }
}
