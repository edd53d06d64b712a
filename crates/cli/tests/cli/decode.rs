//! `onedeck-cli decode`: JSON on stdout and exit 0 for real documents; one line naming the element
//! and line/column, exit 1, for broken ones.

use std::path::PathBuf;
use std::process::{Command, Output};

fn fixture(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../opennebula/tests/fixtures")
        .join(path)
}

fn decode(kind: &str, file: &std::path::Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_onedeck-cli"))
        .args(["decode", kind])
        .arg(file)
        .output()
        .unwrap_or_else(|e| panic!("cannot run onedeck-cli: {e}"))
}

fn json(out: &Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "exit {:?}, stderr {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("stdout is not JSON: {e}"))
}

#[test]
fn every_kind_decodes_a_real_document() {
    let cases = [
        (
            "vm",
            "real-oned-7.4.0/one.vm.info.oneadmin-disk-nic.response.xml",
        ),
        ("vm", "synthetic/vm-info_running-vnc.xml"),
        ("vm-pool", "synthetic/vmpool-info_short.xml"),
        (
            "template",
            "real-oned-7.4.0/one.template.info.alice.response.xml",
        ),
        ("template-pool", "synthetic/templatepool-info.xml"),
        ("host", "real-oned-7.4.0/one.host.info.response.xml"),
        ("host-pool", "synthetic/hostpool-info.xml"),
        (
            "user",
            "real-oned-7.4.0/one.user.info.self-alice.response.xml",
        ),
        (
            "xmlrpc-response",
            "real-oned-7.4.0/one.vmpool.info.alice.filter-1.response.xml",
        ),
    ];
    for (kind, file) in cases {
        let v = json(&decode(kind, &fixture(file)));
        assert!(v.is_object(), "{kind} {file}: {v}");
    }
}

#[test]
fn vm_json_has_stable_snake_case_fields_and_no_password() {
    let out = decode("vm", &fixture("synthetic/vm-info_running-vnc.xml"));
    let v = json(&out);
    assert_eq!(v["id"], 42);
    assert_eq!(v["name"], "web-42");
    assert_eq!(v["state"], "active");
    assert_eq!(v["lcm_state"], "running");
    assert_eq!(v["template"]["graphics"]["port"], 5942);
    assert_eq!(v["template"]["graphics"]["has_password"], true);
    assert_eq!(v["template"]["nics"][0]["ip"], "192.0.2.42");
    assert_eq!(v["history"][1]["hostname"], "kvm-node-02");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        !text.contains("9c4e1a7f"),
        "the VNC password must not be printed"
    );
}

#[test]
fn xmlrpc_failure_replies_are_decoded_not_rejected() {
    let v = json(&decode(
        "xmlrpc-response",
        &fixture("real-oned-7.4.0/error.authorization.one.vm.info.alice-reads-bob.response.xml"),
    ));
    assert_eq!(v["ok"], false);
    assert_eq!(v["error"]["code"], 512);
    assert_eq!(v["error"]["kind"], "authorization");
    let v = json(&decode(
        "xmlrpc-response",
        &fixture("real-oned-7.4.0/error.unknown_method.response.xml"),
    ));
    assert_eq!(v["error"]["code"], -506);
    let v = json(&decode(
        "xmlrpc-response",
        &fixture("real-oned-7.4.0/one.vm.action.poweroff.response.xml"),
    ));
    assert_eq!(v, serde_json::json!({ "ok": true, "result": 0 }));
}

#[test]
fn broken_document_exits_1_with_one_line() {
    let dir = std::env::temp_dir().join(format!("onedeck-cli-decode-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let bad = dir.join("bad-vm.xml");
    std::fs::write(
        &bad,
        "<VM><ID>7</ID>\n<STATE>3</STATE><TEMPLATE><MEMORY>lots</MEMORY></TEMPLATE></VM>",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let out = Command::new(env!("CARGO_BIN_EXE_onedeck-cli"))
        .args(["decode", "vm"])
        .arg(&bad)
        .env("RUST_BACKTRACE", "1")
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        err.trim_end().lines().count(),
        1,
        "one line, even with RUST_BACKTRACE: {err}"
    );
    assert!(
        err.contains("VM/TEMPLATE/MEMORY") && err.contains("line 2, column 27"),
        "{err}"
    );

    let truncated = dir.join("truncated.xml");
    std::fs::write(&truncated, "<VM_POOL><VM><ID>1</ID><STATE>3</STATE>")
        .unwrap_or_else(|e| panic!("{e}"));
    let out = decode("vm-pool", &truncated);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("VM_POOL/VM") && err.contains("line 1"),
        "{err}"
    );

    let wrong = decode("host", &fixture("synthetic/vm-info_running-vnc.xml"));
    assert_eq!(wrong.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&wrong.stderr).contains("expected a <HOST> document, found <VM>")
    );
    let _ = std::fs::remove_dir_all(&dir);
}
