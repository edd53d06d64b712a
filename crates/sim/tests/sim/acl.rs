//! Users, ACL and pools through the XML-RPC methods: filter flags, state filters, paging,
//! authorization errors, login tokens.

use onedeck_sim::server::answer;
use onedeck_sim::world::World;
use onedeck_sim::{SimConfig, VncMode, fixture};

use crate::common::*;

fn world(demo_acls: bool) -> World {
    fixture::build(&SimConfig {
        vnc: VncMode::None,
        demo_acls,
        ..SimConfig::default()
    })
}

fn call(w: &mut World, session: &str, method: &str, params: &[String]) -> Resp {
    let mut all = vec![s(session)];
    all.extend_from_slice(params);
    parse_response(&answer(w, &request(method, &all)))
}

fn ids(doc: &str) -> Vec<u32> {
    doc.split("<VM><ID>")
        .skip(1)
        .map(|p| p[..p.find('<').expect("id end")].parse().expect("id"))
        .collect()
}

fn pool(w: &mut World, session: &str, filter: i64, start: i64, end: i64, state: i64) -> Vec<u32> {
    let r = call(
        w,
        session,
        "one.vmpool.info",
        &[i(filter), i(start), i(end), i(state)],
    );
    assert!(r.ok(), "{}", r.body());
    ids(&r.body())
}

#[test]
fn filter_flags_and_state_filters() {
    let mut w = world(true);
    let alice_all: Vec<u32> = (0..10).rev().collect();
    for f in [-4, -3, -2, -1] {
        assert_eq!(
            pool(&mut w, "alice:alice", f, -1, -1, -1),
            alice_all,
            "alice flag {f}"
        );
    }
    assert_eq!(pool(&mut w, "bob:bob", -2, -1, -1, -1), vec![11, 10]);
    assert_eq!(
        pool(&mut w, "oneadmin:opennebula", -2, -1, -1, -1),
        (0..12).rev().collect::<Vec<_>>()
    );
    for f in [-4, -3, -1] {
        assert!(
            pool(&mut w, "oneadmin:opennebula", f, -1, -1, -1).is_empty(),
            "oneadmin owns none ({f})"
        );
    }
    assert_eq!(
        pool(&mut w, "oneadmin:opennebula", 3, -1, -1, -1),
        vec![11, 10]
    );
    assert!(
        pool(&mut w, "alice:alice", 3, -1, -1, -1).is_empty(),
        "alice cannot list bob's"
    );
    // State filters: 8 = POWEROFF, 3 = ACTIVE; -1 hides DONE, -2 shows it.
    assert_eq!(pool(&mut w, "alice:alice", -3, -1, -1, 8), vec![1]);
    assert_eq!(pool(&mut w, "alice:alice", -3, -1, -1, 3), vec![7, 6, 5, 0]);
    let r = call(
        &mut w,
        "alice:alice",
        "one.vm.action",
        &[s("terminate-hard"), i(6)],
    );
    assert!(r.ok());
    w.vms.get_mut(&6).expect("vm 6").state = 6;
    assert!(!pool(&mut w, "alice:alice", -3, -1, -1, -1).contains(&6));
    assert!(pool(&mut w, "alice:alice", -3, -1, -1, -2).contains(&6));
    // Paging (end < -1) and ID ranges, newest first.
    assert_eq!(pool(&mut w, "alice:alice", -3, 0, -3, -2), vec![9, 8, 7]);
    assert_eq!(pool(&mut w, "alice:alice", -3, 3, -3, -2), vec![6, 5, 4]);
    assert_eq!(pool(&mut w, "alice:alice", -3, 2, 4, -2), vec![4, 3, 2]);
    assert_eq!(pool(&mut w, "alice:alice", -3, 8, -1, -2), vec![9, 8]);
    // Bad values.
    let r = call(
        &mut w,
        "alice:alice",
        "one.vmpool.info",
        &[i(-5), i(-1), i(-1), i(-1)],
    );
    assert_eq!(
        (r.code(), r.body()),
        (4096, "[one.vmpool.info] Incorrect filter_flag".to_string())
    );
    let r = call(
        &mut w,
        "alice:alice",
        "one.vmpool.info",
        &[i(-3), i(-1), i(-1), i(12)],
    );
    assert_eq!(r.body(), "[one.vmpool.info] Incorrect state filter 12");
    let r = call(
        &mut w,
        "alice:alice",
        "one.vmpool.info",
        &[i(-3), i(-1), i(-1)],
    );
    assert_eq!(r, Resp::Fault(-501, "Not enough parameters".into()));
    let r = call(&mut w, "alice:alice", "one.vm.info", &[s("0")]);
    assert_eq!(
        r,
        Resp::Fault(
            -501,
            "Parameter that is supposed to be integer is not".into()
        )
    );
    let r = call(&mut w, "alice:alice", "one.vm.nosuch", &[]);
    assert_eq!(
        r,
        Resp::Fault(-506, "Method 'one.vm.nosuch' not defined".into())
    );
}

#[test]
fn authorization_and_authentication_errors() {
    let mut w = world(false);
    let r = call(&mut w, "alice:alice", "one.vm.info", &[i(10)]);
    assert_eq!(r.code(), 512);
    assert_eq!(
        r.body(),
        "[one.vm.info] User [2] : Not authorized to perform USE VM [10]."
    );
    assert_eq!(r.values()[3].text, "-1");
    let r = call(
        &mut w,
        "alice:alice",
        "one.vm.action",
        &[s("poweroff"), i(10)],
    );
    assert_eq!(
        r.body(),
        "[one.vm.action] User [2] : Not authorized to perform MANAGE VM [10]."
    );
    let r = call(&mut w, "alice:alice", "one.vm.info", &[i(999_999)]);
    assert_eq!((r.code(), r.values()[3].text.as_str()), (1024, "999999"));
    for session in ["alice:wrong", "nobody:x", "alicealice"] {
        let r = call(&mut w, session, "one.vm.info", &[i(0)]);
        assert_eq!(r.code(), 256, "{session}");
        assert_eq!(
            r.body(),
            "[one.vm.info] User couldn't be authenticated, aborting call."
        );
    }
    // oned's default ACLs for a group made with one.group.allocate: no hosts, no CREATE.
    let r = call(&mut w, "alice:alice", "one.hostpool.info", &[]);
    assert_eq!(r.body(), "<HOST_POOL></HOST_POOL>");
    let r = call(&mut w, "alice:alice", "one.host.info", &[i(0)]);
    assert_eq!(
        r.body(),
        "[one.host.info] User [2] : Not authorized to perform USE HOST [0]."
    );
    let r = call(
        &mut w,
        "alice:alice",
        "one.template.instantiate",
        &[i(0), s(""), b(false), s("MEMORY=32")],
    );
    assert_eq!(
        r.body(),
        "[one.template.instantiate] User [2] : Not authorized to perform CREATE TEMPLATE."
    );
    let r = call(
        &mut w,
        "alice:alice",
        "one.template.instantiate",
        &[i(0), s("plain"), b(false), s("")],
    );
    assert!(r.ok(), "an empty extra template works: {}", r.body());
    // The demo ACLs fix both.
    let mut w = world(true);
    let r = call(&mut w, "alice:alice", "one.hostpool.info", &[]);
    assert!(r.body().contains("<HOST><ID>"));
    let r = call(
        &mut w,
        "alice:alice",
        "one.template.instantiate",
        &[i(0), s(""), b(false), s("MEMORY=32")],
    );
    assert!(r.ok(), "{}", r.body());
    // Template 2 is oneadmin's only (um- --- ---).
    let r = call(&mut w, "alice:alice", "one.template.info", &[i(2)]);
    assert_eq!(r.code(), 512);
    let r = call(
        &mut w,
        "alice:alice",
        "one.templatepool.info",
        &[i(-1), i(-1), i(-1)],
    );
    assert_eq!(
        r.body(),
        "<VMTEMPLATE_POOL></VMTEMPLATE_POOL>",
        "shared via OTHER: only -2 lists them"
    );
    let r = call(
        &mut w,
        "alice:alice",
        "one.templatepool.info",
        &[i(-2), i(-1), i(-1)],
    );
    let body = r.body();
    assert!(
        body.find("<ID>1</ID>") < body.find("<ID>0</ID>"),
        "descending"
    );
    assert!(
        body.contains("s3cretpassw0rd"),
        "the template keeps the full password"
    );
    let r = call(&mut w, "alice:alice", "one.vm.info", &[i(1)]);
    assert!(
        r.body().contains("<PASSWD><![CDATA[s3cretpa]]></PASSWD>"),
        "the VM keeps 8 characters"
    );
}

#[test]
fn login_tokens_behave_like_oneds() {
    let mut w = world(true);
    let r = call(
        &mut w,
        "alice:alice",
        "one.user.login",
        &[s("alice"), s(""), i(3600), i(-1)],
    );
    let token = r.body();
    assert!(
        token.len() == 64
            && token
                .bytes()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
    );
    let session = format!("alice:{token}");
    let r = call(&mut w, &session, "one.user.info", &[i(-1)]);
    assert!(r.body().contains(&format!(
        "<LOGIN_TOKEN><TOKEN>{token}</TOKEN><EXPIRATION_TIME>"
    )));
    assert!(
        r.body().find("</ENABLED><LOGIN_TOKEN>").is_some(),
        "right after ENABLED"
    );
    // Revoke with valid=0: the token is returned, then rejected.
    let r = call(
        &mut w,
        "alice:alice",
        "one.user.login",
        &[s("alice"), s(&token), i(0), i(-1)],
    );
    assert_eq!(r.body(), token);
    let r = call(&mut w, &session, "one.user.info", &[i(-1)]);
    assert_eq!(r.code(), 256);
    // Caller-chosen tokens, never-expiring tokens, limits and errors.
    let r = call(
        &mut w,
        "alice:alice",
        "one.user.login",
        &[s("alice"), s("my-own-token"), i(60)],
    );
    assert_eq!(r.body(), "my-own-token");
    assert!(
        call(
            &mut w,
            "alice:my-own-token",
            "one.vmpool.info",
            &[i(-3), i(-1), i(-1), i(-1)]
        )
        .ok()
    );
    let r = call(
        &mut w,
        "bob:bob",
        "one.user.login",
        &[s("bob"), s(""), i(-1)],
    );
    assert!(r.ok());
    let r = call(
        &mut w,
        "alice:alice",
        "one.user.login",
        &[s("alice"), s(""), i(-2)],
    );
    assert_eq!(
        (r.code(), r.body()),
        (
            4096,
            "[one.user.login] Wrong valid period for token".to_string()
        )
    );
    let r = call(
        &mut w,
        "alice:alice",
        "one.user.login",
        &[s("bob"), s(""), i(60)],
    );
    assert_eq!(
        r.body(),
        "[one.user.login] User [2] : Not authorized to perform MANAGE USER [3]."
    );
    for _ in 0..9 {
        assert!(
            call(
                &mut w,
                "alice:alice",
                "one.user.login",
                &[s("alice"), s(""), i(60)]
            )
            .ok()
        );
    }
    let r = call(
        &mut w,
        "alice:alice",
        "one.user.login",
        &[s("alice"), s(""), i(60)],
    );
    assert_eq!(
        r.body(),
        "[one.user.login] Max number of tokens limit reached."
    );
    // valid=0 with an empty token revokes all.
    assert!(
        call(
            &mut w,
            "alice:alice",
            "one.user.login",
            &[s("alice"), s(""), i(0)]
        )
        .ok()
    );
    assert_eq!(
        call(&mut w, "alice:my-own-token", "one.user.info", &[i(-1)]).code(),
        256
    );
    // Revoking an unknown token, group-scoped tokens.
    let r = call(
        &mut w,
        "alice:alice",
        "one.user.login",
        &[s("alice"), s("nope"), i(0)],
    );
    assert_eq!(
        (r.code(), r.body()),
        (
            4096,
            "[one.user.login] Could not find token: nope".to_string()
        )
    );
    let r = call(
        &mut w,
        "alice:alice",
        "one.user.login",
        &[s("alice"), s("in-devs"), i(60), i(100)],
    );
    assert_eq!(r.body(), "in-devs");
    let r = call(
        &mut w,
        "alice:alice",
        "one.user.login",
        &[s("alice"), s(""), i(60), i(101)],
    );
    assert_eq!(r.body(), "[one.user.login] EGID is not in user group list");
    // A scoped token of a user in several groups cannot make a full token.
    w.users.get_mut(&2).expect("alice").groups.push(101);
    let r = call(
        &mut w,
        "alice:in-devs",
        "one.user.login",
        &[s("alice"), s(""), i(60), i(-1)],
    );
    assert_eq!(
        r.body(),
        "[one.user.login] Cannot create a full token with a specific group token"
    );
    assert!(
        call(&mut w, "alice:in-devs", "one.vm.info", &[i(0)]).ok(),
        "scoped token still works"
    );
    // Expired tokens stop working.
    let r = call(
        &mut w,
        "alice:alice",
        "one.user.login",
        &[s("alice"), s("short"), i(1)],
    );
    assert!(r.ok());
    for u in w.users.values_mut() {
        for t in &mut u.tokens {
            t.expiration -= 5;
        }
    }
    assert_eq!(
        call(&mut w, "alice:short", "one.user.info", &[i(-1)]).code(),
        256
    );
}

#[test]
fn quotas_count_like_oned() {
    let mut w = world(true);
    let r = call(&mut w, "alice:alice", "one.user.info", &[i(-1)]);
    let body = r.body();
    // The capture's figures for the same fixture (one.user.info.self-alice).
    for want in [
        "<CPU_USED><![CDATA[1.40]]></CPU_USED>",
        "<MEMORY_USED><![CDATA[896]]></MEMORY_USED>",
        "<RUNNING_CPU_USED><![CDATA[0.80]]></RUNNING_CPU_USED>",
        "<RUNNING_MEMORY_USED><![CDATA[512]]></RUNNING_MEMORY_USED>",
        "<RUNNING_VMS_USED><![CDATA[6]]></RUNNING_VMS_USED>",
        "<VMS_USED><![CDATA[10]]></VMS_USED>",
    ] {
        assert!(body.contains(want), "{want} not in {body}");
    }
    let r = call(&mut w, "alice:alice", "one.user.info", &[i(3)]);
    assert_eq!(r.code(), 512);
}
