//! `onedeck-cli vm` against `onedeck-cli sim` (both as processes): list, show, action, and the
//! password never coming from argv.

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
            .args(["sim", "--listen", "127.0.0.1:0", "--vnc", "none"])
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
        let mut child = Command::new(env!("CARGO_BIN_EXE_onedeck-cli"))
            .args([
                "vm",
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

#[test]
fn list_show_and_act() {
    let sim = Sim::start();
    let list = json(&sim.vm("alice", &["list", "--json"]));
    let rows = list
        .as_array()
        .unwrap_or_else(|| panic!("an array: {list}"));
    assert!(!rows.is_empty());
    assert!(rows.iter().all(|r| r["owner"] == "alice"));
    let poweroff = rows
        .iter()
        .find(|r| r["state_label"] == "POWEROFF")
        .unwrap_or_else(|| panic!("a POWEROFF VM: {list}"));
    let running = rows
        .iter()
        .find(|r| r["state_label"] == "RUNNING")
        .unwrap_or_else(|| panic!("a RUNNING VM: {list}"));

    let id = running["id"].to_string();
    let show = json(&sim.vm("alice", &["show", &id, "--json"]));
    assert_eq!(show["state_label"], "RUNNING");
    assert!(
        show["console"]["port"].is_u64(),
        "a running VM has a console target: {}",
        show["console"]
    );
    assert!(
        show["allowed_actions"]["actions"]
            .as_array()
            .is_some_and(|a| a.contains(&"poweroff".into()))
    );

    let id = poweroff["id"].to_string();
    let done = json(&sim.vm("alice", &["action", &id, "resume", "--json"]));
    assert_eq!(done["ok"], true);
    // A second action that POWEROFF refuses comes back as oned's ACTION error, exit 1.
    let refused = sim.vm("alice", &["action", &id, "suspend"]);
    assert!(!refused.status.success());
}

#[test]
fn bad_password_and_unknown_action_fail_clearly() {
    let sim = Sim::start();
    let out = sim.vm("wrong", &["list"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("authentication failed"));
    let out = sim.vm("alice", &["action", "0", "explode"]);
    assert!(!out.status.success());
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
