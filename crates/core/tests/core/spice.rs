//! The SPICE hand-off against the simulator, whose SPICE VMs run QEMU's SPICE server. A stand-in
//! for remote-viewer (a script) records the `.vv` file it is given and connects to its port: the
//! real remote-viewer is driven in the E2E test.

use std::path::{Path, PathBuf};
use std::time::Duration;

use onedeck_core::{Deck, DemoPolicy, ErrorKind, SpiceConfig, VmId};
use onedeck_opennebula::{Client, Credentials, Endpoint, Instantiate};
use onedeck_sim::SimHandle;

use crate::support::{Env, PASSWORD, TestResult, USER, input, sim};

/// QEMU runs the simulator's SPICE consoles: without it (and not required) the test skips.
fn qemu_present(test: &str) -> bool {
    let found = std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join("qemu-system-x86_64").is_file()));
    if !found {
        assert!(
            std::env::var_os("ONEDECK_REQUIRE_QEMU").is_none(),
            "qemu-system-x86_64 is required (ONEDECK_REQUIRE_QEMU is set) but not installed"
        );
        eprintln!("SKIPPED {test}: qemu-system-x86_64 is not installed");
    }
    found
}

struct Fixture {
    sim: SimHandle,
    _env: Env,
    deck: Deck,
    profile: onedeck_vault::ProfileId,
    dir: tempfile::TempDir,
}

impl Fixture {
    /// A signed-in deck whose remote-viewer is `viewer` and whose `.vv` files go to `vv/`.
    async fn new(viewer: Option<PathBuf>) -> Result<Self, Box<dyn std::error::Error>> {
        let sim = sim().await?;
        let env = Env::new()?;
        let dir = tempfile::tempdir()?;
        let mut config = env.config(DemoPolicy::Never);
        config.spice = SpiceConfig {
            remote_viewer: viewer,
            vv_dir: Some(dir.path().join("vv")),
        };
        let deck = Deck::start(config).await?;
        let profile = deck
            .save_profile(
                input(&sim.endpoint_url(), onedeck_core::AuthModeName::Password),
                Some(PASSWORD.into()),
                true,
            )
            .await?
            .id;
        Ok(Self {
            sim,
            _env: env,
            deck,
            profile,
            dir,
        })
    }

    /// A running VM from template 0 whose GRAPHICS is replaced by `graphics`.
    async fn vm(&self, graphics: &str) -> Result<VmId, Box<dyn std::error::Error>> {
        let client = Client::new(
            Endpoint::new(self.sim.endpoint_url()),
            Credentials::new(USER, PASSWORD),
        )?;
        let made = client
            .template_instantiate(
                onedeck_opennebula::TemplateId(0),
                &Instantiate {
                    name: "spice-vm".into(),
                    count: 1,
                    extra_template: graphics.into(),
                    ..Instantiate::default()
                },
            )
            .await?;
        let id = *made.first().ok_or("no VM made")?;
        for _ in 0..200 {
            let inv = self.deck.inventory_refresh(&self.profile).await?;
            if inv.vms.iter().any(|v| v.id == id && (v.spice || v.console)) {
                return Ok(id);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Err("the VM did not reach RUNNING".into())
    }

    fn vv_files(&self) -> Vec<PathBuf> {
        std::fs::read_dir(self.dir.path().join("vv"))
            .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default()
    }

    async fn stop(self) -> TestResult {
        self.deck.shutdown().await;
        self.sim.shutdown().await?;
        Ok(())
    }
}

/// A stand-in viewer: copies its file and the file's mode to `out/`, connects to the file's
/// port, then either stays for `stay` seconds or exits with `exit`.
fn fake_viewer(dir: &Path, body: &str) -> Result<PathBuf, Box<dyn std::error::Error>> {
    use std::os::unix::fs::PermissionsExt;
    let out = dir.join("out");
    std::fs::create_dir_all(&out)?;
    let script = dir.join("remote-viewer");
    std::fs::write(
        &script,
        format!(
            "#!/bin/bash\nout='{}'\nstat -c %a \"$1\" > \"$out/mode\"\ncp \"$1\" \"$out/vv\"\n{body}\n",
            out.display()
        ),
    )?;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755))?;
    Ok(script)
}

/// The stand-in viewer's part after it recorded its file: connect to the file's port, stay 1 s.
const CONNECT_AND_STAY: &str =
    "port=$(sed -n 's/^port=//p' \"$1\")\nexec 3<>/dev/tcp/127.0.0.1/$port\nsleep 1";

const SPICE: &str = "GRAPHICS=[TYPE=\"SPICE\",LISTEN=\"0.0.0.0\"]";

#[tokio::test]
async fn a_spice_console_is_handed_to_the_viewer_through_a_loopback_forward() -> TestResult {
    if !qemu_present("a_spice_console_is_handed_to_the_viewer_through_a_loopback_forward") {
        return Ok(());
    }
    let bin = tempfile::tempdir()?;
    let viewer = fake_viewer(bin.path(), CONNECT_AND_STAY)?;
    let f = Fixture::new(Some(viewer.clone())).await?;
    let vm = f.vm(SPICE).await?;
    let inv = f.deck.inventory_cached(&f.profile).await?.ok_or("cached")?;
    let row = inv.rows.iter().find(|v| v.id == vm).ok_or("row")?;
    assert!(row.spice && !row.console, "a SPICE row: {row:?}");

    let handoff = f.deck.spice_open(&f.profile, vm).await?;
    assert_eq!(handoff.vm_id, vm);
    assert_eq!(handoff.viewer, viewer.display().to_string());
    assert!(handoff.connected, "the stand-in connected at once");

    let out = bin.path().join("out");
    assert_eq!(std::fs::read_to_string(out.join("mode"))?.trim(), "600");
    let vv = std::fs::read_to_string(out.join("vv"))?;
    let lines: Vec<&str> = vv.lines().collect();
    assert_eq!(lines[0], "[virt-viewer]");
    assert!(lines.contains(&"type=spice"), "{vv}");
    assert!(lines.contains(&"host=127.0.0.1"), "{vv}");
    assert!(lines.contains(&"delete-this-file=1"), "{vv}");
    assert!(
        lines.contains(&"title=spice-vm — Lab cloud — OneDeck"),
        "{vv}"
    );
    assert!(!vv.contains("password="), "no PASSWD, no password: {vv}");
    let port: u16 = lines
        .iter()
        .find_map(|l| l.strip_prefix("port="))
        .ok_or("a port line")?
        .parse()?;
    let sim_port = f
        .sim
        .vnc_port(u32::try_from(vm.0)?)
        .ok_or("the VM's console port")?;
    assert_ne!(
        port, sim_port,
        "the viewer gets the forward, not the VM's target"
    );
    let dir_mode = {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(f.dir.path().join("vv"))?
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(dir_mode, 0o700);
    // The app removes the file once the viewer connected (remote-viewer deletes it too).
    for _ in 0..100 {
        if f.vv_files().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(f.vv_files(), Vec::<PathBuf>::new());
    f.stop().await
}

#[tokio::test]
async fn a_spice_password_reaches_only_the_viewers_file() -> TestResult {
    if !qemu_present("a_spice_password_reaches_only_the_viewers_file") {
        return Ok(());
    }
    let bin = tempfile::tempdir()?;
    let viewer = fake_viewer(bin.path(), CONNECT_AND_STAY)?;
    let f = Fixture::new(Some(viewer)).await?;
    let vm = f
        .vm("GRAPHICS=[TYPE=\"SPICE\",LISTEN=\"0.0.0.0\",PASSWD=\"spice-Pw-93\"]")
        .await?;
    f.deck.spice_open(&f.profile, vm).await?;
    let vv = std::fs::read_to_string(bin.path().join("out/vv"))?;
    assert!(vv.lines().any(|l| l == "password=spice-Pw-93"), "{vv}");
    let cached = serde_json::to_string(&f.deck.inventory_cached(&f.profile).await?)?;
    assert!(
        !cached.contains("spice-Pw-93"),
        "the inventory has no password"
    );
    f.stop().await
}

#[tokio::test]
async fn without_remote_viewer_nothing_is_opened_or_written() -> TestResult {
    let f = Fixture::new(Some(PathBuf::from("/nonexistent/remote-viewer"))).await?;
    // No QEMU needed: the viewer is looked for before anything else.
    let err = f
        .deck
        .spice_open(&f.profile, VmId(0))
        .await
        .err()
        .ok_or("refused")?;
    assert_eq!(err.kind(), ErrorKind::RemoteViewer);
    let params = err.params();
    assert_eq!(params["problem"], "missing");
    assert!(
        params["hint"]
            .as_str()
            .is_some_and(|h| h.contains("apt install virt-viewer")),
        "{params:?}"
    );
    assert!(
        err.to_string().contains("/nonexistent/remote-viewer"),
        "{err}"
    );
    assert!(f.vv_files().is_empty(), "no .vv file was written");
    f.stop().await
}

#[tokio::test]
async fn a_vnc_vm_and_a_viewer_that_quits_are_refused_clearly() -> TestResult {
    if !qemu_present("a_vnc_vm_and_a_viewer_that_quits_are_refused_clearly") {
        return Ok(());
    }
    let bin = tempfile::tempdir()?;
    let viewer = fake_viewer(bin.path(), "echo 'cannot open display' >&2\nexit 3")?;
    let f = Fixture::new(Some(viewer)).await?;
    let vnc = f.vm("GRAPHICS=[TYPE=\"VNC\",LISTEN=\"0.0.0.0\"]").await?;
    let err = f
        .deck
        .spice_open(&f.profile, vnc)
        .await
        .err()
        .ok_or("a VNC VM is not handed off")?;
    assert_eq!(err.kind(), ErrorKind::NoConsole);
    assert_eq!(err.params()["reason"], "not_spice");

    let spice = f.vm(SPICE).await?;
    let err = f
        .deck
        .spice_open(&f.profile, spice)
        .await
        .err()
        .ok_or("a viewer that quits is an error")?;
    assert_eq!(err.kind(), ErrorKind::RemoteViewer);
    assert_eq!(err.params()["problem"], "failed");
    assert!(err.to_string().contains("exit status: 3"), "{err}");
    assert!(f.vv_files().is_empty(), "the .vv file is removed");
    f.stop().await
}
