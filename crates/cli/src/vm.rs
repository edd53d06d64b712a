//! `onedeck-cli vm`. Filled in by the issue that builds this subcommand's crate.

/// Arguments of `onedeck-cli vm`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs `onedeck-cli vm`.
pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("`onedeck-cli vm` is not available in this build yet")
}
