//! `one.vmpool.info` of 10,000 VMs: the ≤ 200 ms goal of the simulator issue.

use criterion::{Criterion, criterion_group, criterion_main};
use onedeck_sim::server::answer;
use onedeck_sim::{SimConfig, fixture};

fn vmpool(c: &mut Criterion) {
    let cfg = SimConfig {
        vms: 10_000,
        ..SimConfig::default()
    };
    let mut world = fixture::build(&cfg);
    let body = b"<?xml version='1.0'?><methodCall><methodName>one.vmpool.info</methodName><params><param><value><string>oneadmin:opennebula</string></value></param><param><value><int>-2</int></value></param><param><value><int>-1</int></value></param><param><value><int>-1</int></value></param><param><value><int>-2</int></value></param></params></methodCall>";
    let n = answer(&mut world, body).len();
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
        let body = b"<methodCall><methodName>one.vmpool.infoextended</methodName><params><param><value>oneadmin:opennebula</value></param><param><value><i4>-2</i4></value></param><param><value><i4>0</i4></value></param><param><value><i4>-200</i4></value></param><param><value><i4>-1</i4></value></param></params></methodCall>";
        b.iter(|| answer(&mut world, body))
    });
    g.finish();
}

criterion_group!(benches, vmpool);
criterion_main!(benches);
