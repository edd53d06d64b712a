//! Vault speed: reading and atomically rewriting the profiles file, and (when a keyring is
//! reachable, e.g. under scripts/with-keyring.sh) one secret round trip.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use onedeck_vault::{Profile, ProfileStore, Secret, SecretStore};

fn profiles(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = ProfileStore::in_dir(dir.path()).expect("store");
    let mut last = None;
    for i in 0..20 {
        let mut p = Profile::new(
            &format!("Cloud {i}"),
            "https://one.example.org:2633/RPC2",
            "alice",
        )
        .expect("profile");
        p.console_hosts
            .insert(format!("node{i}"), format!("10.0.0.{i}"));
        last = Some(store.upsert(p).expect("upsert"));
    }
    let mut last = last.expect("twenty profiles");
    c.bench_function("profiles_list_20", |b| {
        b.iter(|| black_box(store.list().expect("list")))
    });
    let mut n = 0u64;
    c.bench_function("profiles_upsert_20_atomic", |b| {
        b.iter(|| {
            n += 1;
            last.name = format!("Cloud renamed {n}");
            black_box(store.upsert(last.clone()).expect("upsert"))
        })
    });
}

fn keyring(c: &mut Criterion) {
    let Ok(secrets) = SecretStore::os_keyring().and_then(|s| s.check().map(|()| s)) else {
        eprintln!("no keyring reachable: keyring benchmarks not run (use scripts/with-keyring.sh)");
        return;
    };
    let id = onedeck_vault::ProfileId::generate("bench");
    let secret = Secret::new("bench-password".into());
    c.bench_function("keyring_set_get", |b| {
        b.iter(|| {
            secrets.set(&id, &secret).expect("set");
            black_box(secrets.get(&id).expect("get"))
        })
    });
    secrets.delete(&id).expect("delete");
}

criterion_group!(benches, profiles, keyring);
criterion_main!(benches);
