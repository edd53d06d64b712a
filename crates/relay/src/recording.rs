//! Session recordings: both directions with timestamps, zstd-compressed (format in
//! docs/RECORDING.md), a writer fed by the session and a reader for replay and tests.
//!
//! The session hands copies of what it relays to a bounded channel; a dedicated thread
//! compresses and writes them, so disk I/O never runs on the async runtime. When the disk falls
//! behind, the channel fills and the session waits: recording applies backpressure, it does not
//! buffer without bound and it does not drop bytes.

use std::{
    fs::File,
    io::{self, BufReader, BufWriter, Read, Write},
    path::{Path, PathBuf},
    time::{Duration, Instant as StdInstant},
};

use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use crate::{Error, Result};

/// The first 8 bytes of a decompressed recording: `ODREC`, a NUL, and the format version (u16 LE).
pub const MAGIC: [u8; 6] = *b"ODREC\0";
/// The format version this crate writes and reads.
pub const FORMAT_VERSION: u16 = 1;
/// File name extension of recordings.
pub const EXTENSION: &str = "odrec";
/// A record longer than this is refused by the reader (the writer never makes one: chunks are at
/// most one relay buffer). Guards the reader against allocating on corrupt input.
pub const MAX_RECORD_LEN: u32 = 16 << 20;
/// How many chunks may wait for the writer thread before the session has to wait.
const QUEUE_CHUNKS: usize = 64;
/// The writer flushes a compressed block at least this often while data flows, so a crash loses
/// at most about this much.
const FLUSH_EVERY: Duration = Duration::from_secs(1);
/// zstd level: fast enough to keep up with a console, still small.
const ZSTD_LEVEL: i32 = 3;

const KIND_TO_CLIENT: u8 = 1;
const KIND_TO_TARGET: u8 = 2;
const KIND_END: u8 = 0xFF;

/// Which way recorded bytes went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// From the target (VNC server) to the client (noVNC): framebuffer updates.
    ToClient,
    /// From the client to the target: keys, pointer, client messages.
    ToTarget,
}

/// What the recording's header says about the session. Never holds the ticket's token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordingMeta {
    /// The relay's session id.
    pub session: u64,
    /// The ticket's label.
    pub label: String,
    /// The target, `host:port`.
    pub target: String,
    /// Session start, milliseconds since the Unix epoch.
    pub started_unix_ms: u64,
    /// The writer, e.g. `onedeck-relay 0.1.0`.
    pub writer: String,
}

/// One record of a recording.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    /// Bytes relayed in one direction, `at` after the session started.
    Data {
        /// Which way.
        direction: Direction,
        /// Time since the session started.
        at: Duration,
        /// The bytes exactly as relayed (WebSocket framing removed).
        bytes: Vec<u8>,
    },
    /// The session ended.
    End {
        /// Time since the session started.
        at: Duration,
        /// Why it ended, as in the session's end event.
        reason: String,
    },
}

enum Msg {
    Data {
        direction: Direction,
        at_us: u64,
        bytes: Vec<u8>,
    },
    End {
        at_us: u64,
        reason: String,
    },
}

/// The session's handle on its recording.
#[derive(Debug)]
pub(crate) struct Recorder {
    tx: mpsc::Sender<Msg>,
    start: tokio::time::Instant,
    path: PathBuf,
}

impl std::fmt::Debug for Msg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Msg")
    }
}

impl Recorder {
    /// Creates `dir/<unix-ms>-s<session>.odrec`, writes the header and starts the writer thread.
    pub fn create(dir: &Path, meta: &RecordingMeta) -> Result<Self> {
        let path = dir.join(format!(
            "{}-s{}.{EXTENSION}",
            meta.started_unix_ms, meta.session
        ));
        let io_err = |source| Error::Io {
            path: path.clone(),
            source,
        };
        // Recordings hold what was typed into a console: 0700 directory, 0600 files.
        let mut dirs = std::fs::DirBuilder::new();
        dirs.recursive(true);
        let mut options = File::options();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
            dirs.mode(0o700);
            options.mode(0o600);
        }
        dirs.create(dir).map_err(|source| Error::Io {
            path: dir.to_owned(),
            source,
        })?;
        let file = options.open(&path).map_err(io_err)?;
        let mut enc =
            zstd::stream::Encoder::new(BufWriter::new(file), ZSTD_LEVEL).map_err(io_err)?;
        let meta_json = serde_json::to_vec(meta).map_err(|e| io_err(io::Error::other(e)))?;
        enc.write_all(&MAGIC).map_err(io_err)?;
        enc.write_all(&FORMAT_VERSION.to_le_bytes())
            .map_err(io_err)?;
        enc.write_all(&(meta_json.len() as u32).to_le_bytes())
            .map_err(io_err)?;
        enc.write_all(&meta_json).map_err(io_err)?;
        let (tx, rx) = mpsc::channel(QUEUE_CHUNKS);
        let thread_path = path.clone();
        std::thread::Builder::new()
            .name("relay-recorder".into())
            .spawn(move || {
                if let Err(e) = write_loop(enc, rx) {
                    tracing::warn!(path = %thread_path.display(), error = %e, "recording stopped");
                }
            })
            .map_err(io_err)?;
        Ok(Self {
            tx,
            start: tokio::time::Instant::now(),
            path,
        })
    }

    /// The file being written.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn now_us(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_micros()).unwrap_or(u64::MAX)
    }

    /// Queues a copy of relayed bytes; waits when the writer is behind. A failed writer is
    /// ignored here (it logged why): the console keeps working without its recording.
    pub async fn data(&self, direction: Direction, bytes: &[u8]) {
        let at_us = self.now_us();
        let _ = self
            .tx
            .send(Msg::Data {
                direction,
                at_us,
                bytes: bytes.to_vec(),
            })
            .await;
    }

    /// Writes the end record; the writer thread then finishes the file.
    pub async fn end(self, reason: String) {
        let at_us = self.now_us();
        let _ = self.tx.send(Msg::End { at_us, reason }).await;
    }
}

fn write_loop(
    mut enc: zstd::stream::Encoder<'static, BufWriter<File>>,
    mut rx: mpsc::Receiver<Msg>,
) -> io::Result<()> {
    let mut last_flush = StdInstant::now();
    loop {
        let msg = match rx.try_recv() {
            Ok(m) => Some(m),
            Err(mpsc::error::TryRecvError::Empty) => {
                // Idle: make what we have durable before sleeping on the channel.
                if last_flush.elapsed() >= FLUSH_EVERY {
                    enc.flush()?;
                    last_flush = StdInstant::now();
                }
                rx.blocking_recv()
            }
            Err(mpsc::error::TryRecvError::Disconnected) => None,
        };
        match msg {
            Some(Msg::Data {
                direction,
                at_us,
                bytes,
            }) => {
                let kind = match direction {
                    Direction::ToClient => KIND_TO_CLIENT,
                    Direction::ToTarget => KIND_TO_TARGET,
                };
                write_record(&mut enc, kind, at_us, &bytes)?;
            }
            Some(Msg::End { at_us, reason }) => {
                write_record(&mut enc, KIND_END, at_us, reason.as_bytes())?;
                break;
            }
            // The session went away without an end record (a panic): close the file cleanly;
            // the reader reports the missing end.
            None => break,
        }
    }
    let mut inner = enc.finish()?;
    inner.flush()
}

fn write_record(w: &mut impl Write, kind: u8, at_us: u64, bytes: &[u8]) -> io::Result<()> {
    let mut head = [0u8; 13];
    head[0] = kind;
    head[1..9].copy_from_slice(&at_us.to_le_bytes());
    head[9..13].copy_from_slice(&(bytes.len() as u32).to_le_bytes());
    w.write_all(&head)?;
    w.write_all(bytes)
}

/// Reads a recording written by the relay.
pub struct RecordingReader {
    path: PathBuf,
    meta: RecordingMeta,
    dec: Box<dyn Read + Send>,
    ended: bool,
}

impl std::fmt::Debug for RecordingReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordingReader")
            .field("path", &self.path)
            .field("meta", &self.meta)
            .finish()
    }
}

impl RecordingReader {
    /// Opens a recording and reads its header.
    ///
    /// # Errors
    /// [`Error::Io`] when the file cannot be read, [`Error::RecordingFormat`] when it is not a
    /// recording of a version this crate reads.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_owned();
        let file = File::open(&path).map_err(|source| Error::Io {
            path: path.clone(),
            source,
        })?;
        Self::from_reader(path, BufReader::new(file))
    }

    /// Reads a recording from `compressed` (its zstd stream); `name` names it in errors.
    ///
    /// # Errors
    /// As [`RecordingReader::open`].
    pub fn from_reader(
        name: impl Into<PathBuf>,
        compressed: impl Read + Send + 'static,
    ) -> Result<Self> {
        let path = name.into();
        let dec = zstd::stream::Decoder::new(compressed).map_err(|source| Error::Io {
            path: path.clone(),
            source,
        })?;
        Self::from_decompressed(path, Box::new(dec))
    }

    /// Reads a recording's decompressed content (the fuzz target's way past zstd).
    pub(crate) fn from_decompressed(path: PathBuf, dec: Box<dyn Read + Send>) -> Result<Self> {
        let mut r = Self {
            path,
            meta: placeholder_meta(),
            dec,
            ended: false,
        };
        let mut head = [0u8; 12];
        r.read_exact_fmt(&mut head, "header")?;
        if head[..6] != MAGIC {
            return Err(r.bad("no ODREC magic"));
        }
        let version = u16::from_le_bytes([head[6], head[7]]);
        if version != FORMAT_VERSION {
            return Err(r.bad(&format!(
                "format version {version}, this reader knows {FORMAT_VERSION}"
            )));
        }
        let meta_len = u32::from_le_bytes([head[8], head[9], head[10], head[11]]);
        if meta_len > 64 << 10 {
            return Err(r.bad("header metadata too long"));
        }
        let mut meta = vec![0u8; meta_len as usize];
        r.read_exact_fmt(&mut meta, "header metadata")?;
        r.meta = serde_json::from_slice(&meta).map_err(|e| r.bad(&format!("metadata: {e}")))?;
        Ok(r)
    }

    /// The session described in the header.
    pub fn meta(&self) -> &RecordingMeta {
        &self.meta
    }

    /// The next record; `Ok(None)` after the end record.
    ///
    /// # Errors
    /// [`Error::RecordingFormat`] for a truncated file (no end record) or a corrupt record.
    pub fn next_record(&mut self) -> Result<Option<Record>> {
        if self.ended {
            return Ok(None);
        }
        let mut head = [0u8; 13];
        self.read_exact_fmt(
            &mut head,
            "record header (truncated recording: no end record)",
        )?;
        let mut at = [0u8; 8];
        at.copy_from_slice(&head[1..9]);
        let at = Duration::from_micros(u64::from_le_bytes(at));
        let len = u32::from_le_bytes([head[9], head[10], head[11], head[12]]);
        if len > MAX_RECORD_LEN {
            return Err(self.bad(&format!("record of {len} bytes")));
        }
        // Grows with what is really there: a corrupt length cannot make the reader allocate.
        let mut bytes = Vec::new();
        (&mut self.dec)
            .take(u64::from(len))
            .read_to_end(&mut bytes)
            .map_err(|e| self.bad(&format!("record payload: {e}")))?;
        if bytes.len() != len as usize {
            return Err(self.bad("file ends inside the record payload"));
        }
        let rec = match head[0] {
            KIND_TO_CLIENT => Record::Data {
                direction: Direction::ToClient,
                at,
                bytes,
            },
            KIND_TO_TARGET => Record::Data {
                direction: Direction::ToTarget,
                at,
                bytes,
            },
            KIND_END => {
                self.ended = true;
                let reason = String::from_utf8_lossy(&bytes).into_owned();
                Record::End { at, reason }
            }
            k => return Err(self.bad(&format!("unknown record kind {k:#x}"))),
        };
        Ok(Some(rec))
    }

    fn read_exact_fmt(&mut self, buf: &mut [u8], what: &str) -> Result<()> {
        self.dec.read_exact(buf).map_err(|e| match e.kind() {
            io::ErrorKind::UnexpectedEof => self.bad(&format!("file ends inside the {what}")),
            _ => self.bad(&format!("{what}: {e}")),
        })
    }

    fn bad(&self, message: &str) -> Error {
        Error::RecordingFormat {
            path: self.path.clone(),
            message: message.to_owned(),
        }
    }
}

impl Iterator for RecordingReader {
    type Item = Result<Record>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_record().transpose()
    }
}

fn placeholder_meta() -> RecordingMeta {
    RecordingMeta {
        session: 0,
        label: String::new(),
        target: String::new(),
        started_unix_ms: 0,
        writer: String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta() -> RecordingMeta {
        RecordingMeta {
            session: 7,
            label: "vm 7".into(),
            target: "127.0.0.1:5907".into(),
            started_unix_ms: 1_700_000_000_000,
            writer: "test".into(),
        }
    }

    #[tokio::test]
    async fn writes_and_reads_back_every_record() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|source| Error::Io {
            path: "tmp".into(),
            source,
        })?;
        let rec = Recorder::create(&dir.path().join("recordings"), &meta())?;
        let path = rec.path().to_owned();
        #[cfg(unix)]
        {
            // Security finding 9: recordings hold what was typed into a console.
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| std::fs::metadata(p).map(|m| m.permissions().mode() & 0o777);
            assert_eq!(mode(&path).ok(), Some(0o600), "the recording file");
            assert_eq!(
                mode(&dir.path().join("recordings")).ok(),
                Some(0o700),
                "its directory"
            );
        }
        rec.data(Direction::ToClient, b"RFB 003.008\n").await;
        rec.data(Direction::ToTarget, b"RFB 003.008\n").await;
        let big: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        rec.data(Direction::ToClient, &big).await;
        rec.end("client closed".into()).await;
        // The writer thread finishes the file on its own; wait for the end record to land.
        let mut records = Vec::new();
        for _ in 0..200 {
            if let Ok(r) = RecordingReader::open(&path).and_then(|r| r.collect::<Result<Vec<_>>>())
            {
                records = r;
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let reader = RecordingReader::open(&path)?;
        assert_eq!(reader.meta(), &meta());
        let dirs: Vec<_> = records
            .iter()
            .map(|r| match r {
                Record::Data {
                    direction, bytes, ..
                } => (Some(*direction), bytes.len()),
                Record::End { .. } => (None, 0),
            })
            .collect();
        assert_eq!(
            dirs,
            vec![
                (Some(Direction::ToClient), 12),
                (Some(Direction::ToTarget), 12),
                (Some(Direction::ToClient), 100_000),
                (None, 0)
            ]
        );
        assert!(matches!(&records[2], Record::Data { bytes, .. } if *bytes == big));
        assert!(matches!(&records[3], Record::End { reason, .. } if reason == "client closed"));
        Ok(())
    }

    #[test]
    fn refuses_a_file_that_is_not_a_recording() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|source| Error::Io {
            path: "tmp".into(),
            source,
        })?;
        let path = dir.path().join("x.odrec");
        let data =
            zstd::encode_all(&b"NOTREC\x01\x00\x00\x00\x00\x00"[..], 1).map_err(|source| {
                Error::Io {
                    path: path.clone(),
                    source,
                }
            })?;
        std::fs::write(&path, data).map_err(|source| Error::Io {
            path: path.clone(),
            source,
        })?;
        let err = RecordingReader::open(&path).err();
        assert!(
            matches!(err, Some(Error::RecordingFormat { .. })),
            "got {err:?}"
        );
        Ok(())
    }

    #[test]
    fn a_truncated_recording_is_reported_not_silently_short() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|source| Error::Io {
            path: "tmp".into(),
            source,
        })?;
        let path = dir.path().join("t.odrec");
        let mut raw = Vec::new();
        raw.extend_from_slice(&MAGIC);
        raw.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        let m = serde_json::to_vec(&meta()).map_err(|e| Error::Config(e.to_string()))?;
        raw.extend_from_slice(&(m.len() as u32).to_le_bytes());
        raw.extend_from_slice(&m);
        write_record(&mut raw, KIND_TO_CLIENT, 5, b"abc").map_err(|source| Error::Io {
            path: path.clone(),
            source,
        })?;
        let data = zstd::encode_all(&raw[..], 1).map_err(|source| Error::Io {
            path: path.clone(),
            source,
        })?;
        std::fs::write(&path, data).map_err(|source| Error::Io {
            path: path.clone(),
            source,
        })?;
        let mut r = RecordingReader::open(&path)?;
        assert!(
            matches!(r.next_record()?, Some(Record::Data { ref bytes, .. }) if bytes == b"abc")
        );
        assert!(matches!(
            r.next_record(),
            Err(Error::RecordingFormat { .. })
        ));
        Ok(())
    }
}
