//! VM management through the deck against the in-process simulator, as alice (a plain user):
//! details, actions with their watch events, wrong-state and authorization errors with oned's
//! own message, resize, rename, snapshots, create with USER_INPUTS, reinstall, bulk, monitoring.

use std::collections::BTreeMap;
use std::time::Duration;

use onedeck_core::{
    AuthModeName, CapacityInput, CreateRequest, Deck, DeckEvent, ErrorKind, ProfileId,
    ProfileInput, SnapshotId, TemplateId, VmAction, VmFilterName, VmId, VmSummary,
    view::ReinstallWay,
};
use onedeck_sim::{SimConfig, SimHandle, Simulator};
use tokio::sync::broadcast;

use crate::support::{Env, TestResult, kind};

const RUNNING: VmId = VmId(0);
const POWEROFF: VmId = VmId(1);
const BOBS: VmId = VmId(10);

struct Alice {
    sim: SimHandle,
    _env: Env,
    deck: Deck,
    id: ProfileId,
    events: broadcast::Receiver<DeckEvent>,
    /// Settled events that arrived while another VM was awaited.
    early: std::collections::HashMap<VmId, Option<VmSummary>>,
}

async fn alice() -> Result<Alice, Box<dyn std::error::Error>> {
    let sim = Simulator::start(SimConfig {
        vnc_base: onedeck_sim::free_vnc_base(64)?,
        templates: 1,
        ..SimConfig::default()
    })
    .await?;
    let env = Env::new()?;
    let deck = env.deck().await?;
    let profile = deck
        .save_profile(
            ProfileInput {
                id: None,
                name: "Lab".into(),
                url: sim.endpoint_url(),
                user: "alice".into(),
                auth_mode: AuthModeName::Password,
                vm_filter: VmFilterName::Mine,
                pinned_sha256: None,
                ca_file: None,
                token_ttl_secs: None,
                renew_before_secs: None,
                console_hosts: None,
                allow_plain_http: false,
                record_consoles: false,
                console_transport: None,
            },
            Some("alice".into()),
            false,
        )
        .await?;
    let events = deck.subscribe();
    Ok(Alice {
        sim,
        _env: env,
        deck,
        id: profile.id,
        events,
        early: std::collections::HashMap::new(),
    })
}

impl Alice {
    async fn stop(self) -> TestResult {
        self.deck.shutdown().await;
        self.sim.shutdown().await?;
        Ok(())
    }

    /// The watch's events for `vm` until one says "settled"; returns the last row.
    async fn settled(&mut self, vm: VmId) -> Result<Option<VmSummary>, Box<dyn std::error::Error>> {
        if let Some(row) = self.early.remove(&vm) {
            return Ok(row);
        }
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let event = tokio::time::timeout_at(deadline, self.events.recv()).await??;
            if let DeckEvent::VmChanged {
                vm_id,
                vm: row,
                settled,
                ..
            } = event
                && settled
            {
                if vm_id == vm {
                    return Ok(row);
                }
                self.early.insert(vm_id, row);
            }
        }
    }
}

fn state(row: &Option<VmSummary>) -> &str {
    row.as_ref().map_or("gone", |r| r.state.as_str())
}

#[tokio::test]
async fn details_show_the_vm_and_the_operations_its_state_allows() -> TestResult {
    let a = alice().await?;
    let d = a.deck.vm_details(&a.id, RUNNING).await?;
    assert_eq!((d.id, d.state_label.as_str()), (RUNNING, "RUNNING"));
    assert_eq!(d.lcm_state.as_deref(), Some("RUNNING"));
    assert!(d.host.is_some(), "a running VM has a host");
    assert!(!d.history.is_empty(), "and a history record");
    let allowed = |op: &str| {
        d.operations
            .iter()
            .find(|o| {
                serde_json::to_value(o.op)
                    .ok()
                    .as_ref()
                    .and_then(|v| v.as_str())
                    == Some(op)
            })
            .map(|o| o.allowed)
    };
    assert_eq!(allowed("poweroff"), Some(true));
    assert_eq!(allowed("resume"), Some(false), "RUNNING cannot resume");
    assert_eq!(allowed("snapshot-create"), Some(true));
    let json = serde_json::to_string(&d)?;
    assert!(
        !json.contains("PASSWD") && !json.contains("s3cret"),
        "{json}"
    );
    a.stop().await
}

#[tokio::test]
async fn poweroff_resize_rename_resume_settle_by_themselves() -> TestResult {
    let mut a = alice().await?;
    a.deck.vm_action(&a.id, RUNNING, VmAction::Poweroff).await?;
    let row = a.settled(RUNNING).await?;
    assert_eq!(state(&row), "POWEROFF", "the watch follows it to POWEROFF");
    assert_eq!(a.deck.vm_details(&a.id, RUNNING).await?.state, "POWEROFF");

    let capacity = CapacityInput {
        cpu: Some(0.5),
        vcpu: Some(2),
        memory_mib: Some(256),
    };
    a.deck.vm_resize(&a.id, RUNNING, capacity, false).await?;
    a.settled(RUNNING).await?;
    let d = a.deck.vm_details(&a.id, RUNNING).await?;
    assert_eq!(
        (d.cpu, d.vcpu, d.memory_mib),
        (Some(0.5), Some(2), Some(256))
    );

    a.deck.vm_rename(&a.id, RUNNING, "  renamed-vm  ").await?;
    let row = a.settled(RUNNING).await?;
    assert_eq!(row.map(|r| r.name).as_deref(), Some("renamed-vm"));
    assert_eq!(
        kind(a.deck.vm_rename(&a.id, RUNNING, "two\nlines").await),
        Some(ErrorKind::InvalidInput)
    );

    a.deck.vm_action(&a.id, RUNNING, VmAction::Resume).await?;
    assert_eq!(state(&a.settled(RUNNING).await?), "RUNNING");
    a.stop().await
}

#[tokio::test]
async fn refusals_carry_onedeck_kind_and_oned_message() -> TestResult {
    let a = alice().await?;
    let e = a
        .deck
        .vm_action(&a.id, POWEROFF, VmAction::Suspend)
        .await
        .expect_err("POWEROFF cannot suspend");
    assert_eq!(e.kind(), ErrorKind::WrongState);
    let p = e.params();
    assert_eq!(
        p["oned"],
        "[one.vm.action] Error performing action \"suspend\": This action is not available for state POWEROFF"
    );
    assert_eq!(p["code"], 2048);

    let e = a
        .deck
        .vm_action(&a.id, BOBS, VmAction::Poweroff)
        .await
        .expect_err("bob's VM");
    assert_eq!(e.kind(), ErrorKind::Authorization);
    assert!(
        e.params()["oned"]
            .as_str()
            .is_some_and(|m| m.contains("Not authorized to perform MANAGE VM [10]"))
    );

    let e = a
        .deck
        .vm_resize(&a.id, POWEROFF, CapacityInput::default(), false)
        .await
        .expect_err("nothing to resize");
    assert_eq!(e.params()["field"], "capacity");
    a.stop().await
}

#[tokio::test]
async fn snapshots_are_created_reverted_and_deleted() -> TestResult {
    let mut a = alice().await?;
    let made = a
        .deck
        .vm_snapshot_create(&a.id, RUNNING, "before upgrade")
        .await?;
    a.settled(RUNNING).await?;
    let d = a.deck.vm_details(&a.id, RUNNING).await?;
    assert_eq!(d.snapshots.len(), 1);
    assert_eq!(d.snapshots[0].snapshot_id, made.snapshot_id);
    assert_eq!(d.snapshots[0].name, "before upgrade");
    a.deck
        .vm_snapshot_revert(&a.id, RUNNING, made.snapshot_id)
        .await?;
    assert_eq!(state(&a.settled(RUNNING).await?), "RUNNING");
    a.deck
        .vm_snapshot_delete(&a.id, RUNNING, made.snapshot_id)
        .await?;
    a.settled(RUNNING).await?;
    assert!(
        a.deck
            .vm_details(&a.id, RUNNING)
            .await?
            .snapshots
            .is_empty()
    );
    assert_eq!(
        kind(
            a.deck
                .vm_snapshot_revert(&a.id, RUNNING, SnapshotId(99))
                .await
        ),
        Some(ErrorKind::WrongState),
        "an unknown snapshot is oned's ACTION error"
    );
    a.stop().await
}

fn answers(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[tokio::test]
async fn create_checks_user_inputs_before_sending_and_the_vms_run_by_themselves() -> TestResult {
    let mut a = alice().await?;
    let templates = a.deck.template_list(&a.id).await?;
    let web = templates
        .iter()
        .find(|t| t.name == "web-inputs")
        .ok_or("the simulator's web-inputs template")?;
    assert_eq!(web.user_inputs.len(), 11, "one input of every type");
    assert_eq!(
        web.user_inputs[0].name, "BLOG_TITLE",
        "INPUTS_ORDER is honoured"
    );
    let before = a.deck.inventory_refresh(&a.id).await?.vms.len();

    let good = answers(&[
        ("ADMIN_PASSWORD", "pw"),
        ("BLOG_TITLE", "Hello"),
        ("EDITION", "enterprise"),
        ("WORKERS", "4"),
        ("PORT", "8080"),
    ]);
    for (name, value, problem) in [
        ("WORKERS", "99", "outOfRange"),
        ("PORT", "eighty", "notANumber"),
        ("EDITION", "gold", "notOffered"),
        ("BLOG_TITLE", "", "required"),
        ("DEBUG", "maybe", "notBoolean"),
    ] {
        let mut bad = good.clone();
        bad.insert(name.into(), value.into());
        let e = a
            .deck
            .vm_create(
                &a.id,
                CreateRequest {
                    template_id: web.id,
                    name: "web".into(),
                    count: 1,
                    hold: false,
                    inputs: bad,
                },
            )
            .await
            .expect_err("a bad answer");
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        assert_eq!(
            (e.params()["field"].as_str(), e.params()["problem"].as_str()),
            (Some(name), Some(problem))
        );
    }
    assert_eq!(
        a.deck.inventory_refresh(&a.id).await?.vms.len(),
        before,
        "no refused request made a VM"
    );

    let created = a
        .deck
        .vm_create(
            &a.id,
            CreateRequest {
                template_id: web.id,
                name: "web-%i".into(),
                count: 2,
                hold: false,
                inputs: good,
            },
        )
        .await?;
    assert_eq!(created.ids.len(), 2);
    let inv = a.deck.inventory_refresh(&a.id).await?;
    let names: Vec<&str> = inv
        .vms
        .iter()
        .filter(|v| created.ids.contains(&v.id))
        .map(|v| v.name.as_str())
        .collect();
    assert_eq!(names.len(), 2);
    assert!(
        names.contains(&"web-0") && names.contains(&"web-1"),
        "{names:?}"
    );
    for id in created.ids.clone() {
        assert_eq!(
            state(&a.settled(id).await?),
            "RUNNING",
            "VM {id} runs by itself"
        );
    }
    let too_many = CreateRequest {
        template_id: TemplateId(0),
        name: String::new(),
        count: 101,
        hold: false,
        inputs: BTreeMap::new(),
    };
    assert_eq!(
        kind(a.deck.vm_create(&a.id, too_many).await),
        Some(ErrorKind::InvalidInput)
    );
    a.stop().await
}

#[tokio::test]
async fn reinstall_without_admin_rights_replaces_the_vm() -> TestResult {
    let mut a = alice().await?;
    let r = a.deck.vm_reinstall(&a.id, RUNNING).await?;
    assert_eq!(r.way, ReinstallWay::Replaced, "alice may not recover");
    assert_eq!(r.old_vm_id, RUNNING);
    assert_ne!(r.vm_id, RUNNING);
    assert_eq!(state(&a.settled(r.vm_id).await?), "RUNNING");
    let inv = a.deck.inventory_refresh(&a.id).await?;
    let new = inv
        .vms
        .iter()
        .find(|v| v.id == r.vm_id)
        .ok_or("the new VM")?;
    assert_eq!(new.name, "alice-run", "same name");
    assert_eq!(
        state(&a.settled(RUNNING).await?),
        "gone",
        "the old VM is terminated"
    );
    a.stop().await
}

#[tokio::test]
async fn bulk_actions_report_per_vm() -> TestResult {
    let a = alice().await?;
    let results = a
        .deck
        .vm_bulk_action(&a.id, &[RUNNING, BOBS, VmId(5)], VmAction::Poweroff)
        .await?;
    let summary: Vec<(VmId, bool)> = results.iter().map(|r| (r.vm_id, r.ok)).collect();
    assert_eq!(summary, [(RUNNING, true), (BOBS, false), (VmId(5), true)]);
    let err = results[1].error.as_ref().ok_or("bob's VM fails")?;
    assert_eq!(err.kind, ErrorKind::Authorization);
    assert!(
        err.params["oned"]
            .as_str()
            .is_some_and(|m| m.contains("Not authorized"))
    );
    a.stop().await
}

#[tokio::test]
async fn monitoring_is_a_series_of_rates_and_delete_ends_the_vm() -> TestResult {
    let mut a = alice().await?;
    let s = a.deck.vm_monitoring(&a.id, RUNNING, 3600).await?;
    assert!(
        s.points.len() >= 2,
        "a running VM has monitoring: {}",
        s.points.len()
    );
    assert!(s.points.windows(2).all(|w| w[0].t < w[1].t), "oldest first");
    assert!(
        s.points
            .iter()
            .skip(1)
            .all(|p| p.net_rx_bps.is_some_and(|r| r >= 0.0))
    );
    assert_eq!(
        kind(a.deck.vm_monitoring(&a.id, RUNNING, 0).await),
        Some(ErrorKind::InvalidInput)
    );

    a.deck.vm_delete(&a.id, RUNNING, true).await?;
    assert_eq!(state(&a.settled(RUNNING).await?), "gone");
    // oned still answers one.vm.info for a DONE VM (the alice-done capture).
    assert_eq!(a.deck.vm_details(&a.id, RUNNING).await?.state, "DONE");
    a.stop().await
}
