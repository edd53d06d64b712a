//! Against the simulator (`onedeck-sim`, written independently from oned's captures): the whole
//! client path over real HTTP, with oned's state machine and ACLs on the other side.

use std::collections::BTreeMap;
use std::time::Duration;

use onedeck_opennebula::{
    Client, Credentials, Endpoint, Error, PoolFilter, PoolRange, Reinstall, StateFilter, Vm,
    VmAction, VmId, VmState,
};
use onedeck_sim::{DEMO_ADMIN, DEMO_ALICE, SimConfig, SimHandle, Simulator, VncMode};

type TestResult = Result<(), Box<dyn std::error::Error>>;

async fn sim() -> Result<SimHandle, Box<dyn std::error::Error>> {
    Ok(Simulator::start(SimConfig {
        vnc: VncMode::None,
        ..SimConfig::default()
    })
    .await?)
}

fn client(sim: &SimHandle, (user, password): (&str, &str)) -> Result<Client, Error> {
    Client::new(
        Endpoint::new(sim.endpoint_url()),
        Credentials::new(user, password),
    )
}

/// Polls `vm_info` until `done` holds; the simulator's transitions take a short, real time.
async fn wait_for(
    c: &Client,
    id: VmId,
    done: impl Fn(&Vm) -> bool,
) -> Result<Vm, Box<dyn std::error::Error>> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let vm = c.vm_info(id).await?;
        if done(&vm) {
            return Ok(vm);
        }
        if tokio::time::Instant::now() > deadline {
            return Err(format!("VM {id} stuck in {}", vm.state_label()).into());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn list_show_console_and_act() -> TestResult {
    let sim = sim().await?;
    let alice = client(&sim, DEMO_ALICE)?;
    let me = alice.user_info_self().await?;
    assert_eq!(me.name, "alice");

    let pool = alice
        .vm_pool_info(PoolFilter::Mine, StateFilter::NotDone, PoolRange::All)
        .await?;
    assert!(!pool.vms.is_empty());
    assert!(
        pool.vms.iter().all(|v| v.uname == "alice"),
        "filter -3 lists only alice's VMs"
    );
    let running = pool
        .vms
        .iter()
        .find(|v| v.state == VmState::Active && v.state_label() == "RUNNING")
        .ok_or("alice has a running VM")?;
    let target = running.console_target(&BTreeMap::new())?;
    let full = alice.vm_info(running.id).await?;
    assert_eq!(
        full.console_target(&BTreeMap::new())?.port,
        target.port,
        "pool and info agree on the port"
    );

    alice.vm_action(VmAction::Poweroff, running.id).await?;
    let off = wait_for(&alice, running.id, |v| v.state == VmState::Poweroff).await?;
    assert!(off.allowed_actions().actions.contains(&VmAction::Resume));
    match alice.vm_action(VmAction::Suspend, running.id).await {
        Err(Error::Action(e)) => assert!(e.message.contains("POWEROFF"), "{}", e.message),
        other => panic!("suspend in POWEROFF must be refused with ACTION, got {other:?}"),
    }
    sim.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn errors_from_the_simulator_are_typed() -> TestResult {
    let sim = sim().await?;
    let wrong = client(&sim, ("alice", "not-her-password"))?;
    assert!(matches!(
        wrong.user_info_self().await,
        Err(Error::Authentication(_))
    ));
    let alice = client(&sim, DEMO_ALICE)?;
    match alice.vm_info(VmId(999_999)).await {
        Err(Error::NoExists(e)) => assert_eq!(e.object_id, Some(999_999)),
        other => panic!("expected NoExists, got {other:?}"),
    }
    assert_eq!(alice.system_version().await?.split('.').next(), Some("7"));
    sim.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn reinstall_takes_the_way_the_rights_allow() -> TestResult {
    let sim = sim().await?;
    let admin = client(&sim, DEMO_ADMIN)?;
    let alice = client(&sim, DEMO_ALICE)?;
    let pool = alice
        .vm_pool_info(PoolFilter::Mine, StateFilter::NotDone, PoolRange::All)
        .await?;
    let running: Vec<VmId> = pool
        .vms
        .iter()
        .filter(|v| v.state_label() == "RUNNING")
        .map(|v| v.id)
        .collect();
    let [first, second, ..] = running[..] else {
        let labels: Vec<_> = pool.vms.iter().map(|v| (v.id.0, v.state_label())).collect();
        return Err(format!("alice has two running VMs: {labels:?}").into());
    };
    // oneadmin may recover: same id.
    assert_eq!(
        admin.vm_reinstall(first).await?,
        Reinstall::Recreated { id: first }
    );
    // alice may not: a new VM with the same name replaces the old one.
    let name = alice.vm_info(second).await?.name;
    match alice.vm_reinstall(second).await? {
        Reinstall::Replaced { old, new } => {
            assert_eq!(old, second);
            assert_ne!(new, second);
            assert_eq!(alice.vm_info(new).await?.name, name);
        }
        other => panic!("alice cannot recover, expected a replacement, got {other:?}"),
    }
    sim.shutdown().await?;
    Ok(())
}
