//! HTTPS endpoints: a self-signed certificate is refused with its fingerprint, accepted once
//! pinned; a per-endpoint CA bundle replaces the system store.

use onedeck_opennebula::{Client, Credentials, Endpoint, Error, Fingerprint, VmId};
use tokio_rustls::rustls::pki_types::CertificateDer;
use tokio_rustls::rustls::pki_types::pem::PemObject;

use crate::server::{Reply, Server, fixture, response};

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn fingerprint_of(pem_path: &str) -> Result<Fingerprint, Box<dyn std::error::Error>> {
    let der = CertificateDer::from_pem_slice(&fixture(pem_path))?;
    Ok(Fingerprint::of_der(der.as_ref()))
}

async fn self_signed_server() -> Result<Server, Box<dyn std::error::Error>> {
    Server::start_tls(
        &fixture("tls/selfsigned.pem"),
        &fixture("tls/selfsigned.key"),
        |_| Reply::xml(response("one.vm.info.oneadmin-disk-nic")),
    )
    .await
}

#[tokio::test]
async fn self_signed_is_refused_with_its_fingerprint() -> TestResult {
    let server = self_signed_server().await?;
    let c = Client::new(
        Endpoint::new(server.url.clone()),
        Credentials::new("oneadmin", "x"),
    )?;
    match c.vm_info(VmId(16)).await {
        Err(e @ Error::Tls { .. }) => {
            let Error::Tls { fingerprint, .. } = &e else {
                unreachable!()
            };
            assert_eq!(
                *fingerprint,
                Some(fingerprint_of("tls/selfsigned.pem")?),
                "{e}"
            );
            assert!(
                e.to_string().contains("E1:9F:70:46"),
                "the message shows the fingerprint: {e}"
            );
            assert_eq!(e.kind(), "tls");
        }
        other => panic!("expected a TLS error, got {other:?}"),
    }
    assert!(
        server.requests().is_empty(),
        "nothing was sent over an unverified connection"
    );
    Ok(())
}

#[tokio::test]
async fn pinned_self_signed_is_accepted_and_a_wrong_pin_is_not() -> TestResult {
    let server = self_signed_server().await?;
    let mut endpoint = Endpoint::new(server.url.clone());
    endpoint.pinned_sha256 = Some(fingerprint_of("tls/selfsigned.pem")?);
    let vm = Client::new(endpoint, Credentials::new("oneadmin", "x"))?
        .vm_info(VmId(16))
        .await?;
    assert_eq!(vm.name, "admin-disk-nic");

    let mut endpoint = Endpoint::new(server.url.clone());
    endpoint.pinned_sha256 = Some(fingerprint_of("tls/server.pem")?);
    let r = Client::new(endpoint, Credentials::new("oneadmin", "x"))?
        .vm_info(VmId(16))
        .await;
    assert!(
        matches!(r, Err(Error::Tls { .. })),
        "a pin for another certificate must not help: {r:?}"
    );
    Ok(())
}

/// Security finding 3: the pin used to be an extra trust anchor, so any CA-valid certificate
/// still passed. Pinned means this certificate only.
#[tokio::test]
async fn a_pin_refuses_even_a_ca_valid_certificate_with_another_fingerprint() -> TestResult {
    let server = Server::start_tls(
        &fixture("tls/server.pem"),
        &fixture("tls/server.key"),
        |_| Reply::xml(response("one.system.version")),
    )
    .await?;
    let mut endpoint = Endpoint::new(server.url.clone());
    endpoint.ca_bundle_pem = Some(String::from_utf8(fixture("tls/ca.pem"))?);
    endpoint.pinned_sha256 = Some(fingerprint_of("tls/selfsigned.pem")?);
    let r = Client::new(endpoint, Credentials::new("oneadmin", "x"))?
        .system_version()
        .await;
    match r {
        Err(Error::Tls {
            reason,
            fingerprint,
        }) => {
            assert!(reason.contains("pinned"), "{reason}");
            assert_eq!(fingerprint, Some(fingerprint_of("tls/server.pem")?));
        }
        other => panic!("a CA-valid certificate must not pass a pin for another: {other:?}"),
    }
    assert!(
        server.requests().is_empty(),
        "nothing was sent to the impostor"
    );

    // The same pin set to the server's own certificate works, CA bundle or not.
    let mut endpoint = Endpoint::new(server.url.clone());
    endpoint.pinned_sha256 = Some(fingerprint_of("tls/server.pem")?);
    let version = Client::new(endpoint, Credentials::new("oneadmin", "x"))?
        .system_version()
        .await?;
    assert_eq!(version, "7.4.0");
    Ok(())
}

#[tokio::test]
async fn ca_bundle_verifies_the_server() -> TestResult {
    let server = Server::start_tls(
        &fixture("tls/server.pem"),
        &fixture("tls/server.key"),
        |_| Reply::xml(response("one.system.version")),
    )
    .await?;
    let mut endpoint = Endpoint::new(server.url.clone());
    endpoint.ca_bundle_pem = Some(String::from_utf8(fixture("tls/ca.pem"))?);
    let version = Client::new(endpoint, Credentials::new("oneadmin", "x"))?
        .system_version()
        .await?;
    assert_eq!(version, "7.4.0");

    // Without the bundle the same server is unknown.
    let r = Client::new(
        Endpoint::new(server.url.clone()),
        Credentials::new("oneadmin", "x"),
    )?
    .system_version()
    .await;
    assert!(matches!(r, Err(Error::Tls { .. })), "{r:?}");

    // A bundle that is not PEM is a configuration error, before any traffic.
    let mut endpoint = Endpoint::new(server.url.clone());
    endpoint.ca_bundle_pem = Some("not a certificate".into());
    assert!(matches!(
        Client::new(endpoint, Credentials::new("a", "b")),
        Err(Error::Config(_))
    ));
    Ok(())
}
