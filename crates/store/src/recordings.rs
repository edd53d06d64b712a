//! The recordings index: which recording files exist, of which session and VM. The files
//! themselves are written by `onedeck-relay`; this is only the catalogue the replay view lists.

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use rusqlite::{Row, params};

use crate::audit::AuditId;
use crate::db::{Store, from_ms, to_ms};
use crate::error::{Error, Result};

/// Id of a recording in the index.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RecordingId(pub i64);

/// A recording to add to the index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewRecording {
    /// The audit row of the session recorded, if any.
    pub audit_id: Option<AuditId>,
    /// The recording file.
    pub path: PathBuf,
    /// The profile of the session.
    pub profile_id: String,
    /// The VM recorded.
    pub vm_id: u64,
    /// When recording started.
    pub started_at: SystemTime,
    /// The file format as the relay names it.
    pub format: String,
}

/// A recording in the index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recording {
    /// Index id.
    pub id: RecordingId,
    /// What was recorded.
    pub info: NewRecording,
    /// Length, once finished.
    pub duration: Option<Duration>,
    /// File size, once finished.
    pub size_bytes: Option<u64>,
}

fn recording(r: &Row<'_>) -> rusqlite::Result<Recording> {
    Ok(Recording {
        id: RecordingId(r.get("id")?),
        info: NewRecording {
            audit_id: r.get::<_, Option<i64>>("audit_id")?.map(AuditId),
            path: PathBuf::from(r.get::<_, String>("path")?),
            profile_id: r.get("profile_id")?,
            vm_id: u64::try_from(r.get::<_, i64>("vm_id")?).unwrap_or(0),
            started_at: from_ms(r.get("started_at_ms")?),
            format: r.get("format")?,
        },
        duration: r
            .get::<_, Option<i64>>("duration_ms")?
            .map(|ms| Duration::from_millis(u64::try_from(ms).unwrap_or(0))),
        size_bytes: r
            .get::<_, Option<i64>>("size_bytes")?
            .map(|n| u64::try_from(n).unwrap_or(0)),
    })
}

impl Store {
    /// Adds a recording (its path must be new to the index).
    ///
    /// # Errors
    /// [`Error::OutOfRange`], [`Error::Busy`], [`Error::Sqlite`] (also for a path already indexed).
    pub fn recording_add(&mut self, new: &NewRecording) -> Result<RecordingId> {
        let vm_id = i64::try_from(new.vm_id).map_err(|_| Error::OutOfRange {
            field: "vm_id",
            value: new.vm_id.to_string(),
        })?;
        self.conn.execute(
            "INSERT INTO recording (audit_id, path, profile_id, vm_id, started_at_ms, format)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                new.audit_id.map(|a| a.0),
                new.path.to_string_lossy(),
                new.profile_id,
                vm_id,
                to_ms(new.started_at),
                new.format,
            ],
        )?;
        Ok(RecordingId(self.conn.last_insert_rowid()))
    }

    /// Records a finished recording's length and size.
    ///
    /// # Errors
    /// [`Error::NotFound`], [`Error::Busy`], [`Error::Sqlite`].
    pub fn recording_finish(
        &mut self,
        id: RecordingId,
        duration: Duration,
        size_bytes: u64,
    ) -> Result<()> {
        let n = self.conn.execute(
            "UPDATE recording SET duration_ms = ?2, size_bytes = ?3 WHERE id = ?1",
            params![
                id.0,
                i64::try_from(duration.as_millis()).unwrap_or(i64::MAX),
                i64::try_from(size_bytes).unwrap_or(i64::MAX),
            ],
        )?;
        if n == 0 {
            return Err(Error::NotFound {
                what: "recording",
                id: id.0,
            });
        }
        Ok(())
    }

    /// Recordings of one profile or of all, newest first.
    ///
    /// # Errors
    /// [`Error::Sqlite`].
    pub fn recording_list(&self, profile_id: Option<&str>) -> Result<Vec<Recording>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT * FROM recording WHERE (?1 IS NULL OR profile_id = ?1)
             ORDER BY started_at_ms DESC, id DESC",
        )?;
        let rows = stmt.query_map(params![profile_id], recording)?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// Drops a recording from the index (the caller deletes the file); returns whether it was there.
    ///
    /// # Errors
    /// [`Error::Busy`], [`Error::Sqlite`].
    pub fn recording_remove(&mut self, id: RecordingId) -> Result<bool> {
        Ok(self
            .conn
            .execute("DELETE FROM recording WHERE id = ?1", params![id.0])?
            > 0)
    }
}
