//! VNC consoles: the built-in RFB server follows the VM's state (open when running, closed on
//! poweroff, reopened on resume/reboot), speaks RFB 3.8 with None and VNC authentication, honours
//! SetPixelFormat and echoes keys; QEMU mode where qemu-system-x86_64 exists.

use std::time::Duration;

use onedeck_sim::rfb::vnc_response;
use onedeck_sim::{SimConfig, VncMode, free_vnc_base};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::common::*;
use crate::http::{rpc, start, wait_for};

async fn connect(port: u16) -> std::io::Result<TcpStream> {
    TcpStream::connect(("127.0.0.1", port)).await
}

async fn read_n(s: &mut TcpStream, n: usize) -> Vec<u8> {
    let mut b = vec![0u8; n];
    tokio::time::timeout(Duration::from_secs(10), s.read_exact(&mut b))
        .await
        .expect("in time")
        .expect("read");
    b
}

async fn u32_of(s: &mut TcpStream) -> u32 {
    let b = read_n(s, 4).await;
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

/// RFB 3.8 handshake up to ServerInit; returns the desktop name.
async fn handshake(s: &mut TcpStream, password: Option<&str>) -> Result<String, String> {
    assert_eq!(read_n(s, 12).await, b"RFB 003.008\n");
    s.write_all(b"RFB 003.008\n").await.expect("w");
    let n = read_n(s, 1).await[0] as usize;
    let types = read_n(s, n).await;
    let want = if password.is_some() { 2 } else { 1 };
    assert_eq!(types, vec![want], "security types offered");
    s.write_all(&[want]).await.expect("w");
    if let Some(pw) = password {
        let ch: [u8; 16] = read_n(s, 16).await.try_into().expect("16");
        s.write_all(&vnc_response(pw, &ch)).await.expect("w");
    }
    if u32_of(s).await != 0 {
        let len = u32_of(s).await as usize;
        return Err(String::from_utf8_lossy(&read_n(s, len).await).into_owned());
    }
    s.write_all(&[1]).await.expect("shared");
    let init = read_n(s, 24).await;
    assert_eq!(&init[0..4], &[2, 128, 1, 144], "640x400");
    assert_eq!(init[4], 32, "native 32 bpp");
    let len = u32::from_be_bytes([init[20], init[21], init[22], init[23]]) as usize;
    Ok(String::from_utf8_lossy(&read_n(s, len).await).into_owned())
}

async fn key(s: &mut TcpStream, sym: u32) {
    let mut m = vec![4, 1, 0, 0];
    m.extend_from_slice(&sym.to_be_bytes());
    s.write_all(&m).await.expect("key down");
    m[1] = 0;
    s.write_all(&m).await.expect("key up");
}

#[tokio::test]
async fn builtin_consoles_follow_the_vm_and_echo_keys() {
    let base = free_vnc_base(16).expect("free ports");
    let sim = start(SimConfig {
        vnc_base: base,
        ..SimConfig::default()
    })
    .await;
    let running: Vec<u32> = sim.open_consoles().iter().map(|(id, _)| *id).collect();
    assert_eq!(running, vec![0, 5, 6, 7, 10], "one server per RUNNING VM");
    assert!(
        sim.open_consoles()
            .iter()
            .all(|(id, p)| *p == base + *id as u16)
    );

    let mut sock = connect(base).await.expect("VM 0's console");
    assert_eq!(
        handshake(&mut sock, None).await.expect("handshake"),
        "alice-run"
    );
    // SetPixelFormat to 16 bpp RGB565, then a full update: 640*400*2 bytes of Raw.
    let mut pf = vec![
        0, 0, 0, 0, 16, 16, 0, 1, 0, 31, 0, 63, 0, 31, 11, 5, 0, 0, 0, 0,
    ];
    sock.write_all(&pf).await.expect("pf");
    sock.write_all(&[2, 0, 0, 1, 0, 0, 0, 0])
        .await
        .expect("encodings");
    sock.write_all(&[3, 0, 0, 0, 0, 0, 2, 128, 1, 144])
        .await
        .expect("fbur");
    let head = read_n(&mut sock, 16).await;
    assert_eq!(&head[0..4], &[0, 0, 0, 1]);
    assert_eq!(&head[12..16], &[0, 0, 0, 0], "Raw encoding");
    let frame = read_n(&mut sock, 640 * 400 * 2).await;
    assert!(frame.iter().any(|b| *b != frame[0]), "text is drawn");
    for c in "root\r".bytes() {
        key(&mut sock, if c == b'\r' { 0xff0d } else { u32::from(c) }).await;
    }
    // An incremental request is answered once the screen changed.
    sock.write_all(&[3, 1, 0, 0, 0, 0, 2, 128, 1, 144])
        .await
        .expect("fbur");
    let _ = read_n(&mut sock, 16 + 640 * 400 * 2).await;
    wait_for("typed keys", || {
        sim.console_text(0).as_deref() == Some("root\n")
    })
    .await;
    pf.clear();
    drop(sock);

    // Poweroff closes the console; resume reopens it at the same port.
    assert!(
        rpc(&sim, "alice:alice", "one.vm.action", &[s("poweroff"), i(0)])
            .await
            .ok()
    );
    wait_for("POWEROFF", || sim.vm_state(0) == Some((8, 0))).await;
    assert!(connect(base).await.is_err(), "closed on poweroff");
    assert!(
        rpc(&sim, "alice:alice", "one.vm.action", &[s("resume"), i(0)])
            .await
            .ok()
    );
    wait_for("RUNNING", || sim.vm_state(0) == Some((3, 3))).await;
    let mut sock = connect(base).await.expect("reopened");
    assert_eq!(
        handshake(&mut sock, None).await.expect("handshake"),
        "alice-run"
    );
    // Reboot drops the session and reopens the server.
    assert!(
        rpc(&sim, "alice:alice", "one.vm.action", &[s("reboot"), i(0)])
            .await
            .ok()
    );
    let mut b = [0u8; 1];
    let closed = tokio::time::timeout(Duration::from_secs(5), sock.read(&mut b)).await;
    assert!(
        matches!(closed, Ok(Ok(0)) | Ok(Err(_))),
        "session dropped on reboot"
    );
    let mut sock = connect(base).await.expect("open after reboot");
    assert!(handshake(&mut sock, None).await.is_ok());
    sim.shutdown().await.expect("shutdown");
    assert!(
        connect(base + 5).await.is_err(),
        "shutdown closes every console"
    );
}

/// One FramebufferUpdate's rectangles: (x, y, w, h, encoding, body) with Raw bodies at 32 bpp
/// and ExtendedDesktopSize bodies of their screens.
async fn update(s: &mut TcpStream) -> Vec<(u16, u16, u16, u16, i32, Vec<u8>)> {
    let head = read_n(s, 4).await;
    assert_eq!(head[0], 0, "a FramebufferUpdate");
    let n = u16::from_be_bytes([head[2], head[3]]);
    let mut rects = Vec::new();
    for _ in 0..n {
        let r = read_n(s, 12).await;
        let v = |i: usize| u16::from_be_bytes([r[i], r[i + 1]]);
        let enc = i32::from_be_bytes([r[8], r[9], r[10], r[11]]);
        let body = match enc {
            0 => read_n(s, usize::from(v(4)) * usize::from(v(6)) * 4).await,
            -308 => {
                let mut b = read_n(s, 4).await;
                let screens = usize::from(b[0]);
                b.extend(read_n(s, screens * 16).await);
                b
            }
            -223 => Vec::new(),
            other => panic!("unexpected encoding {other}"),
        };
        rects.push((v(0), v(2), v(4), v(6), enc, body));
    }
    rects
}

fn set_desktop_size(w: u16, h: u16) -> Vec<u8> {
    let mut m = vec![251, 0];
    m.extend_from_slice(&w.to_be_bytes());
    m.extend_from_slice(&h.to_be_bytes());
    m.extend_from_slice(&[1, 0]);
    m.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0]);
    m.extend_from_slice(&w.to_be_bytes());
    m.extend_from_slice(&h.to_be_bytes());
    m.extend_from_slice(&[0, 0, 0, 0]);
    m
}

#[tokio::test]
async fn a_viewer_resizes_the_builtin_screen_with_set_desktop_size() {
    let base = free_vnc_base(16).expect("free ports");
    let sim = start(SimConfig {
        vnc_base: base,
        ..SimConfig::default()
    })
    .await;
    // Viewer A speaks ExtendedDesktopSize; viewer B only DesktopSize.
    let mut a = connect(base).await.expect("A");
    handshake(&mut a, None).await.expect("A's handshake");
    let mut b = connect(base).await.expect("B");
    handshake(&mut b, None).await.expect("B's handshake");
    let encodings = |list: &[i32]| {
        let mut m = vec![2, 0];
        m.extend_from_slice(&(list.len() as u16).to_be_bytes());
        for e in list {
            m.extend_from_slice(&e.to_be_bytes());
        }
        m
    };
    a.write_all(&encodings(&[0, -308]))
        .await
        .expect("A's encodings");
    b.write_all(&encodings(&[0, -223]))
        .await
        .expect("B's encodings");
    let full = [3, 0, 0, 0, 0, 0, 2, 128, 1, 144];
    a.write_all(&full).await.expect("fbur");
    let first = update(&mut a).await;
    assert_eq!(
        first.len(),
        2,
        "the size is announced with the first update"
    );
    assert_eq!(
        (first[0].0, first[0].1),
        (0, 0),
        "reason 0 (server), status 0"
    );
    assert_eq!((first[0].2, first[0].3, first[0].4), (640, 400, -308));
    assert_eq!((first[1].2, first[1].3, first[1].4), (640, 400, 0));

    // Accepted: A hears "your request, done" at once, then pixels at the new size.
    a.write_all(&set_desktop_size(1000, 700))
        .await
        .expect("resize");
    let reply = update(&mut a).await;
    assert_eq!(reply.len(), 1);
    let (reason, status, w, h, enc, body) = &reply[0];
    assert_eq!((*reason, *status, *w, *h, *enc), (1, 0, 1000, 700, -308));
    assert_eq!(body[0], 1, "one screen");
    a.write_all(&full).await.expect("fbur");
    let pixels = update(&mut a).await;
    assert_eq!((pixels[0].2, pixels[0].3, pixels[0].4), (1000, 700, 0));
    assert!(
        pixels[0].5.chunks(4).any(|p| p != &pixels[0].5[..4]),
        "the text is still drawn"
    );

    // B, who did not ask, learns the new size with DesktopSize before its pixels.
    b.write_all(&full).await.expect("fbur");
    let seen = update(&mut b).await;
    assert_eq!(
        seen.iter().map(|r| (r.2, r.3, r.4)).collect::<Vec<_>>(),
        [(1000, 700, -223), (1000, 700, 0)]
    );

    // Refused: out of bounds leaves the size and says "invalid screen layout" (3).
    a.write_all(&set_desktop_size(100, 50))
        .await
        .expect("resize");
    let reply = update(&mut a).await;
    assert_eq!(
        (reply[0].0, reply[0].1, reply[0].2, reply[0].3),
        (1, 3, 1000, 700)
    );
    sim.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn vnc_authentication_with_the_vms_password() {
    let base = free_vnc_base(16).expect("free ports");
    let sim = start(SimConfig {
        vnc_base: base,
        ..SimConfig::default()
    })
    .await;
    // VM 5 comes from tiny-vnc-pw: PASSWD s3cretpa (8 characters of s3cretpassw0rd).
    let mut sock = connect(base + 5).await.expect("VM 5");
    assert_eq!(
        handshake(&mut sock, Some("s3cretpa")).await.expect("auth"),
        "alice-reboot"
    );
    let mut sock = connect(base + 5).await.expect("VM 5");
    assert_eq!(
        handshake(&mut sock, Some("wrong")).await,
        Err("Authentication failed".to_string())
    );
    sim.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn qemu_consoles_where_qemu_is_installed() {
    if std::process::Command::new("qemu-system-x86_64")
        .arg("--version")
        .output()
        .is_err()
    {
        // `make test` installs QEMU and sets ONEDECK_REQUIRE_QEMU, so a broken set-up fails loudly there.
        assert!(
            std::env::var_os("ONEDECK_REQUIRE_QEMU").is_none(),
            "qemu-system-x86_64 is required (ONEDECK_REQUIRE_QEMU is set) but not installed"
        );
        eprintln!("SKIPPED: qemu-system-x86_64 is not installed (Debian package qemu-system-x86)");
        return;
    }
    let base = free_vnc_base(16).expect("free ports");
    let sim = start(SimConfig {
        vnc_base: base,
        vnc: VncMode::Qemu,
        max_consoles: 2,
        ..SimConfig::default()
    })
    .await;
    assert_eq!(sim.open_consoles(), vec![(0, base), (5, base + 5)]);
    for (port, security) in [(base, 1u8), (base + 5, 2u8)] {
        // QEMU needs a moment to start listening.
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        let mut sock = loop {
            match connect(port).await {
                Ok(c) => break c,
                Err(e) => {
                    assert!(
                        std::time::Instant::now() < deadline,
                        "QEMU never listened on {port}: {e}"
                    );
                    tokio::time::sleep(Duration::from_millis(100)).await
                }
            }
        };
        assert_eq!(read_n(&mut sock, 12).await, b"RFB 003.008\n");
        sock.write_all(b"RFB 003.008\n").await.expect("w");
        let n = read_n(&mut sock, 1).await[0] as usize;
        assert!(
            read_n(&mut sock, n).await.contains(&security),
            "port {port}"
        );
        if security == 2 {
            // QEMU checks the VM's PASSWD (s3cretpa) given to it through the secret file.
            sock.write_all(&[2]).await.expect("choose VNC auth");
            let ch: [u8; 16] = read_n(&mut sock, 16).await.try_into().expect("16");
            sock.write_all(&vnc_response("s3cretpa", &ch))
                .await
                .expect("w");
            assert_eq!(
                u32_of(&mut sock).await,
                0,
                "QEMU accepted the VM's password"
            );
        }
    }
    assert!(
        rpc(&sim, "alice:alice", "one.vm.action", &[s("poweroff"), i(0)])
            .await
            .ok()
    );
    wait_for("POWEROFF", || sim.vm_state(0) == Some((8, 0))).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while connect(base).await.is_ok() {
        assert!(
            std::time::Instant::now() < deadline,
            "QEMU still serving after poweroff"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    sim.shutdown().await.expect("shutdown kills QEMU");
    assert!(connect(base + 5).await.is_err());
}
