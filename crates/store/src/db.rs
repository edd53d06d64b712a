//! Opening the database: location, pragmas, migrations, and moving a damaged file aside.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use rusqlite::{Connection, ErrorCode, OpenFlags};

use crate::error::{Error, Result};
use crate::migrations;

/// File name of the database inside the data dir.
pub const FILE_NAME: &str = "state.sqlite3";
/// Environment variable that overrides the data dir (tests, portable installs).
pub const DATA_DIR_ENV: &str = "ONEDECK_DATA_DIR";
/// How long a write waits for another process (a second app instance, `onedeck-cli`) to finish.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The data dir: `$ONEDECK_DATA_DIR` when set and non-empty, else the platform's per-user data
/// dir (`$XDG_DATA_HOME/onedeck` on Linux).
///
/// # Errors
/// [`Error::NoDataDir`] when neither exists.
pub fn default_data_dir() -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os(DATA_DIR_ENV).filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    directories::ProjectDirs::from("org", "OneDeck", "OneDeck")
        .map(|dirs| dirs.data_dir().to_path_buf())
        .ok_or(Error::NoDataDir)
}

/// A damaged database that [`Store::open`] found and moved aside before starting afresh.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recovery {
    /// Where the damaged file now is (its `-wal`/`-shm` companions got the same new name plus
    /// their suffix). Nothing was deleted.
    pub moved_to: PathBuf,
    /// What SQLite said about it.
    pub reason: String,
}

impl std::fmt::Display for Recovery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the local database was damaged ({}); it was moved to {} and a new one was created \
             (cached inventory and the console log start empty)",
            self.reason,
            self.moved_to.display()
        )
    }
}

/// The local state database. One connection; not `Sync`: the app keeps it behind a `Mutex` and
/// calls it from `tokio::task::spawn_blocking`. Safe to open from two processes at once (WAL,
/// busy timeout, migrations in an `IMMEDIATE` transaction).
#[derive(Debug)]
pub struct Store {
    pub(crate) conn: Connection,
    path: PathBuf,
    recovered: Option<Recovery>,
}

impl Store {
    /// Opens `state.sqlite3` in [`default_data_dir`], creating the directory if needed.
    ///
    /// # Errors
    /// As [`Store::open`], plus [`Error::NoDataDir`].
    pub fn open_default() -> Result<Self> {
        Self::open(&default_data_dir()?.join(FILE_NAME))
    }

    /// Opens (or creates) the database at `path` and brings its schema up to date. A file SQLite
    /// reports as not a database or corrupt is renamed to `<name>.corrupt-<UTC time>` (never
    /// deleted), a warning is logged, a fresh database is created, and [`Store::recovered`] says
    /// so for the UI.
    ///
    /// # Errors
    /// [`Error::NewerSchema`] (file left untouched), [`Error::Busy`], [`Error::Io`],
    /// [`Error::Sqlite`].
    pub fn open(path: &Path) -> Result<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            create_private_dir(dir)?;
        }
        create_private_file(path)?;
        let mut store = Self::open_unchained(path)?;
        store.chain_backfill()?;
        Ok(store)
    }

    fn open_unchained(path: &Path) -> Result<Self> {
        match connect(path) {
            Ok(result) => Ok(Self {
                conn: result?,
                path: path.to_path_buf(),
                recovered: None,
            }),
            Err(Damaged(reason)) => {
                let moved_to = move_aside(path)?;
                let recovery = Recovery { moved_to, reason };
                tracing::warn!(path = %path.display(), "{recovery}");
                create_private_file(path)?;
                let conn = match connect(path) {
                    Ok(result) => result?,
                    Err(Damaged(reason)) => {
                        return Err(Error::Io {
                            action: "cannot create a fresh database at",
                            path: path.to_path_buf(),
                            source: std::io::Error::other(reason),
                        });
                    }
                };
                Ok(Self {
                    conn,
                    path: path.to_path_buf(),
                    recovered: Some(recovery),
                })
            }
        }
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Set when `open` found a damaged database and moved it aside (show it to the user once).
    pub fn recovered(&self) -> Option<&Recovery> {
        self.recovered.as_ref()
    }

    /// The schema version of the open database (`PRAGMA user_version`).
    ///
    /// # Errors
    /// [`Error::Sqlite`].
    pub fn schema_version(&self) -> Result<u32> {
        Ok(self
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))?)
    }
}

/// A database SQLite cannot read as one; the text is SQLite's own words.
struct Damaged(String);

fn is_damage(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt)
    )
}

/// Opens and migrates. The outer `Result` reports damage (move aside and retry), the inner one
/// every other failure.
fn connect(path: &Path) -> std::result::Result<Result<Connection>, Damaged> {
    let damaged_or = |e: rusqlite::Error| {
        if is_damage(&e) {
            Err(Damaged(e.to_string()))
        } else {
            Ok(Err(Error::from(e)))
        }
    };
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX
        | OpenFlags::SQLITE_OPEN_URI;
    let mut conn = match Connection::open_with_flags(path, flags) {
        Ok(conn) => conn,
        Err(e) => return damaged_or(e),
    };
    if let Err(e) = conn.busy_timeout(BUSY_TIMEOUT) {
        return damaged_or(e);
    }
    // WAL: readers never block the writer, a killed writer leaves the last committed state.
    // synchronous=NORMAL is crash-safe under WAL (only power loss may drop the last commit).
    let setup = conn
        .query_row("PRAGMA journal_mode = WAL", [], |r| r.get::<_, String>(0))
        .and_then(|_| conn.execute_batch("PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;"))
        .and_then(|()| conn.query_row("PRAGMA quick_check(1)", [], |r| r.get::<_, String>(0)));
    match setup {
        Ok(verdict) if verdict == "ok" => {}
        Ok(verdict) => return Err(Damaged(verdict)),
        Err(e) => return damaged_or(e),
    }
    match migrations::migrate(&mut conn, path) {
        Ok(()) => Ok(Ok(conn)),
        Err(Error::Sqlite(e)) => damaged_or(e),
        Err(Error::Busy) => Ok(Err(Error::Busy)),
        Err(other) => Ok(Err(other)),
    }
}

/// Creates the data directory 0700, and tightens one that exists with looser bits (an older
/// version, or a umask of 022, left it 0755: the inventory and the audit log are the user's).
fn create_private_dir(dir: &Path) -> Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir).map_err(|source| Error::Io {
        action: "cannot create directory",
        path: dir.to_path_buf(),
        source,
    })?;
    restrict(dir, 0o700)
}

/// Creates the database file 0600 before SQLite does (SQLite would use the umask), and tightens
/// an existing one. SQLite gives its `-wal` and `-shm` files the database file's mode.
fn create_private_file(path: &Path) -> Result<()> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path).map_err(|source| Error::Io {
        action: "cannot create",
        path: path.to_path_buf(),
        source,
    })?;
    restrict(path, 0o600)
}

/// Removes every permission bit beyond `mode` (Unix; other systems keep their ACLs).
fn restrict(path: &Path, mode: u32) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = fs::metadata(path).map_err(|source| Error::Io {
            action: "cannot read the permissions of",
            path: path.to_path_buf(),
            source,
        })?;
        let current = meta.permissions().mode() & 0o777;
        if current & !mode != 0 {
            fs::set_permissions(path, fs::Permissions::from_mode(current & mode)).map_err(
                |source| Error::Io {
                    action: "cannot restrict the permissions of",
                    path: path.to_path_buf(),
                    source,
                },
            )?;
        }
    }
    #[cfg(not(unix))]
    let _ = (path, mode);
    Ok(())
}

/// Renames the database and its `-wal`/`-shm` companions to `<name>.corrupt-<UTC time>[-wal|-shm]`.
fn move_aside(path: &Path) -> Result<PathBuf> {
    let stamp = utc_stamp(SystemTime::now());
    let mut base = path.as_os_str().to_owned();
    base.push(format!(".corrupt-{stamp}"));
    let mut aside = PathBuf::from(&base);
    let mut n = 1;
    while aside.exists() {
        let mut numbered = base.clone();
        numbered.push(format!("-{n}"));
        aside = PathBuf::from(numbered);
        n += 1;
    }
    for suffix in ["", "-wal", "-shm"] {
        let mut from = path.as_os_str().to_owned();
        from.push(suffix);
        let mut to = aside.as_os_str().to_owned();
        to.push(suffix);
        match fs::rename(&from, &to) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !suffix.is_empty() => {}
            Err(source) => {
                return Err(Error::Io {
                    action: "cannot move the damaged database aside",
                    path: PathBuf::from(from),
                    source,
                });
            }
        }
    }
    Ok(aside)
}

/// `YYYYMMDDTHHMMSSZ` for a file name (civil-from-days, proleptic Gregorian).
pub(crate) fn utc_stamp(t: SystemTime) -> String {
    let secs = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let days = i64::try_from(secs / 86_400).unwrap_or_default();
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}{month:02}{day:02}T{:02}{:02}{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Milliseconds since the Unix epoch (0 before it), as SQLite stores times.
pub(crate) fn to_ms(t: SystemTime) -> i64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// The inverse of [`to_ms`].
pub(crate) fn from_ms(ms: i64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_millis(u64::try_from(ms).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_stamp_formats_known_instants() {
        assert_eq!(utc_stamp(SystemTime::UNIX_EPOCH), "19700101T000000Z");
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_764_064_849);
        assert_eq!(utc_stamp(t), "20251125T100049Z");
        let leap = SystemTime::UNIX_EPOCH + Duration::from_secs(951_782_400);
        assert_eq!(utc_stamp(leap), "20000229T000000Z");
    }

    #[test]
    fn times_round_trip_in_milliseconds() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_millis(1_764_064_849_123);
        assert_eq!(from_ms(to_ms(t)), t);
    }
}
