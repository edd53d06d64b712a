//! A real RFB handshake with QEMU's VNC server through the relay.

use std::{process::Stdio, time::Duration};

use tokio::process::Command;

use crate::support::*;

const QEMU: &str = "qemu-system-x86_64";

/// Kills QEMU when the test ends, pass or fail. Its QMP socket lies in the temporary directory.
pub(crate) struct Qemu(tokio::process::Child, tempfile::TempDir);

impl Qemu {
    /// Runs one QMP command and returns its `"return"` line.
    pub(crate) async fn qmp(&self, command: serde_json::Value) -> TestResult<String> {
        use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
        let sock = tokio::net::UnixStream::connect(self.1.path().join("qmp.sock")).await?;
        let (r, mut w) = sock.into_split();
        let mut lines = BufReader::new(r).lines();
        lines.next_line().await?; // the greeting
        let mut last = String::new();
        for command in [serde_json::json!({"execute": "qmp_capabilities"}), command] {
            w.write_all(format!("{command}\n").as_bytes()).await?;
            loop {
                let line = lines.next_line().await?.ok_or("QMP closed")?;
                if line.contains("\"error\"") {
                    return Err(format!("QMP: {line}").into());
                }
                if line.contains("\"return\"") {
                    last = line;
                    break;
                }
            }
        }
        Ok(last)
    }

    /// The guest's screen as QEMU itself renders it (QMP `screendump`): width, height, RGB.
    async fn screendump(&self) -> TestResult<(usize, usize, Vec<u8>)> {
        let out = self.1.path().join("screen.ppm");
        self.qmp(serde_json::json!({"execute": "screendump", "arguments": {"filename": out}}))
            .await?;
        let ppm = std::fs::read(&out)?;
        // P6, width, height, 255, one whitespace byte, then RGB.
        let mut fields = Vec::new();
        let mut at = 0;
        while fields.len() < 4 {
            while ppm[at].is_ascii_whitespace() {
                at += 1;
            }
            let start = at;
            while !ppm[at].is_ascii_whitespace() {
                at += 1;
            }
            fields.push(std::str::from_utf8(&ppm[start..at])?.to_owned());
        }
        let (w, h): (usize, usize) = (fields[1].parse()?, fields[2].parse()?);
        Ok((w, h, ppm[at + 1..].to_vec()))
    }
}

impl Drop for Qemu {
    fn drop(&mut self) {
        let _ = self.0.start_kill();
    }
}

/// The console server QEMU runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Display {
    Vnc,
    /// VNC with a virtio VGA, whose display can follow a viewer's size (with a guest driver).
    VncVirtio,
    /// SPICE without a password.
    Spice,
}

/// Starts QEMU with a VNC server on a free display; `None` (the test skips) when QEMU is not
/// installed and `make test` did not require it.
async fn start_qemu(test: &str) -> TestResult<Option<(Qemu, u16)>> {
    start_qemu_with(test, Display::Vnc).await
}

/// Starts QEMU with `display`'s server on a free port (see [`start_qemu`]).
pub(crate) async fn start_qemu_with(
    test: &str,
    server: Display,
) -> TestResult<Option<(Qemu, u16)>> {
    let Some(qemu_path) = std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join(QEMU))
            .find(|p| p.is_file())
    }) else {
        // `make test` installs QEMU and sets ONEDECK_REQUIRE_QEMU, so a broken set-up fails loudly there.
        assert!(
            std::env::var_os("ONEDECK_REQUIRE_QEMU").is_none(),
            "{QEMU} is required (ONEDECK_REQUIRE_QEMU is set) but not installed"
        );
        eprintln!("SKIPPED {test}: {QEMU} is not installed (apt install qemu-system-x86)");
        return Ok(None);
    };
    // A free display number: VNC display N listens on 5900 + N.
    // Tests of this binary start QEMU in parallel: each scans from its own offset.
    static NEXT: std::sync::atomic::AtomicU16 = std::sync::atomic::AtomicU16::new(0);
    let first = 40 + NEXT.fetch_add(13, std::sync::atomic::Ordering::SeqCst) % 60;
    let mut display = None;
    for n in (first..100u16).chain(40..first) {
        if std::net::TcpListener::bind(("127.0.0.1", 5900 + n)).is_ok() {
            display = Some(n);
            break;
        }
    }
    let display = display.ok_or("no free VNC display between :40 and :99")?;
    let port = 5900 + display;
    let dir = tempfile::tempdir()?;
    let child = Command::new(qemu_path)
        .args(["-display", "none", "-nodefaults", "-m", "64", "-vga"])
        .arg(if server == Display::VncVirtio {
            "virtio"
        } else {
            "std"
        })
        .args(match server {
            Display::Vnc | Display::VncVirtio => {
                ["-vnc".to_owned(), format!("127.0.0.1:{display}")]
            }
            Display::Spice => [
                "-spice".to_owned(),
                format!("port={port},addr=127.0.0.1,disable-ticketing=on"),
            ],
        })
        .arg("-qmp")
        .arg(format!(
            "unix:{},server=on,wait=off",
            dir.path().join("qmp.sock").display()
        ))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    let mut qemu = Qemu(child, dir);
    // QEMU needs a moment to listen; poll (bounded) rather than sleep a fixed time.
    let mut up = false;
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            up = true;
            break;
        }
        if let Some(status) = qemu.0.try_wait()? {
            return Err(format!("QEMU exited early with {status}").into());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(up, "QEMU's {server:?} server did not listen on {port}");
    Ok(Some((qemu, port)))
}

#[tokio::test]
async fn rfb_handshake_with_qemu_through_the_relay() -> TestResult {
    let Some((mut qemu, port)) = start_qemu("rfb_handshake_with_qemu_through_the_relay").await?
    else {
        return Ok(());
    };

    let relay = relay_with(|_| {}).await?;
    let t = ticket(
        &relay,
        onedeck_relay::Target::new("127.0.0.1", port),
        "qemu",
    )?;
    let mut ws = connect(&relay, &t).await?;
    let version = read_bytes(&mut ws, 12).await?;
    assert_eq!(
        &version, b"RFB 003.008\n",
        "QEMU's ProtocolVersion through the relay"
    );
    // Answer with our version and read the security types: the stream really flows both ways.
    send(&mut ws, b"RFB 003.008\n").await?;
    let sec = read_bytes(&mut ws, 1).await?;
    assert!(sec[0] > 0, "QEMU offers at least one security type");
    drop(ws);
    relay.shutdown(Duration::from_secs(2)).await;
    qemu.0.kill().await?;
    Ok(())
}

/// Reads exactly `n` bytes of the stream, keeping what came beyond them (the relay frames
/// whatever each read of the target returned, so messages need not align with frames).
async fn take(ws: &mut Ws, pending: &mut Vec<u8>, n: usize) -> TestResult<Vec<u8>> {
    if pending.len() < n {
        let more = read_bytes(ws, n - pending.len()).await?;
        pending.extend_from_slice(&more);
    }
    let rest = pending.split_off(n);
    Ok(std::mem::replace(pending, rest))
}

/// The viewer's side of an RFB 3.8 handshake with no security (QEMU without a password), up
/// to and including ServerInit.
async fn rfb_handshake(ws: &mut Ws) -> TestResult {
    let mut p = Vec::new();
    assert_eq!(take(ws, &mut p, 12).await?, b"RFB 003.008\n");
    send(ws, b"RFB 003.008\n").await?;
    let n = take(ws, &mut p, 1).await?[0];
    let types = take(ws, &mut p, usize::from(n)).await?;
    assert!(
        types.contains(&1),
        "QEMU without a password offers None: {types:?}"
    );
    send(ws, &[1]).await?;
    assert_eq!(
        take(ws, &mut p, 4).await?,
        [0, 0, 0, 0],
        "SecurityResult OK"
    );
    send(ws, &[1]).await?; // ClientInit, shared
    let head = take(ws, &mut p, 24).await?;
    let name_len = u32::from_be_bytes([head[20], head[21], head[22], head[23]]);
    take(ws, &mut p, name_len as usize).await?;
    assert!(p.is_empty(), "nothing before the first update request");
    Ok(())
}

const UPDATE_REQUEST: [u8; 10] = [3, 1, 0, 0, 0, 0, 0, 16, 0, 16];
/// A PointerEvent: no button, at (5, 5).
const POINTER: [u8; 6] = [5, 0, 0, 5, 0, 5];

/// Sends `message` every 100 ms for `span`, answering pings; `Some(close)` if the relay closed.
async fn keep_sending(
    ws: &mut Ws,
    message: &[u8],
    span: Duration,
) -> TestResult<Option<(u16, String)>> {
    use futures_util::StreamExt;
    use tokio_tungstenite::tungstenite::Message;
    let until = tokio::time::Instant::now() + span;
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    loop {
        tokio::select! {
            _ = tokio::time::sleep_until(until) => return Ok(None),
            _ = tick.tick() => send(ws, message).await?,
            m = ws.next() => match m {
                Some(Ok(Message::Close(Some(c)))) => return Ok(Some((c.code.into(), c.reason.to_string()))),
                Some(Ok(Message::Close(None))) | None => return Err("closed without a code".into()),
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(e.into()),
            },
        }
    }
}

#[tokio::test]
async fn a_qemu_console_without_input_is_closed_after_the_idle_timeout() -> TestResult {
    let test = "a_qemu_console_without_input_is_closed_after_the_idle_timeout";
    let Some((mut qemu, port)) = start_qemu(test).await? else {
        return Ok(());
    };
    let relay = relay_with(|c| c.input_idle_timeout = Some(Duration::from_secs(2))).await?;
    let mut events = relay.subscribe();
    let target = onedeck_relay::Target::new("127.0.0.1", port);

    // Pointer input keeps a session open past the timeout; once it stops, the session closes.
    let mut ws = connect(&relay, &ticket(&relay, target.clone(), "busy")?).await?;
    rfb_handshake(&mut ws).await?;
    let closed = keep_sending(&mut ws, &POINTER, Duration::from_millis(4500)).await?;
    assert_eq!(
        closed, None,
        "input arrived every 100 ms: the session stays"
    );
    let closed = keep_sending(&mut ws, &UPDATE_REQUEST, Duration::from_secs(10)).await?;
    let (code, reason) = closed.ok_or("no close within 10 s of the last input")?;
    assert_eq!(code, 1000);
    assert!(reason.contains("without input"), "{reason}");
    match next_end(&mut events).await? {
        onedeck_relay::SessionEvent::Ended { reason, label, .. } => {
            assert_eq!(label, "busy");
            assert_eq!(
                reason,
                onedeck_relay::EndReason::InputIdle { after_secs: 2 }
            );
        }
        other => return Err(format!("unexpected {other:?}").into()),
    }
    until_no_sessions(&relay).await?;
    relay.shutdown(Duration::from_secs(2)).await;
    qemu.0.kill().await?;
    Ok(())
}

/// noVNC's SetPixelFormat (32 bits, little-endian, red at 0, green at 8, blue at 16).
const SET_PIXEL_FORMAT: [u8; 20] = [
    0, 0, 0, 0, 32, 24, 0, 1, 0, 255, 0, 255, 0, 255, 0, 8, 16, 0, 0, 0,
];

/// noVNC's SetEncodings: Tight first, as noVNC offers it.
fn novnc_encodings() -> Vec<u8> {
    let encs: [i32; 14] = [1, 7, -260, 16, 21, 5, 2, 6, 0, -26, -254, -223, -258, -239];
    let mut m = vec![2, 0];
    m.extend_from_slice(&(encs.len() as u16).to_be_bytes());
    for e in encs {
        m.extend_from_slice(&e.to_be_bytes());
    }
    m
}

#[tokio::test]
async fn a_recorded_qemu_console_is_rebuilt_pixel_for_pixel() -> TestResult {
    use futures_util::StreamExt;
    let test = "a_recorded_qemu_console_is_rebuilt_pixel_for_pixel";
    let Some((mut qemu, port)) = start_qemu(test).await? else {
        return Ok(());
    };
    let dir = tempfile::tempdir()?;
    let relay = relay_with(|c| c.recording_dir = Some(dir.path().to_owned())).await?;
    let mut events = relay.subscribe();
    let t = relay.issue_ticket(
        onedeck_relay::Target::new("127.0.0.1", port),
        onedeck_relay::TicketOptions {
            label: "qemu".into(),
            ttl: None,
            record: true,
        },
    )?;
    let mut ws = connect(&relay, &t).await?;
    rfb_handshake(&mut ws).await?;
    send(&mut ws, &SET_PIXEL_FORMAT).await?;
    // Offered Tight, QEMU would answer with zlib streams a keyframe cannot start from; the
    // relay rewrites the list, and the recording stays decodable.
    send(&mut ws, &novnc_encodings()).await?;
    send(&mut ws, &[3, 0, 0, 0, 0, 0, 2, 128, 1, 224]).await?; // the whole 640×480 screen
    // Ask for changes for a while (the BIOS prints, the cursor blinks), reading everything.
    let until = tokio::time::Instant::now() + Duration::from_secs(4);
    let mut tick = tokio::time::interval(Duration::from_millis(200));
    loop {
        tokio::select! {
            _ = tokio::time::sleep_until(until) => break,
            _ = tick.tick() => send(&mut ws, &[3, 1, 0, 0, 0, 0, 2, 128, 1, 224]).await?,
            m = ws.next() => { m.ok_or("the relay closed")??; }
        }
    }
    let (w, h, rgb) = qemu.screendump().await?;
    // One more round so the recording holds what the dump shows, then the end.
    send(&mut ws, &[3, 1, 0, 0, 0, 0, 2, 128, 1, 224]).await?;
    let settle = tokio::time::Instant::now() + Duration::from_millis(800);
    while let Ok(m) = tokio::time::timeout_at(settle, ws.next()).await {
        m.ok_or("the relay closed")??;
    }
    drop(ws);
    let end = next_end(&mut events).await?;
    let onedeck_relay::SessionEvent::Ended {
        recording: Some(rec),
        ..
    } = end
    else {
        return Err(format!("no recording: {end:?}").into());
    };
    onedeck_relay::recording::verify(&rec.path, Some(&rec.head))?;
    let notes: Vec<String> = onedeck_relay::RecordingReader::open(&rec.path)?
        .filter_map(|r| match r {
            Ok(onedeck_relay::Record::Note { text, .. }) => Some(text),
            _ => None,
        })
        .collect();
    assert!(notes.is_empty(), "the decoder followed QEMU: {notes:?}");
    let screen = onedeck_relay::recording::screen_at(&rec.path, Duration::from_secs(3600))?;
    assert_eq!(
        (usize::from(screen.width()), usize::from(screen.height())),
        (w, h)
    );
    let rgba = screen.rgba()?;
    let same = rgba
        .chunks(4)
        .zip(rgb.chunks(3))
        .filter(|(a, b)| a[..3] == **b)
        .count();
    // A blinking text cursor may differ between the dump and the last update; nothing else.
    assert!(
        same * 1000 >= w * h * 998,
        "{same} of {} pixels match QEMU's own screendump",
        w * h
    );
    assert!(
        rgb.iter().any(|&c| c > 0),
        "the BIOS screen is not all black"
    );
    relay.shutdown(Duration::from_secs(2)).await;
    qemu.0.kill().await?;
    Ok(())
}

/// One message of QEMU's after a SetDesktopSize: the ExtendedDesktopSize rectangle of a
/// FramebufferUpdate, as (reason, status, width, height).
async fn extended_desktop_size(ws: &mut Ws, p: &mut Vec<u8>) -> TestResult<(u16, u16, u16, u16)> {
    let head = take(ws, p, 4).await?;
    assert_eq!(head[0], 0, "a FramebufferUpdate");
    let rects = u16::from_be_bytes([head[2], head[3]]);
    let mut found = None;
    for _ in 0..rects {
        let r = take(ws, p, 12).await?;
        let v = |i: usize| u16::from_be_bytes([r[i], r[i + 1]]);
        let enc = i32::from_be_bytes([r[8], r[9], r[10], r[11]]);
        assert_eq!(enc, -308, "only ExtendedDesktopSize was asked for");
        let screens = take(ws, p, 4).await?[0];
        take(ws, p, usize::from(screens) * 16).await?;
        found = Some((v(0), v(2), v(4), v(6)));
    }
    found.ok_or_else(|| "an update without rectangles".into())
}

/// SetDesktopSize through the relay to QEMU: with a virtio VGA QEMU forwards the request to the
/// guest's display (status 4: the guest's driver decides, so a BIOS screen keeps its size); with
/// the standard VGA it answers "invalid screen layout" (3). The console's "remote" scale mode
/// sends exactly this.
#[tokio::test]
async fn remote_resize_reaches_qemu_and_its_answer_comes_back() -> TestResult {
    for (server, status) in [(Display::VncVirtio, 4u16), (Display::Vnc, 3)] {
        let test = "remote_resize_reaches_qemu_and_its_answer_comes_back";
        let Some((mut qemu, port)) = start_qemu_with(test, server).await? else {
            return Ok(());
        };
        let relay = relay_with(|_| {}).await?;
        let target = onedeck_relay::Target::new("127.0.0.1", port);
        let mut ws = connect(&relay, &ticket(&relay, target, "resize")?).await?;
        let answer = tokio::time::timeout(Duration::from_secs(30), async {
            rfb_handshake(&mut ws).await?;
            let mut p = Vec::new();
            // SetEncodings: Raw and ExtendedDesktopSize.
            let mut set = vec![2, 0, 0, 2];
            set.extend_from_slice(&0i32.to_be_bytes());
            set.extend_from_slice(&(-308i32).to_be_bytes());
            send(&mut ws, &set).await?;
            let mut resize = vec![251, 0];
            resize.extend_from_slice(&1024u16.to_be_bytes());
            resize.extend_from_slice(&768u16.to_be_bytes());
            resize.extend_from_slice(&[1, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
            resize.extend_from_slice(&1024u16.to_be_bytes());
            resize.extend_from_slice(&768u16.to_be_bytes());
            resize.extend_from_slice(&[0, 0, 0, 0]);
            send(&mut ws, &resize).await?;
            // QEMU may first announce its own size (reason 0, when the BIOS changed mode since
            // ServerInit); the answer to this client's request has reason 1.
            for _ in 0..8 {
                let (reason, status, w, h) = extended_desktop_size(&mut ws, &mut p).await?;
                if reason == 1 {
                    return Ok::<_, Box<dyn std::error::Error + Send + Sync>>((status, w, h));
                }
                assert_eq!(reason, 0, "{server:?}: a server-side size change");
            }
            Err("no answer to SetDesktopSize in 8 updates".into())
        })
        .await
        .map_err(|_| format!("{server:?}: no answer within 30 s"))??;
        assert_eq!(
            answer.0, status,
            "{server:?}: QEMU's answer to this client's request"
        );
        drop(ws);
        relay.shutdown(Duration::from_secs(2)).await;
        qemu.0.kill().await?;
    }
    Ok(())
}
