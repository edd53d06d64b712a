//! The inventory's refresh path at 10,000 and 100,000 VMs: the diff against what the window
//! holds (50 rows changed) and the IPC body as compact rows versus objects.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use onedeck_core::inventory_diff::Held;
use onedeck_core::view::inventory::CompactRows;
use onedeck_core::{StateClass, VmId, VmSummary};

fn rows(n: usize) -> Vec<VmSummary> {
    (0..n)
        .map(|i| VmSummary {
            id: VmId(i32::try_from(i).unwrap_or(i32::MAX)),
            name: format!("vm-{i:06}"),
            owner: format!("user{}", i % 13),
            group: "users".into(),
            state: if i % 7 == 0 { "POWEROFF" } else { "RUNNING" }.into(),
            state_class: StateClass::Running,
            host: Some(format!("kvm-{:02}", i % 40)),
            ips: vec![format!(
                "10.{}.{}.{}",
                (i >> 16) & 255,
                (i >> 8) & 255,
                i & 255
            )],
            vcpu: Some(2),
            memory_mib: Some(2048),
            console: true,
            spice: false,
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("inventory");
    group.sample_size(20);
    for n in [10_000usize, 100_000] {
        let before = rows(n);
        let mut after = before.clone();
        for vm in after.iter_mut().step_by(n / 50).take(50) {
            vm.state = "SUSPENDED".into();
        }
        group.bench_with_input(BenchmarkId::new("diff_50_changed", n), &n, |b, _| {
            b.iter_batched(
                || Held::of(&before),
                |mut held| {
                    let diff = held.advance(black_box(&after));
                    assert_eq!(diff.changed.len(), 50);
                    diff
                },
                criterion::BatchSize::LargeInput,
            );
        });
        group.bench_with_input(BenchmarkId::new("ipc_compact_rows", n), &n, |b, _| {
            b.iter(|| serde_json::to_vec(&CompactRows(black_box(&before))).map(|v| v.len()));
        });
        group.bench_with_input(BenchmarkId::new("ipc_object_rows", n), &n, |b, _| {
            b.iter(|| serde_json::to_vec(black_box(&before)).map(|v| v.len()));
        });
        let compact = serde_json::to_vec(&CompactRows(&before)).map_or(0, |v| v.len());
        let objects = serde_json::to_vec(&before).map_or(0, |v| v.len());
        println!("{n} rows: compact {compact} bytes, objects {objects} bytes");
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
