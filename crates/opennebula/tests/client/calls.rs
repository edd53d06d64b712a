//! Each client method against a replay of its captured reply: the request body must have the
//! captured request's shape (method name, parameter order, types and values), and the result
//! must be decoded.

use onedeck_opennebula::{
    Capacity, Client, Credentials, Endpoint, Instantiate, PoolFilter, PoolRange, RecoverOp,
    Reinstall, Secret, SnapshotId, StateFilter, TemplateId, TokenValidity, UserId, VmAction, VmId,
    VmState,
};

use crate::server::{Reply, Server, request, response, shape};

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn client(server: &Server, user: &str) -> Result<Client, onedeck_opennebula::Error> {
    Client::new(
        Endpoint::new(server.url.clone()),
        Credentials::new(user, "password"),
    )
}

/// Asserts the only request the server received has the captured request's shape.
fn assert_same_shape(server: &Server, stem: &str) {
    let sent = server.requests();
    assert_eq!(sent.len(), 1, "{stem}: one call expected");
    assert_eq!(
        shape(&sent[0]),
        shape(&request(stem)),
        "{stem}: request shape"
    );
}

#[tokio::test]
async fn pool_listing_filters() -> TestResult {
    let cases = [
        ("one.vmpool.info.alice.filter-1", PoolFilter::MineAndGroups),
        ("one.vmpool.info.alice.filter-2", PoolFilter::All),
        ("one.vmpool.info.alice.filter-3", PoolFilter::Mine),
        ("one.vmpool.info.alice.filter-4", PoolFilter::PrimaryGroup),
        (
            "one.vmpool.info.oneadmin.filter-uid3",
            PoolFilter::User(UserId(3)),
        ),
    ];
    for (stem, filter) in cases {
        let server = Server::replay(response(stem)).await?;
        let pool = client(&server, "alice")?
            .vm_pool_info(filter, StateFilter::NotDone, PoolRange::All)
            .await?;
        assert!(!pool.vms.is_empty(), "{stem}");
        assert_same_shape(&server, stem);
    }
    let stem = "one.vmpool.infoextended.alice-sched-action";
    let server = Server::replay(response(stem)).await?;
    let c = client(&server, "alice")?;
    let pool = c
        .vm_pool_info_extended(
            PoolFilter::Mine,
            StateFilter::NotDone,
            PoolRange::Ids {
                from: Some(0),
                to: Some(0),
            },
        )
        .await?;
    assert_eq!(pool.vms.len(), 1);
    assert_same_shape(&server, stem);
    Ok(())
}

#[tokio::test]
async fn paging_and_state_filter_values() -> TestResult {
    let server = Server::replay(response("one.vmpool.info.alice.filter-3")).await?;
    let c = client(&server, "alice")?;
    c.vm_pool_info(
        PoolFilter::Mine,
        StateFilter::Only(VmState::Poweroff),
        PoolRange::Page {
            offset: 200,
            size: 200,
        },
    )
    .await?;
    let (method, params) = shape(&server.requests()[0]);
    assert_eq!(method, "one.vmpool.info");
    let values: Vec<&str> = params.iter().map(|(_, v)| v.as_str()).collect();
    assert_eq!(
        values,
        vec!["-3", "200", "-200", "8"],
        "filter, start, -page size, state"
    );
    Ok(())
}

#[tokio::test]
async fn vm_info_and_monitoring() -> TestResult {
    let stem = "one.vm.info.oneadmin-disk-nic";
    let server = Server::replay(response(stem)).await?;
    let vm = client(&server, "oneadmin")?.vm_info(VmId(16)).await?;
    assert_eq!(vm.name, "admin-disk-nic");
    assert_same_shape(&server, stem);

    let stem = "one.vm.monitoring.alice-running";
    let server = Server::replay(response(stem)).await?;
    let mon = client(&server, "alice")?.vm_monitoring(VmId(0)).await?;
    assert_eq!(mon.records.len(), 3);
    assert_same_shape(&server, stem);
    Ok(())
}

#[tokio::test]
async fn actions_put_the_name_first() -> TestResult {
    let cases = [
        ("one.vm.action.poweroff.alice", VmAction::Poweroff, 1),
        ("one.vm.action.reboot", VmAction::Reboot, 5),
        ("one.vm.action.resume.stopped", VmAction::Resume, 3),
        ("one.vm.action.stop", VmAction::Stop, 3),
        ("one.vm.action.suspend", VmAction::Suspend, 2),
        ("one.vm.action.terminate-hard", VmAction::TerminateHard, 6),
        ("one.vm.action.undeploy", VmAction::Undeploy, 4),
    ];
    for (stem, action, id) in cases {
        let server = Server::replay(response(stem)).await?;
        let acted = client(&server, "alice")?
            .vm_action(action, VmId(id))
            .await?;
        assert_eq!(acted, VmId(id), "{stem}: oned returns the id acted on");
        assert_same_shape(&server, stem);
    }
    Ok(())
}

#[tokio::test]
async fn recover_resize_rename_snapshot() -> TestResult {
    let stem = "one.vm.recover.oneadmin-op4";
    let server = Server::replay(response(stem)).await?;
    assert_eq!(
        client(&server, "oneadmin")?
            .vm_recover(VmId(7), RecoverOp::DeleteRecreate)
            .await?,
        VmId(7)
    );
    assert_same_shape(&server, stem);

    let stem = "one.vm.resize.poweroff";
    let server = Server::replay(response(stem)).await?;
    let cap = Capacity {
        cpu: Some(0.5),
        vcpu: Some(2),
        memory_mb: Some(256),
    };
    assert_eq!(
        client(&server, "alice")?
            .vm_resize(VmId(1), cap, false)
            .await?,
        VmId(1)
    );
    assert_same_shape(&server, stem);

    let stem = "one.vm.rename";
    let server = Server::replay(response(stem)).await?;
    client(&server, "alice")?
        .vm_rename(VmId(0), "alice-run-renamed")
        .await?;
    assert_same_shape(&server, stem);

    let stem = "one.vm.snapshotcreate";
    let server = Server::replay(response(stem)).await?;
    let snap = client(&server, "alice")?
        .vm_snapshot_create(VmId(5), "snap-1")
        .await?;
    assert_eq!(
        snap,
        SnapshotId(0),
        "snapshotcreate returns the snapshot id"
    );
    assert_same_shape(&server, stem);
    Ok(())
}

#[tokio::test]
async fn templates_hosts_users_system() -> TestResult {
    let stem = "one.templatepool.info.alice";
    let server = Server::replay(response(stem)).await?;
    let tp = client(&server, "alice")?
        .template_pool_info(PoolFilter::All, PoolRange::All)
        .await?;
    assert!(!tp.templates.is_empty());
    assert_same_shape(&server, stem);

    let stem = "one.template.info.alice";
    let server = Server::replay(response(stem)).await?;
    assert_eq!(
        client(&server, "alice")?
            .template_info(TemplateId(1))
            .await?
            .name,
        "tiny-vnc-pw"
    );
    assert_same_shape(&server, stem);

    let stem = "one.template.instantiate";
    let server = Server::replay(response(stem)).await?;
    let spec = Instantiate {
        name: "vm-deploy".into(),
        count: 1,
        ..Instantiate::default()
    };
    let ids = client(&server, "oneadmin")?
        .template_instantiate(TemplateId(0), &spec)
        .await?;
    assert_eq!(ids.len(), 1);
    assert_same_shape(&server, stem);

    // USER_INPUTS answers travel as the extra template, as the real oned received one (and
    // refused it to a user without TEMPLATE:CREATE).
    let stem = "error.authorization.one.template.instantiate.extra-template";
    let server = Server::replay(response(stem)).await?;
    let spec = Instantiate {
        name: "x".into(),
        count: 1,
        extra_template: "MEMORY=\"32\"".into(),
        ..Instantiate::default()
    };
    let refused = client(&server, "alice")?
        .template_instantiate(TemplateId(0), &spec)
        .await;
    assert!(
        matches!(refused, Err(onedeck_opennebula::Error::Authorization(_))),
        "{refused:?}"
    );
    assert_same_shape(&server, stem);

    let stem = "one.host.info";
    let server = Server::replay(response(stem)).await?;
    assert_eq!(
        client(&server, "oneadmin")?
            .host_info(onedeck_opennebula::HostId(0))
            .await?
            .name,
        "dummy-host-1"
    );
    assert_same_shape(&server, stem);

    let stem = "one.hostpool.info.oneadmin";
    let server = Server::replay(response(stem)).await?;
    assert_eq!(
        client(&server, "oneadmin")?
            .host_pool_info()
            .await?
            .hosts
            .len(),
        1
    );
    assert_same_shape(&server, stem);

    let stem = "one.user.info.self-alice";
    let server = Server::replay(response(stem)).await?;
    assert_eq!(
        client(&server, "alice")?.user_info_self().await?.name,
        "alice"
    );
    assert_same_shape(&server, stem);

    let stem = "one.system.version";
    let server = Server::replay(response(stem)).await?;
    assert_eq!(client(&server, "alice")?.system_version().await?, "7.4.0");
    assert_same_shape(&server, stem);
    Ok(())
}

#[tokio::test]
async fn login_tokens_create_renew_revoke() -> TestResult {
    let stem = "one.user.login.alice-3600s";
    let server = Server::replay(response(stem)).await?;
    let token = client(&server, "alice")?
        .login_token_create(TokenValidity::Seconds(3600), None)
        .await?;
    assert_eq!(token.expose().len(), 64, "oned generates 64 hex chars");
    assert_same_shape(&server, stem);

    let stem = "one.user.login.caller-token";
    let server = Server::replay(response(stem)).await?;
    let renewed = client(&server, "alice")?
        .login_token_renew(&Secret::new("my-own-token"), TokenValidity::Seconds(60))
        .await?;
    assert_eq!(renewed.expose(), "my-own-token");
    assert_same_shape(&server, stem);

    let stem = "one.user.login.revoke";
    let server = Server::replay(response(stem)).await?;
    let old = Secret::new("f6ae9221f1989054a79690a6090a96507cb8ca04b8715188cafdc768b87d2380");
    client(&server, "alice")?
        .login_token_revoke(Some(&old))
        .await?;
    assert_same_shape(&server, stem);
    Ok(())
}

#[tokio::test]
async fn reinstall_recreates_when_allowed() -> TestResult {
    let server = Server::replay(response("one.vm.recover.oneadmin-op4")).await?;
    let how = client(&server, "oneadmin")?.vm_reinstall(VmId(7)).await?;
    assert_eq!(how, Reinstall::Recreated { id: VmId(7) });
    assert_eq!(shape(&server.requests()[0]).0, "one.vm.recover");
    Ok(())
}

#[tokio::test]
async fn reinstall_falls_back_to_terminate_and_instantiate() -> TestResult {
    // alice may not recover (512), so the client reads VM 5 (template 1, same capacity as the
    // template), instantiates template 1 with the VM's name and no extra template, then
    // terminates VM 5.
    let server = Server::start(|body| {
        let stem = match shape(body).0.as_str() {
            "one.vm.recover" => "error.authorization.one.vm.recover.alice-op4",
            "one.vm.info" => "one.vm.info.alice-running-with-snapshot",
            "one.template.info" => "one.template.info.alice",
            "one.template.instantiate" => "one.template.instantiate",
            "one.vm.action" => "one.vm.action.terminate-hard",
            _ => "error.unknown_method",
        };
        Reply::xml(response(stem))
    })
    .await?;
    let how = client(&server, "alice")?.vm_reinstall(VmId(5)).await?;
    let methods: Vec<String> = server.requests().iter().map(|b| shape(b).0).collect();
    assert_eq!(
        methods,
        [
            "one.vm.recover",
            "one.vm.info",
            "one.template.info",
            "one.template.instantiate",
            "one.vm.action"
        ]
    );
    let (_, instantiate) = shape(&server.requests()[3]);
    let values: Vec<&str> = instantiate.iter().map(|(_, v)| v.as_str()).collect();
    assert_eq!(
        values,
        vec!["1", "alice-reboot", "0", "", "0"],
        "template, same name, no hold, no override"
    );
    let (_, terminate) = shape(&server.requests()[4]);
    assert_eq!(terminate[0].1, "terminate-hard");
    assert_eq!(terminate[1].1, "5");
    match how {
        Reinstall::Replaced { old, .. } => assert_eq!(old, VmId(5)),
        other => panic!("expected the fallback, got {other:?}"),
    }
    Ok(())
}
