use std::path::{Path, PathBuf};
use std::time::Duration;

use super::*;
use crate::rfb::{ClientEvent, ServerInit};
use crate::{Error, Result};

fn meta() -> RecordingMeta {
    RecordingMeta {
        session: 7,
        label: "vm 7".into(),
        target: "127.0.0.1:5907".into(),
        started_unix_ms: 1_700_000_000_000,
        writer: "test".into(),
    }
}

fn tmp() -> Result<tempfile::TempDir> {
    tempfile::tempdir().map_err(|source| Error::Io {
        path: "tmp".into(),
        source,
    })
}

/// Bytes zstd cannot shrink much, so a few MiB make several chunks.
fn noise(n: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn init() -> ServerInit {
    ServerInit {
        width: 800,
        height: 600,
        pixel_format: [32, 24, 0, 1, 0, 255, 0, 255, 0, 255, 16, 8, 0, 0, 0, 0],
        name: "one-7".into(),
    }
}

/// Writes a recording of ~3 MiB of screen, a typed "hi", a click and a paste.
async fn write_one(dir: &Path) -> Result<(PathBuf, RecordingSummary)> {
    let rec = Recorder::create(&dir.join("recordings"), &meta(), 1 << 30)?;
    let path = rec.path().to_owned();
    rec.server_init(&init()).await;
    for piece in noise(1_500_000, 1).chunks(65_536) {
        rec.server(piece).await; // as the relay reads: at most one buffer at a time
    }
    for (down, keysym) in [(true, 0x68), (false, 0x68), (true, 0x69), (false, 0x69)] {
        rec.event(ClientEvent::Key {
            down,
            keysym,
            keycode: None,
        })
        .await;
    }
    // Motion without a button change is not kept; the press and the release are.
    for buttons in [0, 0, 1, 1, 0] {
        rec.event(ClientEvent::Pointer {
            buttons,
            x: 3,
            y: 4,
        })
        .await;
    }
    rec.cut_text(5, b"paste").await;
    for piece in noise(1_500_000, 2).chunks(65_536) {
        rec.server(piece).await;
    }
    let summary = rec
        .end("client closed (code 1000)".into())
        .await
        .ok_or("no summary")
        .map_err(|e| Error::Config(e.into()))?;
    Ok((path, summary))
}

#[tokio::test]
async fn writes_and_reads_back_what_a_replay_needs() -> Result<()> {
    let dir = tmp()?;
    let (path, summary) = write_one(dir.path()).await?;
    #[cfg(unix)]
    {
        // Recordings hold what was typed into a console.
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).map(|m| m.permissions().mode() & 0o777);
        assert_eq!(mode(&path).ok(), Some(0o600), "the recording file");
        assert_eq!(mode(&dir.path().join("recordings")).ok(), Some(0o700));
    }
    assert!(summary.chunks >= 3, "{summary:?}");
    assert_eq!(summary.typed, "hi");
    assert_eq!(
        summary.bytes,
        std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0)
    );
    let reader = RecordingReader::open(&path)?;
    assert_eq!(reader.meta(), &meta());
    let records: Vec<Record> = reader.collect::<Result<_>>()?;
    let mut server = Vec::new();
    let mut keys = Vec::new();
    let mut clicks = Vec::new();
    for r in &records {
        match r {
            Record::Server { bytes, .. } => server.extend_from_slice(bytes),
            Record::Key { down, keysym, .. } => keys.push((*down, *keysym)),
            Record::Pointer { buttons, .. } => clicks.push(*buttons),
            _ => {}
        }
    }
    let Some(Record::ServerInit { bytes, .. }) = records.first() else {
        panic!("ServerInit first: {:?}", records.first().map(Record::at));
    };
    assert_eq!(&bytes[..4], &[3, 32, 2, 88], "800 x 600, big-endian");
    assert_eq!(&bytes[24..], b"one-7");
    assert_eq!(server, [noise(1_500_000, 1), noise(1_500_000, 2)].concat());
    assert_eq!(
        keys,
        [(true, 0x68), (false, 0x68), (true, 0x69), (false, 0x69)]
    );
    assert_eq!(clicks, [1, 0]);
    assert!(
        records
            .iter()
            .any(|r| matches!(r, Record::CutText { len: 5, text, .. } if text == b"paste"))
    );
    let Some(Record::End {
        reason,
        head,
        capped,
        ..
    }) = records.last()
    else {
        panic!("the end last");
    };
    assert_eq!(
        (reason.as_str(), *capped),
        ("client closed (code 1000)", false)
    );
    assert_eq!(head, &summary.head);
    let times: Vec<Duration> = records.iter().map(Record::at).collect();
    assert!(
        times.windows(2).all(|w| w[0] <= w[1]),
        "times never go back"
    );
    let v = verify(&path, Some(&summary.head))?;
    assert_eq!((v.chunks, v.head), (summary.chunks, summary.head));
    Ok(())
}

/// Byte offsets of each chunk (its tag) and of the trailer, read from the layout.
fn chunk_offsets(file: &[u8]) -> (Vec<(usize, usize)>, usize) {
    let meta_len = u32::from_le_bytes([file[8], file[9], file[10], file[11]]) as usize;
    let mut at = 12 + meta_len;
    let mut chunks = Vec::new();
    while file[at] == format::TAG_CHUNK {
        let comp = u32::from_le_bytes([file[at + 25], file[at + 26], file[at + 27], file[at + 28]])
            as usize;
        let len = format::CHUNK_HEAD + comp + 32;
        chunks.push((at, len));
        at += len;
    }
    (chunks, at)
}

fn broken_at(path: &Path, head: Option<&str>) -> (String, String) {
    match verify(path, head) {
        Err(Error::RecordingBroken { link, what, .. }) => (link, what),
        other => panic!("expected a broken chain, got {other:?}"),
    }
}

#[tokio::test]
async fn every_kind_of_tampering_names_the_first_broken_link() -> Result<()> {
    let dir = tmp()?;
    let (path, summary) = write_one(dir.path()).await?;
    let original = std::fs::read(&path).map_err(|source| Error::Io {
        path: path.clone(),
        source,
    })?;
    let (chunks, trailer) = chunk_offsets(&original);
    assert!(chunks.len() >= 3);
    let write = |bytes: &[u8]| {
        std::fs::write(&path, bytes).map_err(|source| Error::Io {
            path: path.clone(),
            source,
        })
    };

    // One flipped byte in chunk 1's compressed data.
    let mut flipped = original.clone();
    flipped[chunks[1].0 + format::CHUNK_HEAD + 10] ^= 0x40;
    write(&flipped)?;
    let (link, what) = broken_at(&path, Some(&summary.head));
    assert_eq!(link, "chunk 1");
    assert!(what.contains("does not match its hash"), "{what}");

    // Cut short inside the last chunk, and cut right before the trailer.
    write(&original[..chunks[2].0 + 40])?;
    assert_eq!(broken_at(&path, None).0, "chunk 2");
    write(&original[..trailer])?;
    let (link, what) = broken_at(&path, None);
    assert_eq!(link, format!("chunk {}", chunks.len()));
    assert!(what.contains("without its trailer"), "{what}");

    // Chunks 0 and 1 swapped; chunk 1 deleted.
    let (a, b) = (chunks[0], chunks[1]);
    let mut swapped = original[..a.0].to_vec();
    swapped.extend_from_slice(&original[b.0..b.0 + b.1]);
    swapped.extend_from_slice(&original[a.0..a.0 + a.1]);
    swapped.extend_from_slice(&original[b.0 + b.1..]);
    write(&swapped)?;
    let (link, what) = broken_at(&path, None);
    assert_eq!(link, "chunk 0");
    assert!(
        what.contains("chunk 1 found where chunk 0 belongs"),
        "{what}"
    );
    let mut deleted = original[..b.0].to_vec();
    deleted.extend_from_slice(&original[b.0 + b.1..]);
    write(&deleted)?;
    assert_eq!(broken_at(&path, None).0, "chunk 1");

    // An intact file that is not the one the audit log names.
    write(&original)?;
    let other = "0".repeat(64);
    let (link, what) = broken_at(&path, Some(&other));
    assert_eq!(link, "the end");
    assert!(what.contains("audit log"), "{what}");
    assert!(
        verify(&path, Some(&summary.head)).is_ok(),
        "the untouched file verifies"
    );
    Ok(())
}

#[tokio::test]
async fn newer_versions_and_foreign_files_are_refused_clearly() -> Result<()> {
    let dir = tmp()?;
    let (path, _) = write_one(dir.path()).await?;
    let mut bytes = std::fs::read(&path).map_err(|source| Error::Io {
        path: path.clone(),
        source,
    })?;
    bytes[6] = 3;
    std::fs::write(&path, &bytes).map_err(|source| Error::Io {
        path: path.clone(),
        source,
    })?;
    match RecordingReader::open(&path) {
        Err(Error::RecordingNewer {
            found: 3,
            supported: 2,
            ..
        }) => {}
        other => panic!("{other:?}"),
    }
    let junk = dir.path().join("junk.odrec");
    std::fs::write(&junk, b"not a recording at all").map_err(|source| Error::Io {
        path: junk.clone(),
        source,
    })?;
    assert!(matches!(
        RecordingReader::open(&junk),
        Err(Error::RecordingFormat { .. })
    ));
    Ok(())
}

#[tokio::test]
async fn a_recording_stops_growing_at_its_cap_and_says_so() -> Result<()> {
    let dir = tmp()?;
    let rec = Recorder::create(dir.path(), &meta(), 600_000)?;
    let path = rec.path().to_owned();
    rec.server_init(&init()).await;
    for piece in noise(4_000_000, 10).chunks(65_536) {
        rec.server(piece).await;
    }
    let summary = rec.end("target closed".into()).await;
    let summary = summary.ok_or_else(|| Error::Config("no summary".into()))?;
    assert!(summary.capped);
    assert!(summary.bytes <= 600_000, "{}", summary.bytes);
    let v = verify(&path, Some(&summary.head))?;
    assert!(v.capped);
    Ok(())
}

#[tokio::test]
async fn a_reader_can_start_at_any_chunk() -> Result<()> {
    let dir = tmp()?;
    let (path, summary) = write_one(dir.path()).await?;
    let index = chunk_index(&path)?;
    assert_eq!(index.len() as u32, summary.chunks);
    assert!(
        index
            .windows(2)
            .all(|w| w[0].last <= w[1].first && w[0].offset < w[1].offset)
    );
    let whole: Vec<Record> = RecordingReader::open(&path)?.collect::<Result<_>>()?;
    let mut from_last = Vec::new();
    for r in RecordingReader::open_at(&path, &index[index.len() - 1])? {
        from_last.push(r?);
    }
    assert!(!from_last.is_empty() && from_last.len() < whole.len());
    assert_eq!(
        &whole[whole.len() - from_last.len()..],
        &from_last[..],
        "the same records, the end included"
    );
    Ok(())
}
