//! The data kept: inventory snapshots, the audit log, the recordings index.

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use onedeck_store::{Error, NewRecording, SessionEnd, SessionStart, Store, VmRow};

use crate::{TestResult, db_path};

fn row(id: u64, name: &str) -> VmRow {
    VmRow {
        vm_id: id,
        json: format!(r#"{{"id":{id},"name":"{name}","state":"ACTIVE"}}"#),
    }
}

fn at(ms: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_millis(ms)
}

#[test]
fn inventory_snapshots_replace_per_profile() -> TestResult {
    let (_dir, path) = db_path()?;
    let mut store = Store::open(&path)?;
    assert!(store.load_inventory("a")?.is_none());
    store.save_inventory("a", at(1_000), &[row(2, "two"), row(1, "one")])?;
    store.save_inventory("b", at(2_000), &[row(5, "five")])?;
    store.save_inventory("a", at(3_000), &[row(3, "three")])?;
    let a = store.load_inventory("a")?.ok_or("a missing")?;
    assert_eq!(a.fetched_at, at(3_000));
    assert_eq!(a.rows, vec![row(3, "three")], "replaced, not merged");
    let b = store.load_inventory("b")?.ok_or("b missing")?;
    assert_eq!(b.rows, vec![row(5, "five")], "other profile untouched");
    // Persisted, not just cached in the connection.
    drop(store);
    let mut store = Store::open(&path)?;
    assert_eq!(store.load_inventory("a")?.map(|s| s.rows.len()), Some(1));
    assert!(store.delete_inventory("a")?);
    assert!(!store.delete_inventory("a")?);
    assert!(store.load_inventory("a")?.is_none());
    Ok(())
}

#[test]
fn an_empty_snapshot_is_kept_as_empty() -> TestResult {
    let (_dir, path) = db_path()?;
    let mut store = Store::open(&path)?;
    store.save_inventory("a", at(5), &[])?;
    let snap = store.load_inventory("a")?.ok_or("missing")?;
    assert!(
        snap.rows.is_empty(),
        "no VMs is different from never fetched"
    );
    Ok(())
}

/// The store never keeps a VNC password: a snapshot with a password-like key is refused whole
/// (refusing rather than scrubbing keeps the caller's bug visible), and the previous snapshot stays.
#[test]
fn a_row_with_a_password_field_is_refused_and_nothing_changes() -> TestResult {
    let (_dir, path) = db_path()?;
    let mut store = Store::open(&path)?;
    store.save_inventory("a", at(1), &[row(1, "one")])?;
    for json in [
        r#"{"id":2,"TEMPLATE":{"GRAPHICS":{"TYPE":"VNC","PASSWD":"s3cret"}}}"#,
        r#"{"id":2,"graphics":{"vnc_password":"s3cret"}}"#,
        r#"{"id":2,"disks":[{"passphrase":"s3cret"}]}"#,
    ] {
        let bad = VmRow {
            vm_id: 2,
            json: json.into(),
        };
        match store.save_inventory("a", at(2), &[row(3, "three"), bad]) {
            Err(Error::SecretInRow { vm_id: 2, field }) => {
                assert!(field.to_ascii_lowercase().contains("pass"), "{field}");
            }
            other => panic!("expected SecretInRow for {json}, got {other:?}"),
        }
    }
    let snap = store.load_inventory("a")?.ok_or("previous snapshot lost")?;
    assert_eq!(snap.rows, vec![row(1, "one")], "previous snapshot intact");
    assert_eq!(snap.fetched_at, at(1));
    Ok(())
}

#[test]
fn audit_log_records_a_session_from_start_to_end() -> TestResult {
    let (_dir, path) = db_path()?;
    let mut store = Store::open(&path)?;
    let start = SessionStart {
        profile_id: "lab".into(),
        user: "alice".into(),
        vm_id: 42,
        vm_name: "web-42".into(),
        target_host: "10.0.0.5".into(),
        target_port: 5942,
        started_at: at(10_000),
        recording_file: Some(PathBuf::from("/rec/42.rec")),
    };
    let id = store.audit_start(&start)?;
    let running = store.audit_list(Some("lab"), 10)?;
    assert_eq!(running.len(), 1);
    assert_eq!(running[0].start, start);
    assert!(running[0].end.is_none(), "still running");
    let end = SessionEnd {
        ended_at: at(70_000),
        bytes_to_client: 5_000_000,
        bytes_to_server: 12_345,
        end_reason: "client_closed".into(),
        recording_head: None,
        typed_text: None,
    };
    store.audit_end(id, &end)?;
    let done = store.audit_list(None, 10)?;
    assert_eq!(done[0].end.as_ref(), Some(&end));
    assert!(
        matches!(store.audit_end(id, &end), Err(Error::NotFound { .. })),
        "a session ends once"
    );
    assert!(matches!(
        store.audit_end(onedeck_store::AuditId(999), &end),
        Err(Error::NotFound { .. })
    ));
    assert!(
        store.audit_list(Some("other"), 10)?.is_empty(),
        "filtered by profile"
    );
    Ok(())
}

#[test]
fn sessions_left_running_by_a_crash_are_closed_at_start_up() -> TestResult {
    let (_dir, path) = db_path()?;
    let mut store = Store::open(&path)?;
    for vm in 0..3 {
        store.audit_start(&SessionStart {
            profile_id: "lab".into(),
            user: "alice".into(),
            vm_id: vm,
            vm_name: format!("vm-{vm}"),
            target_host: "h".into(),
            target_port: 5900,
            started_at: at(vm * 1000),
            recording_file: None,
        })?;
    }
    assert_eq!(store.audit_close_unfinished(at(9_000), "app_exited")?, 3);
    assert_eq!(store.audit_close_unfinished(at(9_500), "app_exited")?, 0);
    for record in store.audit_list(None, 10)? {
        let end = record.end.ok_or("not closed")?;
        assert_eq!(end.end_reason, "app_exited");
        assert_eq!(end.ended_at, at(9_000));
    }
    Ok(())
}

#[test]
fn audit_list_is_newest_first_and_limited() -> TestResult {
    let (_dir, path) = db_path()?;
    let mut store = Store::open(&path)?;
    for vm in [3u64, 1, 2] {
        store.audit_start(&SessionStart {
            profile_id: "lab".into(),
            user: "u".into(),
            vm_id: vm,
            vm_name: String::new(),
            target_host: "h".into(),
            target_port: 1,
            started_at: at(vm * 1000),
            recording_file: None,
        })?;
    }
    let ids: Vec<u64> = store
        .audit_list(None, 2)?
        .iter()
        .map(|r| r.start.vm_id)
        .collect();
    assert_eq!(ids, vec![3, 2]);
    Ok(())
}

#[test]
fn recordings_index_adds_finishes_lists_and_removes() -> TestResult {
    let (_dir, path) = db_path()?;
    let mut store = Store::open(&path)?;
    let new = NewRecording {
        audit_id: None,
        path: PathBuf::from("/rec/a.rec"),
        profile_id: "lab".into(),
        vm_id: 7,
        started_at: at(1_000),
        format: "onedeck-rec-1".into(),
    };
    let id = store.recording_add(&new)?;
    assert!(store.recording_add(&new).is_err(), "a path is indexed once");
    store.recording_finish(id, Duration::from_millis(65_000), 1_234_567)?;
    let list = store.recording_list(Some("lab"))?;
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].info, new);
    assert_eq!(list[0].duration, Some(Duration::from_millis(65_000)));
    assert_eq!(list[0].size_bytes, Some(1_234_567));
    assert!(store.recording_remove(id)?);
    assert!(!store.recording_remove(id)?);
    assert!(matches!(
        store.recording_finish(id, Duration::ZERO, 0),
        Err(Error::NotFound { .. })
    ));
    Ok(())
}

#[test]
fn ids_above_i64_are_refused() -> TestResult {
    let (_dir, path) = db_path()?;
    let mut store = Store::open(&path)?;
    let huge = VmRow {
        vm_id: u64::MAX,
        json: "{}".into(),
    };
    assert!(matches!(
        store.save_inventory("a", at(1), &[huge]),
        Err(Error::OutOfRange { .. })
    ));
    Ok(())
}
