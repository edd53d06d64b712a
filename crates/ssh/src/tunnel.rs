//! One SSH connection (through any jump hosts) that opens `direct-tcpip` channels to console
//! targets: nothing runs on the remote side but sshd.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use russh::client::{self, Handle};
use russh::keys::PublicKey;
use tokio::net::{TcpListener, TcpStream};

use crate::config::{SshAuth, SshConfig, SshHop};
use crate::error::{Error, Result};
use crate::known_hosts::{HostKeyStatus, KnownHosts, fingerprint};

/// The verdict on a hop's host key, kept by the handler for the error that follows a refusal.
#[derive(Debug, Clone)]
enum Verdict {
    Accepted,
    Refused(HostKeyStatus, PublicKey),
}

/// russh's callbacks for one hop: the host key check.
struct Checker {
    hop: SshHop,
    known_hosts: KnownHosts,
    verdict: Arc<Mutex<Option<Verdict>>>,
}

impl client::Handler for Checker {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        server_public_key: &russh::keys::PublicKeyOrCertificate,
    ) -> std::result::Result<bool, Self::Error> {
        let russh::keys::PublicKeyOrCertificate::PublicKey { key, .. } = server_public_key else {
            // Host certificates are not trusted here: only keys the user compared.
            return Ok(false);
        };
        let status = self.known_hosts.check(&self.hop.host, self.hop.port, key);
        let accepted = status == HostKeyStatus::Known;
        let verdict = if accepted {
            Verdict::Accepted
        } else {
            Verdict::Refused(status, key.clone())
        };
        if let Ok(mut v) = self.verdict.lock() {
            *v = Some(verdict);
        }
        Ok(accepted)
    }
}

/// A live SSH path: the connections to every hop, the last of which dials consoles.
pub struct Tunnel {
    hops: Vec<Handle<Checker>>,
    last: SshHop,
}

impl std::fmt::Debug for Tunnel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tunnel")
            .field("via", &self.last)
            .finish_non_exhaustive()
    }
}

impl Tunnel {
    /// Connects to each hop in turn (a jump host's channel carries the next connection),
    /// checks every host key and authenticates.
    ///
    /// # Errors
    /// [`Error::Unreachable`], [`Error::HostKeyUnknown`], [`Error::HostKeyChanged`],
    /// [`Error::HostKeyRevoked`], [`Error::AuthRefused`], [`Error::Credentials`].
    pub async fn connect(config: &SshConfig) -> Result<Self> {
        let last = config
            .hops
            .last()
            .cloned()
            .ok_or_else(|| Error::Destination("no SSH host".into()))?;
        let russh_config = Arc::new(client::Config {
            keepalive_interval: Some(config.keepalive),
            keepalive_max: 3,
            nodelay: true,
            ..client::Config::default()
        });
        let mut handles: Vec<Handle<Checker>> = Vec::with_capacity(config.hops.len());
        for hop in &config.hops {
            let verdict = Arc::new(Mutex::new(None));
            let checker = Checker {
                hop: hop.clone(),
                known_hosts: config.known_hosts.clone(),
                verdict: verdict.clone(),
            };
            let unreachable = |why: String| Error::Unreachable {
                host: hop.host.clone(),
                port: hop.port,
                why,
            };
            let connecting = async {
                match handles.last() {
                    None => {
                        let stream = TcpStream::connect((hop.host.as_str(), hop.port))
                            .await
                            .map_err(|e| unreachable(e.to_string()))?;
                        let _ = stream.set_nodelay(true);
                        client::connect_stream(russh_config.clone(), stream, checker).await
                    }
                    Some(previous) => {
                        let channel = previous
                            .channel_open_direct_tcpip(
                                hop.host.clone(),
                                u32::from(hop.port),
                                "127.0.0.1",
                                0,
                            )
                            .await
                            .map_err(|e| unreachable(format!("through the jump host: {e}")))?;
                        client::connect_stream(russh_config.clone(), channel.into_stream(), checker)
                            .await
                    }
                }
                .map_err(|e| {
                    refused_key(&verdict, hop).unwrap_or_else(|| unreachable(e.to_string()))
                })
            };
            let mut handle = tokio::time::timeout(config.connect_timeout, connecting)
                .await
                .map_err(|_| {
                    unreachable(format!("no answer within {:?}", config.connect_timeout))
                })??;
            tokio::time::timeout(
                config.connect_timeout,
                authenticate(&mut handle, hop, &config.auth),
            )
            .await
            .map_err(|_| unreachable("authentication did not finish in time".into()))??;
            tracing::info!(hop = %hop, "SSH hop connected");
            handles.push(handle);
        }
        Ok(Self {
            hops: handles,
            last,
        })
    }

    /// The host that dials the consoles.
    pub fn host(&self) -> &SshHop {
        &self.last
    }

    /// True once the connection to any hop has dropped: connect again.
    pub fn is_closed(&self) -> bool {
        self.hops.iter().any(Handle::is_closed)
    }

    /// A `direct-tcpip` channel from the SSH host to `host:port`, as a byte stream.
    ///
    /// # Errors
    /// [`Error::TargetRefused`] when the SSH host cannot or will not connect there;
    /// [`Error::Disconnected`] when the connection dropped.
    pub async fn open(
        &self,
        host: &str,
        port: u16,
    ) -> Result<russh::ChannelStream<russh::client::Msg>> {
        let last = self
            .hops
            .last()
            .ok_or_else(|| Error::Disconnected("no connection".into()))?;
        if self.is_closed() {
            return Err(Error::Disconnected(format!("to {}", self.last)));
        }
        match last
            .channel_open_direct_tcpip(host.to_owned(), u32::from(port), "127.0.0.1", 0)
            .await
        {
            Ok(channel) => Ok(channel.into_stream()),
            Err(russh::Error::ChannelOpenFailure(why)) => Err(Error::TargetRefused {
                host: host.to_owned(),
                port,
                why: format!("{why:?}"),
            }),
            Err(e) if self.is_closed() => Err(Error::Disconnected(e.to_string())),
            Err(e) => Err(Error::Protocol(e.to_string())),
        }
    }

    /// As [`Tunnel::open`], bridged to a loopback TCP socket so that a caller that pipes TCP
    /// sockets (the relay) needs no second code path. The bridge accepts only its own
    /// connection and copies until either side closes.
    ///
    /// # Errors
    /// As [`Tunnel::open`]; [`Error::Protocol`] if no loopback socket can be made.
    pub async fn open_tcp(&self, host: &str, port: u16) -> Result<TcpStream> {
        let mut channel = self.open(host, port).await?;
        let io = |e: std::io::Error| Error::Protocol(format!("loopback bridge: {e}"));
        let listener = TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0))
            .await
            .map_err(io)?;
        let addr = listener.local_addr().map_err(io)?;
        let ours = TcpStream::connect(addr).await.map_err(io)?;
        let ours_addr: SocketAddr = ours.local_addr().map_err(io)?;
        // Another local process could race to the port: take only our own connection.
        let mut bridge = None;
        for _ in 0..8 {
            let (stream, peer) = listener.accept().await.map_err(io)?;
            if peer == ours_addr {
                bridge = Some(stream);
                break;
            }
            tracing::warn!(%peer, "a stranger connected to an SSH bridge: dropped");
        }
        drop(listener);
        let mut bridge = bridge.ok_or_else(|| Error::Protocol("loopback bridge taken".into()))?;
        let _ = bridge.set_nodelay(true);
        let _ = ours.set_nodelay(true);
        tokio::spawn(async move {
            let _ = tokio::io::copy_bidirectional(&mut bridge, &mut channel).await;
        });
        Ok(ours)
    }

    /// Closes every hop's connection.
    pub async fn close(&self) {
        for h in self.hops.iter().rev() {
            let _ = h
                .disconnect(russh::Disconnect::ByApplication, "", "en")
                .await;
        }
    }
}

/// The error a refused host key gets, from the handler's verdict.
fn refused_key(verdict: &Mutex<Option<Verdict>>, hop: &SshHop) -> Option<Error> {
    let v = verdict.lock().ok()?.clone()?;
    let Verdict::Refused(status, key) = v else {
        return None;
    };
    let (host, port, fingerprint) = (hop.host.clone(), hop.port, fingerprint(&key));
    Some(match status {
        HostKeyStatus::Known => return None,
        HostKeyStatus::Unknown => Error::HostKeyUnknown {
            host,
            port,
            fingerprint,
            key: key.to_openssh().unwrap_or_default(),
        },
        HostKeyStatus::Changed { file, line } => Error::HostKeyChanged {
            host,
            port,
            fingerprint,
            file,
            line,
        },
        HostKeyStatus::Revoked { file, line } => Error::HostKeyRevoked {
            host,
            port,
            fingerprint,
            file,
            line,
        },
    })
}

async fn authenticate(handle: &mut Handle<Checker>, hop: &SshHop, auth: &SshAuth) -> Result<()> {
    let refused = || Error::AuthRefused {
        user: hop.user.clone(),
        host: hop.host.clone(),
        port: hop.port,
        method: auth.method(),
    };
    let protocol = |e: russh::Error| Error::Protocol(e.to_string());
    let ok = match auth {
        SshAuth::Password(pw) => handle
            .authenticate_password(hop.user.clone(), pw.as_str())
            .await
            .map_err(protocol)?
            .success(),
        SshAuth::Key { path, passphrase } => {
            let key = russh::keys::load_secret_key(path, passphrase.as_ref().map(|p| p.as_str()))
                .map_err(|e| Error::Credentials(format!("{}: {e}", path.display())))?;
            let hash = handle
                .best_supported_rsa_hash()
                .await
                .map_err(protocol)?
                .flatten();
            let key = russh::keys::PrivateKeyWithHashAlg::new(Arc::new(key), hash);
            handle
                .authenticate_publickey(hop.user.clone(), key)
                .await
                .map_err(protocol)?
                .success()
        }
        SshAuth::Agent { socket } => agent_auth(handle, hop, socket.as_deref()).await?,
    };
    if ok { Ok(()) } else { Err(refused()) }
}

#[cfg(unix)]
async fn agent_auth(
    handle: &mut Handle<Checker>,
    hop: &SshHop,
    socket: Option<&std::path::Path>,
) -> Result<bool> {
    use russh::keys::agent::{AgentIdentity, client::AgentClient};
    let mut agent = match socket {
        Some(path) => AgentClient::connect_uds(path).await,
        None => AgentClient::connect_env().await,
    }
    .map_err(|e| Error::Credentials(format!("no ssh-agent: {e}")))?;
    let identities = agent
        .request_identities()
        .await
        .map_err(|e| Error::Credentials(format!("ssh-agent: {e}")))?;
    if identities.is_empty() {
        return Err(Error::Credentials("the ssh-agent holds no key".into()));
    }
    let hash = handle
        .best_supported_rsa_hash()
        .await
        .map_err(|e| Error::Protocol(e.to_string()))?
        .flatten();
    for identity in identities {
        let AgentIdentity::PublicKey { key, .. } = identity else {
            continue;
        };
        let result = handle
            .authenticate_publickey_with(hop.user.clone(), key, hash, &mut agent)
            .await
            .map_err(|e| Error::Credentials(format!("ssh-agent: {e}")))?;
        if result.success() {
            return Ok(true);
        }
    }
    Ok(false)
}

#[cfg(not(unix))]
async fn agent_auth(
    _handle: &mut Handle<Checker>,
    _hop: &SshHop,
    _socket: Option<&std::path::Path>,
) -> Result<bool> {
    Err(Error::Credentials(
        "ssh-agent is supported on Linux and macOS only for now: use a key file or a password"
            .into(),
    ))
}
