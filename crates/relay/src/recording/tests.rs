use std::path::{Path, PathBuf};
use std::time::Duration;

use super::*;
use crate::rfb::{ClientEvent, ServerInit};
use crate::{Error, Result};

/// The relay's default keyframe interval.
const KEYFRAMES: Duration = Duration::from_secs(30);

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
    let rec = Recorder::create(&dir.join("recordings"), &meta(), 1 << 30, KEYFRAMES)?;
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
    bytes[6] = 4;
    std::fs::write(&path, &bytes).map_err(|source| Error::Io {
        path: path.clone(),
        source,
    })?;
    match RecordingReader::open(&path) {
        Err(Error::RecordingNewer {
            found: 4,
            supported: 3,
            ..
        }) => {}
        other => panic!("{other:?}"),
    }
    // Version 1 (an early development format) is refused by name; 2 (no keyframes) is read.
    bytes[6] = 1;
    std::fs::write(&path, &bytes).map_err(|source| Error::Io {
        path: path.clone(),
        source,
    })?;
    assert!(matches!(
        RecordingReader::open(&path),
        Err(Error::RecordingFormat { message, .. }) if message.contains("version 1")
    ));
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
    let rec = Recorder::create(dir.path(), &meta(), 600_000, KEYFRAMES)?;
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

/// A full-screen Raw update of one colour (noVNC's pixel format).
fn full_update(w: u16, h: u16, shade: u8) -> Vec<u8> {
    let mut m = vec![0, 0, 0, 1];
    for v in [0, 0, w, h] {
        m.extend_from_slice(&v.to_be_bytes());
    }
    m.extend_from_slice(&0i32.to_be_bytes());
    for _ in 0..usize::from(w) * usize::from(h) {
        m.extend_from_slice(&[shade, 255 - shade, 7, 0]);
    }
    m
}

/// noVNC's SetPixelFormat: red at 0, green at 8, blue at 16.
const NOVNC_PF: [u8; 16] = [32, 24, 0, 1, 0, 255, 0, 255, 0, 255, 0, 8, 16, 0, 0, 0];

#[tokio::test(start_paused = true)]
async fn keyframes_let_any_moment_be_rebuilt_without_the_start() -> Result<()> {
    let dir = tmp()?;
    let rec = Recorder::create(&dir.path().join("recordings"), &meta(), 1 << 30, KEYFRAMES)?;
    let path = rec.path().to_owned();
    let (w, h) = (320u16, 200u16);
    rec.server_init(&ServerInit {
        width: w,
        height: h,
        ..init()
    })
    .await;
    rec.pixel_format(NOVNC_PF).await;
    // One update every 10 s (a keyframe is due 30 s after the last, if the screen changed),
    // then 17 MiB within a second (a keyframe is due every 16 MiB). Odd pieces put message
    // boundaries inside relay reads.
    let mut shades = Vec::new();
    for shade in 0..8u8 {
        tokio::time::advance(Duration::from_secs(10)).await;
        for piece in full_update(w, h, shade).chunks(70_001) {
            rec.server(piece).await;
        }
        shades.push((Duration::from_secs(10 * (u64::from(shade) + 1)), shade));
    }
    tokio::time::advance(Duration::from_secs(10)).await;
    let burst = full_update(w, h, 100);
    let mut stream = Vec::new();
    for _ in 0..(17 << 20) / burst.len() + 1 {
        stream.extend_from_slice(&burst);
    }
    stream.extend_from_slice(&full_update(w, h, 200));
    for piece in stream.chunks(65_536) {
        rec.server(piece).await;
    }
    let summary = rec
        .end("client closed (code 1000)".into())
        .await
        .ok_or_else(|| Error::Config("no summary".into()))?;
    verify(&path, Some(&summary.head))?;

    let index = chunk_index(&path)?;
    let keys: Vec<_> = index.iter().filter(|c| c.keyframe).collect();
    // By time: at 30, 60 and 90 s; by bytes: once more in the 17 MiB burst (at 90 s).
    let times: Vec<_> = keys.iter().map(|c| c.first.as_secs()).collect();
    assert_eq!(times, [30, 60, 90, 90], "{keys:?}");
    for key in &keys {
        let mut r = RecordingReader::open_at(&path, key)?;
        match r.next_record()? {
            Some(Record::Keyframe { at, init, update }) => {
                assert_eq!(at, key.first);
                assert_eq!(&init[..4], &[1, 64, 0, 200], "320×200");
                assert_eq!(&init[4..20], &NOVNC_PF, "in the viewer's pixel format");
                assert_eq!(update.len(), 4 + 12 + 320 * 200 * 4);
            }
            other => panic!("a keyframe chunk starts with {other:?}"),
        }
    }
    // The screen anywhere matches the last update before it, rebuilt from a keyframe.
    for (at, shade) in shades {
        let screen = screen_at(&path, at)?;
        let rgba = screen.rgba().map_err(Error::Config)?;
        assert_eq!(&rgba[..4], &[shade, 255 - shade, 7, 255], "at {at:?}");
        assert!(rgba.chunks(4).all(|p| p == &rgba[..4]));
    }
    let end = screen_at(&path, Duration::from_secs(3600))?;
    let rgba = end.rgba().map_err(Error::Config)?;
    assert_eq!(&rgba[..4], &[200, 55, 7, 255]);
    // Before ServerInit there is no screen.
    let junk_dir = tmp()?;
    let rec = Recorder::create(junk_dir.path(), &meta(), 1 << 30, KEYFRAMES)?;
    let empty = rec.path().to_owned();
    rec.end("target closed".into()).await;
    assert!(matches!(
        screen_at(&empty, Duration::ZERO),
        Err(Error::RecordingScreen { .. })
    ));
    Ok(())
}

#[tokio::test]
async fn a_stream_that_cannot_be_decoded_gets_a_note_and_no_keyframes() -> Result<()> {
    let dir = tmp()?;
    let (path, _) = write_one(dir.path()).await?;
    let notes: Vec<String> = RecordingReader::open(&path)?
        .filter_map(|r| match r {
            Ok(Record::Note { text, .. }) => Some(text),
            _ => None,
        })
        .collect();
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(notes[0].contains("no more keyframes"), "{notes:?}");
    assert!(chunk_index(&path)?.iter().all(|c| !c.keyframe));
    assert!(matches!(
        screen_at(&path, Duration::from_secs(1)),
        Err(Error::RecordingScreen { .. })
    ));
    Ok(())
}
