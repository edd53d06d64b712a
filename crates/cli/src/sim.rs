//! `onedeck-cli sim`: runs the OpenNebula simulator (the demo cloud) on loopback until Ctrl-C.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use onedeck_sim::{SimConfig, Simulator, UserSpec, VncMode};

/// Console kinds on the command line.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Vnc {
    /// The built-in RFB 3.8 server (text console that echoes keys).
    Builtin,
    /// One qemu-system-x86_64 per running VM.
    Qemu,
    /// No consoles.
    None,
}

/// Arguments of `onedeck-cli sim`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Address of the XML-RPC server (loopback only); the endpoint is http://ADDR/RPC2.
    #[arg(long, default_value = "127.0.0.1:2633")]
    pub listen: SocketAddr,
    /// Add a user (repeatable): NAME:PASSWORD[:admin]. Demo users: oneadmin/opennebula, alice/alice, bob/bob.
    #[arg(long = "user", value_name = "NAME:PASSWORD[:admin]")]
    pub users: Vec<String>,
    /// Extra generated VMs (up to 100000).
    #[arg(long, default_value_t = 0)]
    pub vms: usize,
    /// Seed for generated content and faults.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Delay added to every reply, in milliseconds.
    #[arg(long, default_value_t = 0)]
    pub latency: u64,
    /// Probability (0..1) of a fault per request: hang, HTTP 500 or malformed reply.
    #[arg(long, default_value_t = 0.0)]
    pub fault_rate: f64,
    /// How long a "timeout" fault holds the connection before closing it, in milliseconds.
    #[arg(long, default_value_t = 30_000)]
    pub fault_hold: u64,
    /// Console kind.
    #[arg(long, value_enum, default_value = "builtin")]
    pub vnc: Vnc,
    /// First VNC port (VNC_PORTS/START): VM N listens on BASE+N when free.
    #[arg(long, default_value_t = 5900)]
    pub vnc_base: u16,
    /// Keep the cloud in this JSON file across runs.
    #[arg(long)]
    pub state: Option<PathBuf>,
    /// Extra shared templates: the first (`web-inputs`) asks USER_INPUTS of every type, the rest
    /// are plain; for create dialogs and their benchmarks.
    #[arg(long, default_value_t = 0)]
    pub templates: usize,
    /// Add an ACL rule as `oneacl create` takes it (repeatable), e.g. "@100 VM/@101 USE" lets
    /// alice's group see (not manage) the VMs of bob's.
    #[arg(long = "acl", value_name = "RULE")]
    pub acls: Vec<String>,
    /// Do not add the demo ACL rules (CREATE, HOST USE) for the users' groups: exactly oned's defaults.
    #[arg(long)]
    pub no_demo_acls: bool,
}

/// Runs `onedeck-cli sim`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let users = args
        .users
        .iter()
        .map(|u| u.parse::<UserSpec>())
        .collect::<Result<Vec<_>, _>>()?;
    let config = SimConfig {
        listen: args.listen,
        users,
        vms: args.vms,
        seed: args.seed,
        latency: Duration::from_millis(args.latency),
        fault_rate: args.fault_rate,
        fault_hold: Duration::from_millis(args.fault_hold),
        vnc: match args.vnc {
            Vnc::Builtin => VncMode::Builtin,
            Vnc::Qemu => VncMode::Qemu,
            Vnc::None => VncMode::None,
        },
        vnc_base: args.vnc_base,
        state_file: args.state,
        demo_acls: !args.no_demo_acls,
        templates: args.templates,
        acls: args.acls,
        ..SimConfig::default()
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    rt.block_on(async move {
        let sim = Simulator::start(config).await?;
        // One line on stdout that scripts and tests wait for.
        println!("{}", sim.endpoint_url());
        wait_for_stop().await?;
        sim.shutdown().await?;
        Ok(())
    })
}

/// Waits for Ctrl-C (or SIGTERM on Unix, which test harnesses send).
async fn wait_for_stop() -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .context("cannot wait for SIGTERM")?;
        tokio::select! {
            r = tokio::signal::ctrl_c() => r.context("cannot wait for Ctrl-C")?,
            _ = term.recv() => {}
        }
        Ok(())
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c()
            .await
            .context("cannot wait for Ctrl-C")
    }
}
