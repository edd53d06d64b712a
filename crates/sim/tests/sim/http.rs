//! The HTTP side over real sockets: Abyss-like headers, bounds, latency, seeded faults,
//! persistence and concurrency.

use std::time::{Duration, Instant};

use onedeck_sim::{FaultKind, SimConfig, SimHandle, Simulator, VncMode, fault_for};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::common::*;

pub async fn start(cfg: SimConfig) -> SimHandle {
    Simulator::start(cfg).await.expect("simulator starts")
}

pub fn quiet() -> SimConfig {
    SimConfig {
        vnc: VncMode::None,
        ..SimConfig::default()
    }
}

/// Sends raw bytes, returns everything the server wrote before closing.
pub async fn raw(sim: &SimHandle, bytes: &[u8]) -> Vec<u8> {
    let mut s = TcpStream::connect(sim.local_addr()).await.expect("connect");
    s.write_all(bytes).await.expect("write");
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(20), s.read_to_end(&mut out)).await;
    out
}

/// POSTs an XML-RPC body to /RPC2; returns (head, body).
pub async fn post(sim: &SimHandle, body: &[u8]) -> (String, String) {
    let mut req = format!(
        "POST /RPC2 HTTP/1.1\r\nHost: {}\r\nContent-Type: text/xml\r\nContent-Length: {}\r\n\r\n",
        sim.local_addr(),
        body.len()
    )
    .into_bytes();
    req.extend_from_slice(body);
    let out = String::from_utf8(raw(sim, &req).await).expect("utf-8");
    match out.split_once("\r\n\r\n") {
        Some((h, b)) => (h.to_string(), b.to_string()),
        None => (out, String::new()),
    }
}

/// Calls a method; returns the parsed reply.
pub async fn rpc(sim: &SimHandle, session: &str, method: &str, params: &[String]) -> Resp {
    let mut all = vec![s(session)];
    all.extend_from_slice(params);
    let (_, body) = post(sim, &request(method, &all)).await;
    parse_response(&body)
}

/// Waits (polling, bounded) until `f` holds.
pub async fn wait_for(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn headers_and_envelope_like_abyss() {
    let sim = start(quiet()).await;
    assert!(sim.endpoint_url().starts_with("http://127.0.0.1:"));
    assert!(sim.endpoint_url().ends_with("/RPC2"));
    let (head, body) = post(
        &sim,
        &request("one.system.version", &[s("oneadmin:opennebula")]),
    )
    .await;
    let lines: Vec<&str> = head.split("\r\n").collect();
    assert_eq!(lines[0], "HTTP/1.1 200 OK");
    assert_eq!(lines[1], "Content-type: text/xml; charset=utf-8");
    assert_eq!(lines[2], format!("Content-length: {}", body.len()));
    assert_eq!(lines[3], "Connection: close");
    assert!(lines[4].starts_with("Date: ") && lines[4].ends_with(" UTC"));
    assert_eq!(lines[5], "Server: Xmlrpc-c_Abyss/1.33.14");
    // Byte-identical to the captured reply.
    let real = std::fs::read_to_string(
        shared().join("samples/real-oned-7.4.0/one.system.version.response.xml"),
    )
    .expect("capture");
    assert_eq!(body, real);
    sim.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn bad_requests_get_http_errors_and_faults() {
    let sim = start(quiet()).await;
    let status = |out: Vec<u8>| {
        String::from_utf8_lossy(&out)
            .lines()
            .next()
            .unwrap_or("")
            .to_string()
    };
    assert_eq!(
        status(raw(&sim, b"GET /RPC2 HTTP/1.1\r\n\r\n").await),
        "HTTP/1.1 405 Method Not Allowed"
    );
    assert_eq!(
        status(raw(&sim, b"POST /x HTTP/1.1\r\nContent-Length: 0\r\n\r\n").await),
        "HTTP/1.1 404 Not Found"
    );
    assert_eq!(
        status(raw(&sim, b"POST /RPC2 HTTP/1.1\r\n\r\n").await),
        "HTTP/1.1 411 Length Required"
    );
    assert_eq!(
        status(
            raw(
                &sim,
                b"POST /RPC2 HTTP/1.1\r\nContent-Length: 999999999\r\n\r\n"
            )
            .await
        ),
        "HTTP/1.1 413 Request Entity Too Large"
    );
    let mut huge_head = b"POST /RPC2 HTTP/1.1\r\nX: ".to_vec();
    huge_head.extend(std::iter::repeat_n(b'a', 20_000));
    assert_eq!(
        status(raw(&sim, &huge_head).await),
        "HTTP/1.1 413 Request Entity Too Large"
    );
    let (_, body) = post(&sim, b"this is not xml").await;
    assert!(
        matches!(parse_response(&body), Resp::Fault(-503, _)),
        "{body}"
    );
    // Expect: 100-continue (curl) is answered before the body is sent.
    let body = request("one.system.version", &[s("alice:alice")]);
    let mut c = TcpStream::connect(sim.local_addr()).await.expect("connect");
    let head = format!(
        "POST /RPC2 HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    c.write_all(head.as_bytes()).await.expect("head");
    let mut interim = [0u8; 25];
    c.read_exact(&mut interim).await.expect("100 Continue");
    assert_eq!(&interim, b"HTTP/1.1 100 Continue\r\n\r\n");
    c.write_all(&body).await.expect("body");
    let mut rest = String::new();
    c.read_to_string(&mut rest).await.expect("reply");
    assert!(rest.starts_with("HTTP/1.1 200 OK\r\n") && rest.contains("7.4.0"));
    // Still serving afterwards.
    assert!(
        rpc(&sim, "alice:alice", "one.user.info", &[i(-1)])
            .await
            .ok()
    );
    sim.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn latency_is_added_to_every_reply() {
    let sim = start(SimConfig {
        latency: Duration::from_millis(150),
        ..quiet()
    })
    .await;
    let t = Instant::now();
    assert!(
        rpc(&sim, "alice:alice", "one.user.info", &[i(-1)])
            .await
            .ok()
    );
    assert!(t.elapsed() >= Duration::from_millis(150));
    sim.shutdown().await.expect("shutdown");
}

async fn outcomes(seed: u64) -> Vec<&'static str> {
    let sim = start(SimConfig {
        seed,
        fault_rate: 0.6,
        fault_hold: Duration::from_millis(100),
        ..quiet()
    })
    .await;
    let mut out = Vec::new();
    for _ in 0..16 {
        let (head, body) = post(&sim, &request("one.system.version", &[s("alice:alice")])).await;
        out.push(if head.is_empty() {
            "timeout"
        } else if head.starts_with("HTTP/1.1 500") {
            "http500"
        } else if body.ends_with("</methodResponse>\r\n") {
            "ok"
        } else {
            "malformed"
        });
    }
    sim.shutdown().await.expect("shutdown");
    out
}

#[tokio::test]
async fn faults_are_reproducible_with_the_seed() {
    let a = outcomes(3).await;
    let b = outcomes(3).await;
    assert_eq!(a, b);
    let predicted: Vec<&str> = (0..16)
        .map(|n| match fault_for(3, 0.6, n) {
            None => "ok",
            Some(FaultKind::Timeout) => "timeout",
            Some(FaultKind::Http500) => "http500",
            Some(FaultKind::Malformed) => "malformed",
        })
        .collect();
    assert_eq!(a, predicted);
    let kinds: std::collections::BTreeSet<_> = a.iter().collect();
    assert!(kinds.len() >= 3, "{a:?}");
}

#[tokio::test]
async fn state_file_keeps_the_cloud_across_runs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("sim.json");
    let cfg = SimConfig {
        state_file: Some(file.clone()),
        ..quiet()
    };
    let sim = start(cfg.clone()).await;
    assert!(
        rpc(&sim, "alice:alice", "one.vm.rename", &[i(0), s("kept")])
            .await
            .ok()
    );
    let new = rpc(
        &sim,
        "alice:alice",
        "one.template.instantiate",
        &[i(0), s("n"), b(true)],
    )
    .await;
    assert_eq!(new.body(), "12");
    sim.shutdown().await.expect("shutdown saves");
    assert!(file.exists());
    let sim = start(cfg).await;
    let r = rpc(&sim, "alice:alice", "one.vm.info", &[i(0)]).await;
    assert!(r.body().contains("<NAME>kept</NAME>"));
    let r = rpc(&sim, "alice:alice", "one.vm.info", &[i(12)]).await;
    assert!(
        r.body().contains("<STATE>2</STATE>"),
        "the HOLD VM came back"
    );
    let r = rpc(
        &sim,
        "alice:alice",
        "one.template.instantiate",
        &[i(0), s("m"), b(true)],
    )
    .await;
    assert_eq!(r.body(), "13", "IDs continue");
    sim.shutdown().await.expect("shutdown");
    // Loaded with another VNC base, the ports move with it.
    let sim = start(SimConfig {
        state_file: Some(file.clone()),
        vnc_base: 7000,
        ..quiet()
    })
    .await;
    assert_eq!(sim.vnc_port(5), Some(7005));
    sim.shutdown().await.expect("shutdown");
    // A corrupt file is a typed error.
    std::fs::write(&file, b"{not json").expect("write");
    let err = Simulator::start(SimConfig {
        state_file: Some(file),
        ..quiet()
    })
    .await
    .expect_err("corrupt state");
    assert!(matches!(err, onedeck_sim::Error::State(..)), "{err}");
}

#[tokio::test]
async fn parallel_clients_and_live_transitions() {
    let sim = start(quiet()).await;
    let mut tasks = tokio::task::JoinSet::new();
    let url = sim.local_addr();
    for n in 0..20 {
        tasks.spawn(async move {
            let mut s = TcpStream::connect(url).await.expect("connect");
            let body = request("one.vm.info", &[crate::common::s("alice:alice"), i(n % 10)]);
            let head = format!(
                "POST /RPC2 HTTP/1.1\r\nContent-Length: {}\r\n\r\n",
                body.len()
            );
            s.write_all(head.as_bytes()).await.expect("w");
            s.write_all(&body).await.expect("w");
            let mut out = String::new();
            s.read_to_string(&mut out).await.expect("r");
            out.contains("<boolean>1</boolean>")
        });
    }
    while let Some(r) = tasks.join_next().await {
        assert!(r.expect("task"));
    }
    // A real instantiate runs PENDING → RUNNING on the simulator's clock.
    let id: u32 = rpc(
        &sim,
        "alice:alice",
        "one.template.instantiate",
        &[i(0), s(""), b(false)],
    )
    .await
    .body()
    .parse()
    .expect("id");
    wait_for("RUNNING", || sim.vm_state(id) == Some((3, 3))).await;
    assert_eq!(sim.vnc_port(id), Some(5900 + id as u16));
    sim.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn rejects_non_loopback_and_bad_settings() {
    for cfg in [
        SimConfig {
            listen: "0.0.0.0:0".parse().expect("addr"),
            ..quiet()
        },
        SimConfig {
            vms: 100_001,
            ..quiet()
        },
        SimConfig {
            fault_rate: 1.5,
            ..quiet()
        },
    ] {
        assert!(matches!(
            Simulator::start(cfg).await,
            Err(onedeck_sim::Error::Config(_))
        ));
    }
}
