//! The recorder: the session hands it what to keep; a dedicated thread batches records into
//! chunks, compresses each (zstd), chains their hashes and writes them, so disk I/O never runs on
//! the async runtime. When the disk falls behind, the bounded channel fills and the session
//! waits: recording applies backpressure, it neither buffers without bound nor drops bytes.

use std::{
    fs::File,
    io::{self, BufWriter, Write},
    path::{Path, PathBuf},
    sync::atomic::{AtomicU8, Ordering},
    time::Duration,
};

use tokio::sync::{mpsc, oneshot};

use super::format::{self, ChunkHead, kind};
use super::timeline::TypedText;
use super::{RecordingMeta, RecordingSummary};
use crate::rfb::{ClientEvent, Screen, ServerDecoder, ServerInit};
use crate::{Error, Result};

/// How many records may wait for the writer thread before the session has to wait.
const QUEUE: usize = 256;
/// A chunk is closed once it holds this many bytes of records…
const CHUNK_BYTES: usize = 1 << 20;
/// …or this long after its first record, so a crash loses at most about this much.
const CHUNK_AGE: Duration = Duration::from_secs(1);
/// zstd level: fast enough to keep up with a console, still small.
const ZSTD_LEVEL: i32 = 3;
/// A keyframe is written once this many server bytes followed the last one (a seek then
/// decodes at most about this much)…
pub(crate) const KEYFRAME_BYTES: u64 = 16 << 20;

enum Msg {
    Record {
        kind: u8,
        at_us: u64,
        payload: Vec<u8>,
    },
    End {
        at_us: u64,
        reason: String,
    },
}

impl std::fmt::Debug for Msg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never prints what was recorded.
        f.write_str("Msg")
    }
}

/// The session's handle on its recording.
#[derive(Debug)]
pub(crate) struct Recorder {
    tx: mpsc::Sender<Msg>,
    done: oneshot::Receiver<Option<RecordingSummary>>,
    start: tokio::time::Instant,
    path: PathBuf,
    /// The pointer buttons last recorded: only changes (clicks) are kept.
    buttons: AtomicU8,
    /// A note about an opaque session was written.
    noted: std::sync::atomic::AtomicBool,
}

impl Recorder {
    /// Creates `dir/<unix-ms>-s<session>.odrec` (0600 in a 0700 directory), writes the header
    /// and starts the writer thread. The file stops growing at `max_bytes`; a keyframe is
    /// written once `keyframe_age` passed since the last one and the screen changed, or
    /// [`KEYFRAME_BYTES`] of updates followed it.
    pub fn create(
        dir: &Path,
        meta: &RecordingMeta,
        max_bytes: u64,
        keyframe_age: Duration,
    ) -> Result<Self> {
        let path = dir.join(format!(
            "{}-s{}.{}",
            meta.started_unix_ms,
            meta.session,
            format::EXTENSION
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
        let meta_json = serde_json::to_vec(meta).map_err(|e| io_err(io::Error::other(e)))?;
        let mut header = Vec::with_capacity(12 + meta_json.len());
        header.extend_from_slice(&format::MAGIC);
        header.extend_from_slice(&format::FORMAT_VERSION.to_le_bytes());
        header.extend_from_slice(&u32::try_from(meta_json.len()).unwrap_or(0).to_le_bytes());
        header.extend_from_slice(&meta_json);
        let mut file = BufWriter::new(options.open(&path).map_err(io_err)?);
        file.write_all(&header).map_err(io_err)?;
        file.flush().map_err(io_err)?;
        let (tx, rx) = mpsc::channel(QUEUE);
        let (done_tx, done) = oneshot::channel();
        let writer = Writer {
            file,
            path: path.clone(),
            prev: format::genesis(&header),
            written: header.len() as u64,
            max_bytes,
            capped: false,
            seq: 0,
            raw: Vec::new(),
            first_us: 0,
            last_us: 0,
            typed: TypedText::default(),
            flags: 0,
            keys: Keyframes {
                age_us: u64::try_from(keyframe_age.as_micros()).unwrap_or(u64::MAX),
                ..Keyframes::default()
            },
        };
        std::thread::Builder::new()
            .name("relay-recorder".into())
            .spawn(move || {
                let summary = writer.run(rx);
                let _ = done_tx.send(summary);
            })
            .map_err(io_err)?;
        Ok(Self {
            tx,
            done,
            start: tokio::time::Instant::now(),
            path,
            buttons: AtomicU8::new(0),
            noted: std::sync::atomic::AtomicBool::new(false),
        })
    }

    /// The file being written.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn now_us(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_micros()).unwrap_or(u64::MAX)
    }

    async fn record(&self, kind: u8, payload: Vec<u8>) {
        let at_us = self.now_us();
        // A failed writer is ignored here (it logged why): the console keeps working.
        let _ = self
            .tx
            .send(Msg::Record {
                kind,
                at_us,
                payload,
            })
            .await;
    }

    /// ServerInit, rebuilt from what the observer saw (the security exchange before it is
    /// never recorded).
    pub async fn server_init(&self, init: &ServerInit) {
        let mut b = Vec::with_capacity(24 + init.name.len());
        b.extend_from_slice(&init.width.to_be_bytes());
        b.extend_from_slice(&init.height.to_be_bytes());
        b.extend_from_slice(&init.pixel_format);
        b.extend_from_slice(&u32::try_from(init.name.len()).unwrap_or(0).to_be_bytes());
        b.extend_from_slice(init.name.as_bytes());
        self.record(kind::SERVER_INIT, b).await;
    }

    /// Server-to-viewer bytes after ServerInit.
    pub async fn server(&self, bytes: &[u8]) {
        if !bytes.is_empty() {
            self.record(kind::SERVER, bytes.to_vec()).await;
        }
    }

    /// Something the person at the console did. Pointer motion without a button change is
    /// not kept (clicks are).
    pub async fn event(&self, event: ClientEvent) {
        let (k, payload) = match event {
            ClientEvent::Key {
                down,
                keysym,
                keycode,
            } => {
                let mut p = Vec::with_capacity(9);
                p.push(u8::from(down));
                p.extend_from_slice(&keysym.to_le_bytes());
                p.extend_from_slice(&keycode.unwrap_or(0).to_le_bytes());
                (kind::KEY, p)
            }
            ClientEvent::Pointer { buttons, x, y } => {
                if self.buttons.swap(buttons, Ordering::Relaxed) == buttons {
                    return;
                }
                let mut p = vec![buttons];
                p.extend_from_slice(&x.to_le_bytes());
                p.extend_from_slice(&y.to_le_bytes());
                (kind::POINTER, p)
            }
            ClientEvent::CutText { .. } => return, // recorded with its text by `cut_text`
            ClientEvent::Resize { width, height } => {
                let mut p = width.to_le_bytes().to_vec();
                p.extend_from_slice(&height.to_le_bytes());
                (kind::RESIZE, p)
            }
        };
        self.record(k, payload).await;
    }

    /// Clipboard text the viewer sent (`full_len` bytes, of which `text` is what was kept).
    pub async fn cut_text(&self, full_len: u32, text: &[u8]) {
        let keep = &text[..text.len().min(format::MAX_CUT_TEXT)];
        let mut p = full_len.to_le_bytes().to_vec();
        p.extend_from_slice(keep);
        self.record(kind::CUT_TEXT, p).await;
    }

    /// The viewer's SetPixelFormat (the 16 RFB bytes).
    pub async fn pixel_format(&self, pf: [u8; 16]) {
        self.record(kind::PIXEL_FORMAT, pf.to_vec()).await;
    }

    /// A note for whoever replays the recording (why something is missing).
    pub async fn note(&self, text: &str) {
        self.record(kind::NOTE, format::cut_utf8(text, 4096).as_bytes().to_vec())
            .await;
    }

    /// [`Recorder::note`], at most once per recording.
    pub async fn note_once(&self, text: &str) {
        if !self.noted.swap(true, Ordering::Relaxed) {
            self.note(&format!(
                "the relay could not follow this session from here on: {text}"
            ))
            .await;
        }
    }

    /// Writes the trailer and waits for the file to be complete; `None` when the writer failed.
    pub async fn end(self, reason: String) -> Option<RecordingSummary> {
        let at_us = self.now_us();
        let _ = self.tx.send(Msg::End { at_us, reason }).await;
        drop(self.tx);
        self.done.await.ok().flatten()
    }
}

struct Writer {
    file: BufWriter<File>,
    path: PathBuf,
    prev: [u8; 32],
    written: u64,
    max_bytes: u64,
    capped: bool,
    seq: u32,
    raw: Vec<u8>,
    first_us: u64,
    last_us: u64,
    typed: TypedText,
    /// The open chunk's flags.
    flags: u8,
    keys: Keyframes,
}

/// The screen as the viewer sees it, and when the next keyframe is due.
#[derive(Debug, Default)]
struct Keyframes {
    /// `None` before ServerInit, and once decoding stopped (a note says why).
    decoder: Option<ServerDecoder>,
    last_us: u64,
    bytes_since: u64,
    /// A keyframe is due this long after the last one, if the screen changed.
    age_us: u64,
}

impl Keyframes {
    fn due(&self, at_us: u64) -> bool {
        self.decoder.as_ref().is_some_and(|d| {
            self.bytes_since >= KEYFRAME_BYTES
                || (d.changed() && at_us.saturating_sub(self.last_us) >= self.age_us)
        })
    }
}

impl Writer {
    fn run(mut self, mut rx: mpsc::Receiver<Msg>) -> Option<RecordingSummary> {
        let rt = match tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
        {
            Ok(rt) => rt,
            Err(e) => {
                tracing::warn!(error = %e, "recording stopped: no timer for the writer");
                return None;
            }
        };
        let result = rt.block_on(async {
            let mut deadline: Option<tokio::time::Instant> = None;
            loop {
                let msg = tokio::select! {
                    m = rx.recv() => m,
                    _ = tokio::time::sleep_until(deadline.unwrap_or_else(tokio::time::Instant::now)), if deadline.is_some() => {
                        deadline = None;
                        self.close_chunk()?;
                        continue;
                    }
                };
                match msg {
                    Some(Msg::Record {
                        kind,
                        at_us,
                        payload,
                    }) => {
                        self.record(kind, at_us, payload)?;
                        if self.raw.is_empty() {
                            deadline = None;
                        } else if deadline.is_none() {
                            deadline = Some(tokio::time::Instant::now() + CHUNK_AGE);
                        }
                    }
                    Some(Msg::End { at_us, reason }) => return self.finish(at_us, &reason),
                    // The session went away without an end (a panic): seal what we have.
                    None => return self.finish(self.last_us, "the relay stopped recording"),
                }
            }
        });
        match result {
            Ok(summary) => Some(summary),
            Err(e) => {
                tracing::warn!(path = %self.path.display(), error = %e, "recording stopped");
                None
            }
        }
    }

    fn record(&mut self, kind: u8, at_us: u64, payload: Vec<u8>) -> io::Result<()> {
        match kind {
            kind::KEY => {
                if let [down, a, b, c, d, ..] = *payload.as_slice() {
                    self.typed.key(down != 0, u32::from_le_bytes([a, b, c, d]));
                }
            }
            kind::SERVER_INIT => {
                self.keys.last_us = at_us;
                match Screen::from_server_init(&payload) {
                    Ok(screen) => self.keys.decoder = Some(ServerDecoder::new(screen)),
                    Err(why) => self.no_keyframes(at_us, &why)?,
                }
            }
            kind::PIXEL_FORMAT => {
                if let (Some(d), Ok(pf)) =
                    (self.keys.decoder.as_mut(), payload.as_slice().try_into())
                {
                    d.set_pixel_format(pf);
                }
            }
            kind::SERVER => return self.server(at_us, &payload),
            _ => {}
        }
        self.put(kind, at_us, &payload)
    }

    /// Appends a record to the open chunk, closing it once full.
    fn put(&mut self, kind: u8, at_us: u64, payload: &[u8]) -> io::Result<()> {
        if self.raw.is_empty() {
            self.first_us = at_us;
        }
        self.last_us = at_us;
        format::put_record(&mut self.raw, kind, at_us, payload);
        if self.raw.len() >= CHUNK_BYTES {
            self.close_chunk()?;
        }
        Ok(())
    }

    /// Server bytes: fed to the decoder, split where a keyframe is due.
    fn server(&mut self, at_us: u64, payload: &[u8]) -> io::Result<()> {
        let mut rest = payload;
        while !rest.is_empty() {
            let due = self.keys.due(at_us);
            let Some(decoder) = self.keys.decoder.as_mut() else {
                return self.put(kind::SERVER, at_us, rest);
            };
            if due && decoder.at_boundary() {
                self.keyframe(at_us)?;
                continue;
            }
            let n = decoder.feed(rest, due);
            let why = decoder.broken().map(str::to_owned);
            self.keys.bytes_since += n as u64;
            self.put(kind::SERVER, at_us, &rest[..n])?;
            rest = &rest[n..];
            if let Some(why) = why {
                self.no_keyframes(at_us, &why)?;
            }
        }
        Ok(())
    }

    /// Starts a chunk with the whole screen.
    fn keyframe(&mut self, at_us: u64) -> io::Result<()> {
        self.keys.bytes_since = 0;
        self.keys.last_us = at_us;
        let Some(decoder) = self.keys.decoder.as_mut() else {
            return Ok(());
        };
        if !decoder.take_changed() {
            return Ok(());
        }
        let screen = decoder.screen();
        let mut payload = screen.server_init();
        payload.extend_from_slice(&screen.update());
        self.close_chunk()?;
        self.flags = format::FLAG_KEYFRAME;
        self.put(kind::KEYFRAME, at_us, &payload)
    }

    /// Decoding stopped: no more keyframes, and the recording says why.
    fn no_keyframes(&mut self, at_us: u64, why: &str) -> io::Result<()> {
        self.keys.decoder = None;
        let note =
            format!("no more keyframes from here (seeking replays from an earlier one): {why}");
        self.put(kind::NOTE, at_us, format::cut_utf8(&note, 4096).as_bytes())
    }

    fn close_chunk(&mut self) -> io::Result<()> {
        if self.raw.is_empty() {
            return Ok(());
        }
        let raw = std::mem::take(&mut self.raw);
        let flags = std::mem::take(&mut self.flags);
        if self.capped {
            return Ok(());
        }
        let comp = zstd::bulk::compress(&raw, ZSTD_LEVEL)?;
        let head = ChunkHead {
            seq: self.seq,
            first_us: self.first_us,
            last_us: self.last_us,
            raw_len: u32::try_from(raw.len()).unwrap_or(u32::MAX),
            comp_len: u32::try_from(comp.len()).unwrap_or(u32::MAX),
            flags,
        }
        .encode();
        let size = (head.len() + comp.len() + 32) as u64;
        if self.written + size > self.max_bytes {
            // The cap: stop growing, say so in the trailer.
            self.capped = true;
            tracing::warn!(path = %self.path.display(), "recording reached its size cap");
            return Ok(());
        }
        let link = format::link(&self.prev, &head, &comp);
        self.file.write_all(&head)?;
        self.file.write_all(&comp)?;
        self.file.write_all(&link)?;
        self.file.flush()?;
        self.prev = link;
        self.written += size;
        self.seq += 1;
        Ok(())
    }

    fn finish(&mut self, end_us: u64, reason: &str) -> io::Result<RecordingSummary> {
        self.close_chunk()?;
        let flags = if self.capped { format::FLAG_CAPPED } else { 0 };
        let body = format::trailer_body(self.seq, end_us, flags, reason);
        let head = format::head(&self.prev, &body);
        self.file.write_all(&body)?;
        self.file.write_all(&head)?;
        self.file.flush()?;
        self.file.get_ref().sync_all()?;
        self.written += (body.len() + head.len()) as u64;
        Ok(RecordingSummary {
            path: self.path.clone(),
            head: format::hex(&head),
            chunks: self.seq,
            bytes: self.written,
            capped: self.capped,
            typed: std::mem::take(&mut self.typed).finish(),
        })
    }
}
