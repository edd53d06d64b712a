//! The audit log's hash chain: an untouched log verifies; an edited, deleted, inserted or
//! reordered row or event is named.

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use onedeck_store::{AuditFilter, AuditId, SessionEnd, SessionStart, Store};
use rusqlite::Connection;

use crate::{TestResult, db_path};

fn at(s: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000 + s)
}

fn start(vm: u64, s: u64) -> SessionStart {
    SessionStart {
        profile_id: "lab".into(),
        user: "oneadmin".into(),
        vm_id: vm,
        vm_name: format!("vm-{vm}"),
        target_host: "10.0.0.5".into(),
        target_port: 5900 + u16::try_from(vm).unwrap_or(0),
        started_at: at(s),
        recording_file: Some(PathBuf::from(format!("/rec/{vm}.odrec"))),
    }
}

fn end(s: u64, typed: &str) -> SessionEnd {
    SessionEnd {
        ended_at: at(s),
        bytes_to_client: 1000 + s,
        bytes_to_server: 10,
        end_reason: "client_closed".into(),
        recording_head: Some("ab".repeat(32)),
        typed_text: Some(typed.into()),
    }
}

/// A log of three finished sessions and one running.
fn log() -> Result<(tempfile::TempDir, PathBuf, Vec<AuditId>), Box<dyn std::error::Error>> {
    let (dir, path) = db_path()?;
    let mut store = Store::open(&path)?;
    let mut ids = Vec::new();
    for (i, typed) in ["ls -l\n", "sudo reboot\n", "exit\n"].iter().enumerate() {
        let s = i as u64 * 100;
        let id = store.audit_start(&start(i as u64 + 1, s))?;
        store.audit_end(id, &end(s + 50, typed))?;
        ids.push(id);
    }
    ids.push(store.audit_start(&start(9, 400))?);
    store.audit_recording_pruned(Some(ids[0]), &PathBuf::from("/rec/1.odrec"), "age", 123)?;
    Ok((dir, path, ids))
}

fn verdict(path: &std::path::Path) -> Result<Option<(String, String)>, Box<dyn std::error::Error>> {
    let report = Store::open(path)?.audit_verify()?;
    Ok(report.first_break.map(|b| (b.link, b.what)))
}

#[test]
fn an_untouched_log_verifies_and_can_be_searched() -> TestResult {
    let (_dir, path, ids) = log()?;
    let store = Store::open(&path)?;
    let report = store.audit_verify()?;
    assert_eq!(report.first_break, None);
    assert_eq!((report.events, report.rows), (8, 4));
    assert_eq!(report.head.as_ref().map(String::len), Some(64));
    let found = store.audit_search(&AuditFilter {
        typed: Some("reboot".into()),
        limit: 10,
        ..AuditFilter::default()
    })?;
    assert_eq!(found.iter().map(|r| r.id).collect::<Vec<_>>(), [ids[1]]);
    let vm3 = store.audit_search(&AuditFilter {
        vm_id: Some(3),
        since: Some(at(150)),
        limit: 10,
        ..AuditFilter::default()
    })?;
    assert_eq!(vm3.len(), 1);
    assert_eq!(
        store.audit_pruned_rows()?.into_iter().collect::<Vec<_>>(),
        [ids[0].0]
    );
    Ok(())
}

fn tamper(path: &std::path::Path, sql: &str) -> TestResult {
    Connection::open(path)?.execute_batch(sql)?;
    Ok(())
}

#[test]
fn each_kind_of_tampering_is_named() -> TestResult {
    let cases: [(&str, &str, &str); 7] = [
        (
            "UPDATE console_audit SET vm_name = 'other' WHERE id = 2",
            "audit row 2",
            "edited",
        ),
        (
            "UPDATE console_audit SET typed_text = 'nothing' WHERE id = 1",
            "audit row 1",
            "edited",
        ),
        (
            "DELETE FROM console_audit WHERE id = 3",
            "audit row 3",
            "deleted",
        ),
        (
            "INSERT INTO console_audit (profile_id, user_name, vm_id, vm_name, target_host, target_port, started_at_ms) VALUES ('lab','x',5,'v','h',1,0)",
            "audit row 5",
            "inserted",
        ),
        (
            "UPDATE audit_chain SET body = replace(body, 'vm-2', 'vm-X') WHERE seq = 3",
            "event 3",
            "edited",
        ),
        (
            "DELETE FROM audit_chain WHERE seq = 4",
            "event 4",
            "deleted",
        ),
        (
            "UPDATE audit_chain SET seq = 100 WHERE seq = 2; UPDATE audit_chain SET seq = 2 WHERE seq = 3; UPDATE audit_chain SET seq = 3 WHERE seq = 100;",
            "event 2",
            "reordered",
        ),
    ];
    for (sql, link, what) in cases {
        let (_dir, path, _) = log()?;
        assert_eq!(verdict(&path)?, None);
        tamper(&path, sql)?;
        let (got_link, got_what) = verdict(&path)?.ok_or_else(|| format!("not detected: {sql}"))?;
        assert_eq!(got_link, link, "{sql}: {got_what}");
        assert!(got_what.contains(what), "{sql}: {got_what}");
    }
    Ok(())
}

#[test]
fn rows_written_before_the_chain_get_their_events_once() -> TestResult {
    let (_dir, path, _) = log()?;
    tamper(&path, "DELETE FROM audit_chain")?;
    let report = Store::open(&path)?.audit_verify()?;
    assert_eq!(report.first_break, None);
    assert_eq!(
        report.events, 7,
        "three starts, three ends, one running start"
    );
    let again = Store::open(&path)?.audit_verify()?;
    assert_eq!(again.events, 7, "backfilled once");
    Ok(())
}
