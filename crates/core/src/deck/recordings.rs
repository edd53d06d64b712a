//! Recordings and the audit log as the audit view and `onedeck-cli audit` see them: search,
//! verification (the audit chain, then each recording against the head its row sealed),
//! the keystroke timeline, and retention.

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use onedeck_relay::recording::{self, KeyStroke, Record, RecordingReader, Timeline};
use onedeck_store::{AuditFilter, AuditId, AuditRecord, Store};

use super::Deck;
use crate::error::{Error, Result};
use crate::view::{AuditEntry, AuditQuery, AuditVerification, RecordingBreak};

/// The most rows one search returns.
pub const MAX_AUDIT_ROWS: u32 = 10_000;

fn ms(t: SystemTime) -> i64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

fn at_ms(ms: i64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_millis(u64::try_from(ms).unwrap_or(0))
}

fn entry(r: &AuditRecord, pruned: &std::collections::HashSet<i64>) -> AuditEntry {
    let s = &r.start;
    let available = s
        .recording_file
        .as_ref()
        .is_some_and(|p| !pruned.contains(&r.id.0) && p.is_file());
    AuditEntry {
        id: r.id.0,
        profile_id: s.profile_id.clone(),
        user: s.user.clone(),
        vm_id: s.vm_id,
        vm_name: s.vm_name.clone(),
        target: format!("{}:{}", s.target_host, s.target_port),
        started_at_ms: ms(s.started_at),
        ended_at_ms: r.end.as_ref().map(|e| ms(e.ended_at)),
        bytes_to_client: r.end.as_ref().map_or(0, |e| e.bytes_to_client),
        bytes_to_server: r.end.as_ref().map_or(0, |e| e.bytes_to_server),
        end_reason: r.end.as_ref().map(|e| e.end_reason.clone()),
        recorded: s.recording_file.is_some(),
        recording_available: available,
        recording_head: r.end.as_ref().and_then(|e| e.recording_head.clone()),
    }
}

impl Deck {
    /// Console sessions matching `query`, newest first.
    ///
    /// # Errors
    /// `storage`.
    pub async fn audit_search(&self, query: AuditQuery) -> Result<Vec<AuditEntry>> {
        let filter = AuditFilter {
            profile_id: query.profile_id,
            vm_id: query.vm_id,
            user: query.user,
            since: query.since_ms.map(at_ms),
            until: query.until_ms.map(at_ms),
            typed: query.typed,
            limit: query.limit.unwrap_or(500).min(MAX_AUDIT_ROWS),
        };
        self.with_store(move |s| {
            let pruned = s.audit_pruned_rows()?;
            Ok(s.audit_search(&filter)?
                .iter()
                .map(|r| entry(r, &pruned))
                .collect())
        })
        .await
    }

    /// One console session.
    ///
    /// # Errors
    /// `notFound`, `storage`.
    pub async fn audit_entry(&self, id: i64) -> Result<AuditEntry> {
        self.with_store(move |s| {
            let pruned = s.audit_pruned_rows()?;
            Ok(entry(&s.audit_get(AuditId(id))?, &pruned))
        })
        .await
    }

    /// The recording of session `id`, if it can still be read.
    ///
    /// # Errors
    /// `notFound` when the session was not recorded or its recording was deleted.
    pub async fn recording_path(&self, id: i64) -> Result<PathBuf> {
        let (record, pruned) = self
            .with_store(move |s| Ok((s.audit_get(AuditId(id))?, s.audit_pruned_rows()?)))
            .await?;
        match record.start.recording_file {
            Some(path) if !pruned.contains(&id) && path.is_file() => Ok(path),
            _ => Err(Error::NoRecording(id)),
        }
    }

    /// The keystroke timeline of session `id`'s recording.
    ///
    /// # Errors
    /// `notFound`; `recording` when the file is broken.
    pub async fn recording_keys(&self, id: i64) -> Result<Vec<KeyStroke>> {
        let path = self.recording_path(id).await?;
        tokio::task::spawn_blocking(move || -> Result<Vec<KeyStroke>> {
            let mut timeline = Timeline::default();
            for record in RecordingReader::open(&path)? {
                if let r @ Record::Key { .. } = record? {
                    timeline.push(&r);
                }
            }
            Ok(timeline.finish())
        })
        .await?
    }

    /// Checks the audit chain, then every recording still on disk against the head its row
    /// sealed.
    ///
    /// # Errors
    /// `storage`.
    pub async fn audit_verify(&self) -> Result<AuditVerification> {
        let (report, rows, pruned) = self
            .with_store(|s| Ok((s.audit_verify()?, s.audit_all()?, s.audit_pruned_rows()?)))
            .await?;
        tokio::task::spawn_blocking(move || {
            let mut checked = 0u32;
            let mut breaks = Vec::new();
            for r in &rows {
                let (Some(path), Some(end)) = (&r.start.recording_file, &r.end) else {
                    continue;
                };
                if pruned.contains(&r.id.0) {
                    continue;
                }
                let brk = |link: &str, what: String| RecordingBreak {
                    audit_id: r.id.0,
                    path: path.display().to_string(),
                    link: link.to_owned(),
                    what,
                };
                checked += 1;
                let Some(head) = &end.recording_head else {
                    if path.exists() {
                        breaks.push(brk(
                            "the end",
                            "the session ended without sealing its recording (the app stopped)"
                                .into(),
                        ));
                    }
                    continue;
                };
                if !path.exists() {
                    breaks.push(brk("the file", "deleted, but not by retention".into()));
                    continue;
                }
                match recording::verify(path, Some(head)) {
                    Ok(_) => {}
                    Err(onedeck_relay::Error::RecordingBroken { link, what, .. }) => {
                        breaks.push(brk(&link, what));
                    }
                    Err(e) => breaks.push(brk("the file", e.to_string())),
                }
            }
            AuditVerification {
                intact: report.first_break.is_none() && breaks.is_empty(),
                events: report.events,
                rows: report.rows,
                head: report.head,
                first_break: report.first_break,
                recordings_checked: checked,
                recording_breaks: breaks,
            }
        })
        .await
        .map_err(Error::from)
    }

    /// Deletes recordings past the retention period, then the oldest while all of them take
    /// more than the size budget; each deletion goes into the audit chain.
    pub(super) async fn prune_recordings(&self) {
        let retention = self.inner.retention;
        let pruned = self
            .with_store(move |s| prune(s, retention, SystemTime::now()))
            .await;
        match pruned {
            Ok(0) => {}
            Ok(n) => tracing::info!(recordings = n, "retention deleted old recordings"),
            Err(e) => tracing::warn!(error = %e, "could not apply the recordings' retention"),
        }
    }
}

fn prune(
    s: &mut Store,
    retention: super::Retention,
    now: SystemTime,
) -> onedeck_store::Result<usize> {
    // Newest first from the index; only finished recordings count and may go.
    let finished: Vec<_> = s
        .recording_list(None)?
        .into_iter()
        .filter(|r| r.size_bytes.is_some())
        .collect();
    let mut total: u64 = finished.iter().filter_map(|r| r.size_bytes).sum();
    let mut deleted = 0;
    for rec in finished.iter().rev() {
        let size = rec.size_bytes.unwrap_or(0);
        let old = now
            .duration_since(rec.info.started_at)
            .is_ok_and(|age| age > retention.max_age);
        let why = if old {
            "age"
        } else if total > retention.max_total_bytes {
            "size"
        } else {
            continue;
        };
        match std::fs::remove_file(&rec.info.path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                tracing::warn!(path = %rec.info.path.display(), error = %e, "cannot delete an old recording");
                continue;
            }
        }
        s.recording_remove(rec.id)?;
        s.audit_recording_pruned(rec.info.audit_id, &rec.info.path, why, size)?;
        total = total.saturating_sub(size);
        deleted += 1;
    }
    Ok(deleted)
}

/// Formats `audit export` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExportFormat {
    /// One header line, then a line per session (RFC 4180 quoting).
    Csv,
    /// A JSON array of the audit view's entries.
    Json,
}

/// `rows` as `format` text.
pub fn export_text(rows: &[AuditEntry], format: ExportFormat) -> String {
    match format {
        ExportFormat::Json => serde_json::to_string_pretty(rows).unwrap_or_default(),
        ExportFormat::Csv => {
            let quote = |s: &str| {
                // A leading =, +, - or @ would be a formula to a spreadsheet: quote it as text.
                let s = if s.starts_with(['=', '+', '-', '@']) {
                    format!("'{s}")
                } else {
                    s.to_owned()
                };
                format!("\"{}\"", s.replace('"', "\"\""))
            };
            let mut out = String::from(
                "id,profile_id,user,vm_id,vm_name,target,started_at_ms,ended_at_ms,bytes_to_client,bytes_to_server,end_reason,recorded,recording_available,recording_head\n",
            );
            for r in rows {
                let opt = |v: Option<i64>| v.map(|v| v.to_string()).unwrap_or_default();
                out.push_str(&format!(
                    "{},{},{},{},{},{},{},{},{},{},{},{},{},{}\n",
                    r.id,
                    quote(&r.profile_id),
                    quote(&r.user),
                    r.vm_id,
                    quote(&r.vm_name),
                    quote(&r.target),
                    r.started_at_ms,
                    opt(r.ended_at_ms),
                    r.bytes_to_client,
                    r.bytes_to_server,
                    quote(r.end_reason.as_deref().unwrap_or("")),
                    r.recorded,
                    r.recording_available,
                    r.recording_head.as_deref().unwrap_or(""),
                ));
            }
            out
        }
    }
}

impl Deck {
    /// The directory exports go to (beside the database; 0700).
    fn export_dir(&self) -> Result<PathBuf> {
        let dir = self.inner.data_dir.join("exports");
        let mut b = std::fs::DirBuilder::new();
        b.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
        b.create(&dir).map_err(|e| Error::InvalidInput {
            field: "exports",
            reason: format!("{}: {e}", dir.display()),
        })?;
        Ok(dir)
    }

    /// Writes the sessions matching `query` as `format` into the exports directory (0600) and
    /// returns the file.
    ///
    /// # Errors
    /// `storage`; `invalidInput` when the file cannot be written.
    pub async fn audit_export(&self, query: AuditQuery, format: ExportFormat) -> Result<PathBuf> {
        let rows = self.audit_search(query).await?;
        let text = export_text(&rows, format);
        let ext = match format {
            ExportFormat::Csv => "csv",
            ExportFormat::Json => "json",
        };
        let path = self
            .export_dir()?
            .join(format!("audit-{}.{ext}", ms(SystemTime::now())));
        write_private(&path, text.as_bytes())?;
        Ok(path)
    }

    /// Copies session `id`'s recording into the exports directory with `<name>.verify.json`
    /// beside it: the audit row, the head its row sealed, the file's own verification and the
    /// audit chain's head, so someone else can check it with `onedeck-cli recording verify
    /// --head`. Returns the copy.
    ///
    /// # Errors
    /// `notFound`; `recording` when the recording does not verify; `invalidInput` when the
    /// files cannot be written.
    pub async fn recording_export(&self, id: i64) -> Result<PathBuf> {
        let path = self.recording_path(id).await?;
        let entry = self.audit_entry(id).await?;
        let chain = self.with_store(|s| s.audit_verify()).await?;
        let dir = self.export_dir()?;
        tokio::task::spawn_blocking(move || -> Result<PathBuf> {
            let verified = recording::verify(&path, entry.recording_head.as_deref())?;
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| format!("session-{id}.odrec"));
            let copy = dir.join(&name);
            let bytes = std::fs::read(&path).map_err(|e| Error::InvalidInput {
                field: "recording",
                reason: e.to_string(),
            })?;
            write_private(&copy, &bytes)?;
            let proof = serde_json::json!({
                "session": entry,
                "recording": {
                    "file": name,
                    "head": verified.head,
                    "chunks": verified.chunks,
                    "duration_ms": u64::try_from(verified.duration.as_millis()).unwrap_or(u64::MAX),
                    "capped": verified.capped,
                },
                "audit_chain": { "head": chain.head, "events": chain.events, "intact": chain.first_break.is_none() },
                "check": format!("onedeck-cli recording verify {name} --head {}", verified.head),
            });
            write_private(
                &dir.join(format!("{name}.verify.json")),
                serde_json::to_string_pretty(&proof).unwrap_or_default().as_bytes(),
            )?;
            Ok(copy)
        })
        .await?
    }
}

/// Writes a new file readable by this user only.
fn write_private(path: &std::path::Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let mut o = std::fs::File::options();
    o.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
    o.open(path)
        .and_then(|mut f| f.write_all(bytes))
        .map_err(|e| Error::InvalidInput {
            field: "export",
            reason: format!("{}: {e}", path.display()),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_text_and_defuses_formulas() {
        let row = AuditEntry {
            id: 1,
            profile_id: "lab".into(),
            user: "=HYPERLINK(\"x\")".into(),
            vm_id: 7,
            vm_name: "web, \"one\"".into(),
            target: "10.0.0.5:5907".into(),
            started_at_ms: 5,
            ended_at_ms: None,
            bytes_to_client: 1,
            bytes_to_server: 2,
            end_reason: None,
            recorded: false,
            recording_available: false,
            recording_head: None,
        };
        let csv = export_text(&[row], ExportFormat::Csv);
        let line = csv.lines().nth(1).unwrap_or_default();
        assert!(line.contains("\"'=HYPERLINK(\"\"x\"\")\""), "{line}");
        assert!(line.contains("\"web, \"\"one\"\"\""), "{line}");
    }
}
