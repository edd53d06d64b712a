//! `onedeck-cli sim`. Filled in by the issue that builds this subcommand's crate.

/// Arguments of `onedeck-cli sim`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs `onedeck-cli sim`.
pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("`onedeck-cli sim` is not available in this build yet")
}
