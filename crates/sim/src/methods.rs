//! The XML-RPC methods: parameter reading with xmlrpc-c's faults, authentication, then the
//! method's own checks in oned's order (NO_EXISTS, AUTHORIZATION, state).

use crate::docs::{self, VmBody};
use crate::model::*;
use crate::world::*;
use crate::xml::Doc;
use crate::xmlrpc::{Fault, MethodCall, Params, Reply};

/// The outcome of a call.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// `[true, value, 0]`.
    Ok(Reply),
    /// `[false, "[method] message", code, index3, -1]`.
    Err(ApiError),
    /// An XML-RPC fault.
    Fault(Fault),
}

impl From<ApiError> for Outcome {
    fn from(e: ApiError) -> Self {
        Outcome::Err(e)
    }
}

impl From<Fault> for Outcome {
    fn from(f: Fault) -> Self {
        Outcome::Fault(f)
    }
}

/// Methods this simulator serves (others are unknown, as on an oned without them).
pub const METHODS: [&str; 25] = [
    "one.system.version",
    "one.system.config",
    "one.user.info",
    "one.user.login",
    "one.vmpool.info",
    "one.vmpool.infoextended",
    "one.vmpool.infoset",
    "one.vm.info",
    "one.vm.action",
    "one.vm.recover",
    "one.vm.deploy",
    "one.vm.resize",
    "one.vm.rename",
    "one.vm.snapshotcreate",
    "one.vm.snapshotrevert",
    "one.vm.snapshotdelete",
    "one.vm.monitoring",
    "one.vm.schedadd",
    "one.templatepool.info",
    "one.template.info",
    "one.template.instantiate",
    "one.template.allocate",
    "one.hostpool.info",
    "one.host.info",
    "one.host.allocate",
];

/// Whether a method changes the cloud (for persistence).
pub fn mutates(method: &str) -> bool {
    !matches!(
        method,
        "one.system.version"
            | "one.system.config"
            | "one.user.info"
            | "one.vmpool.info"
            | "one.vmpool.infoextended"
            | "one.vmpool.infoset"
            | "one.vm.info"
            | "one.vm.monitoring"
            | "one.templatepool.info"
            | "one.template.info"
            | "one.hostpool.info"
            | "one.host.info"
    )
}

/// Runs one call against the world.
pub fn call(w: &mut World, c: &MethodCall) -> Outcome {
    if !METHODS.contains(&c.name.as_str()) {
        return Fault::unknown_method(&c.name).into();
    }
    if is_pool_call(&c.name) {
        return match plan_pool(w, c) {
            Ok(plan) => {
                let mut d = Doc::with_capacity(docs::pool_capacity(plan.body, plan.ids.len()));
                d.open("VM_POOL");
                write_vms(&mut d, w, &plan.ids, plan.body);
                d.close("VM_POOL");
                Outcome::Ok(Reply::Str(d.into_string()))
            }
            Err(o) => o,
        };
    }
    match run(w, c) {
        Ok(r) => Outcome::Ok(r),
        Err(o) => o,
    }
}

/// `one.vmpool.info` and `one.vmpool.infoextended`: the calls whose reply can be huge (a
/// 100,000-VM pool is ~100 MB), which [`plan_pool`] and [`pool_reply`] serve in two steps.
pub fn is_pool_call(method: &str) -> bool {
    matches!(method, "one.vmpool.info" | "one.vmpool.infoextended")
}

/// A pool call that passed every check: its VMs, chosen and paged when the call was made, in
/// reply order, and the body to write for each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolPlan {
    /// VM IDs in reply order (descending).
    pub ids: Vec<u32>,
    /// Short (`info`) or extended (`infoextended`) bodies.
    pub body: VmBody,
}

/// VMs written per hold of the world in [`pool_reply`]: a few milliseconds of work, so other
/// calls wait at most that long while a big pool is written.
pub const POOL_CHUNK: usize = 1000;

/// Checks a pool call (session, parameters, filter, state) and chooses its VMs; `Err` is the
/// call's whole outcome, as [`call`] would give it.
pub fn plan_pool(w: &mut World, c: &MethodCall) -> Result<PoolPlan, Outcome> {
    let p = Params(&c.params);
    let session = p.string(0)?.to_string();
    let caller = w.authenticate(&session)?;
    let filter = p.int(1)?;
    let start = p.int(2)?;
    let end = p.int(3)?;
    let st = p.int(4)?;
    let kv = p.opt_string(5, "")?.to_string();
    let body = if c.name == "one.vmpool.info" {
        VmBody::Short
    } else {
        VmBody::Extended
    };
    let ids = vm_pool_ids(w, &caller, filter, start, end, st, &kv)?;
    Ok(PoolPlan { ids, body })
}

/// The whole reply (`[true, <VM_POOL>, 0]`) of a planned pool call. The document is written
/// already escaped into the envelope, in one buffer. `world` gives access to the world for each
/// [`POOL_CHUNK`] VMs (the server takes its lock per chunk, so other calls get in between);
/// every VM is written as it is when its chunk is, and the choice of VMs and the paging stay
/// those of the call (VMs are never removed from the pool, DONE ones stay).
pub fn pool_reply<G: std::ops::Deref<Target = World>>(
    plan: &PoolPlan,
    mut world: impl FnMut() -> G,
) -> String {
    let head = crate::xmlrpc::success_string_head();
    let tail = crate::xmlrpc::success_string_tail();
    let mut d =
        Doc::escaped(head.len() + tail.len() + docs::pool_capacity(plan.body, plan.ids.len()));
    d.raw(&head);
    d.open("VM_POOL");
    for chunk in plan.ids.chunks(POOL_CHUNK) {
        let w = world();
        write_vms(&mut d, &w, chunk, plan.body);
    }
    d.close("VM_POOL");
    d.raw(&tail);
    d.into_string()
}

/// Writes the bodies of the VMs `ids`.
fn write_vms(d: &mut Doc, w: &World, ids: &[u32], body: VmBody) {
    for id in ids {
        if let Some(vm) = w.vms.get(id) {
            docs::vm(d, vm, body);
        }
    }
}

fn run(w: &mut World, c: &MethodCall) -> Result<Reply, Outcome> {
    let p = Params(&c.params);
    let session = p.string(0)?.to_string();
    let caller = w.authenticate(&session)?;
    let r = match c.name.as_str() {
        "one.system.version" => Reply::Str("7.4.0".into()),
        "one.system.config" => Reply::Str(docs::system_config(w, caller.is_admin())),
        "one.user.info" => user_info(w, &caller, p)?,
        "one.user.login" => {
            let user = p.string(1)?.to_string();
            let token = p.string(2)?.to_string();
            let valid = p.int(3)?;
            let egid = p.opt_int(4, -1)?;
            Reply::Str(w.login(&caller, &user, &token, valid, egid)?)
        }
        "one.vmpool.infoset" => {
            let ids = p.string(1)?.to_string();
            let extended = p.boolean(2)?;
            let mut list = Vec::new();
            for part in ids.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                let id: u32 = part
                    .parse()
                    .map_err(|_| ApiError::new(RPC_API, format!("Wrong ID list: {ids}")))?;
                if let Some(vm) = w.vms.get(&id)
                    && w.can_see_vm(&caller, vm)
                {
                    list.push(vm);
                }
            }
            list.sort_by_key(|v| std::cmp::Reverse(v.id));
            list.dedup_by_key(|v| v.id);
            let body = if extended {
                VmBody::Extended
            } else {
                VmBody::Short
            };
            let n = list.len();
            Reply::Str(docs::vm_pool(list.into_iter(), body, n))
        }
        "one.vm.info" => {
            let id = p.int(1)?;
            let _decrypt = p.opt_bool(2, false)?;
            let vm = w.vm_checked(&caller, id, Op::Use)?;
            let mut d = Doc::with_capacity(6000);
            docs::vm(&mut d, vm, VmBody::Info);
            Reply::Str(d.into_string())
        }
        "one.vm.monitoring" => {
            let id = p.int(1)?;
            let vm = w.vm_checked(&caller, id, Op::Use)?;
            Reply::Str(docs::vm_monitoring(vm))
        }
        "one.vm.action" => {
            let action = p.string(1)?.to_string();
            let id = p.int(2)?;
            Reply::Int(w.vm_action(&caller, &action, id)?.into())
        }
        "one.vm.recover" => {
            let id = p.int(1)?;
            let op = p.int(2)?;
            Reply::Int(w.vm_recover(&caller, id, op)?.into())
        }
        "one.vm.deploy" => {
            let id = p.int(1)?;
            let host = p.int(2)?;
            let _enforce = p.opt_bool(3, false)?;
            let _ds = p.opt_int(4, -1)?;
            let _nic = p.opt_string(5, "")?;
            Reply::Int(w.vm_deploy(&caller, id, host)?.into())
        }
        "one.vm.resize" => {
            let id = p.int(1)?;
            let tpl = p.string(2)?.to_string();
            let _enforce = p.opt_bool(3, true)?;
            Reply::Int(w.vm_resize(&caller, id, &tpl)?.into())
        }
        "one.vm.rename" => {
            let id = p.int(1)?;
            let name = p.string(2)?.to_string();
            Reply::Int(w.vm_rename(&caller, id, &name)?.into())
        }
        "one.vm.snapshotcreate" => {
            let id = p.int(1)?;
            let name = p.string(2)?.to_string();
            Reply::Int(w.snapshot_create(&caller, id, &name)?.into())
        }
        "one.vm.snapshotrevert" | "one.vm.snapshotdelete" => {
            let id = p.int(1)?;
            let snap = p.int(2)?;
            Reply::Int(
                w.snapshot_op(&caller, id, snap, c.name.ends_with("delete"))?
                    .into(),
            )
        }
        "one.vm.schedadd" => {
            let id = p.int(1)?;
            let tpl = p.string(2)?.to_string();
            Reply::Int(w.sched_add(&caller, id, &tpl)?.into())
        }
        "one.templatepool.info" => {
            let filter = p.int(1)?;
            let start = p.int(2)?;
            let end = p.int(3)?;
            check_filter(filter)?;
            let rows: Vec<&VmTemplate> = w
                .templates
                .values()
                .rev()
                .filter(|t| {
                    flag_matches(filter, &caller, t.uid, t.gid)
                        && w.can_template(&caller, t, Op::Use)
                })
                .collect();
            let rows = page(rows, start, end, |t| t.id);
            Reply::Str(docs::template_pool(rows.into_iter()))
        }
        "one.template.info" => {
            let id = p.int(1)?;
            let _extended = p.opt_bool(2, false)?;
            let _decrypt = p.opt_bool(3, false)?;
            let t = u32::try_from(id)
                .ok()
                .and_then(|i| w.templates.get(&i))
                .ok_or_else(|| ApiError::missing("template", i64::from(id)))?;
            if !w.can_template(&caller, t, Op::Use) {
                return Err(
                    ApiError::denied(caller.uid, Op::Use, Kind::Template, Some(t.id)).into(),
                );
            }
            let mut d = Doc::with_capacity(1024);
            docs::template(&mut d, t);
            Reply::Str(d.into_string())
        }
        "one.template.instantiate" => {
            let id = p.int(1)?;
            let name = p.string(2)?.to_string();
            let hold = p.opt_bool(3, false)?;
            let extra = p.opt_string(4, "")?.to_string();
            let _persistent = p.opt_bool(5, false)?;
            Reply::Int(w.instantiate(&caller, id, &name, hold, &extra)?.into())
        }
        "one.template.allocate" => {
            let text = p.string(1)?.to_string();
            if !caller.is_admin() && !acl_allows(&w.acls, &caller, Op::Create, Kind::Template, None)
            {
                return Err(ApiError::denied(caller.uid, Op::Create, Kind::Template, None).into());
            }
            let mut t = parse_template(&text).map_err(|e| {
                ApiError::new(
                    ALLOCATE,
                    format!("Error allocating a new template. Parse error: {e}"),
                )
            })?;
            let name = t.get_str("NAME").unwrap_or("").to_string();
            t.remove("NAME");
            let id = w.next_template;
            let name = if name.is_empty() {
                format!("template-{id}")
            } else {
                name
            };
            let user = w
                .users
                .get(&caller.uid)
                .cloned()
                .ok_or_else(ApiError::auth)?;
            let gname = w
                .groups
                .get(&caller.gid)
                .map(|g| g.name.clone())
                .unwrap_or_default();
            w.next_template += 1;
            w.templates.insert(
                id,
                VmTemplate {
                    id,
                    uid: user.id,
                    gid: user.gid,
                    uname: user.name,
                    gname,
                    name,
                    perms: Perms::from_octal(6, 0, 0),
                    regtime: epoch_now(),
                    template: t,
                },
            );
            Reply::Int(id.into())
        }
        "one.hostpool.info" => {
            let mut d = Doc::with_capacity(8192);
            d.open("HOST_POOL");
            for h in w.hosts.values().rev() {
                if w.can_host(&caller, h, Op::Use) {
                    docs::host(&mut d, w, h, true);
                }
            }
            d.close("HOST_POOL");
            Reply::Str(d.into_string())
        }
        "one.host.info" => {
            let id = p.int(1)?;
            let _decrypt = p.opt_bool(2, false)?;
            let h = u32::try_from(id)
                .ok()
                .and_then(|i| w.hosts.get(&i))
                .ok_or_else(|| ApiError::missing("host", i64::from(id)))?;
            if !w.can_host(&caller, h, Op::Use) {
                return Err(ApiError::denied(caller.uid, Op::Use, Kind::Host, Some(h.id)).into());
            }
            let mut d = Doc::with_capacity(8192);
            docs::host(&mut d, w, h, false);
            Reply::Str(d.into_string())
        }
        "one.host.allocate" => {
            let name = p.string(1)?.to_string();
            let _im = p.string(2)?;
            let _vmm = p.string(3)?;
            let cluster = p.opt_int(4, -1)?;
            if !caller.is_admin() {
                return Err(ApiError::denied(caller.uid, Op::Create, Kind::Host, None).into());
            }
            if w.hosts.values().any(|h| h.name == name) {
                return Err(ApiError::new(
                    ALLOCATE,
                    format!(
                        "Error allocating a new host. NAME is already taken by HOST {}.",
                        name
                    ),
                )
                .into());
            }
            let id = w.hosts.keys().next_back().map_or(0, |k| k + 1);
            w.hosts.insert(
                id,
                Host {
                    id,
                    name,
                    state: 2,
                    cluster_id: u32::try_from(cluster).unwrap_or(0),
                    monitored_at: epoch_now(),
                },
            );
            Reply::Int(id.into())
        }
        _ => return Err(Fault::unknown_method(&c.name).into()),
    };
    Ok(r)
}

fn user_info(w: &World, caller: &Caller, p: Params<'_>) -> Result<Reply, Outcome> {
    let id = p.int(1)?;
    let _decrypt = p.opt_bool(2, false)?;
    let uid = if id == -1 { caller.uid as i32 } else { id };
    let u = u32::try_from(uid)
        .ok()
        .and_then(|i| w.users.get(&i))
        .ok_or_else(|| ApiError::missing("user", i64::from(uid)))?;
    if u.id != caller.uid && !caller.is_admin() {
        return Err(ApiError::denied(caller.uid, Op::Use, Kind::User, Some(u.id)).into());
    }
    Ok(Reply::Str(docs::user(w, u)))
}

fn check_filter(filter: i32) -> Result<(), ApiError> {
    if filter < -4 {
        return Err(ApiError::new(RPC_API, "Incorrect filter_flag"));
    }
    Ok(())
}

/// Whether an object owned by `uid`/`gid` passes the filter flag (API.md §2.1).
fn flag_matches(filter: i32, caller: &Caller, uid: u32, gid: u32) -> bool {
    match filter {
        -4 => gid == caller.gid,
        -3 => uid == caller.uid,
        -2 => true,
        -1 => uid == caller.uid || caller.groups.contains(&gid),
        n => u32::try_from(n).is_ok_and(|u| u == uid),
    }
}

/// ID range (`end >= -1`) or paging (`end < -1`) over rows in descending ID order. Rows are
/// taken lazily, so a page near the start of a big pool stops early.
fn page<T>(
    rows: impl IntoIterator<Item = T>,
    start: i32,
    end: i32,
    id: impl Fn(&T) -> u32,
) -> Vec<T> {
    if end < -1 {
        let offset = usize::try_from(start).unwrap_or(0);
        let size = usize::try_from(-i64::from(end)).unwrap_or(0);
        rows.into_iter().skip(offset).take(size).collect()
    } else {
        let lo = i64::from(start.max(0));
        let hi = if end == -1 { i64::MAX } else { i64::from(end) };
        rows.into_iter()
            .filter(|r| {
                let i = i64::from(id(r));
                i >= lo && i <= hi
            })
            .collect()
    }
}

/// The IDs a pool call returns, after oned's checks in oned's order.
fn vm_pool_ids(
    w: &World,
    caller: &Caller,
    filter: i32,
    start: i32,
    end: i32,
    st: i32,
    kv: &str,
) -> Result<Vec<u32>, ApiError> {
    check_filter(filter)?;
    if !(-2..=11).contains(&st) {
        return Err(ApiError::new(
            RPC_API,
            format!("Incorrect state filter {st}"),
        ));
    }
    if !kv.is_empty() {
        return Err(ApiError::new(
            INTERNAL,
            "JSON query search is not supported by the SQL backend",
        ));
    }
    let admin = caller.is_admin();
    let rows = w
        .vms
        .values()
        .rev()
        .filter(|v| match st {
            -2 => true,
            -1 => v.state != state::DONE,
            s => v.state == s as u32,
        })
        .filter(|v| flag_matches(filter, caller, v.uid, v.gid))
        .filter(|v| admin || w.can_see_vm(caller, v))
        .map(|v| v.id);
    Ok(page(rows, start, end, |id| *id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paging_and_ranges() {
        let rows: Vec<u32> = (0..10).rev().collect();
        assert_eq!(page(rows.clone(), 0, -3, |r| *r), vec![9, 8, 7]);
        assert_eq!(page(rows.clone(), 3, -3, |r| *r), vec![6, 5, 4]);
        assert_eq!(page(rows.clone(), 7, -1, |r| *r), vec![9, 8, 7]);
        assert_eq!(page(rows.clone(), 0, 1, |r| *r), vec![1, 0]);
        assert_eq!(page(rows, -1, -1, |r| *r).len(), 10);
    }

    #[test]
    fn filter_flags() {
        let alice = Caller {
            uid: 2,
            gid: 100,
            groups: vec![100],
        };
        assert!(flag_matches(-3, &alice, 2, 0));
        assert!(!flag_matches(-3, &alice, 3, 100));
        assert!(flag_matches(-1, &alice, 3, 100));
        assert!(flag_matches(-4, &alice, 3, 100));
        assert!(!flag_matches(-4, &alice, 2, 0));
        assert!(flag_matches(3, &alice, 3, 101));
        assert!(check_filter(-5).is_err());
    }
}
