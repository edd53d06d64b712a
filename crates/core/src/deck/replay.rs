//! Replay windows: the main window opens one for a recorded session; the window (its own
//! capability: recordings and nothing else) asks for the session's header, its keystroke
//! timeline and the screen's bytes chunk by chunk, and feeds them to noVNC.

use onedeck_relay::recording::{self, Record, RecordingReader, Timeline};

use super::{Deck, lock};
use crate::error::{Error, Result};
use crate::view::{ConsoleWindow, ReplayChunk, ReplayClick, ReplayInfo};

/// At most this many chunks (1 MiB of records each at most) per `replay_data` call.
pub const MAX_REPLAY_CHUNKS: u32 = 16;

/// Record kinds in `replay_data`'s answer.
const DATA_INIT: u8 = 0x10;
const DATA_SERVER: u8 = 0x01;
const DATA_KEYFRAME: u8 = 0x16;

impl Deck {
    /// Registers a replay window for console session `audit_id` (or names the one open).
    ///
    /// # Errors
    /// `notFound` when the session has no recording to replay.
    pub async fn replay_open(&self, audit_id: i64) -> Result<ConsoleWindow> {
        self.recording_path(audit_id).await?;
        let entry = self.audit_entry(audit_id).await?;
        let title = format!("Replay: {} (session {audit_id}) — OneDeck", entry.vm_name);
        let mut consoles = lock(&self.inner.consoles);
        if let Some(label) = consoles
            .replays
            .iter()
            .find(|(_, id)| **id == audit_id)
            .map(|(l, _)| l.clone())
        {
            return Ok(ConsoleWindow {
                label,
                title,
                existing: true,
                size: None,
            });
        }
        consoles.next += 1;
        let label = format!("replay-{}", consoles.next);
        consoles.replays.insert(label.clone(), audit_id);
        Ok(ConsoleWindow {
            label,
            title,
            existing: false,
            size: None,
        })
    }

    /// The replay window `label` closed.
    pub fn replay_closed(&self, label: &str) {
        lock(&self.inner.consoles).replays.remove(label);
    }

    fn replay_audit_id(&self, label: &str) -> Result<i64> {
        lock(&self.inner.consoles)
            .replays
            .get(label)
            .copied()
            .ok_or(Error::UnknownConsole)
    }

    /// What the replay window `label` shows around the screen: who, which VM, when, the
    /// keystroke timeline, the clicks and the chunks to ask for.
    ///
    /// # Errors
    /// `notFound`; `recording` for a broken file.
    pub async fn replay_info(&self, label: &str) -> Result<ReplayInfo> {
        let audit_id = self.replay_audit_id(label)?;
        let entry = self.audit_entry(audit_id).await?;
        let path = self.recording_path(audit_id).await?;
        tokio::task::spawn_blocking(move || -> Result<ReplayInfo> {
            let chunks = recording::chunk_index(&path)?;
            let mut timeline = Timeline::default();
            let (mut clicks, mut notes) = (Vec::new(), Vec::new());
            let (mut duration_ms, mut capped) = (0, false);
            for record in RecordingReader::open(&path)? {
                match record? {
                    r @ Record::Key { .. } => timeline.push(&r),
                    Record::Pointer { at, buttons, x, y } => clicks.push(ReplayClick {
                        t_ms: ms(at),
                        buttons,
                        x,
                        y,
                    }),
                    Record::Note { text, .. } => notes.push(text),
                    Record::End { at, capped: c, .. } => {
                        duration_ms = ms(at);
                        capped = c;
                    }
                    _ => {}
                }
            }
            Ok(ReplayInfo {
                entry,
                duration_ms,
                capped,
                keys: timeline.finish(),
                clicks,
                notes,
                chunks: chunks
                    .iter()
                    .map(|c| ReplayChunk {
                        seq: c.seq,
                        first_ms: ms(c.first),
                        last_ms: ms(c.last),
                        keyframe: c.keyframe,
                    })
                    .collect(),
            })
        })
        .await?
    }

    /// The screen's bytes of chunks `from..from + count` (at most [`MAX_REPLAY_CHUNKS`]), for
    /// the replay window `label`: records of `kind u8`, `at_ms u32` and `len u32`
    /// (little-endian), then the bytes. Kinds: 0x10 ServerInit, 0x01 server bytes, and 0x16 a
    /// keyframe, where it lies between them, as a 4-byte marker: the number (u32 LE) of the
    /// chunk it starts. With `keyframes`, only the keyframes of those chunks, in full (a
    /// ServerInit then a FramebufferUpdate of the whole screen): a window fetches one when a
    /// seek starts there, so it never holds them all.
    ///
    /// # Errors
    /// `notFound`; `recording` for a broken file.
    pub async fn replay_data(
        &self,
        label: &str,
        from: u32,
        count: u32,
        keyframes: bool,
    ) -> Result<Vec<u8>> {
        let audit_id = self.replay_audit_id(label)?;
        let path = self.recording_path(audit_id).await?;
        let count = count.clamp(1, MAX_REPLAY_CHUNKS);
        tokio::task::spawn_blocking(move || -> Result<Vec<u8>> {
            let index = recording::chunk_index(&path)?;
            let Some(start) = index.get(from as usize) else {
                return Ok(Vec::new());
            };
            let end = from.saturating_add(count);
            let mut reader = RecordingReader::open_at(&path, start)?;
            let mut out = Vec::new();
            while let Some(record) = reader.next_record()? {
                if reader.chunks_read() > end {
                    break;
                }
                let (kind, at, bytes) = match record {
                    Record::ServerInit { at, bytes } if !keyframes => (DATA_INIT, at, bytes),
                    Record::Server { at, bytes } if !keyframes => (DATA_SERVER, at, bytes),
                    Record::Keyframe { at, .. } if !keyframes => {
                        // The chunk being read is the one the keyframe starts.
                        let seq = reader.chunks_read().saturating_sub(1);
                        (DATA_KEYFRAME, at, seq.to_le_bytes().to_vec())
                    }
                    Record::Keyframe {
                        at,
                        mut init,
                        update,
                    } if keyframes => {
                        init.extend_from_slice(&update);
                        (DATA_KEYFRAME, at, init)
                    }
                    _ => continue,
                };
                out.push(kind);
                out.extend_from_slice(
                    &u32::try_from(at.as_millis())
                        .unwrap_or(u32::MAX)
                        .to_le_bytes(),
                );
                out.extend_from_slice(&u32::try_from(bytes.len()).unwrap_or(0).to_le_bytes());
                out.extend_from_slice(&bytes);
            }
            Ok(out)
        })
        .await?
    }
}

fn ms(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
