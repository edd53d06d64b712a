//! A real RFB handshake with QEMU's VNC server through the relay.

use std::{process::Stdio, time::Duration};

use tokio::process::Command;

use crate::support::*;

const QEMU: &str = "qemu-system-x86_64";

/// Kills QEMU when the test ends, pass or fail.
struct Qemu(tokio::process::Child);

impl Drop for Qemu {
    fn drop(&mut self) {
        let _ = self.0.start_kill();
    }
}

#[tokio::test]
async fn rfb_handshake_with_qemu_through_the_relay() -> TestResult {
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
        eprintln!(
            "SKIPPED rfb_handshake_with_qemu_through_the_relay: {QEMU} is not installed (apt install qemu-system-x86)"
        );
        return Ok(());
    };
    // A free display number: VNC display N listens on 5900 + N.
    let mut display = None;
    for n in 40..100u16 {
        if std::net::TcpListener::bind(("127.0.0.1", 5900 + n)).is_ok() {
            display = Some(n);
            break;
        }
    }
    let display = display.ok_or("no free VNC display between :40 and :99")?;
    let port = 5900 + display;
    let child = Command::new(qemu_path)
        .args([
            "-display",
            "none",
            "-nodefaults",
            "-vga",
            "std",
            "-m",
            "64",
            "-vnc",
        ])
        .arg(format!("127.0.0.1:{display}"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    let mut qemu = Qemu(child);
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
    assert!(up, "QEMU's VNC server did not listen on {port}");

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
