//! The console audit log: one row per console session (who, which VM, which target, when, how
//! many bytes each way, how it ended, which recording).

use std::path::PathBuf;
use std::time::SystemTime;

use rusqlite::{OptionalExtension, Row, params};

use crate::chain;

use crate::db::{Store, from_ms, to_ms};
use crate::error::{Error, Result};

/// Id of an audit row.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AuditId(pub i64);

/// What is known when a console session starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionStart {
    /// The profile the session went through.
    pub profile_id: String,
    /// The OpenNebula user name.
    pub user: String,
    /// The VM's id.
    pub vm_id: u64,
    /// The VM's name at the time.
    pub vm_name: String,
    /// The host the relay dialled (after console host overrides).
    pub target_host: String,
    /// The VNC port dialled.
    pub target_port: u16,
    /// When the session started.
    pub started_at: SystemTime,
    /// The recording file, if the session is recorded.
    pub recording_file: Option<PathBuf>,
}

/// What is known when it ends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionEnd {
    /// When it ended.
    pub ended_at: SystemTime,
    /// Bytes relayed from the VNC server to the viewer.
    pub bytes_to_client: u64,
    /// Bytes relayed from the viewer to the VNC server.
    pub bytes_to_server: u64,
    /// How it ended, as the relay names it (e.g. `client_closed`, `target_closed`, `app_exited`).
    pub end_reason: String,
    /// The recording's hash-chain head (hex), when it was recorded and sealed.
    pub recording_head: Option<String>,
    /// What the keys typed (for the audit view's search), when it was recorded.
    pub typed_text: Option<String>,
}

/// What [`Store::audit_search`] looks for; every `None` matches all.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// One profile's sessions.
    pub profile_id: Option<String>,
    /// One VM's.
    pub vm_id: Option<u64>,
    /// One OpenNebula user's.
    pub user: Option<String>,
    /// Started at or after.
    pub since: Option<SystemTime>,
    /// Started before.
    pub until: Option<SystemTime>,
    /// The text typed contains this (case-sensitive).
    pub typed: Option<String>,
    /// At most this many rows.
    pub limit: u32,
}

/// One row of the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditRecord {
    /// Row id.
    pub id: AuditId,
    /// How it started.
    pub start: SessionStart,
    /// How it ended; `None` while it runs.
    pub end: Option<SessionEnd>,
}

fn u64_to_i64(value: u64) -> i64 {
    // Byte counters cannot reach 2^63 in practice; saturate rather than fail the audit write.
    i64::try_from(value).unwrap_or(i64::MAX)
}

fn record(r: &Row<'_>) -> rusqlite::Result<AuditRecord> {
    let ended_at: Option<i64> = r.get("ended_at_ms")?;
    let end = match ended_at {
        Some(ms) => Some(SessionEnd {
            ended_at: from_ms(ms),
            bytes_to_client: u64::try_from(r.get::<_, i64>("bytes_to_client")?).unwrap_or(0),
            bytes_to_server: u64::try_from(r.get::<_, i64>("bytes_to_server")?).unwrap_or(0),
            end_reason: r
                .get::<_, Option<String>>("end_reason")?
                .unwrap_or_default(),
            recording_head: r.get("recording_head")?,
            typed_text: r.get("typed_text")?,
        }),
        None => None,
    };
    Ok(AuditRecord {
        id: AuditId(r.get("id")?),
        start: SessionStart {
            profile_id: r.get("profile_id")?,
            user: r.get("user_name")?,
            vm_id: u64::try_from(r.get::<_, i64>("vm_id")?).unwrap_or(0),
            vm_name: r.get("vm_name")?,
            target_host: r.get("target_host")?,
            target_port: u16::try_from(r.get::<_, i64>("target_port")?).unwrap_or(0),
            started_at: from_ms(r.get("started_at_ms")?),
            recording_file: r
                .get::<_, Option<String>>("recording_file")?
                .map(PathBuf::from),
        },
        end,
    })
}

impl Store {
    /// Logs the start of a console session.
    ///
    /// # Errors
    /// [`Error::OutOfRange`] for a VM id above 2^63, [`Error::Busy`], [`Error::Sqlite`].
    pub fn audit_start(&mut self, start: &SessionStart) -> Result<AuditId> {
        let vm_id = i64::try_from(start.vm_id).map_err(|_| Error::OutOfRange {
            field: "vm_id",
            value: start.vm_id.to_string(),
        })?;
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT INTO console_audit (profile_id, user_name, vm_id, vm_name, target_host,
                 target_port, started_at_ms, recording_file)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                start.profile_id,
                start.user,
                vm_id,
                start.vm_name,
                start.target_host,
                start.target_port,
                to_ms(start.started_at),
                start
                    .recording_file
                    .as_ref()
                    .map(|p| p.to_string_lossy().into_owned()),
            ],
        )?;
        let id = AuditId(tx.last_insert_rowid());
        let rec = AuditRecord {
            id,
            start: start.clone(),
            end: None,
        };
        chain::append(
            &tx,
            start.started_at,
            chain::STARTED,
            Some(id),
            &chain::started_body(&rec),
        )?;
        tx.commit()?;
        Ok(id)
    }

    /// Logs the end of a running session.
    ///
    /// # Errors
    /// [`Error::NotFound`] when no running session has this id, [`Error::Busy`], [`Error::Sqlite`].
    pub fn audit_end(&mut self, id: AuditId, end: &SessionEnd) -> Result<()> {
        let tx = self.conn.transaction()?;
        let n = tx.execute(
            "UPDATE console_audit SET ended_at_ms = ?2, bytes_to_client = ?3, bytes_to_server = ?4,
                 end_reason = ?5, recording_head = ?6, typed_text = ?7
             WHERE id = ?1 AND ended_at_ms IS NULL",
            params![
                id.0,
                to_ms(end.ended_at),
                u64_to_i64(end.bytes_to_client),
                u64_to_i64(end.bytes_to_server),
                end.end_reason,
                end.recording_head,
                end.typed_text,
            ],
        )?;
        if n == 0 {
            return Err(Error::NotFound {
                what: "running console session",
                id: id.0,
            });
        }
        let rec = tx.query_row(
            "SELECT * FROM console_audit WHERE id = ?1",
            params![id.0],
            record,
        )?;
        if let Some(body) = chain::ended_body(&rec) {
            chain::append(&tx, end.ended_at, chain::ENDED, Some(id), &body)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Ends every session still marked running (left by a crashed or killed app) with `reason`;
    /// call at start-up. Returns how many were closed.
    ///
    /// # Errors
    /// [`Error::Busy`], [`Error::Sqlite`].
    pub fn audit_close_unfinished(&mut self, ended_at: SystemTime, reason: &str) -> Result<usize> {
        let open: Vec<i64> = {
            let mut stmt = self
                .conn
                .prepare("SELECT id FROM console_audit WHERE ended_at_ms IS NULL ORDER BY id")?;
            stmt.query_map([], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?
        };
        for id in &open {
            self.audit_end(
                AuditId(*id),
                &SessionEnd {
                    ended_at,
                    bytes_to_client: 0,
                    bytes_to_server: 0,
                    end_reason: reason.to_owned(),
                    recording_head: None,
                    typed_text: None,
                },
            )?;
        }
        Ok(open.len())
    }

    /// Every row, oldest first (for verification and export).
    ///
    /// # Errors
    /// [`Error::Sqlite`].
    pub fn audit_all(&self) -> Result<Vec<AuditRecord>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT * FROM console_audit ORDER BY id")?;
        let rows = stmt.query_map([], record)?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// One row.
    ///
    /// # Errors
    /// [`Error::NotFound`], [`Error::Sqlite`].
    pub fn audit_get(&self, id: AuditId) -> Result<AuditRecord> {
        self.conn
            .query_row(
                "SELECT * FROM console_audit WHERE id = ?1",
                params![id.0],
                record,
            )
            .optional()?
            .ok_or(Error::NotFound {
                what: "audit row",
                id: id.0,
            })
    }

    /// Rows matching `filter`, newest first.
    ///
    /// # Errors
    /// [`Error::Sqlite`].
    pub fn audit_search(&self, filter: &AuditFilter) -> Result<Vec<AuditRecord>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT * FROM console_audit
             WHERE (?1 IS NULL OR profile_id = ?1)
               AND (?2 IS NULL OR vm_id = ?2)
               AND (?3 IS NULL OR user_name = ?3)
               AND (?4 IS NULL OR started_at_ms >= ?4)
               AND (?5 IS NULL OR started_at_ms < ?5)
               AND (?6 IS NULL OR instr(typed_text, ?6) > 0)
             ORDER BY started_at_ms DESC, id DESC LIMIT ?7",
        )?;
        let rows = stmt.query_map(
            params![
                filter.profile_id,
                filter.vm_id.and_then(|v| i64::try_from(v).ok()),
                filter.user,
                filter.since.map(to_ms),
                filter.until.map(to_ms),
                filter.typed.as_deref().filter(|t| !t.is_empty()),
                filter.limit,
            ],
            record,
        )?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// Writes to the chain that a recording was deleted by retention (`why`: `age` or `size`).
    ///
    /// # Errors
    /// [`Error::Sqlite`].
    pub fn audit_recording_pruned(
        &mut self,
        audit_id: Option<AuditId>,
        path: &std::path::Path,
        why: &str,
        size_bytes: u64,
    ) -> Result<()> {
        let body = serde_json::json!({
            "audit_id": audit_id.map(|a| a.0),
            "path": path.to_string_lossy(),
            "why": why,
            "size_bytes": size_bytes,
        })
        .to_string();
        chain::append(
            &self.conn,
            SystemTime::now(),
            chain::PRUNED,
            audit_id,
            &body,
        )
    }

    /// Audit rows whose recording retention deleted.
    ///
    /// # Errors
    /// [`Error::Sqlite`].
    pub fn audit_pruned_rows(&self) -> Result<std::collections::HashSet<i64>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT audit_id FROM audit_chain WHERE kind = 'recording_pruned' AND audit_id IS NOT NULL",
        )?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The newest `limit` sessions, of one profile or of all, newest first.
    ///
    /// # Errors
    /// [`Error::Sqlite`].
    pub fn audit_list(&self, profile_id: Option<&str>, limit: u32) -> Result<Vec<AuditRecord>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT * FROM console_audit WHERE (?1 IS NULL OR profile_id = ?1)
             ORDER BY started_at_ms DESC, id DESC LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![profile_id, limit], record)?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }
}
