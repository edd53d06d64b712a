//! An OpenNebula simulator: the demo cloud and the test bed.
//!
//! It owns an XML-RPC server on loopback that answers like a real oned 7.4.0 (users, groups, ACL,
//! templates, hosts, VMs and their state machine, login tokens) and a real VNC server for each
//! running VM (a built-in RFB 3.8 server or QEMU). Start it with [`Simulator::start`]; the
//! returned [`SimHandle`] gives the endpoint URL and stops everything with
//! [`SimHandle::shutdown`]. The demo credentials are [`DEMO_CREDENTIALS`].
//!
//! ```no_run
//! # async fn demo() -> onedeck_sim::Result<()> {
//! use onedeck_sim::{DEMO_ALICE, SimConfig, Simulator, free_vnc_base};
//! let sim = Simulator::start(SimConfig {
//!     vnc_base: free_vnc_base(64)?,
//!     ..SimConfig::default()
//! })
//! .await?;
//! println!("sign in at {} as {}", sim.endpoint_url(), DEMO_ALICE.0);
//! sim.shutdown().await?;
//! # Ok(())
//! # }
//! ```
//!
//! Besides `/RPC2` the HTTP server answers one test hook that oned does not have:
//! `GET /sim/consoles/<vm id>/typed` returns the keys typed on that VM's built-in console, and
//! `GET /sim/consoles/<vm id>/keys` every key event (`d ffe3` pressed, `u ffe3` released, a line each),
//! and `GET /sim/consoles/<vm id>/clipboard` the last clipboard text a viewer sent. Each line
//! typed on a built-in console (on Return) becomes the guest's clipboard, sent to its viewers.
//!
//! It leaves to others: the client side of the protocol (`onedeck-opennebula`). It writes its
//! documents with its own serialiser ([`docs`]) and never uses the client's decoder or models, so
//! that a misreading of oned cannot hide in both.

pub mod config;
pub mod consoles;
pub mod docs;
pub mod fixture;
mod http;
pub mod methods;
pub mod model;
pub mod rfb;
pub mod screen;
pub mod server;
pub mod world;
pub mod xml;
pub mod xmlrpc;

pub use config::{
    DEMO_ADMIN, DEMO_ALICE, DEMO_BOB, DEMO_CREDENTIALS, SimConfig, UserSpec, VncMode, free_vnc_base,
};
pub use server::{FaultKind, SimHandle, Simulator, fault_for};

use std::net::SocketAddr;
use std::path::PathBuf;

/// What can go wrong starting or stopping the simulator.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A setting is invalid (the text says which and why).
    #[error("invalid simulator setting: {0}")]
    Config(String),
    /// The XML-RPC address cannot be bound (in use, or not allowed).
    #[error("cannot listen on {0}: {1}")]
    Bind(SocketAddr, #[source] std::io::Error),
    /// The state file cannot be read, parsed or written.
    #[error("state file {0}: {1}")]
    State(PathBuf, String),
}

/// Result of this crate.
pub type Result<T> = std::result::Result<T, Error>;
