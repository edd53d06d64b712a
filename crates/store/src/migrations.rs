//! Versioned schema: `PRAGMA user_version` holds the version, [`MIGRATIONS`] the ordered steps.
//!
//! Step `i` takes a database from version `i` to `i + 1`. Steps are never edited once released:
//! a change is a new step, and `tests/fixtures/schema_vN.sql` keeps a database of each older
//! version so the upgrade from it stays tested.

use std::path::Path;

use rusqlite::{Connection, TransactionBehavior};

use crate::error::{Error, Result};

/// Version 1: inventory snapshot per profile, console audit log.
const V1: &str = "
CREATE TABLE inventory_snapshot (
    profile_id    TEXT PRIMARY KEY,
    fetched_at_ms INTEGER NOT NULL,
    vm_count      INTEGER NOT NULL
);
CREATE TABLE inventory_vm (
    profile_id TEXT NOT NULL REFERENCES inventory_snapshot(profile_id) ON DELETE CASCADE,
    vm_id      INTEGER NOT NULL,
    row_json   TEXT NOT NULL,
    PRIMARY KEY (profile_id, vm_id)
) WITHOUT ROWID;
CREATE TABLE console_audit (
    id              INTEGER PRIMARY KEY,
    profile_id      TEXT NOT NULL,
    user_name       TEXT NOT NULL,
    vm_id           INTEGER NOT NULL,
    vm_name         TEXT NOT NULL,
    target_host     TEXT NOT NULL,
    target_port     INTEGER NOT NULL,
    started_at_ms   INTEGER NOT NULL,
    ended_at_ms     INTEGER,
    bytes_to_client INTEGER NOT NULL DEFAULT 0,
    bytes_to_server INTEGER NOT NULL DEFAULT 0,
    end_reason      TEXT,
    recording_file  TEXT
);
";

/// Version 2: the recordings index (backfilled from the audit log's recording files) and an
/// index for the audit view's per-profile, newest-first listing.
const V2: &str = "
CREATE TABLE recording (
    id            INTEGER PRIMARY KEY,
    audit_id      INTEGER REFERENCES console_audit(id) ON DELETE SET NULL,
    path          TEXT NOT NULL UNIQUE,
    profile_id    TEXT NOT NULL,
    vm_id         INTEGER NOT NULL,
    started_at_ms INTEGER NOT NULL,
    duration_ms   INTEGER,
    size_bytes    INTEGER,
    format        TEXT NOT NULL
);
INSERT OR IGNORE INTO recording (audit_id, path, profile_id, vm_id, started_at_ms, format)
    SELECT id, recording_file, profile_id, vm_id, started_at_ms, 'unknown'
    FROM console_audit WHERE recording_file IS NOT NULL;
CREATE INDEX console_audit_by_profile ON console_audit(profile_id, started_at_ms DESC);
";

/// Version 3: the audit log's hash chain (docs/SECURITY.md), each session's recording head and
/// the text typed in it (for the audit view's search).
const V3: &str = "
ALTER TABLE console_audit ADD COLUMN recording_head TEXT;
ALTER TABLE console_audit ADD COLUMN typed_text TEXT;
CREATE TABLE audit_chain (
    seq       INTEGER PRIMARY KEY,
    at_ms     INTEGER NOT NULL,
    kind      TEXT NOT NULL,
    audit_id  INTEGER,
    body      TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL
);
CREATE INDEX audit_chain_by_row ON audit_chain(audit_id);
";

/// Version 4: each VM's console window settings (scaling, keyboard layout, window size…), as
/// JSON the app writes.
const V4: &str = "
CREATE TABLE console_settings (
    profile_id    TEXT NOT NULL,
    vm_id         INTEGER NOT NULL,
    json          TEXT NOT NULL,
    updated_at_ms INTEGER NOT NULL,
    PRIMARY KEY (profile_id, vm_id)
);
";

/// Version 5: how each endpoint's VM table (and the "All endpoints" view) is sorted, narrowed and
/// which columns it shows, as JSON the app writes.
const V5: &str = "
CREATE TABLE table_view (
    view_key      TEXT PRIMARY KEY,
    json          TEXT NOT NULL,
    updated_at_ms INTEGER NOT NULL
);
";

/// The ordered migrations; the schema version is the number applied.
pub const MIGRATIONS: &[&str] = &[V1, V2, V3, V4, V5];

/// The schema version this build creates and understands.
pub fn latest() -> u32 {
    u32::try_from(MIGRATIONS.len()).expect("a handful of migrations")
}

/// Brings the database to [`latest`] in one `IMMEDIATE` transaction, so two app instances opening
/// an old database at once apply each step exactly once (the second waits, then sees it done).
pub(crate) fn migrate(conn: &mut Connection, path: &Path) -> Result<()> {
    apply(conn, path, latest())
}

/// Applies the steps up to `target` (tests build older versions with it).
pub(crate) fn apply(conn: &mut Connection, path: &Path, target: u32) -> Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let current: u32 = tx.pragma_query_value(None, "user_version", |row| row.get(0))?;
    if current > latest() {
        return Err(Error::NewerSchema {
            path: path.to_path_buf(),
            found: current,
            supported: latest(),
        });
    }
    if current >= target {
        return Ok(());
    }
    for step in &MIGRATIONS[current as usize..target as usize] {
        tx.execute_batch(step)?;
    }
    tx.pragma_update(None, "user_version", target)?;
    tx.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every table, index and column definition, for comparing two databases' schemas.
    fn schema(conn: &Connection) -> Result<Vec<(String, String)>> {
        let mut stmt = conn.prepare(
            "SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%' ORDER BY name",
        )?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        let mut out = Vec::new();
        for row in rows {
            let (name, sql): (String, String) = row?;
            out.push((name, sql.split_whitespace().collect::<Vec<_>>().join(" ")));
        }
        Ok(out)
    }

    #[test]
    fn v1_fixture_has_exactly_the_v1_schema() -> Result<()> {
        let mut built = Connection::open_in_memory()?;
        apply(&mut built, Path::new(":memory:"), 1)?;
        let fixture = Connection::open_in_memory()?;
        fixture.execute_batch(include_str!("../tests/fixtures/schema_v1.sql"))?;
        assert_eq!(
            schema(&fixture)?,
            schema(&built)?,
            "fixture drifted from migration 1"
        );
        let v: u32 = fixture.pragma_query_value(None, "user_version", |r| r.get(0))?;
        assert_eq!(v, 1);
        Ok(())
    }

    #[test]
    fn migrating_twice_is_a_no_op() -> Result<()> {
        let mut conn = Connection::open_in_memory()?;
        migrate(&mut conn, Path::new(":memory:"))?;
        let before = schema(&conn)?;
        migrate(&mut conn, Path::new(":memory:"))?;
        assert_eq!(schema(&conn)?, before);
        let v: u32 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        assert_eq!(v, latest());
        Ok(())
    }

    #[test]
    fn newer_schema_is_refused() -> Result<()> {
        let mut conn = Connection::open_in_memory()?;
        conn.pragma_update(None, "user_version", latest() + 1)?;
        assert!(matches!(
            migrate(&mut conn, Path::new(":memory:")),
            Err(Error::NewerSchema { .. })
        ));
        Ok(())
    }
}
