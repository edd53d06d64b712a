//! A recorded session reads back exactly what passed, in order, with timestamps.

use std::time::Duration;

use onedeck_relay::{Direction, Record, RecordingReader, SessionEvent, TicketOptions};

use crate::support::*;

#[tokio::test]
async fn recording_reads_back_exactly_what_passed() -> TestResult {
    let dir = tempfile::tempdir()?;
    let target = CountingTarget::start(|mut s| async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let _ = s.write_all(b"RFB 003.008\n").await;
        let mut b = vec![0u8; 70_000];
        // Answer every client message with its length, then the big update.
        let mut seen = 0;
        while seen < 12 + 70_000 {
            match s.read(&mut b).await {
                Ok(0) | Err(_) => return,
                Ok(n) => seen += n,
            }
        }
        let update: Vec<u8> = (0..200_000u32).map(|i| (i % 253) as u8).collect();
        let _ = s.write_all(&update).await;
    })
    .await?;
    let relay = relay_with(|c| c.recording_dir = Some(dir.path().to_owned())).await?;
    let mut events = relay.subscribe();
    let t = relay.issue_ticket(
        target.target(),
        TicketOptions {
            label: "vm 3".into(),
            ttl: None,
            record: true,
        },
    )?;
    let mut ws = connect(&relay, &t).await?;
    let mut to_client = read_bytes(&mut ws, 12).await?;
    let mut to_target = b"RFB 003.008\n".to_vec();
    send(&mut ws, &to_target).await?;
    let big: Vec<u8> = (0..70_000u32).map(|i| (i * 31 % 256) as u8).collect();
    send(&mut ws, &big).await?;
    to_target.extend_from_slice(&big);
    to_client.extend(read_bytes(&mut ws, 200_000).await?);
    let _ = read_close(&mut ws).await;
    let SessionEvent::Ended { .. } = next_end(&mut events).await? else {
        unreachable!()
    };
    relay.shutdown(Duration::from_secs(2)).await;

    let path = std::fs::read_dir(dir.path())?
        .next()
        .ok_or("no recording written")??
        .path();
    // The writer thread finishes the file after the session's end record; wait for it (bounded).
    let mut records = None;
    for _ in 0..500 {
        if let Ok(r) =
            RecordingReader::open(&path).and_then(|r| r.collect::<onedeck_relay::Result<Vec<_>>>())
        {
            records = Some(r);
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let records = records.ok_or("recording never became complete")?;
    let meta = RecordingReader::open(&path)?.meta().clone();
    assert_eq!(meta.label, "vm 3");
    assert_eq!(meta.target, target.addr.to_string());
    let (mut got_client, mut got_target, mut last_at) = (Vec::new(), Vec::new(), Duration::ZERO);
    for r in &records {
        match r {
            Record::Data {
                direction,
                at,
                bytes,
            } => {
                assert!(*at >= last_at, "timestamps never go back");
                last_at = *at;
                match direction {
                    Direction::ToClient => got_client.extend_from_slice(bytes),
                    Direction::ToTarget => got_target.extend_from_slice(bytes),
                }
            }
            Record::End { reason, .. } => {
                assert!(reason.contains("target closed"), "end reason {reason}")
            }
        }
    }
    assert!(
        matches!(records.last(), Some(Record::End { .. })),
        "the recording ends with its end record"
    );
    assert_eq!(
        got_client, to_client,
        "server-to-client stream recorded exactly"
    );
    assert_eq!(
        got_target, to_target,
        "client-to-server stream recorded exactly"
    );
    let raw = zstd::decode_all(std::fs::File::open(&path)?)?;
    let tok = t.token().expose().as_bytes();
    assert!(
        !raw.windows(tok.len()).any(|w| w == tok),
        "the token must not be in the recording"
    );
    Ok(())
}
