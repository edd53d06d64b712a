//! Tests of the simulator's HTTP server.
use super::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// One XML-RPC call over HTTP: when the first byte of the reply came, and the whole reply.
async fn post(addr: SocketAddr, body: &'static str) -> (tokio::time::Instant, String) {
    let mut sock = TcpStream::connect(addr).await.expect("connect");
    let head = format!(
        "POST /RPC2 HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    sock.write_all(head.as_bytes()).await.expect("write head");
    sock.write_all(body.as_bytes()).await.expect("write body");
    let mut reply = vec![0u8; 1];
    sock.read_exact(&mut reply).await.expect("first byte");
    let first = tokio::time::Instant::now();
    sock.read_to_end(&mut reply).await.expect("read reply");
    (first, String::from_utf8_lossy(&reply).into_owned())
}

/// A one-thread runtime: had the pool been written on it, nothing else could be answered
/// before the pool's reply began.
#[tokio::test(flavor = "current_thread")]
async fn vm_info_is_answered_while_a_big_pool_is_written() {
    const POOL: &str = "<methodCall><methodName>one.vmpool.info</methodName><params><param><value><string>oneadmin:opennebula</string></value></param><param><value><int>-2</int></value></param><param><value><int>-1</int></value></param><param><value><int>-1</int></value></param><param><value><int>-2</int></value></param></params></methodCall>";
    const INFO: &str = "<methodCall><methodName>one.vm.info</methodName><params><param><value><string>oneadmin:opennebula</string></value></param><param><value><int>7</int></value></param></params></methodCall>";
    let sim = Simulator::start(SimConfig {
        vms: 20_000,
        vnc: crate::VncMode::None,
        ..SimConfig::default()
    })
    .await
    .expect("simulator starts");
    let addr = sim.local_addr();
    let pool = tokio::spawn(post(addr, POOL));
    // Let the pool call reach the server before asking for the VM.
    tokio::time::sleep(Duration::from_millis(10)).await;
    let (info_at, info) = post(addr, INFO).await;
    let (pool_at, pool) = pool.await.expect("pool call");
    assert!(info.contains("&lt;ID&gt;7&lt;/ID&gt;"), "{info}");
    assert!(pool.matches("&lt;VM&gt;").count() >= 20_000);
    assert!(
        info_at < pool_at,
        "one.vm.info was answered {:?} after the pool's reply began",
        info_at - pool_at
    );
    sim.shutdown().await.expect("shutdown");
}

#[test]
fn a_pool_written_escaped_in_chunks_is_the_plain_reply() {
    let mut w = crate::fixture::build(&SimConfig {
        vms: 2 * methods::POOL_CHUNK + 100,
        ..SimConfig::default()
    });
    for method in ["one.vmpool.info", "one.vmpool.infoextended"] {
        for (start, end) in [(-1, -1), (0, -200), (150, -1500), (10, 1500), (0, -5000)] {
            let body = format!(
                "<methodCall><methodName>{method}</methodName><params><param><value>oneadmin:opennebula</value></param><param><value><i4>-2</i4></value></param><param><value><i4>{start}</i4></value></param><param><value><i4>{end}</i4></value></param><param><value><i4>-1</i4></value></param></params></methodCall>"
            );
            let call = xmlrpc::parse_call(body.as_bytes()).expect("a call");
            let plain = reply_of(&call.name, methods::call(&mut w, &call));
            assert!(plain.contains("&lt;VM&gt;"), "{method} {start} {end}");
            assert_eq!(
                answer(&mut w, body.as_bytes()),
                plain,
                "{method} {start} {end}"
            );
        }
    }
}

#[test]
fn faults_are_reproducible_and_near_the_rate() {
    let a: Vec<_> = (0..1000).map(|n| fault_for(7, 0.2, n)).collect();
    let b: Vec<_> = (0..1000).map(|n| fault_for(7, 0.2, n)).collect();
    assert_eq!(a, b);
    let hits = a.iter().filter(|f| f.is_some()).count();
    assert!((120..280).contains(&hits), "{hits}");
    assert!(a.contains(&Some(FaultKind::Timeout)));
    assert!(a.contains(&Some(FaultKind::Http500)));
    assert!(a.contains(&Some(FaultKind::Malformed)));
    let c: Vec<_> = (0..1000).map(|n| fault_for(8, 0.2, n)).collect();
    assert_ne!(a, c);
    assert!((0..1000).all(|n| fault_for(7, 0.0, n).is_none()));
}
