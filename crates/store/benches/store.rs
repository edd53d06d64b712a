//! Store speed: saving and loading inventory snapshots (up to 100,000 rows), opening a big database (WAL setup,
//! quick_check, migration check), one audit row.

use std::hint::black_box;
use std::time::SystemTime;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use onedeck_store::{SessionEnd, SessionStart, Store, VmRow};

/// A row about the size the app caches per VM (id, names, state, host, IPs, capacity).
fn rows(n: u64) -> Vec<VmRow> {
    (0..n)
        .map(|i| VmRow {
            vm_id: i,
            json: format!(
                r#"{{"id":{i},"name":"vm-{i:06}","owner":"alice","group":"devs","state":"ACTIVE","lcm_state":"RUNNING","host":"node{}","ips":["10.0.{}.{}"],"cpu":1.0,"memory_mb":2048,"graphics":{{"type":"VNC","port":{}}}}}"#,
                i % 20,
                i / 250 % 250,
                i % 250,
                5900 + i
            ),
        })
        .collect()
}

fn inventory(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut store = Store::open(&dir.path().join("state.sqlite3")).expect("open");
    let mut group = c.benchmark_group("inventory");
    group.sample_size(10);
    // 100,000 rows: the inventory-at-scale goal (issue 21), load ≤ 200 ms.
    for n in [1_000u64, 10_000, 100_000] {
        let data = rows(n);
        group.bench_function(format!("save_{n}_rows"), |b| {
            b.iter(|| {
                store
                    .save_inventory("bench", SystemTime::now(), black_box(&data))
                    .expect("save")
            })
        });
        group.bench_function(format!("load_{n}_rows"), |b| {
            b.iter(|| black_box(store.load_inventory("bench").expect("load")))
        });
    }
    group.finish();
}

fn open_big(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("state.sqlite3");
    {
        let mut store = Store::open(&path).expect("open");
        store
            .save_inventory("big", SystemTime::now(), &rows(100_000))
            .expect("save");
    }
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0)
        + std::fs::metadata(path.with_extension("sqlite3-wal")).map_or(0, |m| m.len());
    eprintln!(
        "database with 100,000 VM rows: {} MiB",
        size / (1024 * 1024)
    );
    let mut group = c.benchmark_group("open");
    group.sample_size(10);
    group.bench_function("open_100k_rows", |b| {
        b.iter(|| black_box(Store::open(&path).expect("open")))
    });
    group.finish();
}

fn audit(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut store = Store::open(&dir.path().join("state.sqlite3")).expect("open");
    let start = SessionStart {
        profile_id: "bench".into(),
        user: "alice".into(),
        vm_id: 7,
        vm_name: "vm-7".into(),
        target_host: "node1".into(),
        target_port: 5907,
        started_at: SystemTime::now(),
        recording_file: None,
    };
    c.bench_function("audit_start_and_end", |b| {
        b.iter_batched(
            || start.clone(),
            |s| {
                let id = store.audit_start(&s).expect("start");
                store
                    .audit_end(
                        id,
                        &SessionEnd {
                            ended_at: SystemTime::now(),
                            bytes_to_client: 1,
                            bytes_to_server: 1,
                            end_reason: "client_closed".into(),
                            recording_head: None,
                            typed_text: None,
                        },
                    )
                    .expect("end");
            },
            BatchSize::SmallInput,
        )
    });
}

criterion_group!(benches, inventory, open_big, audit);
criterion_main!(benches);
