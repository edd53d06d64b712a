//! `onedeck-cli decode`. Filled in by the issue that builds this subcommand's crate.

/// Arguments of `onedeck-cli decode`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs `onedeck-cli decode`.
pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("`onedeck-cli decode` is not available in this build yet")
}
