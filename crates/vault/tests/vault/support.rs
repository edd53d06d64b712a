//! Shared helpers: the keyring gate and child processes.

use std::process::{Command, Output};

use onedeck_vault::SecretStore;

/// Env var that makes keyring tests skip (loudly) instead of failing when no keyring is present.
pub const SKIP_ENV: &str = "ONEDECK_TEST_NO_KEYRING";

/// The OS keyring, or `None` when it is missing and skipping was asked for with
/// `ONEDECK_TEST_NO_KEYRING=1`. Without that, a missing keyring fails the test: these tests must
/// not pass by doing nothing.
pub fn keyring_or_skip(test: &str) -> Option<SecretStore> {
    let skip = std::env::var(SKIP_ENV).is_ok_and(|v| v == "1");
    let problem = if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_none() {
        "no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is unset)".to_owned()
    } else {
        match SecretStore::os_keyring().and_then(|s| s.check().map(|()| s)) {
            Ok(store) => return Some(store),
            Err(e) => e.to_string(),
        }
    };
    if skip {
        eprintln!(
            "\n!!!!! SKIPPED keyring test `{test}`: {problem}\n!!!!! ({SKIP_ENV}=1 is set; run under scripts/with-keyring.sh to test the real keyring)\n"
        );
        None
    } else {
        panic!(
            "keyring test `{test}` needs a Secret Service: {problem}. Run it under \
             `scripts/with-keyring.sh cargo test -p onedeck-vault`, or set {SKIP_ENV}=1 to skip on purpose"
        );
    }
}

/// A command that runs only the ignored test `name` of this test binary, in a child process.
pub fn child(name: &str) -> Command {
    let exe = std::env::current_exe().expect("the test binary knows its own path");
    let mut cmd = Command::new(exe);
    cmd.args([
        name,
        "--exact",
        "--ignored",
        "--nocapture",
        "--test-threads=1",
    ]);
    cmd
}

/// Asserts that a child ran its one test and passed, printing its output otherwise.
pub fn assert_child_passed(out: &Output, marker: &str) {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains(marker) && stdout.contains("1 passed"),
        "child failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        out.status
    );
}

/// A fresh, unique profile id for tests sharing one keyring.
pub fn unique_id(prefix: &str) -> onedeck_vault::ProfileId {
    onedeck_vault::ProfileId::generate(prefix)
}
