//! Integration tests of onedeck-store: opening (migrations from empty and from every older
//! version, damaged and newer databases, two instances), the data it keeps, and crash safety.
//!
//! Tests named `child_*` are `#[ignore]`d: they are child processes the crash test kills.

mod chain;
mod crash;
mod data;
mod open;

use std::path::{Path, PathBuf};

/// Result type of the tests.
pub type TestResult = Result<(), Box<dyn std::error::Error>>;

/// A database path in a fresh temp dir (keep the dir alive).
pub fn db_path() -> std::io::Result<(tempfile::TempDir, PathBuf)> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join(onedeck_store::FILE_NAME);
    Ok((dir, path))
}

/// Every file name in `dir`, sorted.
pub fn names(dir: &Path) -> std::io::Result<Vec<String>> {
    let mut names: Vec<String> = std::fs::read_dir(dir)?
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    Ok(names)
}
