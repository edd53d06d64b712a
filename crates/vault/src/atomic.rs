//! Crash-safe replacement of a small file: write a temp file beside it, fsync, keep the old
//! version as a backup, rename over, fsync the directory.
//!
//! Readers never lock: a rename is atomic, so they see the old file or the new one, whole.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Prefix of temp files, so a writer holding the lock can delete those a killed writer left.
fn temp_prefix(target: &Path) -> String {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    format!(".{name}.tmp-")
}

fn parent(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Creates a file that only the user can read (the profiles file names hosts and users).
fn create_private(path: &Path) -> std::io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

/// Makes `dir` and its parents, private to the user where the OS supports it.
pub(crate) fn create_private_dir(dir: &Path) -> Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder
        .create(dir)
        .map_err(|e| Error::io("cannot create directory", dir, e))
}

/// Flushes a directory entry change (create, rename) to disk. Only POSIX systems can open a
/// directory for this; elsewhere the rename itself is the durability point.
fn sync_dir(dir: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| Error::io("cannot sync directory", dir, e))?;
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// Deletes temp files that a killed writer left behind. Call only while holding the writer lock.
pub(crate) fn remove_stale_temps(target: &Path) {
    let prefix = temp_prefix(target);
    let Ok(entries) = fs::read_dir(parent(target)) else {
        return;
    };
    for entry in entries.flatten() {
        if entry.file_name().to_string_lossy().starts_with(&prefix) {
            // Best effort: a leftover temp file is harmless, only untidy.
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// Replaces `target` with `bytes` so that a crash at any point leaves either the old or the new
/// content at `target`. When `backup` is given and `target` exists, the old version ends up there.
///
/// The caller must hold the writer lock (two writers could otherwise interleave the backup step).
pub(crate) fn replace(target: &Path, bytes: &[u8], backup: Option<&Path>) -> Result<()> {
    let dir = parent(target);
    let temp = unique_temp(target);
    let result = write_then_rename(target, &temp, bytes, backup);
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result?;
    sync_dir(dir)
}

fn unique_temp(target: &Path) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    parent(target).join(format!(
        "{}{}-{nanos}",
        temp_prefix(target),
        std::process::id()
    ))
}

fn write_then_rename(
    target: &Path,
    temp: &Path,
    bytes: &[u8],
    backup: Option<&Path>,
) -> Result<()> {
    let mut file = create_private(temp).map_err(|e| Error::io("cannot create", temp, e))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(|e| Error::io("cannot write", temp, e))?;
    drop(file);
    if let Some(backup) = backup
        && target.exists()
    {
        keep_backup(target, backup)?;
    }
    fs::rename(temp, target).map_err(|e| Error::io("cannot replace", target, e))
}

/// Points `backup` at the current version of `target`. A hard link shares the (never modified in
/// place) inode, so it costs no copy; a file system without links gets a copy. Either way the
/// backup is itself replaced by a rename, so a crash leaves the old backup or the new one.
fn keep_backup(target: &Path, backup: &Path) -> Result<()> {
    let staged = unique_temp(backup);
    if fs::hard_link(target, &staged).is_err() {
        fs::copy(target, &staged)
            .and_then(|_| File::open(&staged)?.sync_all())
            .map_err(|e| {
                let _ = fs::remove_file(&staged);
                Error::io("cannot copy to backup", &staged, e)
            })?;
    }
    fs::rename(&staged, backup).map_err(|e| {
        let _ = fs::remove_file(&staged);
        Error::io("cannot replace backup", backup, e)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replace_keeps_the_previous_version_as_backup() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|e| Error::io("tempdir", "/tmp", e))?;
        let target = dir.path().join("f.toml");
        let backup = dir.path().join("f.toml.bak");
        replace(&target, b"one", Some(&backup))?;
        assert!(!backup.exists(), "no backup of a file that did not exist");
        replace(&target, b"two", Some(&backup))?;
        replace(&target, b"three", Some(&backup))?;
        assert_eq!(
            fs::read(&target).map_err(|e| Error::io("read", &target, e))?,
            b"three"
        );
        assert_eq!(
            fs::read(&backup).map_err(|e| Error::io("read", &backup, e))?,
            b"two"
        );
        let names: Vec<_> = fs::read_dir(dir.path())
            .map_err(|e| Error::io("list", dir.path(), e))?
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names.len(), 2, "no temp files left: {names:?}");
        Ok(())
    }

    #[cfg(unix)]
    #[test]
    fn replaced_file_is_private() -> Result<()> {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().map_err(|e| Error::io("tempdir", "/tmp", e))?;
        let target = dir.path().join("f");
        replace(&target, b"x", None)?;
        let mode = fs::metadata(&target)
            .map_err(|e| Error::io("stat", &target, e))?
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        Ok(())
    }

    #[test]
    fn stale_temps_are_removed() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|e| Error::io("tempdir", "/tmp", e))?;
        let target = dir.path().join("f");
        let stale = dir.path().join(".f.tmp-1-2");
        fs::write(&stale, "half").map_err(|e| Error::io("write", &stale, e))?;
        fs::write(dir.path().join("other"), "keep").map_err(|e| Error::io("write", "other", e))?;
        remove_stale_temps(&target);
        assert!(!stale.exists());
        assert!(dir.path().join("other").exists(), "only our temp files go");
        Ok(())
    }
}
