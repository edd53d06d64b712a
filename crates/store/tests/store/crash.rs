//! Crash safety of the database: a writer killed with SIGKILL at random points, over and over;
//! each time the database opens undamaged with the previous or the new snapshot, whole.

use std::io::BufRead;
use std::time::{Duration, SystemTime};

use onedeck_store::{SessionStart, Store, VmRow};
use rand::Rng;

use crate::{TestResult, db_path};

/// How many times the writer is killed.
const KILLS: usize = 120;
/// VMs per snapshot: every row of a snapshot carries the same generation.
const ROWS: u64 = 200;

fn snapshot(generation: u64) -> Vec<VmRow> {
    (0..ROWS)
        .map(|i| VmRow {
            vm_id: i,
            json: format!(r#"{{"id":{i},"generation":{generation},"name":"vm-{i}"}}"#),
        })
        .collect()
}

/// The snapshot's generation, after checking that all its rows agree on it.
fn generation_of(store: &Store) -> Result<u64, Box<dyn std::error::Error>> {
    let Some(snap) = store.load_inventory("crash")? else {
        return Ok(0);
    };
    let time_generation = snap
        .fetched_at
        .duration_since(SystemTime::UNIX_EPOCH)?
        .as_millis() as u64;
    assert_eq!(snap.rows.len() as u64, ROWS, "a torn snapshot");
    for row in &snap.rows {
        let marker = format!(r#""generation":{time_generation},"#);
        assert!(
            row.json.contains(&marker),
            "row {} is from another generation: {}",
            row.vm_id,
            row.json
        );
    }
    Ok(time_generation)
}

#[test]
fn database_writes_survive_sigkill_at_random_points() -> TestResult {
    let (dir, path) = db_path()?;
    drop(Store::open(&path)?);
    let exe = std::env::current_exe()?;
    let mut rng = rand::rng();
    let (mut last, mut progressed) = (0, 0);
    for _ in 0..KILLS {
        let mut writer = std::process::Command::new(&exe)
            .args([
                "crash::child_db_writer",
                "--exact",
                "--ignored",
                "--nocapture",
            ])
            .env("ONEDECK_CRASH_DB", &path)
            .stdout(std::process::Stdio::piped())
            .spawn()?;
        let stdout = writer.stdout.take().ok_or("no child stdout")?;
        let mut lines = std::io::BufReader::new(stdout).lines();
        let started = lines
            .by_ref()
            .take(10)
            .any(|l| l.is_ok_and(|l| l.contains("WRITING")));
        assert!(started, "the child did not reach its write loop");
        std::thread::sleep(Duration::from_micros(rng.random_range(0..30_000)));
        writer.kill()?; // SIGKILL: no rollback, no checkpoint, no close.
        writer.wait()?;
        let store = Store::open(&path)?;
        assert!(
            store.recovered().is_none(),
            "a killed writer must not damage the database: {:?}",
            store.recovered()
        );
        let now = generation_of(&store)?;
        assert!(now >= last, "went back from generation {last} to {now}");
        if now > last {
            progressed += 1;
        }
        last = now;
    }
    let leftovers: Vec<_> = crate::names(dir.path())?;
    eprintln!(
        "database crash test: {KILLS} kills, {progressed} with progress, final generation {last}, files {leftovers:?}"
    );
    assert!(progressed > 0, "the writer never committed");
    Ok(())
}

#[test]
#[ignore = "child process of database_writes_survive_sigkill_at_random_points"]
fn child_db_writer() -> TestResult {
    let path = std::env::var_os("ONEDECK_CRASH_DB").ok_or("ONEDECK_CRASH_DB unset")?;
    let mut store = Store::open(std::path::Path::new(&path))?;
    let mut generation = generation_of(&store)?;
    println!("WRITING");
    std::io::Write::flush(&mut std::io::stdout())?;
    loop {
        generation += 1;
        // The fetch time doubles as the generation, so header and rows can be checked together.
        let fetched = SystemTime::UNIX_EPOCH + Duration::from_millis(generation);
        store.save_inventory("crash", fetched, &snapshot(generation))?;
        store.audit_start(&SessionStart {
            profile_id: "crash".into(),
            user: "u".into(),
            vm_id: generation,
            vm_name: String::new(),
            target_host: "h".into(),
            target_port: 1,
            started_at: fetched,
            recording_file: None,
        })?;
    }
}
