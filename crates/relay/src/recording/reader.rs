//! Reading a recording: records in order, every chunk's hash checked as it is read, so an edited,
//! truncated or reordered file is reported at its first broken link.

use std::{
    fs::File,
    io::{self, BufReader, Read},
    path::{Path, PathBuf},
    time::Duration,
};

use super::RecordingMeta;
use super::format::{self, CHUNK_HEAD, ChunkHead, kind};
use super::index::ChunkInfo;
use crate::{Error, Result};

/// One record of a recording.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    /// The server's ServerInit (RFB bytes): the start of what a viewer replays.
    ServerInit {
        /// Time since the session started.
        at: Duration,
        /// The message, as RFB sends it.
        bytes: Vec<u8>,
    },
    /// Server-to-viewer bytes after ServerInit, exactly as relayed.
    Server {
        /// Time since the session started.
        at: Duration,
        /// The bytes.
        bytes: Vec<u8>,
    },
    /// A key pressed or released in the console.
    Key {
        /// Time since the session started.
        at: Duration,
        /// Pressed (true) or released.
        down: bool,
        /// The X11 keysym.
        keysym: u32,
        /// QEMU's scancode, when the viewer sent one.
        keycode: Option<u32>,
    },
    /// The pointer's buttons changed (a click, a release).
    Pointer {
        /// Time since the session started.
        at: Duration,
        /// Buttons held after the change (bit 0 left, 1 middle, 2 right, 3/4 wheel).
        buttons: u8,
        /// Column.
        x: u16,
        /// Row.
        y: u16,
    },
    /// Clipboard text the viewer sent to the VM.
    CutText {
        /// Time since the session started.
        at: Duration,
        /// Its full length in bytes.
        len: u32,
        /// The first bytes of it (up to 64 KiB).
        text: Vec<u8>,
    },
    /// The viewer asked the guest to resize.
    Resize {
        /// Time since the session started.
        at: Duration,
        /// Width asked.
        width: u16,
        /// Height asked.
        height: u16,
    },
    /// The viewer set the pixel format of what follows (16 RFB bytes).
    PixelFormat {
        /// Time since the session started.
        at: Duration,
        /// The pixel format as RFB sends it.
        format: [u8; 16],
    },
    /// The whole screen: a ServerInit message then a FramebufferUpdate painting all of it.
    Keyframe {
        /// Time since the session started.
        at: Duration,
        /// The ServerInit message (RFB bytes).
        init: Vec<u8>,
        /// The FramebufferUpdate (RFB bytes).
        update: Vec<u8>,
    },
    /// A note from the relay, e.g. why content is missing.
    Note {
        /// Time since the session started.
        at: Duration,
        /// The note.
        text: String,
    },
    /// The session ended (always the last record of an intact recording).
    End {
        /// Time since the session started.
        at: Duration,
        /// Why it ended, as in the session's end event.
        reason: String,
        /// The recording stopped at its size cap before the session ended.
        capped: bool,
        /// The chain's head (hex), as the audit log keeps it.
        head: String,
    },
}

impl Record {
    /// When it happened, since the session started.
    pub fn at(&self) -> Duration {
        match self {
            Self::ServerInit { at, .. }
            | Self::Server { at, .. }
            | Self::Key { at, .. }
            | Self::Pointer { at, .. }
            | Self::CutText { at, .. }
            | Self::Resize { at, .. }
            | Self::PixelFormat { at, .. }
            | Self::Keyframe { at, .. }
            | Self::Note { at, .. }
            | Self::End { at, .. } => *at,
        }
    }
}

/// Reads a recording written by the relay.
pub struct RecordingReader {
    path: PathBuf,
    meta: RecordingMeta,
    src: Box<dyn Read + Send>,
    prev: [u8; 32],
    seq: u32,
    chunk: Vec<u8>,
    pos: usize,
    done: bool,
}

impl std::fmt::Debug for RecordingReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordingReader")
            .field("path", &self.path)
            .field("meta", &self.meta)
            .field("chunks_read", &self.seq)
            .finish_non_exhaustive()
    }
}

impl RecordingReader {
    /// Opens a recording and reads its header.
    ///
    /// # Errors
    /// [`Error::Io`] when the file cannot be read, [`Error::RecordingNewer`] for a newer format,
    /// [`Error::RecordingFormat`] when it is not a recording.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_owned();
        let file = File::open(&path).map_err(|source| Error::Io {
            path: path.clone(),
            source,
        })?;
        Self::from_reader(path, BufReader::with_capacity(256 << 10, file))
    }

    /// Reads a recording from `src`; `name` names it in errors.
    ///
    /// # Errors
    /// As [`RecordingReader::open`].
    pub fn from_reader(name: impl Into<PathBuf>, src: impl Read + Send + 'static) -> Result<Self> {
        let mut r = Self {
            path: name.into(),
            meta: RecordingMeta::default(),
            src: Box::new(src),
            prev: [0; 32],
            seq: 0,
            chunk: Vec::new(),
            pos: 0,
            done: false,
        };
        let mut head = [0u8; 12];
        r.read_exact(&mut head)
            .map_err(|_| r.bad("too short for a recording header"))?;
        if head[..6] != format::MAGIC {
            return Err(r.bad("no ODREC magic"));
        }
        let version = u16::from_le_bytes([head[6], head[7]]);
        if version > format::FORMAT_VERSION {
            return Err(Error::RecordingNewer {
                path: r.path.clone(),
                found: version,
                supported: format::FORMAT_VERSION,
            });
        }
        if version < format::OLDEST_READ {
            return Err(r.bad(&format!(
                "format version {version} is an early development format this build no longer reads"
            )));
        }
        let meta_len = u32::from_le_bytes([head[8], head[9], head[10], head[11]]);
        if meta_len > format::MAX_META {
            return Err(r.bad("header metadata too long"));
        }
        let mut meta = vec![0u8; meta_len as usize];
        r.read_exact(&mut meta)
            .map_err(|_| r.bad("the file ends inside the header"))?;
        let mut header = head.to_vec();
        header.extend_from_slice(&meta);
        r.prev = format::genesis(&header);
        r.meta = serde_json::from_slice(&meta).map_err(|e| r.bad(&format!("metadata: {e}")))?;
        Ok(r)
    }

    /// A reader of one chunk's decompressed records and nothing else (the fuzz target's way
    /// past the hash chain and zstd).
    pub(crate) fn for_records(raw: Vec<u8>) -> Self {
        Self {
            path: PathBuf::from("records"),
            meta: RecordingMeta::default(),
            src: Box::new(io::empty()),
            prev: [0; 32],
            seq: 1,
            chunk: raw,
            pos: 0,
            done: false,
        }
    }

    /// Opens a recording positioned at `chunk` (from [`chunk_index`]), so a replay can start
    /// anywhere; the chain is checked from there on (the previous link is read from the file).
    ///
    /// # Errors
    /// As [`RecordingReader::open`]; [`Error::RecordingBroken`] when the index does not fit the
    /// file.
    pub fn open_at(path: impl AsRef<Path>, chunk: &ChunkInfo) -> Result<Self> {
        use std::io::{Seek, SeekFrom};
        let path = path.as_ref();
        let mut r = Self::open(path)?;
        if chunk.seq == 0 {
            return Ok(r);
        }
        let mut file = File::open(path).map_err(|source| Error::Io {
            path: path.to_owned(),
            source,
        })?;
        let mut prev = [0u8; 32];
        let read = file
            .seek(SeekFrom::Start(chunk.offset.saturating_sub(32)))
            .and_then(|_| file.read_exact(&mut prev));
        if read.is_err() {
            return Err(r.broken(format!("chunk {}", chunk.seq), "not where the index says"));
        }
        r.src = Box::new(BufReader::with_capacity(256 << 10, file));
        r.prev = prev;
        r.seq = chunk.seq;
        Ok(r)
    }

    /// Chunks read so far (the number of the one being read, plus one).
    pub fn chunks_read(&self) -> u32 {
        self.seq
    }

    /// The session described in the header.
    pub fn meta(&self) -> &RecordingMeta {
        &self.meta
    }

    /// The next record; `Ok(None)` after the end.
    ///
    /// # Errors
    /// [`Error::RecordingBroken`] at the first chunk that does not match its hash, is out of
    /// order or missing, or when the file ends without its trailer; [`Error::RecordingFormat`]
    /// for a record that cannot be parsed.
    pub fn next_record(&mut self) -> Result<Option<Record>> {
        if self.done {
            return Ok(None);
        }
        while self.pos >= self.chunk.len() {
            if let Some(end) = self.next_chunk()? {
                self.done = true;
                return Ok(Some(end));
            }
        }
        self.parse_record().map(Some)
    }

    fn read_exact(&mut self, buf: &mut [u8]) -> io::Result<()> {
        self.src.read_exact(buf)
    }

    fn bad(&self, message: &str) -> Error {
        Error::RecordingFormat {
            path: self.path.clone(),
            message: message.to_owned(),
        }
    }

    pub(super) fn broken(&self, link: String, what: &str) -> Error {
        Error::RecordingBroken {
            path: self.path.clone(),
            link,
            what: what.to_owned(),
        }
    }

    /// Reads the next chunk into `self.chunk`, or the trailer (then returns the end record).
    fn next_chunk(&mut self) -> Result<Option<Record>> {
        let here = format!("chunk {}", self.seq);
        let mut tag = [0u8; 1];
        match self.src.read(&mut tag) {
            Ok(1) => {}
            Ok(_) => {
                return Err(self.broken(
                    here,
                    "the file ends without its trailer (cut short, or the app stopped while recording)",
                ));
            }
            Err(e) => return Err(self.broken(here, &format!("cannot read: {e}"))),
        }
        match tag[0] {
            format::TAG_CHUNK => {
                let mut b = [0u8; CHUNK_HEAD];
                b[0] = tag[0];
                self.read_exact(&mut b[1..])
                    .map_err(|_| self.broken(here.clone(), "the file ends inside it"))?;
                let head = ChunkHead::decode(&b);
                if head.seq != self.seq {
                    return Err(self.broken(
                        here,
                        &format!(
                            "chunk {} found where chunk {} belongs (chunks deleted or reordered)",
                            head.seq, self.seq
                        ),
                    ));
                }
                if head.raw_len > format::MAX_CHUNK_RAW || head.comp_len > format::MAX_CHUNK_RAW {
                    return Err(self.broken(here, "its length fields are impossible"));
                }
                let mut comp = Vec::new();
                (&mut self.src)
                    .take(u64::from(head.comp_len))
                    .read_to_end(&mut comp)
                    .map_err(|e| self.broken(here.clone(), &format!("cannot read: {e}")))?;
                let mut link = [0u8; 32];
                if comp.len() != head.comp_len as usize || self.read_exact(&mut link).is_err() {
                    return Err(self.broken(here, "the file ends inside it"));
                }
                let expected = format::link(&self.prev, &b, &comp);
                if link != expected {
                    return Err(self.broken(
                        here,
                        "its content does not match its hash (edited or corrupted)",
                    ));
                }
                let raw = zstd::bulk::decompress(&comp, head.raw_len as usize)
                    .map_err(|e| self.bad(&format!("{here} does not decompress: {e}")))?;
                if raw.len() != head.raw_len as usize {
                    return Err(self.bad(&format!("{here} decompresses to the wrong length")));
                }
                self.prev = link;
                self.seq += 1;
                self.chunk = raw;
                self.pos = 0;
                Ok(None)
            }
            format::TAG_END => {
                let here = "the end".to_owned();
                let mut fixed = [0u8; format::TRAILER_HEAD];
                fixed[0] = tag[0];
                self.read_exact(&mut fixed[1..])
                    .map_err(|_| self.broken(here.clone(), "the file ends inside the trailer"))?;
                let chunks = u32::from_le_bytes([fixed[1], fixed[2], fixed[3], fixed[4]]);
                let mut us = [0u8; 8];
                us.copy_from_slice(&fixed[5..13]);
                let end_us = u64::from_le_bytes(us);
                let flags = fixed[13];
                let reason_len = usize::from(u16::from_le_bytes([fixed[14], fixed[15]]));
                if reason_len > format::MAX_REASON {
                    return Err(self.broken(here, "its reason is impossibly long"));
                }
                let mut reason = vec![0u8; reason_len];
                let mut head = [0u8; 32];
                if self.read_exact(&mut reason).is_err() || self.read_exact(&mut head).is_err() {
                    return Err(self.broken(here, "the file ends inside the trailer"));
                }
                if chunks != self.seq {
                    return Err(self.broken(
                        here,
                        &format!(
                            "the trailer counts {chunks} chunks, the file holds {}",
                            self.seq
                        ),
                    ));
                }
                let mut body = fixed.to_vec();
                body.extend_from_slice(&reason);
                if head != format::head(&self.prev, &body) {
                    return Err(self.broken(here, "the trailer does not match its hash"));
                }
                let mut more = [0u8; 1];
                if matches!(self.src.read(&mut more), Ok(n) if n > 0) {
                    return Err(self.broken(here, "bytes follow the trailer"));
                }
                Ok(Some(Record::End {
                    at: Duration::from_micros(end_us),
                    reason: String::from_utf8_lossy(&reason).into_owned(),
                    capped: flags & format::FLAG_CAPPED != 0,
                    head: format::hex(&head),
                }))
            }
            t => Err(self.broken(here, &format!("unknown block tag {t:#04x}"))),
        }
    }

    fn parse_record(&mut self) -> Result<Record> {
        let rest = &self.chunk[self.pos..];
        if rest.len() < format::RECORD_HEAD {
            return Err(self.bad("a record header is cut by its chunk's end"));
        }
        let k = rest[0];
        let mut us = [0u8; 8];
        us.copy_from_slice(&rest[1..9]);
        let at = Duration::from_micros(u64::from_le_bytes(us));
        let len = u32::from_le_bytes([rest[9], rest[10], rest[11], rest[12]]) as usize;
        let max = if k == kind::KEYFRAME {
            format::MAX_KEYFRAME
        } else {
            format::MAX_RECORD
        };
        if len > rest.len() - format::RECORD_HEAD || len > max as usize {
            return Err(self.bad("a record is longer than its chunk"));
        }
        let p = &rest[format::RECORD_HEAD..format::RECORD_HEAD + len];
        let short = || self.bad(&format!("a record of kind {k:#04x} is too short"));
        let rec = match k {
            kind::SERVER => Record::Server {
                at,
                bytes: p.to_vec(),
            },
            kind::SERVER_INIT => Record::ServerInit {
                at,
                bytes: p.to_vec(),
            },
            kind::KEY => {
                let [down, a, b, c, d, e, f, g, h] = *p else {
                    return Err(short());
                };
                let keycode = u32::from_le_bytes([e, f, g, h]);
                Record::Key {
                    at,
                    down: down != 0,
                    keysym: u32::from_le_bytes([a, b, c, d]),
                    keycode: (keycode != 0).then_some(keycode),
                }
            }
            kind::POINTER => {
                let [buttons, a, b, c, d] = *p else {
                    return Err(short());
                };
                Record::Pointer {
                    at,
                    buttons,
                    x: u16::from_le_bytes([a, b]),
                    y: u16::from_le_bytes([c, d]),
                }
            }
            kind::CUT_TEXT => {
                let [a, b, c, d, ref text @ ..] = *p else {
                    return Err(short());
                };
                Record::CutText {
                    at,
                    len: u32::from_le_bytes([a, b, c, d]),
                    text: text.to_vec(),
                }
            }
            kind::RESIZE => {
                let [a, b, c, d] = *p else {
                    return Err(short());
                };
                Record::Resize {
                    at,
                    width: u16::from_le_bytes([a, b]),
                    height: u16::from_le_bytes([c, d]),
                }
            }
            kind::PIXEL_FORMAT => {
                let format: [u8; 16] = p.try_into().map_err(|_| short())?;
                Record::PixelFormat { at, format }
            }
            kind::KEYFRAME => {
                // ServerInit: 24 bytes and the name's length.
                let name = p
                    .get(20..24)
                    .map(|l| u32::from_be_bytes([l[0], l[1], l[2], l[3]]) as usize)
                    .ok_or_else(short)?;
                let split = 24usize.saturating_add(name);
                if split > p.len() {
                    return Err(short());
                }
                Record::Keyframe {
                    at,
                    init: p[..split].to_vec(),
                    update: p[split..].to_vec(),
                }
            }
            kind::NOTE => Record::Note {
                at,
                text: String::from_utf8_lossy(p).into_owned(),
            },
            other => return Err(self.bad(&format!("unknown record kind {other:#04x}"))),
        };
        self.pos += format::RECORD_HEAD + len;
        Ok(rec)
    }
}

impl Iterator for RecordingReader {
    type Item = Result<Record>;

    fn next(&mut self) -> Option<Self::Item> {
        let next = self.next_record();
        if next.is_err() {
            // One error, then the end: a broken file is not read past its break.
            self.done = true;
        }
        next.transpose()
    }
}
