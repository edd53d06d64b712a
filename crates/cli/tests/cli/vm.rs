//! `onedeck-cli vm` and `template` against `onedeck-cli sim` (both as processes): every VM
//! operation with its `--json` shape, exit codes, and the password never coming from argv.

use std::io::{BufRead as _, BufReader, Write as _};
use std::process::{Child, Command, Output, Stdio};

/// The simulator as a child process; killed when dropped.
struct Sim {
    child: Child,
    url: String,
}

impl Sim {
    fn start() -> Sim {
        let mut child = Command::new(env!("CARGO_BIN_EXE_onedeck-cli"))
            .args([
                "sim",
                "--listen",
                "127.0.0.1:0",
                "--vnc",
                "none",
                "--templates",
                "1",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start the simulator: {e}"));
        let mut line = String::new();
        if let Some(out) = child.stdout.take() {
            let _ = BufReader::new(out).read_line(&mut line);
        }
        let url = line.trim().to_owned();
        assert!(
            url.starts_with("http://127.0.0.1:"),
            "the simulator prints its endpoint first: {url:?}"
        );
        Sim { child, url }
    }

    fn vm(&self, password: &str, args: &[&str]) -> Output {
        // `template …` goes as it is; anything else is a `vm` subcommand.
        let (command, args) = match args.split_first() {
            Some((&"template", rest)) => ("template", rest),
            _ => ("vm", args),
        };
        let mut child = Command::new(env!("CARGO_BIN_EXE_onedeck-cli"))
            .args([
                command,
                "--endpoint",
                &self.url,
                "--user",
                "alice",
                "--password-stdin",
            ])
            .args(args)
            .env_remove("ONEDECK_PASSWORD")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run onedeck-cli vm: {e}"));
        if let Some(mut stdin) = child.stdin.take() {
            let _ = writeln!(stdin, "{password}");
        }
        child.wait_with_output().unwrap_or_else(|e| panic!("{e}"))
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn json(out: &Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
}

fn run_sim(sim: &Sim, args: &[&str]) -> serde_json::Value {
    json(&sim.vm("alice", args))
}

#[test]
fn list_show_and_act() {
    let sim = Sim::start();
    // --json before the subcommand: accepted anywhere on the line.
    let out = Command::new(env!("CARGO_BIN_EXE_onedeck-cli"))
        .args([
            "--json",
            "vm",
            "--endpoint",
            &sim.url,
            "--user",
            "alice",
            "list",
        ])
        .env("ONEDECK_PASSWORD", "alice")
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let list = json(&out);
    let rows = list
        .as_array()
        .unwrap_or_else(|| panic!("an array: {list}"));
    assert!(!rows.is_empty());
    assert!(rows.iter().all(|r| r["owner"] == "alice"));
    let poweroff = rows
        .iter()
        .find(|r| r["state"] == "POWEROFF")
        .unwrap_or_else(|| panic!("a POWEROFF VM: {list}"));
    let running = rows
        .iter()
        .find(|r| r["state"] == "RUNNING")
        .unwrap_or_else(|| panic!("a RUNNING VM: {list}"));

    let id = running["id"].to_string();
    let show = run_sim(&sim, &["show", &id, "--json"]);
    assert_eq!(show["stateLabel"], "RUNNING");
    assert!(show["graphics"]["port"].is_u64(), "{}", show["graphics"]);
    let ops = show["operations"]
        .as_array()
        .unwrap_or_else(|| panic!("{show}"));
    assert!(
        ops.iter()
            .any(|o| o["op"] == "poweroff" && o["allowed"] == true)
    );
    assert!(
        ops.iter()
            .any(|o| o["op"] == "resume" && o["allowed"] == false)
    );

    let id = poweroff["id"].to_string();
    let done = run_sim(&sim, &["action", &id, "resume", "--json"]);
    assert_eq!(done["vmId"].to_string(), id);
    // Right after resume the VM is booting: suspend is refused with oned's words, exit 1.
    let refused = sim.vm("alice", &["action", &id, "suspend"]);
    assert_eq!(refused.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("[one.vm.action] Error performing action \"suspend\""),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "one clear line: {stderr}");
}

#[test]
fn templates_create_resize_rename_snapshots_reinstall_delete() {
    let sim = Sim::start();
    let list = run_sim(&sim, &["template", "list", "--json"]);
    let templates = list.as_array().unwrap_or_else(|| panic!("{list}"));
    let web = templates
        .iter()
        .find(|t| t["name"] == "web-inputs")
        .unwrap_or_else(|| panic!("web-inputs: {list}"));
    assert!(web["id"].is_i64());
    let show = run_sim(&sim, &["template", "show", "web-inputs", "--json"]);
    assert_eq!(show["userInputs"].as_array().map(Vec::len), Some(11));

    // A bad answer: exit 1, the input named, nothing created.
    let bad = sim.vm(
        "alice",
        &[
            "create",
            "--template",
            "web-inputs",
            "--input",
            "ADMIN_PASSWORD=pw",
            "--input",
            "BLOG_TITLE=Hi",
            "--input",
            "EDITION=community",
            "--input",
            "PORT=80",
            "--input",
            "WORKERS=99",
        ],
    );
    assert_eq!(bad.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(
        stderr.contains("WORKERS: must be between 1 and 16"),
        "{stderr}"
    );

    let created = run_sim(
        &sim,
        &[
            "create",
            "--template",
            "web-inputs",
            "--name",
            "cli-%i",
            "--count",
            "2",
            "--input",
            "ADMIN_PASSWORD=pw",
            "--input",
            "BLOG_TITLE=Hi",
            "--input",
            "EDITION=community",
            "--input",
            "WORKERS=2",
            "--input",
            "PORT=80",
            "--hold",
            "--json",
        ],
    );
    let ids = created["ids"]
        .as_array()
        .unwrap_or_else(|| panic!("{created}"));
    assert_eq!(ids.len(), 2, "{created}");
    let id = ids[0].to_string();
    let held = run_sim(&sim, &["show", &id, "--json"]);
    assert_eq!(
        (held["stateLabel"].as_str(), held["name"].as_str()),
        (Some("HOLD"), Some("cli-0"))
    );

    run_sim(
        &sim,
        &["resize", &id, "--memory", "512", "--vcpu", "2", "--json"],
    );
    run_sim(&sim, &["rename", &id, "cli-renamed", "--json"]);
    let shown = run_sim(&sim, &["show", &id, "--json"]);
    assert_eq!(
        (shown["memoryMib"].as_u64(), shown["name"].as_str()),
        (Some(512), Some("cli-renamed"))
    );

    // Snapshots need a RUNNING VM: VM 0 is alice's.
    let snap = run_sim(&sim, &["snapshot", "create", "0", "--name", "s1", "--json"]);
    let sid = snap["snapshotId"].to_string();
    let listed = run_sim(&sim, &["snapshot", "list", "0", "--json"]);
    assert_eq!(listed[0]["name"], "s1", "{listed}");
    std::thread::sleep(std::time::Duration::from_millis(300));
    run_sim(&sim, &["snapshot", "delete", "0", &sid, "--json"]);

    let reinstalled = run_sim(&sim, &["reinstall", "5", "--json"]);
    assert_eq!(reinstalled["way"], "replaced", "{reinstalled}");
    assert_eq!(reinstalled["oldVmId"], 5);
    assert!(reinstalled["vmId"].as_i64().is_some_and(|n| n != 5));

    let deleted = run_sim(&sim, &["delete", &id, "--hard", "--json"]);
    assert_eq!(deleted["vmId"].to_string(), id);
    let monitor = run_sim(&sim, &["monitor", "0", "--json"]);
    assert!(monitor["points"].as_array().is_some_and(|p| !p.is_empty()));
}

#[test]
fn usage_errors_exit_2() {
    let sim = Sim::start();
    for args in [
        vec!["vm", "list"],
        vec![
            "vm",
            "--profile",
            "x",
            "--endpoint",
            &sim.url,
            "--user",
            "alice",
            "list",
        ],
        vec!["sim", "--profile", "x"],
        vec!["vm", "frobnicate"],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_onedeck-cli"))
            .args(&args)
            .env("ONEDECK_PASSWORD", "alice")
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn bad_password_and_unknown_action_fail_clearly() {
    let sim = Sim::start();
    let out = sim.vm("wrong", &["list"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("authentication failed"));
    let out = sim.vm("alice", &["action", "0", "explode"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown action"));
    // There is no way to pass the password as an argument.
    let out = Command::new(env!("CARGO_BIN_EXE_onedeck-cli"))
        .args([
            "vm",
            "--endpoint",
            &sim.url,
            "--user",
            "alice",
            "--password",
            "alice",
            "list",
        ])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(!out.status.success());
}
