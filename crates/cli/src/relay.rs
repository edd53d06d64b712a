//! `onedeck-cli relay`. Filled in by the issue that builds this subcommand's crate.

/// Arguments of `onedeck-cli relay`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs `onedeck-cli relay`.
pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("`onedeck-cli relay` is not available in this build yet")
}
