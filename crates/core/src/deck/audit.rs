//! The console audit log: a row per relay session, written from the relay's events.

use std::time::{Duration, SystemTime};

use onedeck_opennebula::VmId;
use onedeck_relay::SessionEvent;
use onedeck_store::{NewRecording, SessionEnd, SessionStart};
use tokio::sync::broadcast;

use super::{Deck, LiveSession, lock};
use crate::error::Result;
use crate::view::{ConsoleEnd, DeckEvent};

impl Deck {
    /// The console audit log, newest first (one profile's, or everyone's).
    ///
    /// # Errors
    /// `storage`.
    pub async fn audit_log(
        &self,
        profile_id: Option<&str>,
        limit: u32,
    ) -> Result<Vec<onedeck_store::AuditRecord>> {
        let key = profile_id.map(str::to_owned);
        self.with_store(move |s| s.audit_list(key.as_deref(), limit))
            .await
    }

    pub(super) fn spawn_audit_writer(&self) {
        let Some(relay) = &self.inner.relay else {
            return;
        };
        let mut rx = relay.subscribe();
        let cancel = self.inner.cancel.clone();
        let deck = self.clone();
        self.inner.tasks.spawn(async move {
            loop {
                let event = tokio::select! {
                    event = rx.recv() => event,
                    () = cancel.cancelled() => {
                        // The relay has shut down: its last events are already queued.
                        while let Ok(event) = rx.try_recv() {
                            deck.audit(event).await;
                        }
                        return;
                    }
                };
                match event {
                    Ok(event) => deck.audit(event).await,
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        tracing::warn!(missed = n, "audit writer fell behind the relay's events");
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                }
            }
        });
    }

    pub(super) async fn audit(&self, event: SessionEvent) {
        match event {
            SessionEvent::Started {
                id,
                label,
                target,
                started_unix_ms,
                recording,
                ..
            } => {
                let (profile_id, start) = {
                    let consoles = lock(&self.inner.consoles);
                    let Some(slot) = consoles.by_label.get(&label) else {
                        return;
                    };
                    (
                        slot.profile_id.clone(),
                        SessionStart {
                            profile_id: slot.profile_id.to_string(),
                            user: slot.user.clone(),
                            vm_id: u64::try_from(slot.vm_id.0).unwrap_or_default(),
                            vm_name: slot.vm_name.clone(),
                            target_host: target.host.clone(),
                            target_port: target.port,
                            started_at: SystemTime::UNIX_EPOCH
                                + Duration::from_millis(started_unix_ms),
                            recording_file: recording,
                        },
                    )
                };
                let vm_id = VmId(i32::try_from(start.vm_id).unwrap_or_default());
                let written = self
                    .with_store(move |s| {
                        let audit = s.audit_start(&start)?;
                        let recording = match &start.recording_file {
                            Some(path) => Some(s.recording_add(&NewRecording {
                                audit_id: Some(audit),
                                path: path.clone(),
                                profile_id: start.profile_id.clone(),
                                vm_id: start.vm_id,
                                started_at: start.started_at,
                                format: format!(
                                    "odrec/{}",
                                    onedeck_relay::recording::FORMAT_VERSION
                                ),
                            })?),
                            None => None,
                        };
                        Ok((audit, recording))
                    })
                    .await;
                let (audit, recording) = match written {
                    Ok((audit, recording)) => (Some(audit), recording),
                    Err(e) => {
                        tracing::warn!(error = %e, "could not write the console audit row");
                        (None, None)
                    }
                };
                lock(&self.inner.consoles).live.insert(
                    id,
                    LiveSession {
                        audit,
                        recording,
                        profile_id,
                        vm_id,
                    },
                );
            }
            SessionEvent::Ended {
                id,
                label,
                stats,
                reason,
                recording,
                ..
            } => {
                let end = ConsoleEnd {
                    kind: reason_code(&reason),
                    reason: reason.to_string(),
                    idle_secs: match reason {
                        onedeck_relay::EndReason::InputIdle { after_secs } => Some(after_secs),
                        _ => None,
                    },
                    // A guest reboot, a migration or an SSH host going away is worth another
                    // try; a refused SSH login or host key is not (the user must act).
                    retry: match &reason {
                        onedeck_relay::EndReason::TargetClosed
                        | onedeck_relay::EndReason::TargetLost { .. }
                        | onedeck_relay::EndReason::TargetUnreachable { .. } => true,
                        onedeck_relay::EndReason::PathFailed { path, .. } => {
                            matches!(path.as_str(), "ssh_unreachable" | "ssh_disconnected")
                        }
                        _ => false,
                    },
                };
                let live = {
                    let mut consoles = lock(&self.inner.consoles);
                    if let Some(slot) = consoles.by_label.get_mut(&label) {
                        slot.last_end = Some(end.clone());
                    }
                    consoles.live.remove(&id)
                };
                let Some(live) = live else {
                    return;
                };
                if let Some(audit) = live.audit {
                    let row_end = SessionEnd {
                        ended_at: SystemTime::now(),
                        bytes_to_client: stats.bytes_to_client,
                        bytes_to_server: stats.bytes_to_target,
                        end_reason: end.kind.clone(),
                        recording_head: recording.as_ref().map(|r| r.head.clone()),
                        typed_text: recording.as_ref().map(|r| r.typed.clone()),
                    };
                    let finished = live.recording.zip(recording.as_ref().map(|r| r.bytes));
                    let duration = stats.duration;
                    let written = self
                        .with_store(move |s| {
                            s.audit_end(audit, &row_end)?;
                            if let Some((id, bytes)) = finished {
                                s.recording_finish(id, duration, bytes)?;
                            }
                            Ok(())
                        })
                        .await;
                    if let Err(e) = written {
                        tracing::warn!(error = %e, "could not complete the console audit row");
                    }
                }
                if recording.is_some() {
                    self.prune_recordings().await;
                }
                let _ = self.inner.events.send(DeckEvent::ConsoleEnded {
                    label,
                    profile_id: live.profile_id,
                    vm_id: live.vm_id,
                    reason: end.reason,
                    kind: end.kind,
                });
            }
            SessionEvent::Rejected { peer, reason } => {
                tracing::warn!(%peer, ?reason, "console connection refused by the relay");
            }
        }
    }
}

/// The audit log's name for an end reason (the relay's serde tag, e.g. `client_closed`).
pub(super) fn reason_code(reason: &onedeck_relay::EndReason) -> String {
    serde_json::to_value(reason)
        .ok()
        .and_then(|v| v.get("kind").and_then(|k| k.as_str()).map(str::to_owned))
        .unwrap_or_else(|| "unknown".to_owned())
}
