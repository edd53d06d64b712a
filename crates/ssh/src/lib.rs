//! Consoles of hypervisors the laptop cannot reach: an SSH connection to the front-end (or
//! through jump hosts) whose `direct-tcpip` channels carry the VNC bytes, as `ssh -L` would,
//! with no program needed on the remote side and no system `ssh` needed here (russh, pure Rust).
//!
//! It owns: host key checks against OpenSSH known_hosts files ([`KnownHosts`]: the user's file
//! read only, the app's own file for keys the user accepted), authentication by ssh-agent, key
//! file or password ([`SshAuth`]; secrets are wiped from memory when dropped and never logged),
//! keepalives, and errors that say which part failed ([`Error`]).
//!
//! It leaves to others: where credentials are stored and asking the user to accept a key
//! (`onedeck-core`), and piping console bytes (`onedeck-relay`, which gets a dialer).
//!
//! ```no_run
//! # async fn demo() -> onedeck_ssh::Result<()> {
//! use onedeck_ssh::{KnownHosts, SshAuth, SshConfig, SshHop, Tunnel};
//!
//! let hop = SshHop::parse("oneadmin@front.example", "oneadmin")?;
//! let known = KnownHosts::standard(None, "/tmp/onedeck-known_hosts".into());
//! let tunnel = Tunnel::connect(&SshConfig::new(vec![hop], SshAuth::Agent { socket: None }, known)).await?;
//! let vnc = tunnel.open_tcp("node1", 5905).await?; // a loopback socket carrying node1:5905
//! # drop(vnc); Ok(()) }
//! ```

mod config;
mod error;
#[doc(hidden)]
pub mod fuzzing;
pub mod known_hosts;
pub mod ssh_config;
mod tunnel;

pub use config::{SshAuth, SshConfig, SshHop};
pub use error::{Error, Result};
pub use known_hosts::{HostKeyStatus, KnownHosts, fingerprint};
pub use tunnel::Tunnel;
pub use zeroize::Zeroizing;
