//! `onedeck-cli`: OneDeck's headless companion.
//!
//! A second front end over the same library crates as the app: the console relay, the document
//! decoder, the simulator, endpoint profiles and VM commands, for scripting and testing. Each
//! subcommand lives in its own module and leaves all logic to the crates under `crates/`.

mod decode;
mod profile;
mod relay;
mod sim;
mod vm;

use clap::{Parser, Subcommand};

/// OneDeck's headless companion: relay, decoder, simulator, profiles and VM commands.
#[derive(Debug, Parser)]
#[command(name = "onedeck-cli", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Decode an OpenNebula document and print it as JSON.
    Decode(decode::Args),
    /// List, show and act on VMs of an endpoint.
    Vm(vm::Args),
    /// Run the OpenNebula simulator (the demo cloud) on loopback.
    Sim(sim::Args),
    /// Run the console relay headless (trusted local use: tokens from a file are reusable).
    Relay(relay::Args),
    /// Manage endpoint profiles and their secrets.
    Profile(profile::Args),
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("ONEDECK_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match cli.command {
        Command::Decode(args) => decode::run(args),
        Command::Vm(args) => vm::run(args),
        Command::Sim(args) => sim::run(args),
        Command::Relay(args) => relay::run(args),
        Command::Profile(args) => profile::run(args),
    }
}
