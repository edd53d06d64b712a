//! The console audit log: one row per console session (who, which VM, which target, when, how
//! many bytes each way, how it ended, which recording).

use std::path::PathBuf;
use std::time::SystemTime;

use rusqlite::{Row, params};

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
        self.conn.execute(
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
        Ok(AuditId(self.conn.last_insert_rowid()))
    }

    /// Logs the end of a running session.
    ///
    /// # Errors
    /// [`Error::NotFound`] when no running session has this id, [`Error::Busy`], [`Error::Sqlite`].
    pub fn audit_end(&mut self, id: AuditId, end: &SessionEnd) -> Result<()> {
        let n = self.conn.execute(
            "UPDATE console_audit SET ended_at_ms = ?2, bytes_to_client = ?3, bytes_to_server = ?4,
                 end_reason = ?5
             WHERE id = ?1 AND ended_at_ms IS NULL",
            params![
                id.0,
                to_ms(end.ended_at),
                u64_to_i64(end.bytes_to_client),
                u64_to_i64(end.bytes_to_server),
                end.end_reason,
            ],
        )?;
        if n == 0 {
            return Err(Error::NotFound {
                what: "running console session",
                id: id.0,
            });
        }
        Ok(())
    }

    /// Ends every session still marked running (left by a crashed or killed app) with `reason`;
    /// call at start-up. Returns how many were closed.
    ///
    /// # Errors
    /// [`Error::Busy`], [`Error::Sqlite`].
    pub fn audit_close_unfinished(&mut self, ended_at: SystemTime, reason: &str) -> Result<usize> {
        Ok(self.conn.execute(
            "UPDATE console_audit SET ended_at_ms = ?1, end_reason = ?2 WHERE ended_at_ms IS NULL",
            params![to_ms(ended_at), reason],
        )?)
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
