//! The crate's one error type: each way an SSH console path fails is its own variant, so the
//! console can say "SSH host unreachable", "auth refused", "host key changed" or "target
//! refused" distinctly.

use std::path::PathBuf;

/// Everything that can go wrong on the way to a console through SSH.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The SSH host (or a jump host) could not be reached, or did not answer in time.
    #[error("SSH host {host}:{port} unreachable: {why}")]
    Unreachable {
        /// The host.
        host: String,
        /// Its port.
        port: u16,
        /// What happened.
        why: String,
    },
    /// The host's key is in no known_hosts file: the user must compare and accept it.
    #[error("SSH host {host}:{port} is not known; its key's fingerprint is {fingerprint}")]
    HostKeyUnknown {
        /// The host.
        host: String,
        /// Its port.
        port: u16,
        /// `SHA256:…`, as `ssh-keygen -lf` prints it.
        fingerprint: String,
        /// The key in OpenSSH form (`ssh-ed25519 AAAA…`), to remember once accepted.
        key: String,
    },
    /// The host's key differs from the one a known_hosts file lists: possibly an attack. No
    /// byte goes anywhere.
    #[error(
        "SSH host key of {host}:{port} has CHANGED (now {fingerprint}); the known key is at {}:{line}. \
         Someone may be intercepting the connection: nothing was sent",
        file.display()
    )]
    HostKeyChanged {
        /// The host.
        host: String,
        /// Its port.
        port: u16,
        /// The fingerprint of the key the host presented.
        fingerprint: String,
        /// The file listing the known key.
        file: PathBuf,
        /// Its line.
        line: usize,
    },
    /// The host's key is marked `@revoked`.
    #[error("SSH host key of {host}:{port} ({fingerprint}) is revoked at {}:{line}", file.display())]
    HostKeyRevoked {
        /// The host.
        host: String,
        /// Its port.
        port: u16,
        /// The key's fingerprint.
        fingerprint: String,
        /// The file marking it.
        file: PathBuf,
        /// Its line.
        line: usize,
    },
    /// The SSH host refused the credentials.
    #[error("SSH authentication as {user} on {host}:{port} refused ({method})")]
    AuthRefused {
        /// The user.
        user: String,
        /// The host.
        host: String,
        /// Its port.
        port: u16,
        /// What was tried: `agent`, `key`, `password`.
        method: &'static str,
    },
    /// The credentials could not be used locally (no agent, an unreadable key, a wrong
    /// passphrase).
    #[error("SSH credentials unusable: {0}")]
    Credentials(String),
    /// The SSH host would not open a channel to the console target.
    #[error("SSH host refused to connect to the console target {host}:{port}: {why}")]
    TargetRefused {
        /// The console's host.
        host: String,
        /// The console's port.
        port: u16,
        /// What the SSH host said.
        why: String,
    },
    /// The SSH connection dropped.
    #[error("SSH connection lost: {0}")]
    Disconnected(String),
    /// Anything else the SSH protocol reported.
    #[error("SSH: {0}")]
    Protocol(String),
    /// A destination is not `[user@]host[:port]`.
    #[error("not an SSH destination: {0}")]
    Destination(String),
}

/// Short for `std::result::Result<T, onedeck_ssh::Error>`.
pub type Result<T> = std::result::Result<T, Error>;
