//! A recorded session: what the screen showed after ServerInit and what the person did come back
//! in order with timestamps; the VNC password exchange and the ticket never reach the file.

use std::time::Duration;

use onedeck_relay::{Record, RecordingReader, SessionEvent, TicketOptions};

use crate::support::*;

const CHALLENGE: &[u8; 16] = b"CHALLENGE-BYTES!";
const RESPONSE: &[u8; 16] = b"RESPONSE-SECRET!";

fn key(down: bool, keysym: u32) -> Vec<u8> {
    let mut v = vec![4, u8::from(down), 0, 0];
    v.extend_from_slice(&keysym.to_be_bytes());
    v
}

#[tokio::test]
async fn a_recording_keeps_the_screen_and_the_keys_but_never_the_password_exchange() -> TestResult {
    let dir = tempfile::tempdir()?;
    // An RFB 3.8 server with VNC authentication, then one big update.
    let target = CountingTarget::start(|mut s| async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut b = [0u8; 64];
        let _ = s.write_all(b"RFB 003.008\n").await;
        if s.read_exact(&mut b[..12]).await.is_err() {
            return;
        }
        let _ = s.write_all(&[1, 2]).await;
        if s.read_exact(&mut b[..1]).await.is_err() {
            return;
        }
        let _ = s.write_all(CHALLENGE).await;
        if s.read_exact(&mut b[..16]).await.is_err() || &b[..16] != RESPONSE {
            return;
        }
        let mut init = vec![0, 0, 0, 0, 1, 0, 0, 200];
        init.extend_from_slice(&[32, 24, 0, 1, 0, 255, 0, 255, 0, 255, 16, 8, 0, 0, 0, 0]);
        init.extend_from_slice(&4u32.to_be_bytes());
        init.extend_from_slice(b"fake");
        let _ = s.write_all(&init).await;
        // ClientInit, SetEncodings (1), four keys, a press and a release.
        let want = 1 + 8 + 4 * 8 + 2 * 6;
        if s.read_exact(&mut b[..want]).await.is_err() {
            return;
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
    assert_eq!(read_bytes(&mut ws, 12).await?, b"RFB 003.008\n");
    send(&mut ws, b"RFB 003.008\n").await?;
    assert_eq!(read_bytes(&mut ws, 2).await?, [1, 2]);
    send(&mut ws, &[2]).await?;
    assert_eq!(&read_bytes(&mut ws, 16).await?[..], CHALLENGE);
    send(&mut ws, RESPONSE).await?;
    read_bytes(&mut ws, 4 + 24 + 4).await?; // SecurityResult and ServerInit
    send(&mut ws, &[1]).await?;
    send(&mut ws, &[2, 0, 0, 1, 0, 0, 0, 5]).await?; // SetEncodings: Hextile
    for k in [
        key(true, 0x61),
        key(false, 0x61),
        key(true, 0x62),
        key(false, 0x62),
    ] {
        send(&mut ws, &k).await?;
    }
    send(&mut ws, &[5, 1, 0, 10, 0, 20]).await?;
    send(&mut ws, &[5, 0, 0, 10, 0, 20]).await?;
    let update = read_bytes(&mut ws, 200_000).await?;
    let _ = read_close(&mut ws).await;
    let SessionEvent::Ended { recording, .. } = next_end(&mut events).await? else {
        unreachable!()
    };
    let summary = recording.ok_or("the end event names the recording")?;
    relay.shutdown(Duration::from_secs(2)).await;

    let reader = RecordingReader::open(&summary.path)?;
    assert_eq!(reader.meta().label, "vm 3");
    assert_eq!(reader.meta().target, target.addr.to_string());
    let records: Vec<Record> = reader.collect::<onedeck_relay::Result<_>>()?;
    let (mut screen, mut keys, mut clicks, mut every_byte) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for r in &records {
        match r {
            Record::ServerInit { bytes, .. } => {
                assert_eq!(&bytes[24..], b"fake");
                every_byte.extend_from_slice(bytes);
            }
            Record::Server { bytes, .. } => {
                screen.extend_from_slice(bytes);
                every_byte.extend_from_slice(bytes);
            }
            Record::Key { down, keysym, .. } => keys.push((*down, *keysym)),
            Record::Pointer { buttons, x, y, .. } => clicks.push((*buttons, *x, *y)),
            Record::Note { text, .. } => every_byte.extend_from_slice(text.as_bytes()),
            Record::End { reason, .. } => assert!(reason.contains("target closed"), "{reason}"),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(
        matches!(records.first(), Some(Record::ServerInit { .. })),
        "replay starts at ServerInit"
    );
    assert_eq!(screen, update, "the screen's bytes exactly");
    assert_eq!(
        keys,
        [(true, 0x61), (false, 0x61), (true, 0x62), (false, 0x62)]
    );
    assert_eq!(clicks, [(1, 10, 20), (0, 10, 20)]);
    let times: Vec<Duration> = records.iter().map(Record::at).collect();
    assert!(
        times.windows(2).all(|w| w[0] <= w[1]),
        "times never go back"
    );
    let tok = t.token().expose().as_bytes();
    for (what, needle) in [
        ("challenge", &CHALLENGE[..]),
        ("response", &RESPONSE[..]),
        ("ticket", tok),
    ] {
        assert!(
            !every_byte.windows(needle.len()).any(|w| w == needle),
            "the {what} is in the recording"
        );
    }
    let verified = onedeck_relay::recording::verify(&summary.path, Some(&summary.head))?;
    assert_eq!(verified.chunks, summary.chunks);
    Ok(())
}

#[tokio::test]
async fn a_session_that_must_be_recorded_and_cannot_be_is_refused() -> TestResult {
    let target = CountingTarget::echo().await?;
    // A recording directory that cannot be created (a file is in the way).
    let dir = tempfile::tempdir()?;
    let blocked = dir.path().join("file");
    std::fs::write(&blocked, b"")?;
    for recording_dir in [None, Some(blocked.join("recordings"))] {
        let relay = relay_with(|c| c.recording_dir = recording_dir.clone()).await?;
        let mut events = relay.subscribe();
        let t = relay.issue_ticket(
            target.target(),
            TicketOptions {
                label: "vm 4".into(),
                ttl: None,
                record: true,
            },
        )?;
        let mut ws = connect(&relay, &t).await?;
        let close = read_close(&mut ws).await?.ok_or("a close frame")?;
        assert_eq!(u16::from(close.code), 1011);
        let SessionEvent::Ended {
            reason, recording, ..
        } = next_end(&mut events).await?
        else {
            unreachable!()
        };
        assert!(
            matches!(
                reason,
                onedeck_relay::EndReason::RecordingUnavailable { .. }
            ),
            "{reason:?}"
        );
        assert!(recording.is_none());
        relay.shutdown(Duration::from_secs(2)).await;
    }
    assert_eq!(target.count(), 0, "nothing dialled");
    Ok(())
}
