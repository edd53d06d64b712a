//! The SSH transport against a real OpenSSH sshd in network namespaces (see `lab.rs`): every
//! auth method, host keys unknown, known, changed and revoked, targets only "front" reaches, a
//! target that refuses, and sshd killed mid-session.

mod corpus;
mod lab;

use std::time::Duration;

use onedeck_ssh::{Error, KnownHosts, SshAuth, SshConfig, SshHop, Tunnel, Zeroizing};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use lab::{Lab, TestResult, USER, available};

fn config(lab: &Lab, auth: SshAuth, known: &str) -> TestResult<SshConfig> {
    let user_file = lab.dir.path().join("user_known_hosts");
    std::fs::write(&user_file, known)?;
    let known_hosts = KnownHosts {
        user_files: vec![user_file],
        app_file: lab.dir.path().join("app").join("known_hosts"),
    };
    let hop = SshHop::parse(&format!("{USER}@{}", lab.front_ip), USER)?;
    let mut c = SshConfig::new(vec![hop], auth, known_hosts);
    c.connect_timeout = Duration::from_secs(10);
    Ok(c)
}

fn password(lab: &Lab) -> SshAuth {
    SshAuth::Password(Zeroizing::new(lab.password.clone()))
}

/// Reads the greeting the lab's target sends, then checks an echo.
async fn greeting(stream: &mut tokio::net::TcpStream, expect: &str) -> TestResult {
    let mut buf = vec![0u8; expect.len()];
    tokio::time::timeout(Duration::from_secs(10), stream.read_exact(&mut buf)).await??;
    assert_eq!(String::from_utf8_lossy(&buf), expect);
    stream.write_all(b"ping through ssh").await?;
    let mut back = [0u8; 16];
    tokio::time::timeout(Duration::from_secs(10), stream.read_exact(&mut back)).await??;
    assert_eq!(&back, b"ping through ssh");
    Ok(())
}

#[tokio::test]
async fn every_auth_method_reaches_a_target_only_front_can_reach() -> TestResult {
    if !available("every_auth_method_reaches_a_target_only_front_can_reach") {
        return Ok(());
    }
    let mut lab = Lab::start()?;
    lab.greeter_in_hv(5901, "RFB 003.008\n")?;
    // From here, "hv" is out of reach.
    let direct = tokio::time::timeout(
        Duration::from_secs(2),
        tokio::net::TcpStream::connect((lab.hv_ip.as_str(), 5901)),
    )
    .await;
    assert!(
        !matches!(direct, Ok(Ok(_))),
        "hv must not be reachable directly"
    );
    let known = lab.known_hosts_line()?;

    // Password.
    let tunnel = Tunnel::connect(&config(&lab, password(&lab), &known)?).await?;
    let mut s = tunnel.open_tcp(&lab.hv_ip, 5901).await?;
    greeting(&mut s, "RFB 003.008\n").await?;

    // A key with a passphrase.
    let key = lab.authorised_key("id_pass", "Key-passphrase-1")?;
    let auth = SshAuth::Key {
        path: key.clone(),
        passphrase: Some(Zeroizing::new("Key-passphrase-1".into())),
    };
    let tunnel = Tunnel::connect(&config(&lab, auth, &known)?).await?;
    greeting(
        &mut tunnel.open_tcp(&lab.hv_ip, 5901).await?,
        "RFB 003.008\n",
    )
    .await?;
    // The wrong passphrase is a local credentials error, not an auth refusal.
    let auth = SshAuth::Key {
        path: key,
        passphrase: Some(Zeroizing::new("nope".into())),
    };
    let err = Tunnel::connect(&config(&lab, auth, &known)?)
        .await
        .err()
        .ok_or("refused")?;
    assert!(matches!(err, Error::Credentials(_)), "{err}");

    // ssh-agent.
    let agent_key = lab.authorised_key("id_agent", "")?;
    let sock = lab.dir.path().join("agent.sock");
    let mut agent = std::process::Command::new("ssh-agent")
        .args(["-D", "-a"])
        .arg(&sock)
        .stdout(std::process::Stdio::null())
        .spawn()?;
    for _ in 0..100 {
        if sock.exists() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let added = std::process::Command::new("ssh-add")
        .arg(&agent_key)
        .env("SSH_AUTH_SOCK", &sock)
        .stderr(std::process::Stdio::null())
        .status()?;
    assert!(added.success());
    let auth = SshAuth::Agent { socket: Some(sock) };
    let result = Tunnel::connect(&config(&lab, auth, &known)?).await;
    let _ = agent.kill();
    let tunnel = result?;
    greeting(
        &mut tunnel.open_tcp(&lab.hv_ip, 5901).await?,
        "RFB 003.008\n",
    )
    .await?;

    // Wrong credentials: the auth message.
    let bad = SshAuth::Password(Zeroizing::new("wrong-password".into()));
    let err = Tunnel::connect(&config(&lab, bad, &known)?)
        .await
        .err()
        .ok_or("refused")?;
    assert!(
        matches!(
            &err,
            Error::AuthRefused {
                method: "password",
                ..
            }
        ),
        "{err}"
    );
    Ok(())
}

#[tokio::test]
async fn host_keys_unknown_accepted_changed_and_revoked() -> TestResult {
    if !available("host_keys_unknown_accepted_changed_and_revoked") {
        return Ok(());
    }
    let mut lab = Lab::start()?;
    let count = lab.greeter_in_hv(5902, "RFB 003.008\n")?;
    let fingerprint = lab.host_fingerprint()?;

    // Unknown: the error carries the fingerprint ssh-keygen prints, and the key.
    let c = config(&lab, password(&lab), "")?;
    let err = Tunnel::connect(&c).await.err().ok_or("refused")?;
    let Error::HostKeyUnknown {
        fingerprint: seen,
        key,
        ..
    } = &err
    else {
        return Err(format!("not HostKeyUnknown: {err}").into());
    };
    assert_eq!(seen, &fingerprint);
    // Accepted: remembered in the app's file (0600), then known.
    let key = onedeck_ssh::known_hosts::parse_openssh_key(key)?;
    c.known_hosts.remember(&lab.front_ip, 22, &key)?;
    let tunnel = Tunnel::connect(&c).await?;
    greeting(
        &mut tunnel.open_tcp(&lab.hv_ip, 5902).await?,
        "RFB 003.008\n",
    )
    .await?;
    assert_eq!(std::fs::read_to_string(&count)?, "1");

    // Changed: another key listed for this host in the user's file (and the accepted one
    // forgotten: a key listed anywhere is known, as in OpenSSH). Refused, nothing sent.
    std::fs::remove_file(&c.known_hosts.app_file)?;
    let other = lab.dir.path().join("other");
    std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&other)
        .status()?;
    let other_pub = std::fs::read_to_string(other.with_extension("pub"))?;
    let changed = format!("# an older key\n{} {}", lab.front_ip, other_pub);
    let c2 = config(&lab, password(&lab), &changed)?;
    let err = Tunnel::connect(&c2).await.err().ok_or("refused")?;
    match &err {
        Error::HostKeyChanged {
            fingerprint: now,
            line,
            ..
        } => {
            assert_eq!(now, &fingerprint);
            assert_eq!(*line, 2);
        }
        other => return Err(format!("not HostKeyChanged: {other}").into()),
    }
    assert!(err.to_string().contains("CHANGED"), "{err}");
    assert_eq!(
        std::fs::read_to_string(&count)?,
        "1",
        "no byte reached the target"
    );

    // Revoked: refused even though the app's file knows it.
    c.known_hosts.remember(&lab.front_ip, 22, &key)?;
    let revoked = format!(
        "@revoked * {}",
        lab.known_hosts_line()?.split_once(' ').ok_or("line")?.1
    );
    let c3 = config(&lab, password(&lab), &revoked)?;
    let err = Tunnel::connect(&c3).await.err().ok_or("refused")?;
    assert!(matches!(err, Error::HostKeyRevoked { .. }), "{err}");
    Ok(())
}

#[tokio::test]
async fn a_refused_target_and_a_killed_sshd_are_told_apart() -> TestResult {
    if !available("a_refused_target_and_a_killed_sshd_are_told_apart") {
        return Ok(());
    }
    let mut lab = Lab::start()?;
    lab.greeter_in_hv(5903, "RFB 003.008\n")?;
    let known = lab.known_hosts_line()?;
    let c = config(&lab, password(&lab), &known)?;
    let tunnel = Tunnel::connect(&c).await?;
    // Nothing listens there: the SSH host says so.
    let err = tunnel
        .open_tcp(&lab.hv_ip, 5999)
        .await
        .err()
        .ok_or("refused")?;
    assert!(
        matches!(err, Error::TargetRefused { port: 5999, .. }),
        "{err}"
    );

    // sshd dies mid-session: the open console's stream ends, the tunnel knows it is closed.
    let mut live = tunnel.open_tcp(&lab.hv_ip, 5903).await?;
    let mut banner = [0u8; 12];
    live.read_exact(&mut banner).await?;
    lab.kill_sshd()?;
    let mut rest = [0u8; 1];
    let ended = tokio::time::timeout(Duration::from_secs(10), live.read(&mut rest)).await?;
    assert!(
        matches!(ended, Ok(0) | Err(_)),
        "the console's stream ended"
    );
    for _ in 0..100 {
        if tunnel.is_closed() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(tunnel.is_closed());
    let err = tunnel
        .open_tcp(&lab.hv_ip, 5903)
        .await
        .err()
        .ok_or("closed")?;
    assert!(matches!(err, Error::Disconnected(_)), "{err}");
    // While sshd is down: unreachable. Once it is back: a new tunnel works.
    let err = Tunnel::connect(&c).await.err().ok_or("down")?;
    assert!(matches!(err, Error::Unreachable { .. }), "{err}");
    lab.start_sshd()?;
    let tunnel = Tunnel::connect(&c).await?;
    greeting(
        &mut tunnel.open_tcp(&lab.hv_ip, 5903).await?,
        "RFB 003.008\n",
    )
    .await?;
    Ok(())
}

#[tokio::test]
async fn a_jump_host_carries_the_next_hop() -> TestResult {
    if !available("a_jump_host_carries_the_next_hop") {
        return Ok(());
    }
    let mut lab = Lab::start()?;
    lab.greeter_in_hv(5904, "RFB 003.008\n")?;
    // front is its own jump host here: hop 1 connects from this machine, hop 2 through hop 1's
    // channel to front's address as front sees it.
    let known = lab.known_hosts_line()?;
    let mut c = config(&lab, password(&lab), &known)?;
    let hop = c.hops[0].clone();
    c.hops = vec![hop.clone(), hop];
    let tunnel = Tunnel::connect(&c).await?;
    greeting(
        &mut tunnel.open_tcp(&lab.hv_ip, 5904).await?,
        "RFB 003.008\n",
    )
    .await?;
    Ok(())
}
