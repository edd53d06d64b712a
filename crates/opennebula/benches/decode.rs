//! Decoding a 10,000-VM `one.vmpool.info` reply (envelope + pool), built from real captured VMs:
//! every captured VM in turn (12.9 MB), and only those with a DISK and a NIC (the typical ~1.5 KB
//! short body, ~25 MB). Goal (issue 3): ≤ 100 ms on the project machine.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use onedeck_opennebula::{VmPool, decode_response_document};

#[path = "support/pool.rs"]
mod pool;

fn decode_pool(c: &mut Criterion) {
    let mut group = c.benchmark_group("vmpool_info");
    group.sample_size(20);
    for (name, disk_nic_only) in [
        ("decode_10000_vms", false),
        ("decode_10000_vms_disk_nic", true),
    ] {
        let reply = pool::vmpool_reply(10_000, disk_nic_only);
        group.throughput(Throughput::Bytes(reply.len() as u64));
        bench_one(&mut group, name, &reply);
    }
    group.finish();
}

fn bench_one(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    name: &str,
    reply: &str,
) {
    group.bench_function(name, |b| {
        // Freeing the 10,000 VMs afterwards is not decoding: keep it out of the timing.
        b.iter_with_large_drop(|| {
            let pool: VmPool = decode_response_document(std::hint::black_box(reply))
                .expect("the generated reply decodes");
            assert_eq!(pool.vms.len(), 10_000);
            pool
        });
    });
}

criterion_group!(benches, decode_pool);
criterion_main!(benches);
