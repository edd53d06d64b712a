//! The initial cloud: the same objects as the real 7.4.0 capture fixture (groups `devs`/`ops`,
//! users `alice`/`bob`, templates 0–2, VMs 0–11 in RUNNING, POWEROFF, SUSPENDED, STOPPED,
//! UNDEPLOYED, HOLD and PENDING), plus configured users and generated VMs.

use crate::config::SimConfig;
use crate::model::*;
use crate::world::{World, epoch_now, new_vm, splitmix};

fn attrs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn tiny_vnc(cpu: &str, mem: &str, vcpu: &str, password: bool) -> Template {
    let mut t = Template::default();
    t.set("CPU", cpu);
    let mut g = attrs(&[("LISTEN", "0.0.0.0"), ("TYPE", "VNC")]);
    if password {
        g.push(("KEYMAP".into(), "en-us".into()));
        g.push(("PASSWD".into(), "s3cretpassw0rd".into()));
    }
    t.push("GRAPHICS", Attr::Vector(g));
    if password {
        t.set("LABELS", "demo");
    }
    t.set("MEMORY", mem);
    t.set("VCPU", vcpu);
    t
}

fn add_user(w: &mut World, id: u32, name: &str, password: &str, gid: u32) {
    w.users.insert(
        id,
        User {
            id,
            name: name.to_string(),
            gid,
            groups: vec![gid],
            password_hash: sha256_hex(password),
            token_password: sha256_hex(&format!("token-{name}-{password}")),
            tokens: Vec::new(),
        },
    );
}

/// Builds the initial world for `cfg`.
pub fn build(cfg: &SimConfig) -> World {
    let mut w = World::new(cfg.vnc_base);
    let now = epoch_now();
    for (id, name) in [(0, "oneadmin"), (1, "users"), (100, "devs"), (101, "ops")] {
        w.groups.insert(
            id,
            Group {
                id,
                name: name.to_string(),
            },
        );
    }
    add_user(&mut w, 0, "oneadmin", crate::config::DEMO_ADMIN.1, 0);
    add_user(
        &mut w,
        1,
        "serveradmin",
        &format!("{:x}", splitmix(cfg.seed)),
        0,
    );
    add_user(&mut w, 2, "alice", crate::config::DEMO_ALICE.1, 100);
    add_user(&mut w, 3, "bob", crate::config::DEMO_BOB.1, 101);
    w.next_user = 4;
    // The rules oned has after `one.group.allocate` of devs and ops (capture index-2.json).
    let create_kinds = [Kind::Vm, Kind::Image, Kind::Template, Kind::OtherKind];
    w.acls.push(AclRule::new(
        AclWho::Group(1),
        &create_kinds,
        AclWhat::All,
        &[Op::Create],
    ));
    for g in [1, 100, 101] {
        w.acls.push(AclRule::new(
            AclWho::Group(g),
            &[Kind::Host],
            AclWhat::All,
            &[Op::Manage],
        ));
        w.acls.push(AclRule::new(
            AclWho::Group(g),
            &[Kind::Net],
            AclWhat::All,
            &[Op::Use],
        ));
        w.acls.push(AclRule::new(
            AclWho::Group(g),
            &[Kind::Datastore],
            AclWhat::All,
            &[Op::Use],
        ));
    }
    w.acls.push(AclRule::new(
        AclWho::All,
        &[Kind::Zone],
        AclWhat::All,
        &[Op::Use],
    ));
    if cfg.demo_acls {
        // What an admin adds so the demo groups can instantiate and see hosts (API.md §2).
        for g in [1, 100, 101] {
            w.acls.push(AclRule::new(
                AclWho::Group(g),
                &create_kinds,
                AclWhat::All,
                &[Op::Create],
            ));
            w.acls.push(AclRule::new(
                AclWho::Group(g),
                &[Kind::Host],
                AclWhat::All,
                &[Op::Use],
            ));
        }
    }
    // Rules given on the command line were checked by `SimConfig::validate`.
    w.acls
        .extend(cfg.acls.iter().filter_map(|text| AclRule::parse(text).ok()));
    for (id, name) in [(0u32, "localhost"), (1, "127.0.0.1")] {
        w.hosts.insert(
            id,
            Host {
                id,
                name: name.to_string(),
                state: 2,
                cluster_id: 0,
                monitored_at: now,
            },
        );
    }
    let shared = Perms::from_octal(6, 4, 4);
    let mut disk_nic = Template::default();
    disk_nic.push("CONTEXT", Attr::Vector(attrs(&[("NETWORK", "YES")])));
    disk_nic.set("CPU", "0.1");
    disk_nic.push("DISK", Attr::Vector(attrs(&[("IMAGE_ID", "0")])));
    disk_nic.push(
        "GRAPHICS",
        Attr::Vector(attrs(&[("LISTEN", "0.0.0.0"), ("TYPE", "VNC")])),
    );
    disk_nic.set("MEMORY", "64");
    disk_nic.push("NIC", Attr::Vector(attrs(&[("NETWORK_ID", "0")])));
    let templates = [
        ("tiny-vnc", tiny_vnc("0.1", "64", "1", false), shared),
        ("tiny-vnc-pw", tiny_vnc("0.2", "128", "2", true), shared),
        ("disk-nic", disk_nic, Perms::from_octal(6, 0, 0)),
    ];
    for (id, (name, t, perms)) in templates.into_iter().enumerate() {
        w.templates.insert(
            id as u32,
            VmTemplate {
                id: id as u32,
                uid: 0,
                gid: 0,
                uname: "oneadmin".into(),
                gname: "oneadmin".into(),
                name: name.into(),
                perms,
                regtime: now - 900,
                template: t,
            },
        );
    }
    w.next_template = 3;
    add_templates(&mut w, cfg.templates, now);

    // Configured users: new ones get IDs from 4; known names only change password/role.
    let mut extra_owners = Vec::new();
    for u in &cfg.users {
        let gid = if u.admin { 0 } else { 1 };
        if let Some(existing) = w.users.values_mut().find(|x| x.name == u.name) {
            existing.password_hash = sha256_hex(&u.password);
            if u.admin && !existing.groups.contains(&0) {
                existing.gid = 0;
                existing.groups = vec![0];
            }
            continue;
        }
        let id = w.next_user;
        w.next_user += 1;
        add_user(&mut w, id, &u.name, &u.password, gid);
        extra_owners.push(id);
    }

    // VMs 0–11 as in the capture fixture.
    use crate::model::state as s;
    let fixture: [(u32, &str, u32, u32, u32, u32); 12] = [
        // (owner, name, template, state, lcm, history action)
        (2, "alice-run", 0, s::ACTIVE, lcm::RUNNING, 0),
        (2, "alice-poff", 1, s::POWEROFF, 0, 19),
        (2, "alice-susp", 0, s::SUSPENDED, 0, 10),
        (2, "alice-stop", 1, s::STOPPED, 0, 9),
        (2, "alice-undep", 0, s::UNDEPLOYED, 0, 5),
        (2, "alice-reboot", 1, s::ACTIVE, lcm::RUNNING, 0),
        (2, "alice-term", 0, s::ACTIVE, lcm::RUNNING, 0),
        (2, "alice-recover", 0, s::ACTIVE, lcm::RUNNING, 0),
        (2, "alice-hold", 0, s::HOLD, 0, 0),
        (2, "alice-pending", 1, s::PENDING, 0, 0),
        (3, "bob-run", 1, s::ACTIVE, lcm::RUNNING, 0),
        (3, "bob-poff", 0, s::POWEROFF, 0, 0),
    ];
    for (owner, name, tid, st, lc, action) in fixture {
        add_vm(&mut w, owner, name, tid, st, lc, action, now - 600);
    }
    if let Some(vm) = w.vms.get_mut(&8) {
        vm.template.set("SUBMIT_ON_HOLD", "YES");
    }
    if let Some(vm) = w.vms.get_mut(&9) {
        vm.template.set("SUBMIT_ON_HOLD", "YES");
        vm.user_template.set("SCHED_REQUIREMENTS", "ID=999");
        vm.user_template.set(
            "SCHED_MESSAGE",
            format!(
                "{}: Cannot dispatch VM: No host meets SCHED_REQUIREMENTS",
                crate::world::ctime(now - 590)
            ),
        );
    }
    for owner in extra_owners {
        let uname = w
            .users
            .get(&owner)
            .map(|u| u.name.clone())
            .unwrap_or_default();
        add_vm(
            &mut w,
            owner,
            &format!("{uname}-run"),
            0,
            s::ACTIVE,
            lcm::RUNNING,
            0,
            now - 300,
        );
        add_vm(
            &mut w,
            owner,
            &format!("{uname}-poff"),
            1,
            s::POWEROFF,
            0,
            19,
            now - 300,
        );
        add_vm(
            &mut w,
            owner,
            &format!("{uname}-stop"),
            0,
            s::STOPPED,
            0,
            9,
            now - 300,
        );
    }
    generate(&mut w, cfg, now);
    w.after_load();
    w
}

/// Adds a VM already in `(st, lc)`, deployed on host 0 when it has been deployed.
#[allow(clippy::too_many_arguments)]
fn add_vm(
    w: &mut World,
    owner: u32,
    name: &str,
    tid: u32,
    st: u32,
    lc: u32,
    action: u32,
    stime: i64,
) {
    let Some(user) = w.users.get(&owner).cloned() else {
        return;
    };
    let gname = w
        .groups
        .get(&user.gid)
        .map(|g| g.name.clone())
        .unwrap_or_default();
    let Some(t) = w.templates.get(&tid).map(|t| t.template.clone()) else {
        return;
    };
    let id = w.next_vm;
    w.next_vm += 1;
    let mut vm = new_vm(
        id,
        &user,
        &gname,
        name,
        tid,
        &t,
        stime,
        st == state::HOLD,
        splitmix(id as u64 ^ 0x5eed),
    );
    vm.state = st;
    vm.lcm = lc;
    vm.prev_state = st;
    vm.prev_lcm = lc;
    let deployed = !matches!(st, state::PENDING | state::HOLD | state::INIT);
    if deployed {
        // The capture fixture lives on host 0; generated VMs are spread over the hosts.
        let hid = if id < 12 {
            0
        } else {
            id % w.hosts.len().max(1) as u32
        };
        let host = w.hosts.get(&hid).cloned();
        if let Some(h) = host {
            let t0 = stime + 8;
            let closed = matches!(st, state::STOPPED | state::UNDEPLOYED | state::DONE);
            vm.deploy_id = format!("{}:{}:dummy", h.name, name);
            vm.template.set("TM_MAD_SYSTEM", "dummy");
            vm.history.push(History {
                seq: 0,
                hostname: h.name.clone(),
                hid: h.id,
                stime: t0,
                etime: if closed { t0 + 40 } else { 0 },
                plan_id: -1,
                action_id: 0,
                times: [
                    t0,
                    t0,
                    t0,
                    if action != 0 { t0 + 40 } else { 0 },
                    if closed { t0 + 40 } else { 0 },
                    if closed { t0 + 40 } else { 0 },
                ],
                action,
                uid: if action != 0 { owner as i32 } else { -1 },
                gid: if action != 0 { user.gid as i32 } else { -1 },
                request_id: if action != 0 { 1000 + id as i32 } else { -1 },
            });
            if st == state::DONE {
                vm.etime = t0 + 40;
            }
        }
    }
    let gets_port = deployed && !matches!(st, state::UNDEPLOYED | state::DONE);
    w.vms.insert(id, vm);
    if gets_port && let Some(p) = w.pick_port(id) {
        w.ports.insert(p, id);
        if let Some(g) = w
            .vms
            .get_mut(&id)
            .and_then(|v| v.template.vector_mut("GRAPHICS"))
        {
            vset(g, "PORT", p.to_string());
        }
    }
}

/// The USER_INPUTS of `web-inputs`: one of every type OpenNebula's template guide lists, with
/// mandatory and optional ones, defaults, a range and lists; `CONTEXT` refers to each as `$NAME`.
pub const WEB_INPUTS: [(&str, &str); 11] = [
    ("ADMIN_PASSWORD", "M|password|Administrator password"),
    ("BLOG_TITLE", "M|text|Blog title||My blog"),
    ("CERT_FP", "O|fixed|Certificate fingerprint||AB:CD"),
    ("DEBUG", "O|boolean|Enable debug output||NO"),
    ("EDITION", "M|list|Edition|community,enterprise|community"),
    ("INIT_SCRIPT", "O|text64|Start script"),
    ("MODULES", "O|list-multiple|Modules|cache,search,mail|cache"),
    ("PORT", "M|number|HTTP port||8080"),
    ("RATIO", "O|number-float|Cache ratio||0.5"),
    ("SCALE", "O|range-float|Scale factor|0.5..2.0|1.0"),
    ("WORKERS", "M|range|Worker processes|1..16|4"),
];

/// `--templates N`: `web-inputs` (every USER_INPUTS type) then plain templates, ids from 3.
fn add_templates(w: &mut World, n: usize, now: i64) {
    for i in 0..n {
        let id = w.next_template;
        let (name, t) = if i == 0 {
            let mut t = tiny_vnc("0.1", "64", "1", false);
            let context: Vec<(String, String)> = std::iter::once(("NETWORK".into(), "YES".into()))
                .chain(
                    WEB_INPUTS
                        .iter()
                        .map(|(k, _)| (k.to_string(), format!("${k}"))),
                )
                .collect();
            t.push("CONTEXT", Attr::Vector(context));
            t.set(
                "DESCRIPTION",
                "A web server that asks every kind of user input",
            );
            t.set(
                "INPUTS_ORDER",
                "BLOG_TITLE,ADMIN_PASSWORD,EDITION,WORKERS,PORT,RATIO,SCALE,MODULES,DEBUG,INIT_SCRIPT,CERT_FP",
            );
            t.push("USER_INPUTS", Attr::Vector(attrs(&WEB_INPUTS)));
            ("web-inputs".to_owned(), t)
        } else {
            let cpu = format!("0.{}", 1 + i % 9);
            let mem = (64 * (1 + i % 8)).to_string();
            (
                format!("tpl-{i:04}"),
                tiny_vnc(&cpu, &mem, &(1 + i % 4).to_string(), false),
            )
        };
        w.templates.insert(
            id,
            VmTemplate {
                id,
                uid: 0,
                gid: 0,
                uname: "oneadmin".into(),
                gname: "oneadmin".into(),
                name,
                perms: Perms::from_octal(6, 4, 4),
                regtime: now - 600,
                template: t,
            },
        );
        w.next_template += 1;
    }
}

/// `--vms N`: N more VMs with a seeded spread of owners, templates and states.
fn generate(w: &mut World, cfg: &SimConfig, now: i64) {
    let owners: Vec<u32> = w.users.keys().copied().filter(|u| *u != 1).collect();
    let mut r = cfg.seed;
    for i in 0..cfg.vms {
        r = splitmix(r ^ i as u64);
        let owner = owners[(r % owners.len() as u64) as usize];
        let tid = ((r >> 8) % 2) as u32;
        let (st, lc, action) = match (r >> 16) % 20 {
            0..=9 => (state::ACTIVE, lcm::RUNNING, 0),
            10..=12 => (state::POWEROFF, 0, 19),
            13 => (state::SUSPENDED, 0, 10),
            14 => (state::STOPPED, 0, 9),
            15 => (state::UNDEPLOYED, 0, 5),
            16 => (state::HOLD, 0, 0),
            17 => (state::DONE, 0, 28),
            _ => (state::ACTIVE, lcm::RUNNING, 0),
        };
        let name = format!("vm-{:05}", w.next_vm);
        add_vm(
            w,
            owner,
            &name,
            tid,
            st,
            lc,
            action,
            now - 3600 - (r >> 40) as i64 % 86_400,
        );
    }
}
