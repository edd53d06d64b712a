//! Tests of `profile.rs`: validation, normalisation, the transport checks and the migration.

use super::*;

#[test]
fn plain_http_to_another_machine_needs_the_opt_in_and_ssh_jump_is_migrated() -> Result<()> {
    for ok in [
        "https://one.example.org/RPC2",
        "http://localhost:2633/RPC2",
        "http://127.0.0.1:2633/RPC2",
        "http://127.3.4.5/RPC2",
        "http://[::1]:2633/RPC2",
    ] {
        let mut p = Profile::new("x", ok, "alice")?;
        p.normalize()
            .unwrap_or_else(|e| panic!("{ok} should be accepted: {e}"));
    }
    for refused in [
        "http://one.example.org:2633/RPC2",
        "http://10.0.0.5/RPC2",
        "http://localhost.evil.example/RPC2",
        "http://[::2]/RPC2",
    ] {
        let mut p = Profile::new("x", refused, "alice")?;
        match p.normalize() {
            Err(Error::InvalidProfile {
                field: "url",
                reason,
            }) => {
                assert!(reason.contains("in clear"), "{reason}");
            }
            other => panic!("{refused} must need the opt-in: {other:?}"),
        }
        p.tls.allow_plain_http = true;
        p.normalize()?;
    }
    // The old ssh_jump becomes an SSH transport through that host, never a direct dial.
    let mut p = Profile::new("x", "https://one.example.org/RPC2", "alice")?;
    p.ssh_jump = Some(SshJump {
        host: "bastion".into(),
        port: Some(2222),
        user: None,
    });
    p.normalize()?;
    assert_eq!(p.ssh_jump, None);
    let ConsoleTransport::Ssh(ssh) = &p.console_transport else {
        panic!("not migrated: {p:?}");
    };
    assert_eq!(
        (ssh.host.as_deref(), ssh.port, ssh.user.as_str(), ssh.auth),
        (Some("bastion"), 2222, "alice", SshAuthKind::Agent)
    );
    // Both forms at once: refused, not guessed.
    p.ssh_jump = Some(SshJump {
        host: "other".into(),
        port: None,
        user: None,
    });
    assert!(matches!(
        p.check_transport(),
        Err(Error::InvalidProfile {
            field: "ssh_jump",
            ..
        })
    ));
    assert_eq!(p.endpoint_host().as_deref(), Some("one.example.org"));
    Ok(())
}

fn sample() -> Result<Profile> {
    Profile::new("Prod cloud", "https://one.example.org:2633/RPC2", "alice")
}

#[test]
fn generated_id_is_a_valid_slug_from_the_name() -> Result<()> {
    let id = ProfileId::generate("  Prod Cloud (EU)!! ");
    assert!(
        id.as_str().starts_with("prod-cloud-eu-"),
        "slug of the name: {id}"
    );
    ProfileId::parse(id.as_str())?;
    assert_ne!(
        id,
        ProfileId::generate("  Prod Cloud (EU)!! "),
        "random suffix"
    );
    assert!(ProfileId::generate("☃").as_str().starts_with("endpoint-"));
    Ok(())
}

#[test]
fn id_rejects_non_slugs() {
    for bad in [
        "",
        "Upper",
        "a b",
        "-lead",
        "x/y",
        &"a".repeat(MAX_ID_LEN + 1),
    ] {
        assert!(ProfileId::parse(bad).is_err(), "`{bad}` must be refused");
    }
}

#[test]
fn url_must_be_http_without_credentials() -> Result<()> {
    let mut p = sample()?;
    for bad in [
        "one.example.org",
        "ftp://x",
        "https://",
        "https://u:pw@host/RPC2",
        "http://a b",
    ] {
        p.url = bad.into();
        assert!(
            matches!(
                p.validate(),
                Err(Error::InvalidProfile { field: "url", .. })
            ),
            "`{bad}` must be refused"
        );
    }
    p.url = "http://127.0.0.1:2633/RPC2".into();
    p.validate()
}

/// A URL that carries `user:password@` is refused without echoing the password, whatever
/// else is wrong with it (no scheme, white space): the error reaches stderr and logs.
#[test]
fn refused_url_never_echoes_its_password() -> Result<()> {
    let mut p = sample()?;
    for bad in [
        "alice:hunter2-distinctive@one.example.org",
        "ftp://alice:hunter2-distinctive@one.example.org",
        "http://alice:hunter2-distinctive@one example.org/RPC2",
        "https://alice:hunter2-distinctive@/RPC2",
    ] {
        p.url = bad.into();
        let message = match p.validate() {
            Err(e @ Error::InvalidProfile { field: "url", .. }) => e.to_string(),
            other => panic!("`{bad}` must be refused as a url, got {other:?}"),
        };
        assert!(
            !message.contains("hunter2"),
            "the password leaked into the error: {message}"
        );
    }
    Ok(())
}

#[test]
fn token_renewal_must_fit_in_the_lifetime() -> Result<()> {
    let mut p = sample()?;
    p.auth = AuthMode::LoginToken {
        token_ttl_secs: 60,
        renew_before_secs: 60,
    };
    assert!(p.validate().is_err());
    p.auth = AuthMode::LoginToken {
        token_ttl_secs: 3600,
        renew_before_secs: 300,
    };
    p.validate()
}

#[test]
fn token_renewal_is_due_inside_the_window() {
    use std::time::{Duration, SystemTime};
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
    let token = AuthMode::LoginToken {
        token_ttl_secs: 3600,
        renew_before_secs: 300,
    };
    assert!(!token.renewal_due(now + Duration::from_secs(301), now));
    assert!(token.renewal_due(now + Duration::from_secs(299), now));
    assert!(
        token.renewal_due(now - Duration::from_secs(1), now),
        "expired"
    );
    assert!(!AuthMode::Password.renewal_due(now, now));
}

#[test]
fn fingerprint_is_normalised() -> Result<()> {
    let raw = "ab".repeat(32);
    let norm = normalize_fingerprint(&raw)?;
    assert_eq!(norm.len(), 95);
    assert!(norm.starts_with("AB:AB:"));
    assert_eq!(normalize_fingerprint(&norm)?, norm);
    assert!(normalize_fingerprint("abcd").is_err());
    Ok(())
}

#[test]
fn console_address_uses_overrides() -> Result<()> {
    let mut p = sample()?;
    p.console_hosts.insert("node1".into(), "10.0.0.5".into());
    assert_eq!(p.console_address("node1"), "10.0.0.5");
    assert_eq!(p.console_address("node2"), "node2");
    Ok(())
}

#[test]
fn filter_flags_match_opennebula() {
    assert_eq!(VmFilter::Mine.filter_flag(), -3);
    assert_eq!(VmFilter::MineAndGroups.filter_flag(), -1);
    assert_eq!(VmFilter::All.filter_flag(), -2);
}
