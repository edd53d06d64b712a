//! The endpoint form's console transport, as it crosses IPC (camelCase), and back.

use onedeck_vault::{ConsoleTransport, SshAuthKind, SshTransport};
use serde::{Deserialize, Serialize};

/// How an endpoint's consoles reach the hypervisors (`{ kind: "direct" }` or `{ kind: "ssh", … }`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum TransportView {
    /// The relay dials each console itself.
    #[default]
    Direct,
    /// Through an SSH host.
    #[serde(rename_all = "camelCase")]
    Ssh {
        /// The SSH host; `null` = the endpoint URL's host.
        host: Option<String>,
        /// Its port (22).
        port: u16,
        /// The SSH user.
        user: String,
        /// Jump hosts before it, `user@host[:port]`, in order.
        #[serde(default)]
        jumps: Vec<String>,
        /// `agent`, `key` or `password`.
        auth: SshAuthKind,
        /// The key file, for `key`.
        identity_file: Option<String>,
    },
}

impl From<&ConsoleTransport> for TransportView {
    fn from(t: &ConsoleTransport) -> Self {
        match t {
            ConsoleTransport::Direct => Self::Direct,
            ConsoleTransport::Ssh(s) => Self::Ssh {
                host: s.host.clone(),
                port: s.port,
                user: s.user.clone(),
                jumps: s.jumps.clone(),
                auth: s.auth,
                identity_file: s.identity_file.as_ref().map(|p| p.display().to_string()),
            },
        }
    }
}

impl From<TransportView> for ConsoleTransport {
    fn from(v: TransportView) -> Self {
        match v {
            TransportView::Direct => Self::Direct,
            TransportView::Ssh {
                host,
                port,
                user,
                jumps,
                auth,
                identity_file,
            } => Self::Ssh(SshTransport {
                host: host.map(|h| h.trim().to_owned()).filter(|h| !h.is_empty()),
                port,
                user: user.trim().to_owned(),
                jumps: jumps
                    .into_iter()
                    .map(|j| j.trim().to_owned())
                    .filter(|j| !j.is_empty())
                    .collect(),
                auth,
                identity_file: identity_file
                    .map(|f| f.trim().to_owned())
                    .filter(|f| !f.is_empty())
                    .map(Into::into),
            }),
        }
    }
}
