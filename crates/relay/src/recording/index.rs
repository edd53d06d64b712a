//! Where a recording's chunks are and what time each covers (for seeking), and verifying a
//! whole recording against the head the audit log holds.

use std::{
    fs::File,
    io::{BufReader, Read},
    path::Path,
    time::Duration,
};

use super::format::{self, CHUNK_HEAD, ChunkHead};
use super::reader::{Record, RecordingReader};
use crate::{Error, Result};

/// Where a chunk is and what time it covers (for seeking).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkInfo {
    /// Its number.
    pub seq: u32,
    /// Byte offset of its header in the file.
    pub offset: u64,
    /// Time of its first record.
    pub first: Duration,
    /// Time of its last record.
    pub last: Duration,
    /// Its first record is a keyframe.
    pub keyframe: bool,
}

/// The chunks of a recording, read from their headers without decompressing (the hashes are
/// checked when a chunk is read).
///
/// # Errors
/// As [`RecordingReader::open`]; [`Error::RecordingBroken`] for a layout that does not add up.
pub fn chunk_index(path: impl AsRef<Path>) -> Result<Vec<ChunkInfo>> {
    use std::io::{Seek, SeekFrom};
    let path = path.as_ref();
    let header_len = {
        let r = RecordingReader::open(path)?;
        drop(r);
        let mut head = [0u8; 12];
        let mut f = File::open(path).map_err(|source| Error::Io {
            path: path.to_owned(),
            source,
        })?;
        f.read_exact(&mut head).map_err(|source| Error::Io {
            path: path.to_owned(),
            source,
        })?;
        12 + u64::from(u32::from_le_bytes([head[8], head[9], head[10], head[11]]))
    };
    let mut f = BufReader::new(File::open(path).map_err(|source| Error::Io {
        path: path.to_owned(),
        source,
    })?);
    let broken = |what: &str, seq: u32| Error::RecordingBroken {
        path: path.to_owned(),
        link: format!("chunk {seq}"),
        what: what.to_owned(),
    };
    let mut offset = header_len;
    let mut out = Vec::new();
    loop {
        f.seek(SeekFrom::Start(offset))
            .map_err(|e| broken(&e.to_string(), out.len() as u32))?;
        let mut b = [0u8; CHUNK_HEAD];
        if f.read_exact(&mut b[..1]).is_err() || b[0] != format::TAG_CHUNK {
            return Ok(out);
        }
        let seq = u32::try_from(out.len()).unwrap_or(u32::MAX);
        f.read_exact(&mut b[1..])
            .map_err(|_| broken("the file ends inside it", seq))?;
        let head = ChunkHead::decode(&b);
        if head.seq != seq || head.comp_len > format::MAX_CHUNK_RAW {
            return Err(broken("out of order, or its length is impossible", seq));
        }
        out.push(ChunkInfo {
            seq,
            offset,
            first: Duration::from_micros(head.first_us),
            last: Duration::from_micros(head.last_us),
            keyframe: head.flags & format::FLAG_KEYFRAME != 0,
        });
        offset += CHUNK_HEAD as u64 + u64::from(head.comp_len) + 32;
    }
}

/// What [`verify`] found in an intact recording.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// Chunks read.
    pub chunks: u32,
    /// The chain's head (hex).
    pub head: String,
    /// The session's length.
    pub duration: Duration,
    /// It stopped at its size cap.
    pub capped: bool,
}

/// Reads the whole recording, checking every link; with `expected_head` (the audit log's), the
/// chain must also end there.
///
/// # Errors
/// The reader's errors; [`Error::RecordingBroken`] at "the end" when the head differs from the
/// audit log's (the file was rewritten as a whole, or belongs to another session).
pub fn verify(path: impl AsRef<Path>, expected_head: Option<&str>) -> Result<Verified> {
    let mut reader = RecordingReader::open(path)?;
    while let Some(record) = reader.next_record()? {
        if let Record::End {
            at, capped, head, ..
        } = record
        {
            if let Some(expected) = expected_head
                && !expected.eq_ignore_ascii_case(&head)
            {
                return Err(reader.broken(
                    "the end".to_owned(),
                    "the chain's head is not the one the audit log holds (the file was rewritten or swapped)",
                ));
            }
            return Ok(Verified {
                chunks: reader.chunks_read(),
                head,
                duration: at,
                capped,
            });
        }
    }
    Err(reader.broken("the end".to_owned(), "no trailer"))
}
