//! The relay's [`Dialer`] for consoles behind an SSH host: one SSH connection per endpoint
//! carries all its consoles, connected on first use and again when it dropped. The relay gets
//! this dialer and never the credentials inside it.

use std::sync::Arc;

use onedeck_relay::{DialError, DialFuture, Dialer};
use onedeck_ssh::{Error as SshError, SshConfig, Tunnel};
use tokio::sync::Mutex;

/// Dials console targets through an SSH tunnel.
pub struct SshDialer {
    config: SshConfig,
    tunnel: Mutex<Option<Arc<Tunnel>>>,
}

impl std::fmt::Debug for SshDialer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

impl SshDialer {
    /// A dialer that connects with `config` when first asked.
    pub fn new(config: SshConfig) -> Self {
        Self {
            config,
            tunnel: Mutex::new(None),
        }
    }

    /// The live tunnel, connecting (again) when there is none or it dropped.
    ///
    /// # Errors
    /// The SSH errors of [`Tunnel::connect`].
    pub async fn tunnel(&self) -> Result<Arc<Tunnel>, SshError> {
        let mut slot = self.tunnel.lock().await;
        if let Some(t) = slot.as_ref().filter(|t| !t.is_closed()) {
            return Ok(t.clone());
        }
        let t = Arc::new(Tunnel::connect(&self.config).await?);
        *slot = Some(t.clone());
        Ok(t)
    }

    async fn open(&self, host: &str, port: u16) -> Result<tokio::net::TcpStream, SshError> {
        let tunnel = self.tunnel().await?;
        match tunnel.open_tcp(host, port).await {
            // It dropped between the check and the channel: one new connection, one more try.
            Err(SshError::Disconnected(_)) => self.tunnel().await?.open_tcp(host, port).await,
            other => other,
        }
    }

    /// Closes the tunnel (the endpoint signed out, the app quits).
    pub async fn close(&self) {
        if let Some(t) = self.tunnel.lock().await.take() {
            t.close().await;
        }
    }
}

impl Dialer for SshDialer {
    fn dial<'a>(&'a self, host: &'a str, port: u16) -> DialFuture<'a> {
        Box::pin(async move { self.open(host, port).await.map_err(dial_error) })
    }

    fn describe(&self) -> String {
        match self.config.hops.last() {
            Some(hop) => format!("ssh {hop}"),
            None => "ssh".to_owned(),
        }
    }
}

/// The relay's words for an SSH failure: which part of the path failed.
pub fn dial_error(e: SshError) -> DialError {
    let path = match &e {
        SshError::TargetRefused { .. } => return DialError::Target(e.to_string()),
        SshError::Unreachable { .. } => "ssh_unreachable",
        SshError::HostKeyUnknown { .. } => "ssh_host_key_unknown",
        SshError::HostKeyChanged { .. } => "ssh_host_key_changed",
        SshError::HostKeyRevoked { .. } => "ssh_host_key_revoked",
        SshError::AuthRefused { .. } | SshError::Credentials(_) => "ssh_auth",
        SshError::Disconnected(_) => "ssh_disconnected",
        _ => "ssh_protocol",
    };
    DialError::Path {
        path,
        error: e.to_string(),
    }
}
