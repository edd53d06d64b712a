//! The audit log's hash chain: every change to the console audit log (a session started or
//! ended, a recording pruned) is also an append-only event whose SHA-256 covers the previous
//! event's, so an edited, deleted or reordered row is found by [`Store::audit_verify`].
//!
//! What it cannot see: someone who rewrites the whole chain from the first changed event on, or
//! who deletes the newest events together with their rows (docs/SECURITY.md says so).

use std::time::SystemTime;

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::audit::{AuditId, AuditRecord};
use crate::db::{Store, to_ms};
use crate::error::Result;

/// The previous hash of the first event.
const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Event kinds.
pub(crate) const STARTED: &str = "session_started";
pub(crate) const ENDED: &str = "session_ended";
pub(crate) const PRUNED: &str = "recording_pruned";

/// What a session's start says, canonically (field order fixed by the struct).
#[derive(Serialize)]
struct StartedBody<'a> {
    audit_id: i64,
    profile_id: &'a str,
    user: &'a str,
    vm_id: u64,
    vm_name: &'a str,
    target_host: &'a str,
    target_port: u16,
    started_at_ms: i64,
    recording_file: Option<String>,
}

/// What a session's end says.
#[derive(Serialize)]
struct EndedBody<'a> {
    audit_id: i64,
    ended_at_ms: i64,
    bytes_to_client: u64,
    bytes_to_server: u64,
    end_reason: &'a str,
    recording_head: Option<&'a str>,
    typed_sha256: Option<String>,
}

fn sha256_hex(data: &[u8]) -> String {
    Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

pub(crate) fn started_body(r: &AuditRecord) -> String {
    let s = &r.start;
    serde_json::to_string(&StartedBody {
        audit_id: r.id.0,
        profile_id: &s.profile_id,
        user: &s.user,
        vm_id: s.vm_id,
        vm_name: &s.vm_name,
        target_host: &s.target_host,
        target_port: s.target_port,
        started_at_ms: to_ms(s.started_at),
        recording_file: s
            .recording_file
            .as_ref()
            .map(|p| p.to_string_lossy().into_owned()),
    })
    .unwrap_or_default()
}

/// `None` while the session runs.
pub(crate) fn ended_body(r: &AuditRecord) -> Option<String> {
    let e = r.end.as_ref()?;
    Some(
        serde_json::to_string(&EndedBody {
            audit_id: r.id.0,
            ended_at_ms: to_ms(e.ended_at),
            bytes_to_client: e.bytes_to_client,
            bytes_to_server: e.bytes_to_server,
            end_reason: &e.end_reason,
            recording_head: e.recording_head.as_deref(),
            typed_sha256: e.typed_text.as_deref().map(|t| sha256_hex(t.as_bytes())),
        })
        .unwrap_or_default(),
    )
}

fn event_hash(prev: &str, seq: i64, at_ms: i64, kind: &str, body: &str) -> String {
    sha256_hex(format!("{prev}\n{seq}\n{at_ms}\n{kind}\n{body}").as_bytes())
}

/// Appends one event (inside the caller's transaction, if any).
pub(crate) fn append(
    conn: &Connection,
    at: SystemTime,
    kind: &str,
    audit_id: Option<AuditId>,
    body: &str,
) -> Result<()> {
    let last: Option<(i64, String)> = conn
        .query_row(
            "SELECT seq, hash FROM audit_chain ORDER BY seq DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let (seq, prev) = match last {
        Some((seq, hash)) => (seq + 1, hash),
        None => (1, GENESIS.to_owned()),
    };
    let at_ms = to_ms(at);
    let hash = event_hash(&prev, seq, at_ms, kind, body);
    conn.execute(
        "INSERT INTO audit_chain (seq, at_ms, kind, audit_id, body, prev_hash, hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![seq, at_ms, kind, audit_id.map(|a| a.0), body, prev, hash],
    )?;
    Ok(())
}

/// The first broken link [`Store::audit_verify`] found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Break {
    /// Where: `event 12`, `audit row 7`.
    pub link: String,
    /// What is wrong there.
    pub what: String,
}

/// What [`Store::audit_verify`] found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChainReport {
    /// Events in the chain.
    pub events: u64,
    /// Audit rows checked against it.
    pub rows: u64,
    /// The chain's last hash (what an outside copy would keep).
    pub head: Option<String>,
    /// The first broken link; `None` when everything matches.
    pub first_break: Option<Break>,
}

impl Store {
    /// Checks the chain link by link, then every audit row against its events.
    ///
    /// # Errors
    /// [`crate::Error::Sqlite`].
    pub fn audit_verify(&self) -> Result<ChainReport> {
        let mut report = ChainReport {
            events: 0,
            rows: 0,
            head: None,
            first_break: None,
        };
        let brk = |link: String, what: String| Some(Break { link, what });
        let mut stmt = self.conn.prepare(
            "SELECT seq, at_ms, kind, audit_id, body, prev_hash, hash FROM audit_chain ORDER BY seq",
        )?;
        let mut rows = stmt.query([])?;
        let mut prev = GENESIS.to_owned();
        let mut expected_seq = 1i64;
        // (audit_id, kind) → body, for the row check below.
        let mut bodies = std::collections::HashMap::new();
        while let Some(r) = rows.next()? {
            let (seq, at_ms, kind, audit_id, body, prev_hash, hash): (
                i64,
                i64,
                String,
                Option<i64>,
                String,
                String,
                String,
            ) = (
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
            );
            report.events += 1;
            if report.first_break.is_none() {
                if seq != expected_seq {
                    report.first_break = brk(
                        format!("event {expected_seq}"),
                        format!("missing: the next event is {seq} (events deleted)"),
                    );
                } else if prev_hash != prev {
                    report.first_break = brk(
                        format!("event {seq}"),
                        "does not follow the event before it (reordered or replaced)".into(),
                    );
                } else if hash != event_hash(&prev_hash, seq, at_ms, &kind, &body) {
                    report.first_break = brk(
                        format!("event {seq}"),
                        "its content does not match its hash (edited)".into(),
                    );
                }
            }
            if let Some(id) = audit_id
                && kind != PRUNED
            {
                bodies.insert((id, kind), (seq, body));
            }
            prev = hash.clone();
            report.head = Some(hash);
            expected_seq = seq + 1;
        }
        if report.first_break.is_some() {
            return Ok(report);
        }
        let records = self.audit_all()?;
        report.rows = records.len() as u64;
        let mut seen = std::collections::HashSet::new();
        for rec in &records {
            seen.insert(rec.id.0);
            let link = format!("audit row {}", rec.id.0);
            match bodies.get(&(rec.id.0, STARTED.to_owned())) {
                None => {
                    report.first_break = brk(link, "no event records its start (inserted)".into());
                    return Ok(report);
                }
                Some((seq, body)) if *body != started_body(rec) => {
                    report.first_break = brk(
                        link,
                        format!("differs from its start as event {seq} recorded it (edited)"),
                    );
                    return Ok(report);
                }
                Some(_) => {}
            }
            let ended = bodies.get(&(rec.id.0, ENDED.to_owned()));
            match (ended_body(rec), ended) {
                (None, None) => {}
                (Some(now), Some((seq, body))) if now != *body => {
                    report.first_break = brk(
                        link,
                        format!("differs from its end as event {seq} recorded it (edited)"),
                    );
                    return Ok(report);
                }
                (Some(_), Some(_)) => {}
                (Some(_), None) => {
                    report.first_break =
                        brk(link, "ended, but no event records its end (edited)".into());
                    return Ok(report);
                }
                (None, Some((seq, _))) => {
                    report.first_break = brk(
                        link,
                        format!("shows as running, but event {seq} recorded its end (edited)"),
                    );
                    return Ok(report);
                }
            }
        }
        let mut missing: Vec<i64> = bodies
            .keys()
            .map(|(id, _)| *id)
            .filter(|id| !seen.contains(id))
            .collect();
        missing.sort_unstable();
        if let Some(id) = missing.first() {
            report.first_break = brk(
                format!("audit row {id}"),
                "recorded in the chain but missing from the log (deleted)".into(),
            );
        }
        Ok(report)
    }

    /// Gives every audit row without events (written before the chain existed) its events, in
    /// row order; called once when the store opens.
    pub(crate) fn chain_backfill(&mut self) -> Result<()> {
        let chained: i64 = self
            .conn
            .query_row("SELECT COUNT(*) FROM audit_chain", [], |r| r.get(0))?;
        if chained > 0 {
            return Ok(());
        }
        let records = self.audit_all()?;
        if records.is_empty() {
            return Ok(());
        }
        let tx = self.conn.transaction()?;
        for rec in &records {
            append(
                &tx,
                rec.start.started_at,
                STARTED,
                Some(rec.id),
                &started_body(rec),
            )?;
            if let (Some(body), Some(end)) = (ended_body(rec), &rec.end) {
                append(&tx, end.ended_at, ENDED, Some(rec.id), &body)?;
            }
        }
        tx.commit()?;
        Ok(())
    }
}
