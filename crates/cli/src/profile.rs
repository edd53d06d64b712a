//! `onedeck-cli profile`. Filled in by the issue that builds this subcommand's crate.

/// Arguments of `onedeck-cli profile`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs `onedeck-cli profile`.
pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("`onedeck-cli profile` is not available in this build yet")
}
