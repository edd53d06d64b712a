//! The profiles file: `profiles.toml` in the OS config dir, versioned, replaced atomically with a
//! backup, and never overwritten when it cannot be read.

use std::fs::{self, File, OpenOptions};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::atomic;
use crate::error::{Error, Result};
use crate::profile::{Profile, ProfileId};

/// Schema version written by this build; files with a higher one are refused, not rewritten.
pub const SCHEMA_VERSION: u32 = 1;
/// Name of the profiles file inside the config dir.
pub const FILE_NAME: &str = "profiles.toml";
/// Environment variable that overrides the config dir (tests, portable installs).
pub const CONFIG_DIR_ENV: &str = "ONEDECK_CONFIG_DIR";

const HEADER: &str = "# OneDeck endpoint profiles. Written by OneDeck; edits are kept if the file stays valid.\n\
# Passwords and tokens are NOT here: they live in the OS keyring (service \"onedeck\", account = id).\n\n";

/// The config dir: `$ONEDECK_CONFIG_DIR` when set and non-empty, else the platform's per-user
/// config dir (`$XDG_CONFIG_HOME/onedeck` on Linux, `~/Library/Application Support/org.OneDeck.OneDeck`
/// on macOS, `%APPDATA%\OneDeck\OneDeck\config` on Windows).
///
/// # Errors
/// [`Error::NoConfigDir`] when neither exists.
pub fn default_config_dir() -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os(CONFIG_DIR_ENV).filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    directories::ProjectDirs::from("org", "OneDeck", "OneDeck")
        .map(|dirs| dirs.config_dir().to_path_buf())
        .ok_or(Error::NoConfigDir)
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileV1 {
    version: u32,
    #[serde(default, rename = "profile")]
    profiles: Vec<Profile>,
}

/// The profiles file. Every call reads the file afresh, so two app instances (or the app and
/// `onedeck-cli`) see each other's changes; writers serialise on a lock file beside it.
#[derive(Clone, Debug)]
pub struct ProfileStore {
    path: PathBuf,
}

impl ProfileStore {
    /// The store in [`default_config_dir`], creating the directory if needed.
    ///
    /// # Errors
    /// [`Error::NoConfigDir`], or [`Error::Io`] when the directory cannot be created.
    pub fn open_default() -> Result<Self> {
        Self::in_dir(&default_config_dir()?)
    }

    /// The store in `dir` (file `profiles.toml`), creating the directory if needed.
    ///
    /// # Errors
    /// [`Error::Io`] when the directory cannot be created.
    pub fn in_dir(dir: &Path) -> Result<Self> {
        atomic::create_private_dir(dir)?;
        Ok(Self {
            path: dir.join(FILE_NAME),
        })
    }

    /// Path of the profiles file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Path of the backup that holds the version before the last write.
    pub fn backup_path(&self) -> PathBuf {
        with_suffix(&self.path, ".bak")
    }

    fn lock_path(&self) -> PathBuf {
        with_suffix(&self.path, ".lock")
    }

    /// All profiles, in file order; none when the file does not exist yet.
    ///
    /// # Errors
    /// [`Error::Corrupt`] or [`Error::NewerVersion`] naming the file and line; [`Error::Io`].
    pub fn list(&self) -> Result<Vec<Profile>> {
        read_file(&self.path)
    }

    /// The profile with this id.
    ///
    /// # Errors
    /// [`Error::ProfileNotFound`], or any error of [`ProfileStore::list`].
    pub fn get(&self, id: &ProfileId) -> Result<Profile> {
        self.list()?
            .into_iter()
            .find(|p| &p.id == id)
            .ok_or_else(|| Error::ProfileNotFound(id.to_string()))
    }

    /// Adds the profile, or replaces the one with the same id; returns it normalised.
    ///
    /// # Errors
    /// [`Error::InvalidProfile`]; any error of [`ProfileStore::list`] (a damaged or newer file is
    /// never overwritten); [`Error::Io`].
    pub fn upsert(&self, mut profile: Profile) -> Result<Profile> {
        profile.normalize()?;
        let saved = profile.clone();
        self.modify(move |profiles| {
            match profiles.iter_mut().find(|p| p.id == profile.id) {
                Some(slot) => *slot = profile,
                None => profiles.push(profile),
            }
            Ok(())
        })?;
        Ok(saved)
    }

    /// Removes the profile and returns it. Its secret is the caller's to delete (see
    /// [`crate::Vault::remove_profile`], which does both).
    ///
    /// # Errors
    /// [`Error::ProfileNotFound`]; any error of [`ProfileStore::list`]; [`Error::Io`].
    pub fn remove(&self, id: &ProfileId) -> Result<Profile> {
        let mut removed = None;
        self.modify(|profiles| {
            let index = profiles
                .iter()
                .position(|p| &p.id == id)
                .ok_or_else(|| Error::ProfileNotFound(id.to_string()))?;
            removed = Some(profiles.remove(index));
            Ok(())
        })?;
        removed.ok_or_else(|| Error::ProfileNotFound(id.to_string()))
    }

    /// Renames a damaged profiles file to `profiles.toml.damaged-<unix time>` so the app can start
    /// with no profiles, keeping every byte of the old file. Returns the new name, or `None` when
    /// there was no file. Only for an explicit user choice.
    ///
    /// # Errors
    /// [`Error::Io`] when the rename fails.
    pub fn move_aside(&self) -> Result<Option<PathBuf>> {
        let _lock = self.lock()?;
        self.move_aside_locked()
    }

    /// [`ProfileStore::move_aside`] for a caller that holds the writer lock.
    fn move_aside_locked(&self) -> Result<Option<PathBuf>> {
        if !self.path.exists() {
            return Ok(None);
        }
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default();
        let mut aside = with_suffix(&self.path, &format!(".damaged-{secs}"));
        let mut n = 1;
        while aside.exists() {
            // Never rename over an earlier moved-aside file.
            aside = with_suffix(&self.path, &format!(".damaged-{secs}-{n}"));
            n += 1;
        }
        fs::rename(&self.path, &aside)
            .map_err(|e| Error::io("cannot move aside", &self.path, e))?;
        Ok(Some(aside))
    }

    /// Puts the backup (the version before the last write) back in place, after checking that it
    /// parses. The current file, damaged or not, is first moved aside as with
    /// [`ProfileStore::move_aside`], so nothing is lost. Returns the restored profiles and where
    /// the replaced file went.
    ///
    /// # Errors
    /// [`Error::Io`] when there is no backup or a rename fails; [`Error::Corrupt`] or
    /// [`Error::NewerVersion`] naming the backup when it cannot be read either (nothing changes).
    pub fn restore_backup(&self) -> Result<(Vec<Profile>, Option<PathBuf>)> {
        let _lock = self.lock()?;
        let backup = self.backup_path();
        let text =
            fs::read(&backup).map_err(|e| Error::io("no backup to restore at", &backup, e))?;
        let profiles = read_file(&backup)?;
        let aside = self.move_aside_locked()?;
        atomic::replace(&self.path, &text, None)?;
        Ok((profiles, aside))
    }

    /// Read-modify-write under the writer lock. The file is parsed fully first, so a damaged or
    /// newer file stops the write instead of being replaced.
    fn modify(&self, change: impl FnOnce(&mut Vec<Profile>) -> Result<()>) -> Result<()> {
        let _lock = self.lock()?;
        atomic::remove_stale_temps(&self.path);
        // The backup is staged under its own temp name, which the line above does not match.
        atomic::remove_stale_temps(&self.backup_path());
        let mut profiles = read_file(&self.path)?;
        change(&mut profiles)?;
        let text = render(profiles)?;
        atomic::replace(&self.path, text.as_bytes(), Some(&self.backup_path()))
    }

    /// An exclusive advisory lock on `profiles.toml.lock`, released when the file is dropped (and
    /// by the OS if the process dies).
    fn lock(&self) -> Result<File> {
        let path = self.lock_path();
        let mut options = OpenOptions::new();
        options.create(true).truncate(false).write(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let file = options
            .open(&path)
            .map_err(|e| Error::io("cannot open lock file", &path, e))?;
        file.lock()
            .map_err(|e| Error::io("cannot lock", &path, e))?;
        Ok(file)
    }
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

fn render(profiles: Vec<Profile>) -> Result<String> {
    let body = toml::to_string(&FileV1 {
        version: SCHEMA_VERSION,
        profiles,
    })?;
    Ok(format!("{HEADER}{body}"))
}

/// 1-based line and column of a byte offset.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text.as_bytes()[..offset.min(text.len())];
    let line = before.iter().filter(|b| **b == b'\n').count() + 1;
    let column = before.iter().rev().take_while(|b| **b != b'\n').count() + 1;
    (line, column)
}

/// Line of the first `key = ` at the start of a line (for errors that have no parser span).
fn line_of_key(text: &str, key: &str, value: Option<&str>) -> usize {
    text.lines()
        .position(|l| {
            let l = l.trim_start();
            l.strip_prefix(key)
                .map(|rest| rest.trim_start().starts_with('='))
                .unwrap_or(false)
                && value.is_none_or(|v| l.contains(v))
        })
        .map_or(1, |i| i + 1)
}

fn corrupt(path: &Path, text: &str, offset: usize, message: impl Into<String>) -> Error {
    let (line, column) = line_col(text, offset);
    Error::Corrupt {
        path: path.to_path_buf(),
        line,
        column,
        message: message.into(),
    }
}

fn read_file(path: &Path) -> Result<Vec<Profile>> {
    let bytes = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io("cannot read", path, e)),
    };
    let text = match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => {
            let valid = e.utf8_error().valid_up_to();
            let lossy = String::from_utf8_lossy(e.as_bytes()).into_owned();
            return Err(corrupt(path, &lossy, valid, "not UTF-8 text"));
        }
    };
    parse(path, &text)
}

/// Parses the whole file; the version is checked before the schema so a newer file gets
/// [`Error::NewerVersion`], not a confusing schema error.
pub(crate) fn parse(path: &Path, text: &str) -> Result<Vec<Profile>> {
    let table: toml::Table = toml::from_str(text).map_err(|e| {
        let offset = e.span().map_or(0, |s| s.start);
        corrupt(path, text, offset, e.message().trim())
    })?;
    let version_line = line_of_key(text, "version", None);
    let version = match table.get("version") {
        None => return Err(corrupt(path, text, 0, "no `version = N` key")),
        Some(toml::Value::Integer(v)) => *v,
        Some(_) => {
            return Err(Error::Corrupt {
                path: path.to_path_buf(),
                line: version_line,
                column: 1,
                message: "`version` must be an integer".into(),
            });
        }
    };
    if version > i64::from(SCHEMA_VERSION) {
        return Err(Error::NewerVersion {
            path: path.to_path_buf(),
            line: version_line,
            found: version,
            supported: SCHEMA_VERSION,
        });
    }
    if version < 1 {
        return Err(Error::Corrupt {
            path: path.to_path_buf(),
            line: version_line,
            column: 1,
            message: format!("`version = {version}` is not a schema version (they start at 1)"),
        });
    }
    let file: FileV1 = toml::from_str(text).map_err(|e| {
        let offset = e.span().map_or(0, |s| s.start);
        corrupt(path, text, offset, e.message().trim())
    })?;
    let mut seen = std::collections::HashSet::new();
    let mut file = file;
    for profile in &mut file.profiles {
        profile.migrate();
    }
    for profile in &file.profiles {
        let line = line_of_key(text, "id", Some(&format!("\"{}\"", profile.id)));
        let at = |message: String| Error::Corrupt {
            path: path.to_path_buf(),
            line,
            column: 1,
            message,
        };
        if !seen.insert(profile.id.clone()) {
            return Err(at(format!("profile id `{}` appears twice", profile.id)));
        }
        profile
            .validate()
            .map_err(|e| at(format!("profile `{}`: {e}", profile.id)))?;
    }
    Ok(file.profiles)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::{AuthMode, VmFilter};

    fn store() -> Result<(tempfile::TempDir, ProfileStore)> {
        let dir = tempfile::tempdir().map_err(|e| Error::io("tempdir", "/tmp", e))?;
        let store = ProfileStore::in_dir(dir.path())?;
        Ok((dir, store))
    }

    fn profile(name: &str) -> Result<Profile> {
        Profile::new(name, "https://one.example.org:2633/RPC2", "alice")
    }

    #[test]
    fn missing_file_means_no_profiles() -> Result<()> {
        let (_dir, store) = store()?;
        assert!(store.list()?.is_empty());
        Ok(())
    }

    #[test]
    fn every_field_survives_a_round_trip() -> Result<()> {
        let (_dir, store) = store()?;
        let mut p = profile("Prod")?;
        p.auth = AuthMode::LoginToken {
            token_ttl_secs: 36_000,
            renew_before_secs: 600,
        };
        p.tls.ca_file = Some("/etc/ssl/one-ca.pem".into());
        p.tls.pinned_sha256 = Some("ab".repeat(32));
        p.vm_filter = VmFilter::MineAndGroups;
        p.console_hosts
            .insert("node1.cluster".into(), "10.1.2.3".into());
        p.tls.allow_plain_http = true;
        let saved = store.upsert(p.clone())?;
        assert_eq!(
            saved.tls.pinned_sha256.as_deref().map(str::len),
            Some(95),
            "normalised"
        );
        assert_eq!(store.list()?, vec![saved.clone()]);
        assert_eq!(store.get(&p.id)?, saved);
        // An older file's SSH jump host loads as an SSH console transport through that host.
        let text = fs::read_to_string(store.path()).map_err(|e| Error::io("read", "toml", e))?;
        fs::write(
            store.path(),
            format!("{text}\n[profile.ssh_jump]\nhost = \"bastion\"\nport = 2222\n"),
        )
        .map_err(|e| Error::io("write", "toml", e))?;
        let loaded = store.get(&p.id)?;
        assert_eq!(loaded.ssh_jump, None);
        match loaded.console_transport {
            crate::ConsoleTransport::Ssh(ssh) => {
                assert_eq!((ssh.host.as_deref(), ssh.port), (Some("bastion"), 2222));
            }
            other => panic!("not migrated: {other:?}"),
        }
        Ok(())
    }

    #[test]
    fn upsert_replaces_by_id_and_keeps_a_backup() -> Result<()> {
        let (_dir, store) = store()?;
        let mut p = profile("Prod")?;
        store.upsert(p.clone())?;
        p.name = "Production".into();
        store.upsert(p.clone())?;
        assert_eq!(store.list()?.len(), 1);
        assert_eq!(store.get(&p.id)?.name, "Production");
        let backup =
            fs::read_to_string(store.backup_path()).map_err(|e| Error::io("read", "bak", e))?;
        assert!(
            backup.contains("name = \"Prod\""),
            "backup holds the previous version"
        );
        Ok(())
    }

    #[test]
    fn remove_returns_the_profile_and_unknown_ids_fail() -> Result<()> {
        let (_dir, store) = store()?;
        let a = store.upsert(profile("A")?)?;
        let b = store.upsert(profile("B")?)?;
        assert_eq!(store.remove(&a.id)?, a);
        assert_eq!(store.list()?, vec![b]);
        assert!(matches!(
            store.remove(&a.id),
            Err(Error::ProfileNotFound(_))
        ));
        Ok(())
    }

    #[test]
    fn syntax_error_names_file_and_line_and_blocks_writes() -> Result<()> {
        let (_dir, store) = store()?;
        let text = "version = 1\n\n[[profile]]\nid = \"a-1\"\nname = \"A\nurl = \"http://x\"\n";
        fs::write(store.path(), text).map_err(|e| Error::io("write", store.path(), e))?;
        let err = store.list().err();
        match &err {
            Some(Error::Corrupt { path, line, .. }) => {
                assert_eq!(path, store.path());
                assert_eq!(*line, 5, "the unterminated string");
            }
            other => panic!("expected Corrupt, got {other:?}"),
        }
        let message = err.map(|e| e.to_string()).unwrap_or_default();
        assert!(message.contains("profiles.toml:5:"), "{message}");
        assert!(
            store.upsert(profile("B")?).is_err(),
            "a damaged file blocks writes"
        );
        assert_eq!(
            fs::read_to_string(store.path()).map_err(|e| Error::io("read", "f", e))?,
            text,
            "nothing was overwritten"
        );
        Ok(())
    }

    #[test]
    fn schema_errors_name_the_line() -> Result<()> {
        let (_dir, store) = store()?;
        let text = "version = 1\n[[profile]]\nid = \"a-1\"\nname = \"A\"\nurl = \"http://x\"\nuser = \"u\"\nvm_filter = \"everything\"\n";
        fs::write(store.path(), text).map_err(|e| Error::io("write", store.path(), e))?;
        assert!(
            matches!(store.list(), Err(Error::Corrupt { line: 7, .. })),
            "{:?}",
            store.list()
        );
        Ok(())
    }

    #[test]
    fn invalid_and_duplicate_profiles_are_corrupt() -> Result<()> {
        let (_dir, store) = store()?;
        let one = "[[profile]]\nid = \"a-1\"\nname = \"A\"\nurl = \"http://x\"\nuser = \"u\"\n";
        fs::write(store.path(), format!("version = 1\n{one}{one}"))
            .map_err(|e| Error::io("write", store.path(), e))?;
        assert!(matches!(store.list(), Err(Error::Corrupt { line: 3, .. })));
        let bad = "version = 1\n[[profile]]\nid = \"a-1\"\nname = \"A\"\nurl = \"gopher://x\"\nuser = \"u\"\n";
        fs::write(store.path(), bad).map_err(|e| Error::io("write", store.path(), e))?;
        assert!(matches!(store.list(), Err(Error::Corrupt { .. })));
        Ok(())
    }

    #[test]
    fn newer_version_is_refused_and_kept() -> Result<()> {
        let (_dir, store) = store()?;
        let text = "# from the future\nversion = 7\n[[profile]]\nnew_field = true\n";
        fs::write(store.path(), text).map_err(|e| Error::io("write", store.path(), e))?;
        assert!(matches!(
            store.list(),
            Err(Error::NewerVersion {
                line: 2,
                found: 7,
                supported: SCHEMA_VERSION,
                ..
            })
        ));
        assert!(store.upsert(profile("B")?).is_err());
        assert_eq!(
            fs::read_to_string(store.path()).map_err(|e| Error::io("read", "f", e))?,
            text
        );
        Ok(())
    }

    #[test]
    fn missing_or_bad_version_is_corrupt() -> Result<()> {
        let (_dir, store) = store()?;
        for text in ["[[profile]]\n", "version = \"one\"\n", "version = 0\n"] {
            fs::write(store.path(), text).map_err(|e| Error::io("write", store.path(), e))?;
            assert!(matches!(store.list(), Err(Error::Corrupt { .. })), "{text}");
        }
        Ok(())
    }

    #[test]
    fn non_utf8_is_corrupt_at_its_line() -> Result<()> {
        let (_dir, store) = store()?;
        fs::write(store.path(), b"version = 1\n# \xff\n")
            .map_err(|e| Error::io("write", "f", e))?;
        assert!(matches!(store.list(), Err(Error::Corrupt { line: 2, .. })));
        Ok(())
    }

    #[test]
    fn restore_backup_brings_back_the_previous_version() -> Result<()> {
        let (_dir, store) = store()?;
        assert!(
            matches!(store.restore_backup(), Err(Error::Io { .. })),
            "no backup yet"
        );
        let first = store.upsert(profile("First")?)?;
        store.upsert(profile("Second")?)?;
        fs::write(store.path(), "damaged [").map_err(|e| Error::io("write", "f", e))?;
        let (restored, aside) = store.restore_backup()?;
        assert_eq!(restored, vec![first.clone()]);
        assert_eq!(store.list()?, vec![first]);
        let aside = aside.ok_or(Error::ProfileNotFound("aside".into()))?;
        assert_eq!(
            fs::read_to_string(&aside).map_err(|e| Error::io("read", &aside, e))?,
            "damaged [",
            "the replaced file is kept"
        );
        Ok(())
    }

    #[test]
    fn concurrent_writers_lose_no_update() -> Result<()> {
        let (_dir, store) = store()?;
        let writers: Vec<_> = (0..4)
            .map(|t| {
                let store = store.clone();
                std::thread::spawn(move || -> Result<()> {
                    for i in 0..15 {
                        store.upsert(profile(&format!("t{t} p{i}"))?)?;
                    }
                    Ok(())
                })
            })
            .collect();
        for w in writers {
            w.join()
                .map_err(|_| Error::ProfileNotFound("writer panicked".into()))??;
        }
        assert_eq!(
            store.list()?.len(),
            60,
            "every read-modify-write kept the others' profiles"
        );
        Ok(())
    }

    /// A writer killed while staging the backup leaves `.profiles.toml.bak.tmp-*` (a hard link
    /// to an old version); the next writer removes it like the main file's temp files.
    #[test]
    fn stale_backup_temps_are_removed_by_the_next_write() -> Result<()> {
        let (dir, store) = store()?;
        let stale = dir.path().join(".profiles.toml.bak.tmp-1-2");
        fs::write(&stale, "old version").map_err(|e| Error::io("write", &stale, e))?;
        store.upsert(profile("Fresh")?)?;
        assert!(
            !stale.exists(),
            "the killed writer's backup temp file is left behind"
        );
        Ok(())
    }

    #[test]
    fn move_aside_keeps_every_byte() -> Result<()> {
        let (_dir, store) = store()?;
        fs::write(store.path(), "garbage [").map_err(|e| Error::io("write", "f", e))?;
        let aside = store
            .move_aside()?
            .ok_or(Error::ProfileNotFound("file".into()))?;
        assert_eq!(
            fs::read_to_string(&aside).map_err(|e| Error::io("read", &aside, e))?,
            "garbage ["
        );
        assert!(store.list()?.is_empty());
        store.upsert(profile("Fresh")?)?;
        assert_eq!(store.list()?.len(), 1);
        fs::write(store.path(), "garbage again [").map_err(|e| Error::io("write", "f", e))?;
        let second = store
            .move_aside()?
            .ok_or(Error::ProfileNotFound("file".into()))?;
        assert_ne!(
            second, aside,
            "a second move in the same second gets its own name"
        );
        assert_eq!(
            fs::read_to_string(&aside).map_err(|e| Error::io("read", &aside, e))?,
            "garbage ["
        );
        Ok(())
    }
}
