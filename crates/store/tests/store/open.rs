//! Opening: migrations, damaged and newer databases, two instances.

use rusqlite::Connection;

use onedeck_store::{Error, SessionStart, Store, latest_schema_version};

use crate::{TestResult, db_path, names};

#[test]
fn a_new_database_gets_the_latest_schema_in_wal_mode() -> TestResult {
    let (_dir, path) = db_path()?;
    let store = Store::open(&path)?;
    assert_eq!(store.schema_version()?, latest_schema_version());
    assert!(store.recovered().is_none());
    drop(store);
    let conn = Connection::open(&path)?;
    let mode: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0))?;
    assert_eq!(mode, "wal");
    Ok(())
}

#[test]
fn an_empty_file_is_migrated_from_version_zero() -> TestResult {
    let (_dir, path) = db_path()?;
    std::fs::write(&path, b"")?; // SQLite treats an empty file as an empty database
    let store = Store::open(&path)?;
    assert_eq!(store.schema_version()?, latest_schema_version());
    assert!(store.recovered().is_none(), "empty is not damaged");
    Ok(())
}

/// Version 1 (the fixture) to the latest: every row kept, the recordings index backfilled.
#[test]
fn version_1_is_migrated_with_its_data() -> TestResult {
    let (_dir, path) = db_path()?;
    {
        let conn = Connection::open(&path)?;
        conn.execute_batch(include_str!("../fixtures/schema_v1.sql"))?;
    }
    let store = Store::open(&path)?;
    assert_eq!(store.schema_version()?, latest_schema_version());
    let inventory = store
        .load_inventory("lab-0000beef")?
        .ok_or("inventory lost")?;
    assert_eq!(
        inventory.rows.iter().map(|r| r.vm_id).collect::<Vec<_>>(),
        vec![7, 9]
    );
    let audit = store.audit_list(Some("lab-0000beef"), 10)?;
    assert_eq!(audit.len(), 2, "audit rows kept");
    assert_eq!(audit[0].start.vm_name, "db-1", "newest first");
    assert!(audit[0].end.is_none());
    let ended = audit[1].end.as_ref().ok_or("end lost")?;
    assert_eq!(
        (ended.bytes_to_client, ended.bytes_to_server),
        (123_456, 789)
    );
    let chain = store.audit_verify()?;
    assert_eq!(
        chain.first_break, None,
        "rows from before the chain get their events"
    );
    assert_eq!((chain.rows, chain.events), (2, 3), "two starts and one end");
    let recordings = store.recording_list(None)?;
    assert_eq!(recordings.len(), 1, "backfilled from the audit log");
    assert_eq!(recordings[0].info.audit_id, Some(audit[1].id));
    assert_eq!(
        recordings[0].info.path,
        std::path::PathBuf::from("/rec/lab/7-1764000100.rec")
    );
    Ok(())
}

#[test]
fn a_damaged_database_is_moved_aside_not_deleted() -> TestResult {
    let (dir, path) = db_path()?;
    let garbage = b"this is not an SQLite database, but it is someone's data".repeat(100);
    std::fs::write(&path, &garbage)?;
    let mut store = Store::open(&path)?;
    let recovery = store.recovered().ok_or("damage not reported")?.clone();
    assert!(
        recovery
            .moved_to
            .to_string_lossy()
            .contains("state.sqlite3.corrupt-"),
        "{recovery:?}"
    );
    assert_eq!(
        std::fs::read(&recovery.moved_to)?,
        garbage,
        "every byte kept"
    );
    let message = recovery.to_string();
    assert!(
        message.contains("moved to") && message.contains("damaged"),
        "{message}"
    );
    // The fresh database works.
    store.save_inventory("p", std::time::SystemTime::now(), &[])?;
    assert!(store.load_inventory("p")?.is_some());
    drop(store);
    assert!(
        names(dir.path())?
            .iter()
            .any(|n| n.starts_with("state.sqlite3.corrupt-")),
        "the damaged file is still in the data dir"
    );
    Ok(())
}

#[test]
fn a_truncated_database_is_moved_aside() -> TestResult {
    let (_dir, path) = db_path()?;
    {
        let mut store = Store::open(&path)?;
        let rows: Vec<_> = (0..2000)
            .map(|i| onedeck_store::VmRow {
                vm_id: i,
                json: format!(r#"{{"id":{i},"pad":"{}"}}"#, "x".repeat(200)),
            })
            .collect();
        store.save_inventory("p", std::time::SystemTime::now(), &rows)?;
    }
    // Checkpoint the WAL into the main file, then cut the file in the middle of its pages.
    Connection::open(&path)?.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")?;
    let bytes = std::fs::read(&path)?;
    let mut damaged = bytes[..bytes.len() / 2].to_vec();
    damaged.extend(std::iter::repeat_n(0xA5, 4096 * 3));
    std::fs::write(&path, &damaged)?;
    let _ = std::fs::remove_file(path.with_extension("sqlite3-wal"));
    let store = Store::open(&path)?;
    let recovery = store.recovered().ok_or("damage not reported")?;
    assert_eq!(std::fs::read(&recovery.moved_to)?, damaged);
    assert!(store.load_inventory("p")?.is_none(), "a fresh database");
    Ok(())
}

#[test]
fn a_newer_schema_is_refused_and_left_untouched() -> TestResult {
    let (_dir, path) = db_path()?;
    {
        let conn = Connection::open(&path)?;
        conn.execute_batch("CREATE TABLE future (x); INSERT INTO future VALUES (42);")?;
        conn.pragma_update(None, "user_version", latest_schema_version() + 5)?;
    }
    let before = std::fs::read(&path)?;
    match Store::open(&path) {
        Err(Error::NewerSchema {
            found, supported, ..
        }) => {
            assert_eq!(found, latest_schema_version() + 5);
            assert_eq!(supported, latest_schema_version());
        }
        other => panic!("expected NewerSchema, got {other:?}"),
    }
    let conn = Connection::open(&path)?;
    let x: i64 = conn.query_row("SELECT x FROM future", [], |r| r.get(0))?;
    assert_eq!(x, 42, "data intact");
    drop(conn);
    assert_eq!(
        std::fs::read(&path)?.len(),
        before.len(),
        "file not rewritten"
    );
    Ok(())
}

/// Two app instances on one database: both open (one migrates, one waits), both write at once,
/// no write is lost and none fails with "database is locked".
#[test]
fn two_instances_write_at_once() -> TestResult {
    let (_dir, path) = db_path()?;
    let writers: Vec<_> = (0..2)
        .map(|n| {
            let path = path.clone();
            std::thread::spawn(move || -> Result<(), onedeck_store::Error> {
                let mut store = Store::open(&path)?;
                for i in 0..150u64 {
                    store.audit_start(&SessionStart {
                        profile_id: format!("instance-{n}"),
                        user: "alice".into(),
                        vm_id: i,
                        vm_name: format!("vm-{i}"),
                        target_host: "127.0.0.1".into(),
                        target_port: 5900,
                        started_at: std::time::SystemTime::now(),
                        recording_file: None,
                    })?;
                    let rows = [onedeck_store::VmRow {
                        vm_id: i,
                        json: format!(r#"{{"id":{i}}}"#),
                    }];
                    store.save_inventory(
                        &format!("instance-{n}"),
                        std::time::SystemTime::now(),
                        &rows,
                    )?;
                }
                Ok(())
            })
        })
        .collect();
    for w in writers {
        w.join().map_err(|_| "writer panicked")??;
    }
    let store = Store::open(&path)?;
    assert_eq!(store.audit_list(Some("instance-0"), 1000)?.len(), 150);
    assert_eq!(store.audit_list(Some("instance-1"), 1000)?.len(), 150);
    Ok(())
}

/// Security finding 9: the database used the umask and an existing data dir was never tightened.
#[cfg(unix)]
#[test]
fn the_database_is_0600_and_a_loose_data_dir_is_tightened_to_0700() -> TestResult {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &std::path::Path| -> std::io::Result<u32> {
        Ok(std::fs::metadata(p)?.permissions().mode() & 0o777)
    };
    let root = tempfile::tempdir()?;
    let dir = root.path().join("onedeck");
    std::fs::create_dir(&dir)?;
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755))?;
    let path = dir.join(onedeck_store::FILE_NAME);
    let mut store = Store::open(&path)?;
    store.save_inventory("p", std::time::SystemTime::now(), &[])?;
    assert_eq!(mode(&dir)?, 0o700, "the existing 0755 dir is tightened");
    for name in names(&dir)? {
        assert_eq!(mode(&dir.join(&name))?, 0o600, "{name} is the user's alone");
    }
    assert!(
        names(&dir)?.iter().any(|n| n.ends_with("-wal")),
        "the WAL file was checked too"
    );
    drop(store);
    // A database an older version left 0644 is tightened at the next open.
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644))?;
    drop(Store::open(&path)?);
    assert_eq!(mode(&path)?, 0o600);
    Ok(())
}
