//! Decoding a 10,000-VM `one.vmpool.info` reply (envelope + pool), built from real captured VMs.
//! Goal (issue 3): ≤ 100 ms on the project machine.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use onedeck_opennebula::{VmPool, decode_response_document};

#[path = "support/pool.rs"]
mod pool;

fn decode_pool(c: &mut Criterion) {
    let reply = pool::vmpool_reply(10_000);
    let mut group = c.benchmark_group("vmpool_info");
    group.throughput(Throughput::Bytes(reply.len() as u64));
    group.sample_size(20);
    group.bench_function("decode_10000_vms", |b| {
        // Freeing the 10,000 VMs afterwards is not decoding: keep it out of the timing.
        b.iter_with_large_drop(|| {
            let pool: VmPool = decode_response_document(std::hint::black_box(&reply))
                .expect("the generated reply decodes");
            assert_eq!(pool.vms.len(), 10_000);
            pool
        });
    });
    group.finish();
}

criterion_group!(benches, decode_pool);
criterion_main!(benches);
