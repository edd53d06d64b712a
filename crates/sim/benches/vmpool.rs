//! `one.vmpool.info` of 10,000 VMs (the ≤ 200 ms goal of the simulator issue) and of 100,000
//! (`onedeck-cli sim --vms 100000`, issue 21).

use criterion::{Criterion, criterion_group, criterion_main};
use onedeck_sim::server::answer;
use onedeck_sim::{SimConfig, fixture};

fn vmpool(c: &mut Criterion) {
    let cfg = SimConfig {
        vms: 10_000,
        ..SimConfig::default()
    };
    let mut world = fixture::build(&cfg);
    let body = POOL;
    let n = answer(&mut world, body).len();
    eprintln!("one.vmpool.info reply with 10,000 VMs: {n} bytes");
    assert!(
        n > 10_000 * 1000,
        "reply of {n} bytes is too small for 10,000 VMs"
    );
    let mut g = c.benchmark_group("vmpool");
    g.sample_size(10);
    g.bench_function("info_10000_vms_short", |b| {
        b.iter(|| answer(&mut world, body))
    });
    g.bench_function("infoextended_page_200", |b| {
        b.iter(|| answer(&mut world, PAGE_200))
    });
    drop(world);
    let mut world = fixture::build(&SimConfig {
        vms: 100_000,
        ..SimConfig::default()
    });
    let n = answer(&mut world, body).len();
    assert!(
        n > 100_000 * 1000,
        "reply of {n} bytes is too small for 100,000 VMs"
    );
    eprintln!("one.vmpool.info reply with 100,000 VMs: {n} bytes");
    g.bench_function("info_100000_vms_short", |b| {
        b.iter(|| answer(&mut world, body))
    });
    g.bench_function("infoextended_page_200_of_100000", |b| {
        b.iter(|| answer(&mut world, PAGE_200))
    });
    g.finish();
}

/// `one.vmpool.infoextended(-2, 0, -200, -1)`: the first page of 200, as a paging client asks.
const PAGE_200: &[u8] = b"<methodCall><methodName>one.vmpool.infoextended</methodName><params><param><value>oneadmin:opennebula</value></param><param><value><i4>-2</i4></value></param><param><value><i4>0</i4></value></param><param><value><i4>-200</i4></value></param><param><value><i4>-1</i4></value></param></params></methodCall>";

/// One call over HTTP, as a client makes it (a new connection, the whole reply read); returns
/// the reply's length.
async fn post(addr: std::net::SocketAddr, body: &[u8]) -> usize {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut sock = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let head = format!(
        "POST /RPC2 HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    sock.write_all(head.as_bytes()).await.expect("write");
    sock.write_all(body).await.expect("write");
    let mut reply = Vec::new();
    sock.read_to_end(&mut reply).await.expect("read");
    reply.len()
}

/// The running simulator of `onedeck-cli sim --vms 100000 --vnc none`: a pool call over HTTP,
/// and how long `one.vm.info` takes while such a pool is being written.
fn http(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let sim = rt
        .block_on(onedeck_sim::Simulator::start(SimConfig {
            vms: 100_000,
            vnc: onedeck_sim::VncMode::None,
            ..SimConfig::default()
        }))
        .expect("simulator");
    let addr = sim.local_addr();
    let info = b"<methodCall><methodName>one.vm.info</methodName><params><param><value><string>oneadmin:opennebula</string></value></param><param><value><int>7</int></value></param></params></methodCall>";
    let mut g = c.benchmark_group("http");
    g.sample_size(10);
    g.bench_function("info_100000_vms_short", |b| {
        b.iter(|| rt.block_on(post(addr, POOL)))
    });
    g.bench_function("vm_info_during_a_100000_vm_pool", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let mut total = std::time::Duration::ZERO;
                for _ in 0..iters {
                    let pool = tokio::spawn(post(addr, POOL));
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    let start = std::time::Instant::now();
                    post(addr, info).await;
                    total += start.elapsed();
                    assert!(!pool.is_finished(), "the pool was done before one.vm.info");
                    pool.await.expect("pool");
                }
                total
            })
        })
    });
    g.finish();
    rt.block_on(sim.shutdown()).expect("shutdown");
}

/// `one.vmpool.info(-2, -1, -1, -2)` as oneadmin: the whole pool, short bodies.
const POOL: &[u8] = b"<?xml version='1.0'?><methodCall><methodName>one.vmpool.info</methodName><params><param><value><string>oneadmin:opennebula</string></value></param><param><value><int>-2</int></value></param><param><value><int>-1</int></value></param><param><value><int>-1</int></value></param><param><value><int>-2</int></value></param></params></methodCall>";

criterion_group!(benches, vmpool, http);
criterion_main!(benches);
