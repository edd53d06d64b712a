//! `onedeck-cli`: OneDeck's headless companion.
//!
//! A second front end over the same library crates as the app: the console relay, the document
//! decoder, the simulator, endpoint profiles and VM commands, for scripting and testing. Each
//! subcommand lives in its own module and leaves all logic to the crates under `crates/`.

mod audit;
mod console;
mod decode;
mod front;
mod profile;
mod recording;
mod relay;
mod sim;
mod template;
mod vm;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::front::Failure;

/// OneDeck's headless companion: relay, decoder, simulator, profiles and VM commands.
#[derive(Debug, Parser)]
#[command(name = "onedeck-cli", version, about, long_about = None)]
struct Cli {
    /// The stored endpoint profile to use (its id or name), for `vm` and `template`.
    #[arg(long, global = true, value_name = "ID|NAME")]
    profile: Option<String>,
    /// Print JSON instead of text.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Decode an OpenNebula document and print it as JSON.
    Decode(decode::Args),
    /// List, show, create and act on VMs of an endpoint.
    Vm(vm::Args),
    /// List and show the templates you may instantiate.
    Template(template::Args),
    /// Run the OpenNebula simulator (the demo cloud) on loopback.
    Sim(sim::Args),
    /// Run the console relay headless (trusted local use: tokens from a file are reusable).
    Relay(relay::Args),
    /// Manage endpoint profiles and their secrets.
    Profile(profile::Args),
    /// Read a console recording: its keystroke timeline, its integrity.
    Recording(recording::Args),
    /// The console audit log: list, show, export, verify.
    Audit(audit::Args),
    /// Ask the running app to open a VM's console (an `onedeck://console/...` link).
    Console(console::Args),
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("ONEDECK_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let profile = cli.profile.as_deref();
    let outcome = match cli.command {
        Command::Vm(args) => vm::run(args, profile, cli.json),
        Command::Template(args) => template::run(args, profile, cli.json),
        Command::Profile(args) => {
            refuse_profile(profile).and_then(|()| profile::run(args, cli.json))
        }
        Command::Recording(args) => {
            refuse_profile(profile).and_then(|()| recording::run(args, cli.json))
        }
        Command::Audit(args) => refuse_profile(profile).and_then(|()| audit::run(args, cli.json)),
        Command::Console(args) => console::run(args, profile, cli.json),
        other => refuse_profile(profile)
            .and_then(|()| refuse_json(cli.json))
            .and_then(|()| {
                match other {
                    Command::Decode(args) => decode::run(args),
                    Command::Sim(args) => sim::run(args),
                    Command::Relay(args) => relay::run(args),
                    Command::Vm(_)
                    | Command::Template(_)
                    | Command::Profile(_)
                    | Command::Recording(_)
                    | Command::Audit(_)
                    | Command::Console(_) => Ok(()),
                }
                .map_err(Failure::Other)
            }),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => front::report(failure),
    }
}

/// `--profile` means nothing to the headless tools: refused rather than ignored.
fn refuse_profile(profile: Option<&str>) -> Result<(), Failure> {
    match profile {
        Some(_) => Err(Failure::Usage(
            "--profile applies to `vm`, `template` and `console` only".into(),
        )),
        None => Ok(()),
    }
}

/// `decode`, `sim` and `relay` print their own formats.
fn refuse_json(json: bool) -> Result<(), Failure> {
    if json {
        return Err(Failure::Usage(
            "--json applies to `vm`, `template`, `profile`, `recording`, `audit` and `console`"
                .into(),
        ));
    }
    Ok(())
}
