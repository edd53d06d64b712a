//! The simulated cloud and its rules: sessions, the VM life cycle, VNC ports, monitoring.
//!
//! Everything here is synchronous and clock-driven: callers pass the current time (milliseconds
//! since the simulator started, from tokio's clock) and the server's timer task calls
//! [`World::fire_due`] when a transition is due. That keeps the state machine testable with a
//! paused clock and free of locks held across awaits.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap};

use serde::{Deserialize, Serialize};

use crate::model::*;

/// An OpenNebula error reply: code, message (without the `[method]` prefix) and index 3.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// Error code (256, 512, 1024, 2048, 4096, 8192, …).
    pub code: i32,
    /// Message after `[method] `.
    pub message: String,
    /// Index 3 of the reply: the requested ID for NO_EXISTS, -1 otherwise.
    pub index3: i64,
}

/// AUTHENTICATION.
pub const AUTHENTICATION: i32 = 0x100;
/// AUTHORIZATION.
pub const AUTHORIZATION: i32 = 0x200;
/// NO_EXISTS.
pub const NO_EXISTS: i32 = 0x400;
/// ACTION.
pub const ACTION: i32 = 0x800;
/// RPC_API.
pub const RPC_API: i32 = 0x1000;
/// INTERNAL.
pub const INTERNAL: i32 = 0x2000;
/// ALLOCATE.
pub const ALLOCATE: i32 = 0x4000;

impl ApiError {
    /// An error with index 3 = -1.
    pub fn new(code: i32, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            index3: -1,
        }
    }

    /// AUTHENTICATION with oned's text.
    pub fn auth() -> Self {
        Self::new(
            AUTHENTICATION,
            "User couldn't be authenticated, aborting call.",
        )
    }

    /// AUTHORIZATION for an operation on an object.
    pub fn denied(uid: u32, op: Op, kind: Kind, id: Option<u32>) -> Self {
        let what = match id {
            Some(id) => format!("{} [{id}]", kind.word()),
            None => kind.word().to_string(),
        };
        Self::new(
            AUTHORIZATION,
            format!(
                "User [{uid}] : Not authorized to perform {} {what}.",
                op.word()
            ),
        )
    }

    /// NO_EXISTS with the requested ID in index 3.
    pub fn missing(what: &str, id: i64) -> Self {
        Self {
            code: NO_EXISTS,
            message: format!("Error getting {what} [{id}]."),
            index3: id,
        }
    }
}

/// Milliseconds each transient state lasts before the next step (dummy-driver-like speed).
pub mod timing {
    /// PENDING until the scheduler deploys.
    pub const SCHEDULE_MS: u64 = 1000;
    /// PROLOG*.
    pub const PROLOG_MS: u64 = 300;
    /// BOOT*.
    pub const BOOT_MS: u64 = 300;
    /// Shutdown/save/epilog steps (the captures show ~0.1 s).
    pub const QUICK_MS: u64 = 100;
    /// Snapshot hotplug and cleanup steps.
    pub const SHORT_MS: u64 = 50;
}

/// The history ACTION codes oned records (VMActions).
pub mod hist_action {
    /// UNDEPLOY.
    pub const UNDEPLOY: u32 = 5;
    /// UNDEPLOY_HARD.
    pub const UNDEPLOY_HARD: u32 = 6;
    /// STOP.
    pub const STOP: u32 = 9;
    /// SUSPEND.
    pub const SUSPEND: u32 = 10;
    /// RESUME.
    pub const RESUME: u32 = 11;
    /// DELETE.
    pub const DELETE: u32 = 13;
    /// DELETE_RECREATE.
    pub const DELETE_RECREATE: u32 = 14;
    /// POWEROFF.
    pub const POWEROFF: u32 = 19;
    /// POWEROFF_HARD.
    pub const POWEROFF_HARD: u32 = 20;
    /// TERMINATE.
    pub const TERMINATE: u32 = 27;
    /// TERMINATE_HARD.
    pub const TERMINATE_HARD: u32 = 28;
}

/// Seconds since the Unix epoch.
pub fn epoch_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// The simulated cloud.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct World {
    /// Users by ID.
    pub users: BTreeMap<u32, User>,
    /// Groups by ID.
    pub groups: BTreeMap<u32, Group>,
    /// ACL rules.
    pub acls: Vec<AclRule>,
    /// VM templates by ID.
    pub templates: BTreeMap<u32, VmTemplate>,
    /// Hosts by ID.
    pub hosts: BTreeMap<u32, Host>,
    /// VMs by ID (DONE ones stay, like oned's pool).
    pub vms: BTreeMap<u32, Vm>,
    /// Next VM ID.
    pub next_vm: u32,
    /// Next template ID.
    pub next_template: u32,
    /// Next user ID.
    pub next_user: u32,
    /// VNC_PORTS/START.
    pub vnc_base: u16,
    /// Request counter for HISTORY/REQUEST_ID.
    pub request_seq: i32,
    /// Current time in ms since start (set by the caller before each operation).
    #[serde(skip)]
    pub now_ms: u64,
    /// Pending transitions: (due ms, VM, VM epoch).
    #[serde(skip)]
    pub timers: BinaryHeap<Reverse<(u64, u32, u64)>>,
    /// VMs whose console may have to open, close or restart.
    #[serde(skip)]
    pub console_dirty: BTreeSet<u32>,
    /// Reserved VNC ports → VM.
    #[serde(skip)]
    pub ports: BTreeMap<u16, u32>,
    /// No port below this one is free (keeps the fallback search short with many VMs).
    #[serde(skip)]
    pub port_hint: u16,
}

/// First port of oned's default `VNC_PORTS/RESERVED = "32768:65536"`: never assigned.
pub const VNC_RESERVED_FROM: u16 = 32768;

impl World {
    /// An empty world.
    pub fn new(vnc_base: u16) -> Self {
        Self {
            users: BTreeMap::new(),
            groups: BTreeMap::new(),
            acls: Vec::new(),
            templates: BTreeMap::new(),
            hosts: BTreeMap::new(),
            vms: BTreeMap::new(),
            next_vm: 0,
            next_template: 0,
            next_user: 0,
            vnc_base,
            request_seq: 100,
            now_ms: 0,
            timers: BinaryHeap::new(),
            console_dirty: BTreeSet::new(),
            ports: BTreeMap::new(),
            port_hint: 0,
        }
    }

    /// The port oned's rule gives VM `id`: `START + id mod (65535 - START)` when free and not in
    /// VNC_PORTS/RESERVED (default 32768:65536), else the lowest free port from START (API.md
    /// §4.2). Does not reserve it.
    pub fn pick_port(&mut self, id: u32) -> Option<u16> {
        let base = u32::from(self.vnc_base);
        // A START inside the default RESERVED range (a custom `--vnc-base`) would leave no port
        // at all; the reservation then only covers what oned's default would not reach anyway.
        let last = if self.vnc_base < VNC_RESERVED_FROM {
            VNC_RESERVED_FROM - 1
        } else {
            u16::MAX
        };
        let first = (base + id % (65535 - base)) as u16;
        if first <= last && !self.ports.contains_key(&first) {
            return Some(first);
        }
        let from = self.port_hint.max(self.vnc_base);
        let found = (from..=last).find(|p| !self.ports.contains_key(p));
        if let Some(p) = found {
            self.port_hint = p;
        }
        found
    }

    /// Frees a reserved port.
    pub fn free_port(&mut self, port: u16) {
        self.ports.remove(&port);
        self.port_hint = self.port_hint.min(port);
    }

    /// Moves every VNC port to a new VNC_PORTS/START (a saved cloud loaded with another
    /// `vnc_base`, e.g. the app's demo picking a free range each run). Call before `after_load`.
    pub fn rebase_ports(&mut self, new_base: u16) {
        let old = i32::from(self.vnc_base);
        let delta = i32::from(new_base) - old;
        self.vnc_base = new_base;
        if delta == 0 {
            return;
        }
        for vm in self.vms.values_mut() {
            if let Some(g) = vm.template.vector_mut("GRAPHICS")
                && let Some(p) = vget(g, "PORT").and_then(|p| p.parse::<i32>().ok())
                && p >= old
            {
                match u16::try_from(p + delta) {
                    Ok(np) => vset(g, "PORT", np.to_string()),
                    Err(_) => vremove(g, "PORT"),
                }
            }
        }
    }

    /// Rebuilds the derived indexes after loading and re-arms transient states.
    pub fn after_load(&mut self) {
        self.ports.clear();
        self.port_hint = self.vnc_base;
        let ids: Vec<u32> = self.vms.keys().copied().collect();
        for id in &ids {
            if let Some(p) = self.vms.get(id).and_then(|v| {
                if v.state == state::DONE || v.state == state::UNDEPLOYED {
                    None
                } else {
                    v.vnc_port()
                }
            }) {
                self.ports.insert(p, *id);
            }
        }
        for id in ids {
            self.console_dirty.insert(id);
            self.arm(id);
        }
    }

    // ----- sessions -------------------------------------------------------------------------

    /// Authenticates `user:secret` (password or login token) as oned's core driver does.
    pub fn authenticate(&mut self, session: &str) -> Result<Caller, ApiError> {
        let (name, secret) = session.split_once(':').ok_or_else(ApiError::auth)?;
        let now = epoch_now();
        let user = self
            .users
            .values_mut()
            .find(|u| u.name == name)
            .ok_or_else(ApiError::auth)?;
        user.tokens
            .retain(|t| t.expiration == -1 || t.expiration > now);
        if sha256_hex(secret) == user.password_hash {
            return Ok(Caller {
                uid: user.id,
                gid: user.gid,
                groups: user.groups.clone(),
            });
        }
        match user.tokens.iter().find(|t| t.token == secret) {
            // A group-scoped token acts in that group only (oned's EGID).
            Some(t) if t.egid >= 0 => Ok(Caller {
                uid: user.id,
                gid: t.egid as u32,
                groups: vec![t.egid as u32],
            }),
            Some(_) => Ok(Caller {
                uid: user.id,
                gid: user.gid,
                groups: user.groups.clone(),
            }),
            None => Err(ApiError::auth()),
        }
    }

    /// `one.user.login`.
    pub fn login(
        &mut self,
        caller: &Caller,
        username: &str,
        token: &str,
        valid: i32,
        egid: i32,
    ) -> Result<String, ApiError> {
        let target = self
            .users
            .values()
            .find(|u| u.name == username)
            .map(|u| (u.id, u.gid, u.groups.clone()))
            .ok_or_else(|| ApiError::new(NO_EXISTS, format!("Error getting user {username}")))?;
        if target.0 != caller.uid && !caller.is_admin() {
            return Err(ApiError::denied(
                caller.uid,
                Op::Manage,
                Kind::User,
                Some(target.0),
            ));
        }
        let now = epoch_now();
        let user = self
            .users
            .get_mut(&target.0)
            .ok_or_else(|| ApiError::missing("user", i64::from(target.0)))?;
        user.tokens
            .retain(|t| t.expiration == -1 || t.expiration > now);
        // The checks and texts of oned's UserAPI::login (core driver: MAX_TOKEN_TIME = -1).
        if valid == 0 {
            if token.is_empty() {
                user.tokens.clear();
            } else if user.tokens.iter().any(|t| t.token == token) {
                user.tokens.retain(|t| t.token != token);
            } else {
                return Err(ApiError::new(
                    RPC_API,
                    format!("Could not find token: {token}"),
                ));
            }
            return Ok(token.to_string());
        }
        if valid < -1 {
            return Err(ApiError::new(RPC_API, "Wrong valid period for token"));
        }
        if egid != -1
            && !caller.is_admin()
            && (!target.2.contains(&(egid as u32)) || !caller.groups.contains(&(egid as u32)))
        {
            return Err(ApiError::new(RPC_API, "EGID is not in user group list"));
        }
        let mut theirs = target.2.clone();
        let mut mine = caller.groups.clone();
        theirs.sort_unstable();
        mine.sort_unstable();
        if egid == -1 && theirs != mine {
            return Err(ApiError::new(
                RPC_API,
                "Cannot create a full token with a specific group token",
            ));
        }
        if user.tokens.len() >= 10 {
            return Err(ApiError::new(
                RPC_API,
                "Max number of tokens limit reached.",
            ));
        }
        let token = if token.is_empty() {
            let r: [u8; 32] = rand::random();
            sha256_hex(&r.iter().map(|b| format!("{b:02x}")).collect::<String>())
        } else {
            token.to_string()
        };
        let expiration = if valid == -1 {
            -1
        } else {
            now + i64::from(valid)
        };
        user.tokens.push(Token {
            token: token.clone(),
            expiration,
            egid,
        });
        Ok(token)
    }

    // ----- lookups and authorization --------------------------------------------------------

    /// The VM `id` after checking `op` on it (NO_EXISTS, then AUTHORIZATION, like oned).
    pub fn vm_checked(&self, caller: &Caller, id: i32, op: Op) -> Result<&Vm, ApiError> {
        let vm = u32::try_from(id)
            .ok()
            .and_then(|i| self.vms.get(&i))
            .ok_or_else(|| ApiError::missing("virtual machine", i64::from(id)))?;
        if !authorized(&self.acls, caller, op, &vm_ref(vm)) {
            return Err(ApiError::denied(caller.uid, op, Kind::Vm, Some(vm.id)));
        }
        Ok(vm)
    }

    /// Whether `caller` may USE the VM (pool listing).
    pub fn can_see_vm(&self, caller: &Caller, vm: &Vm) -> bool {
        authorized(&self.acls, caller, Op::Use, &vm_ref(vm))
    }

    /// Whether `caller` may `op` the template.
    pub fn can_template(&self, caller: &Caller, t: &VmTemplate, op: Op) -> bool {
        authorized(
            &self.acls,
            caller,
            op,
            &ObjRef {
                kind: Kind::Template,
                id: t.id,
                uid: t.uid,
                gid: t.gid,
                perms: Some(t.perms),
            },
        )
    }

    /// Whether `caller` may `op` the host.
    pub fn can_host(&self, caller: &Caller, h: &Host, op: Op) -> bool {
        authorized(
            &self.acls,
            caller,
            op,
            &ObjRef {
                kind: Kind::Host,
                id: h.id,
                uid: 0,
                gid: 0,
                perms: Some(Perms::from_octal(6, 0, 0)),
            },
        )
    }

    // ----- transitions ----------------------------------------------------------------------

    fn next_request_id(&mut self) -> i32 {
        self.request_seq = self.request_seq.wrapping_mul(1103).wrapping_add(12345) & 0x1fff;
        self.request_seq
    }

    /// Moves a VM to `(state, lcm)` and arms the timer of a transient state.
    pub fn set_state(&mut self, id: u32, st: u32, lc: u32) {
        let now = epoch_now();
        if let Some(vm) = self.vms.get_mut(&id) {
            // oned stores PREV_* = the state written with the object, so every document shows
            // PREV_STATE/PREV_LCM_STATE equal to the current ones (all 7.4.0 captures do).
            vm.prev_state = st;
            vm.prev_lcm = lc;
            vm.state = st;
            vm.lcm = lc;
            vm.epoch += 1;
            if vm.transitions.len() == 64 {
                vm.transitions.pop_front();
            }
            vm.transitions.push_back((st, lc));
            // Times of the current history record follow the phases like oned's.
            if let Some(h) = vm.history.last_mut() {
                match (st, lc) {
                    (
                        state::ACTIVE,
                        lcm::BOOT
                        | lcm::BOOT_POWEROFF
                        | lcm::BOOT_SUSPENDED
                        | lcm::BOOT_STOPPED
                        | lcm::BOOT_UNDEPLOY,
                    ) => {
                        if h.times[1] == 0 {
                            h.times[1] = now;
                        }
                        if h.times[2] == 0 {
                            h.times[2] = now;
                        }
                    }
                    (state::ACTIVE, lcm::EPILOG | lcm::EPILOG_STOP | lcm::EPILOG_UNDEPLOY) => {
                        if h.times[3] == 0 {
                            h.times[3] = now;
                        }
                        h.times[4] = now;
                    }
                    (
                        state::ACTIVE,
                        lcm::SHUTDOWN
                        | lcm::SHUTDOWN_POWEROFF
                        | lcm::SHUTDOWN_UNDEPLOY
                        | lcm::SAVE_STOP
                        | lcm::SAVE_SUSPEND,
                    ) => {
                        h.times[3] = now;
                    }
                    _ => {}
                }
            }
        }
        self.console_dirty.insert(id);
        self.arm(id);
    }

    /// Arms the timer for the VM's current state if it is transient (or PENDING).
    fn arm(&mut self, id: u32) {
        let Some(vm) = self.vms.get(&id) else { return };
        let delay = match (vm.state, vm.lcm) {
            (state::PENDING, _) => Some(timing::SCHEDULE_MS),
            (state::ACTIVE, lcm::PROLOG | lcm::PROLOG_RESUME | lcm::PROLOG_UNDEPLOY) => {
                Some(timing::PROLOG_MS)
            }
            (
                state::ACTIVE,
                lcm::BOOT
                | lcm::BOOT_POWEROFF
                | lcm::BOOT_SUSPENDED
                | lcm::BOOT_STOPPED
                | lcm::BOOT_UNDEPLOY
                | lcm::BOOT_UNKNOWN,
            ) => Some(timing::BOOT_MS),
            (
                state::ACTIVE,
                lcm::SHUTDOWN
                | lcm::SHUTDOWN_POWEROFF
                | lcm::SHUTDOWN_UNDEPLOY
                | lcm::SAVE_STOP
                | lcm::SAVE_SUSPEND
                | lcm::EPILOG
                | lcm::EPILOG_STOP
                | lcm::EPILOG_UNDEPLOY,
            ) => Some(timing::QUICK_MS / 2),
            (
                state::ACTIVE,
                lcm::HOTPLUG_SNAPSHOT | lcm::CLEANUP_RESUBMIT | lcm::CLEANUP_DELETE,
            ) => Some(timing::SHORT_MS),
            _ => None,
        };
        if let Some(d) = delay {
            // A PENDING VM that cannot be placed waits for a change, not for the clock.
            if vm.state == state::PENDING && self.unschedulable(vm) {
                return;
            }
            self.timers.push(Reverse((self.now_ms + d, id, vm.epoch)));
        }
    }

    fn unschedulable(&self, vm: &Vm) -> bool {
        vm.user_template
            .get_str("SCHED_REQUIREMENTS")
            .is_some_and(|req| !self.hosts.values().any(|h| host_matches(req, h)))
            || vm.user_template.get_str("ERROR").is_some()
    }

    /// The time of the next due transition.
    pub fn next_due(&self) -> Option<u64> {
        self.timers.peek().map(|Reverse((t, _, _))| *t)
    }

    /// Runs every transition due at `now_ms`; returns how many ran.
    pub fn fire_due(&mut self, now_ms: u64) -> usize {
        self.now_ms = now_ms;
        let mut n = 0;
        while let Some(Reverse((due, id, epoch))) = self.timers.peek().copied() {
            if due > now_ms {
                break;
            }
            self.timers.pop();
            if self.vms.get(&id).is_some_and(|v| v.epoch == epoch) {
                self.advance(id);
                n += 1;
            }
        }
        n
    }

    /// Runs transitions until the VM is stable (recover success, tests).
    pub fn settle(&mut self, id: u32) {
        for _ in 0..16 {
            let Some(vm) = self.vms.get(&id) else { return };
            let transient = vm.state == state::ACTIVE && !vm_stable(vm.lcm);
            if !transient {
                return;
            }
            self.advance(id);
        }
    }

    /// One step of the state machine for a VM whose transient state has elapsed.
    fn advance(&mut self, id: u32) {
        let Some(vm) = self.vms.get(&id) else { return };
        let (st, lc) = (vm.state, vm.lcm);
        let now = epoch_now();
        match (st, lc) {
            (state::PENDING, _) => self.dispatch(id, None, true),
            (state::ACTIVE, lcm::PROLOG) => self.set_state(id, state::ACTIVE, lcm::BOOT),
            (state::ACTIVE, lcm::PROLOG_RESUME) => {
                self.set_state(id, state::ACTIVE, lcm::BOOT_STOPPED)
            }
            (state::ACTIVE, lcm::PROLOG_UNDEPLOY) => {
                self.set_state(id, state::ACTIVE, lcm::BOOT_UNDEPLOY)
            }
            (
                state::ACTIVE,
                lcm::BOOT
                | lcm::BOOT_POWEROFF
                | lcm::BOOT_SUSPENDED
                | lcm::BOOT_STOPPED
                | lcm::BOOT_UNDEPLOY
                | lcm::BOOT_UNKNOWN,
            ) => {
                if let Some(vm) = self.vms.get_mut(&id) {
                    vm.resume_from = 0;
                }
                self.set_state(id, state::ACTIVE, lcm::RUNNING)
            }
            (state::ACTIVE, lcm::SHUTDOWN_POWEROFF) => {
                self.set_state(id, state::POWEROFF, lcm::LCM_INIT)
            }
            (state::ACTIVE, lcm::SAVE_SUSPEND) => {
                self.set_state(id, state::SUSPENDED, lcm::LCM_INIT)
            }
            (state::ACTIVE, lcm::SAVE_STOP) => self.set_state(id, state::ACTIVE, lcm::EPILOG_STOP),
            (state::ACTIVE, lcm::EPILOG_STOP) => {
                self.close_history(id, now);
                self.set_state(id, state::STOPPED, lcm::LCM_INIT)
            }
            (state::ACTIVE, lcm::SHUTDOWN_UNDEPLOY) => {
                self.set_state(id, state::ACTIVE, lcm::EPILOG_UNDEPLOY)
            }
            (state::ACTIVE, lcm::EPILOG_UNDEPLOY) => {
                self.close_history(id, now);
                self.release_port(id);
                self.set_state(id, state::UNDEPLOYED, lcm::LCM_INIT)
            }
            (state::ACTIVE, lcm::SHUTDOWN) => self.set_state(id, state::ACTIVE, lcm::EPILOG),
            (state::ACTIVE, lcm::EPILOG | lcm::CLEANUP_DELETE) => self.finish(id),
            (state::ACTIVE, lcm::HOTPLUG_SNAPSHOT) => {
                self.set_state(id, state::ACTIVE, lcm::RUNNING)
            }
            (state::ACTIVE, lcm::CLEANUP_RESUBMIT) => {
                self.close_history(id, now);
                if let Some(vm) = self.vms.get_mut(&id) {
                    vm.resume_from = 0;
                }
                self.set_state(id, state::PENDING, lcm::LCM_INIT)
            }
            _ => {}
        }
    }

    fn close_history(&mut self, id: u32, now: i64) {
        if let Some(h) = self.vms.get_mut(&id).and_then(|v| v.history.last_mut()) {
            h.etime = now;
            h.times[5] = now;
            if h.times[3] == 0 {
                h.times[3] = now;
            }
            if h.times[4] == 0 {
                h.times[4] = now;
            }
        }
    }

    /// Ends a VM: DONE, port released, history closed.
    fn finish(&mut self, id: u32) {
        let now = epoch_now();
        self.close_history(id, now);
        self.release_port(id);
        if let Some(vm) = self.vms.get_mut(&id) {
            vm.etime = now;
        }
        self.set_state(id, state::DONE, lcm::LCM_INIT);
    }

    fn release_port(&mut self, id: u32) {
        if let Some(vm) = self.vms.get_mut(&id) {
            let port = vm.vnc_port();
            if let Some(g) = vm.template.vector_mut("GRAPHICS") {
                vremove(g, "PORT");
            }
            if let Some(p) = port
                && self.ports.get(&p) == Some(&id)
            {
                self.free_port(p);
            }
        }
    }

    /// Reserves the VM's VNC port by oned's rule (API.md §4.2). Err = requested port taken.
    /// SPICE consoles take theirs from the same VNC_PORTS range, as oned's do.
    fn reserve_port(&mut self, id: u32) -> Result<(), String> {
        let Some(vm) = self.vms.get(&id) else {
            return Ok(());
        };
        if !vm.has_vnc() && !vm.has_spice() {
            return Ok(());
        }
        if let Some(p) = vm.vnc_port() {
            return match self.ports.get(&p) {
                Some(holder) if *holder != id => {
                    Err("Requested VNC port already assigned to a VM".to_string())
                }
                _ => {
                    self.ports.insert(p, id);
                    Ok(())
                }
            };
        }
        let port = self
            .pick_port(id)
            .ok_or_else(|| "No free VNC ports available in the cluster".to_string())?;
        self.ports.insert(port, id);
        if let Some(g) = self
            .vms
            .get_mut(&id)
            .and_then(|v| v.template.vector_mut("GRAPHICS"))
        {
            vset(g, "PORT", port.to_string());
        }
        Ok(())
    }

    /// Places a PENDING (or HOLD, via `one.vm.deploy`) VM on a host: the scheduler's or the
    /// API's deploy. `host` None = pick one; `by_scheduler` picks the history's PLAN_ID.
    pub fn dispatch(&mut self, id: u32, host: Option<u32>, by_scheduler: bool) {
        let Some(vm) = self.vms.get(&id) else { return };
        let resume_from = vm.resume_from;
        if by_scheduler && self.unschedulable(vm) {
            if vm.user_template.get_str("ERROR").is_none()
                && let Some(vm) = self.vms.get_mut(&id)
            {
                vm.user_template.set(
                    "SCHED_MESSAGE",
                    format!(
                        "{}: Cannot dispatch VM: No host meets SCHED_REQUIREMENTS",
                        ctime(epoch_now())
                    ),
                );
            }
            return;
        }
        let host = host
            .and_then(|h| self.hosts.get(&h))
            .or_else(|| {
                // Resume on the previous host, else spread by ID.
                vm.history
                    .last()
                    .and_then(|h| self.hosts.get(&h.hid))
                    .or_else(|| {
                        let n = self.hosts.len().max(1);
                        self.hosts.values().nth(id as usize % n)
                    })
            })
            .cloned();
        let Some(host) = host else { return };
        if let Err(msg) = self.reserve_port(id) {
            if let Some(vm) = self.vms.get_mut(&id) {
                vm.user_template
                    .set("ERROR", format!("{}: [deploy] {msg}", ctime(epoch_now())));
            }
            return;
        }
        let now = epoch_now();
        let Some(vm) = self.vms.get_mut(&id) else {
            return;
        };
        vm.user_template.remove("SCHED_MESSAGE");
        vm.template.set("TM_MAD_SYSTEM", "dummy");
        vm.deploy_id = format!("{}:{}:dummy", host.name, vm.name);
        let seq = vm.history.len() as u32;
        vm.history.push(History {
            seq,
            hostname: host.name.clone(),
            hid: host.id,
            stime: now,
            etime: 0,
            plan_id: if by_scheduler { -1 } else { -2 },
            action_id: if by_scheduler { 0 } else { -1 },
            times: [now, 0, 0, 0, 0, 0],
            action: 0,
            uid: -1,
            gid: -1,
            request_id: -1,
        });
        let lc = match resume_from {
            state::STOPPED => lcm::PROLOG_RESUME,
            state::UNDEPLOYED => lcm::PROLOG_UNDEPLOY,
            _ => lcm::PROLOG,
        };
        self.set_state(id, state::ACTIVE, lc);
    }

    fn record_action(&mut self, id: u32, caller: &Caller, action: u32) {
        let rid = self.next_request_id();
        if let Some(h) = self.vms.get_mut(&id).and_then(|v| v.history.last_mut()) {
            h.action = action;
            h.uid = caller.uid as i32;
            h.gid = caller.gid as i32;
            h.request_id = rid;
        }
    }

    /// `one.vm.action`: checks the state table of API.md §3.1 and starts the transition.
    pub fn vm_action(&mut self, caller: &Caller, action: &str, id: i32) -> Result<i32, ApiError> {
        const KNOWN: [&str; 15] = [
            "terminate",
            "terminate-hard",
            "undeploy",
            "undeploy-hard",
            "poweroff",
            "poweroff-hard",
            "reboot",
            "reboot-hard",
            "hold",
            "release",
            "stop",
            "suspend",
            "resume",
            "resched",
            "unresched",
        ];
        if !KNOWN.contains(&action) {
            return Err(ApiError::new(
                ACTION,
                format!("Action \"{action}\" is not supported"),
            ));
        }
        let op = if action == "resched" || action == "unresched" {
            Op::Admin
        } else {
            Op::Manage
        };
        let vm = self.vm_checked(caller, id, op)?;
        let vid = vm.id;
        let (st, lc) = (vm.state, vm.lcm);
        let active = |l: u32| st == state::ACTIVE && lc == l;
        let running = active(lcm::RUNNING);
        let unknown = active(lcm::UNKNOWN);
        let failure = st == state::ACTIVE && is_failure(lc);
        let wrong = || {
            ApiError::new(
                ACTION,
                format!(
                    "Error performing action \"{action}\": This action is not available for state {}",
                    vm.state_str()
                ),
            )
        };
        match action {
            "terminate" | "terminate-hard" => {
                let hard = action == "terminate-hard";
                let code = if hard {
                    hist_action::TERMINATE_HARD
                } else {
                    hist_action::TERMINATE
                };
                match st {
                    state::SUSPENDED | state::POWEROFF | state::STOPPED | state::UNDEPLOYED => {
                        self.record_action(vid, caller, code);
                        self.set_state(vid, state::ACTIVE, lcm::EPILOG);
                    }
                    state::INIT
                    | state::PENDING
                    | state::HOLD
                    | state::CLONING
                    | state::CLONING_FAILURE => {
                        self.finish(vid);
                    }
                    state::DONE => {}
                    _ if running || unknown || (hard && active(lcm::SHUTDOWN)) => {
                        self.record_action(vid, caller, code);
                        self.set_state(vid, state::ACTIVE, lcm::SHUTDOWN);
                    }
                    _ if failure => {
                        self.record_action(vid, caller, code);
                        self.finish(vid);
                    }
                    _ => return Err(wrong()),
                }
            }
            "undeploy" | "undeploy-hard" => {
                let hard = action == "undeploy-hard";
                let code = if hard {
                    hist_action::UNDEPLOY_HARD
                } else {
                    hist_action::UNDEPLOY
                };
                if st == state::POWEROFF {
                    self.record_action(vid, caller, code);
                    self.set_state(vid, state::ACTIVE, lcm::EPILOG_UNDEPLOY);
                } else if running || unknown || (hard && active(lcm::SHUTDOWN_UNDEPLOY)) {
                    self.record_action(vid, caller, code);
                    self.set_state(vid, state::ACTIVE, lcm::SHUTDOWN_UNDEPLOY);
                } else {
                    return Err(wrong());
                }
            }
            "poweroff" | "poweroff-hard" => {
                let hard = action == "poweroff-hard";
                if running || unknown || (hard && active(lcm::SHUTDOWN_POWEROFF)) {
                    let code = if hard {
                        hist_action::POWEROFF_HARD
                    } else {
                        hist_action::POWEROFF
                    };
                    self.record_action(vid, caller, code);
                    self.set_state(vid, state::ACTIVE, lcm::SHUTDOWN_POWEROFF);
                } else {
                    return Err(wrong());
                }
            }
            "reboot" | "reboot-hard" => {
                if !running {
                    return Err(wrong());
                }
                if let Some(vm) = self.vms.get_mut(&vid) {
                    vm.console_gen += 1;
                }
                self.console_dirty.insert(vid);
            }
            "suspend" => {
                if !running {
                    return Err(wrong());
                }
                self.record_action(vid, caller, hist_action::SUSPEND);
                self.set_state(vid, state::ACTIVE, lcm::SAVE_SUSPEND);
            }
            "stop" => {
                if running {
                    self.record_action(vid, caller, hist_action::STOP);
                    self.set_state(vid, state::ACTIVE, lcm::SAVE_STOP);
                } else if st == state::SUSPENDED {
                    self.record_action(vid, caller, hist_action::STOP);
                    self.set_state(vid, state::ACTIVE, lcm::EPILOG_STOP);
                } else {
                    return Err(wrong());
                }
            }
            "resume" => match st {
                state::STOPPED | state::UNDEPLOYED => {
                    if let Some(vm) = self.vms.get_mut(&vid) {
                        vm.resume_from = st;
                    }
                    self.set_state(vid, state::PENDING, lcm::LCM_INIT);
                }
                state::SUSPENDED => {
                    self.record_action(vid, caller, hist_action::RESUME);
                    self.set_state(vid, state::ACTIVE, lcm::BOOT_SUSPENDED)
                }
                state::POWEROFF => {
                    self.record_action(vid, caller, hist_action::RESUME);
                    self.set_state(vid, state::ACTIVE, lcm::BOOT_POWEROFF)
                }
                _ if unknown => self.set_state(vid, state::ACTIVE, lcm::BOOT_UNKNOWN),
                _ => return Err(wrong()),
            },
            "hold" => {
                if st != state::PENDING {
                    return Err(wrong());
                }
                self.set_state(vid, state::HOLD, lcm::LCM_INIT);
            }
            "release" => {
                if st != state::HOLD {
                    return Err(wrong());
                }
                self.set_state(vid, state::PENDING, lcm::LCM_INIT);
            }
            "resched" | "unresched" => {
                if !(st == state::POWEROFF || running || unknown) {
                    return Err(wrong());
                }
                if let Some(vm) = self.vms.get_mut(&vid) {
                    vm.resched = action == "resched";
                }
            }
            _ => return Err(wrong()),
        }
        Ok(vid as i32)
    }

    /// `one.vm.recover` (ADMIN): 0 failure, 1 success, 2 retry, 3 delete, 4 recreate, 5 delete-db.
    pub fn vm_recover(&mut self, caller: &Caller, id: i32, op: i32) -> Result<i32, ApiError> {
        if !(0..=5).contains(&op) {
            return Err(ApiError::new(ACTION, "Wrong recovery operation code"));
        }
        let vm = self.vm_checked(caller, id, Op::Admin)?;
        let vid = vm.id;
        let (st, lc) = (vm.state, vm.lcm);
        let transient = st == state::ACTIVE && !vm_stable(lc);
        let failure = st == state::ACTIVE && is_failure(lc);
        let not_recoverable = || {
            ApiError::new(
                ACTION,
                format!(
                    "Error recovering VM: VM is not in a recoverable state, state {}",
                    vm.state_str()
                ),
            )
        };
        match op {
            0 => {
                if transient && !failure {
                    self.set_state(vid, state::ACTIVE, failure_of(lc));
                } else if st == state::CLONING {
                    self.set_state(vid, state::CLONING_FAILURE, lcm::LCM_INIT);
                } else {
                    return Err(not_recoverable());
                }
            }
            1 => {
                if failure {
                    self.set_state(vid, state::ACTIVE, retry_of(lc));
                    self.settle(vid);
                } else if transient {
                    self.settle(vid);
                } else {
                    return Err(not_recoverable());
                }
            }
            2 => {
                if failure {
                    self.set_state(vid, state::ACTIVE, retry_of(lc));
                } else {
                    return Err(not_recoverable());
                }
            }
            3 => {
                if st == state::DONE {
                    return Err(not_recoverable());
                }
                self.record_action(vid, caller, hist_action::DELETE);
                self.finish(vid);
            }
            4 => match st {
                state::INIT | state::PENDING | state::CLONING | state::CLONING_FAILURE => {}
                state::HOLD | state::STOPPED | state::UNDEPLOYED => {
                    if let Some(vm) = self.vms.get_mut(&vid) {
                        vm.resume_from = 0;
                    }
                    self.set_state(vid, state::PENDING, lcm::LCM_INIT);
                }
                state::POWEROFF | state::SUSPENDED | state::ACTIVE => {
                    self.record_action(vid, caller, hist_action::DELETE_RECREATE);
                    self.set_state(vid, state::ACTIVE, lcm::CLEANUP_RESUBMIT);
                }
                _ => return Err(not_recoverable()),
            },
            _ => {
                self.release_port(vid);
                self.vms.remove(&vid);
                self.console_dirty.insert(vid);
            }
        }
        Ok(vid as i32)
    }

    /// `one.vm.deploy` (ADMIN on the VM, MANAGE on the host).
    pub fn vm_deploy(&mut self, caller: &Caller, id: i32, host: i32) -> Result<i32, ApiError> {
        let vm = self.vm_checked(caller, id, Op::Admin)?;
        let vid = vm.id;
        let st = vm.state;
        let state_str = vm.state_str();
        let h = u32::try_from(host)
            .ok()
            .and_then(|h| self.hosts.get(&h))
            .ok_or_else(|| ApiError::missing("host", i64::from(host)))?;
        if !self.can_host(caller, h, Op::Manage) {
            return Err(ApiError::denied(
                caller.uid,
                Op::Manage,
                Kind::Host,
                Some(h.id),
            ));
        }
        let hid = h.id;
        if !matches!(
            st,
            state::PENDING | state::HOLD | state::STOPPED | state::UNDEPLOYED
        ) {
            return Err(ApiError::new(
                ACTION,
                format!("Deploy action is not available for state {state_str}"),
            ));
        }
        if (st == state::STOPPED || st == state::UNDEPLOYED)
            && let Some(vm) = self.vms.get_mut(&vid)
        {
            vm.resume_from = st;
        }
        self.dispatch(vid, Some(hid), false);
        match self.vms.get(&vid) {
            Some(vm) if vm.state == state::ACTIVE => Ok(vid as i32),
            Some(vm) => Err(ApiError::new(
                ACTION,
                vm.user_template
                    .get_str("ERROR")
                    .unwrap_or("Cannot deploy VM")
                    .to_string(),
            )),
            None => Err(ApiError::missing("virtual machine", i64::from(id))),
        }
    }

    /// `one.vm.resize`.
    pub fn vm_resize(&mut self, caller: &Caller, id: i32, tpl: &str) -> Result<i32, ApiError> {
        let vm = self.vm_checked(caller, id, Op::Manage)?;
        let vid = vm.id;
        let ok = matches!(
            vm.state,
            state::INIT
                | state::PENDING
                | state::HOLD
                | state::UNDEPLOYED
                | state::CLONING
                | state::CLONING_FAILURE
                | state::POWEROFF
        );
        if vm.state == state::ACTIVE && vm.lcm == lcm::RUNNING {
            return Err(ApiError::new(
                ACTION,
                "Hotplug resize not supported by driver dummy",
            ));
        }
        if !ok {
            return Err(ApiError::new(
                ACTION,
                format!("Cannot resize a VM in state {}", vm.state_str()),
            ));
        }
        let t = parse_template(tpl).map_err(|e| ApiError::new(ACTION, e.to_string()))?;
        let vm = self
            .vms
            .get_mut(&vid)
            .ok_or_else(|| ApiError::missing("virtual machine", i64::from(id)))?;
        for key in ["CPU", "VCPU", "MEMORY"] {
            if let Some(v) = t.get_str(key) {
                let n: f64 = v
                    .parse()
                    .map_err(|_| ApiError::new(ACTION, format!("{key} is not a number: {v}")))?;
                if n < 0.0 {
                    return Err(ApiError::new(ACTION, format!("{key} cannot be negative")));
                }
                if n > 0.0 {
                    vm.template.set(key, v);
                }
            }
        }
        Ok(vid as i32)
    }

    /// `one.vm.rename`.
    pub fn vm_rename(&mut self, caller: &Caller, id: i32, name: &str) -> Result<i32, ApiError> {
        let vid = self.vm_checked(caller, id, Op::Manage)?.id;
        if name.trim().is_empty() {
            return Err(ApiError::new(ACTION, "Invalid NAME, it cannot be empty"));
        }
        if let Some(vm) = self.vms.get_mut(&vid) {
            vm.name = name.to_string();
        }
        self.console_dirty.insert(vid);
        Ok(vid as i32)
    }

    /// `one.vm.snapshotcreate`: returns the new snapshot ID.
    pub fn snapshot_create(
        &mut self,
        caller: &Caller,
        id: i32,
        name: &str,
    ) -> Result<i32, ApiError> {
        let vm = self.vm_checked(caller, id, Op::Manage)?;
        let vid = vm.id;
        if !(vm.state == state::ACTIVE && vm.lcm == lcm::RUNNING) {
            return Err(ApiError::new(
                ACTION,
                format!(
                    "Could not create a new snapshot for VM {vid}, wrong state {}.",
                    vm.state_str()
                ),
            ));
        }
        let now = epoch_now();
        let vm = self
            .vms
            .get_mut(&vid)
            .ok_or_else(|| ApiError::missing("virtual machine", i64::from(id)))?;
        let sid = vm.next_snapshot;
        vm.next_snapshot += 1;
        let name = if name.is_empty() {
            format!("snapshot-{sid}")
        } else {
            name.to_string()
        };
        let size = vm.template.get_str("MEMORY").unwrap_or("0").to_string();
        vm.template.push(
            "SNAPSHOT",
            Attr::Vector(vec![
                ("HYPERVISOR_ID".into(), format!("dummy-snap-{sid}")),
                ("NAME".into(), name),
                ("SNAPSHOT_ID".into(), sid.to_string()),
                ("SYSTEM_DISK_SIZE".into(), size),
                ("TIME".into(), now.to_string()),
            ]),
        );
        self.set_state(vid, state::ACTIVE, lcm::HOTPLUG_SNAPSHOT);
        Ok(sid as i32)
    }

    /// `one.vm.snapshotrevert` / `one.vm.snapshotdelete`.
    pub fn snapshot_op(
        &mut self,
        caller: &Caller,
        id: i32,
        snap: i32,
        delete: bool,
    ) -> Result<i32, ApiError> {
        let vm = self.vm_checked(caller, id, Op::Manage)?;
        let vid = vm.id;
        let ok_state = (vm.state == state::ACTIVE && vm.lcm == lcm::RUNNING)
            || (delete && vm.state == state::POWEROFF);
        if !ok_state {
            let msg = if delete {
                format!(
                    "Could not delete snapshot {snap} for VM {vid}, wrong state {}.",
                    vm.state_str()
                )
            } else {
                format!(
                    "Could not revert VM {vid} to snapshot {snap}, wrong state {}.",
                    vm.state_str()
                )
            };
            return Err(ApiError::new(ACTION, msg));
        }
        let exists = vm
            .template
            .vectors("SNAPSHOT")
            .any(|s| vget(s, "SNAPSHOT_ID") == Some(&snap.to_string()));
        if !exists {
            return Err(ApiError::new(
                ACTION,
                format!("Snapshot {snap} does not exist"),
            ));
        }
        if delete {
            if let Some(vm) = self.vms.get_mut(&vid) {
                let sid = snap.to_string();
                vm.template.attrs.retain(|(n, a)| {
                    !(n == "SNAPSHOT"
                        && matches!(a, Attr::Vector(v) if vget(v, "SNAPSHOT_ID") == Some(sid.as_str())))
                });
            }
            if self.vms.get(&vid).is_some_and(|v| v.state == state::ACTIVE) {
                self.set_state(vid, state::ACTIVE, lcm::HOTPLUG_SNAPSHOT);
            }
        } else {
            self.set_state(vid, state::ACTIVE, lcm::HOTPLUG_SNAPSHOT);
        }
        Ok(vid as i32)
    }

    /// `one.vm.schedadd`: returns the scheduled action's ID.
    pub fn sched_add(&mut self, caller: &Caller, id: i32, tpl: &str) -> Result<i32, ApiError> {
        let vid = self.vm_checked(caller, id, Op::Manage)?.id;
        let t = parse_template(tpl).map_err(|e| ApiError::new(ACTION, e.to_string()))?;
        let sa = t
            .vectors("SCHED_ACTION")
            .next()
            .ok_or_else(|| ApiError::new(ACTION, "No SCHED_ACTION in template"))?;
        let action = vget(sa, "ACTION").unwrap_or_default().to_string();
        let time = vget(sa, "TIME").and_then(|t| t.parse().ok()).unwrap_or(0);
        let vm = self
            .vms
            .get_mut(&vid)
            .ok_or_else(|| ApiError::missing("virtual machine", i64::from(id)))?;
        let sid = vm.sched_actions.iter().map(|s| s.id + 1).max().unwrap_or(0);
        vm.sched_actions.push(SchedAction {
            id: sid,
            action,
            time,
        });
        Ok(sid as i32)
    }

    /// `one.template.instantiate`: returns the new VM's ID.
    #[allow(clippy::too_many_arguments)]
    pub fn instantiate(
        &mut self,
        caller: &Caller,
        tid: i32,
        name: &str,
        hold: bool,
        extra: &str,
    ) -> Result<i32, ApiError> {
        let t = u32::try_from(tid)
            .ok()
            .and_then(|i| self.templates.get(&i))
            .ok_or_else(|| ApiError::missing("template", i64::from(tid)))?;
        if !self.can_template(caller, t, Op::Use) {
            return Err(ApiError::denied(
                caller.uid,
                Op::Use,
                Kind::Template,
                Some(t.id),
            ));
        }
        if !extra.trim().is_empty()
            && !caller.is_admin()
            && !acl_allows(&self.acls, caller, Op::Create, Kind::Template, None)
        {
            return Err(ApiError::denied(
                caller.uid,
                Op::Create,
                Kind::Template,
                None,
            ));
        }
        let mut tpl = t.template.clone();
        let tname = t.name.clone();
        if !extra.trim().is_empty() {
            let x = parse_template(extra).map_err(|e| {
                ApiError::new(
                    ALLOCATE,
                    format!("Error allocating a new virtual machine. {e}"),
                )
            })?;
            // A repeated vector attribute replaces the whole attribute (oned's merge).
            let names: BTreeSet<String> = x.attrs.iter().map(|(n, _)| n.clone()).collect();
            for n in &names {
                tpl.remove(n);
            }
            tpl.attrs.extend(x.attrs);
        }
        let user = self
            .users
            .get(&caller.uid)
            .ok_or_else(ApiError::auth)?
            .clone();
        let gname = self
            .groups
            .get(&caller.gid)
            .map(|g| g.name.clone())
            .unwrap_or_default();
        let id = self.next_vm;
        let vm_name = if name.is_empty() {
            format!("{tname}-{id}")
        } else {
            name.to_string()
        };
        let mut vm = new_vm(
            id,
            &user,
            &gname,
            &vm_name,
            tid as u32,
            &tpl,
            epoch_now(),
            hold,
            id as u64,
        );
        vm.mon_seed = (id as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        self.next_vm += 1;
        self.vms.insert(id, vm);
        self.console_dirty.insert(id);
        self.arm(id);
        Ok(id as i32)
    }
}

/// Whether an LCM state is a resting one (no timer).
pub fn vm_stable(l: u32) -> bool {
    matches!(l, lcm::LCM_INIT | lcm::RUNNING | lcm::UNKNOWN) || is_failure(l)
}

/// Whether an LCM state is one of the `*_FAILURE` states.
pub fn is_failure(l: u32) -> bool {
    matches!(l, 36..=42 | 44 | 46..=50 | 61)
}

fn failure_of(l: u32) -> u32 {
    match l {
        lcm::PROLOG => lcm::PROLOG_FAILURE,
        lcm::PROLOG_RESUME => lcm::PROLOG_RESUME_FAILURE,
        lcm::PROLOG_UNDEPLOY => lcm::PROLOG_UNDEPLOY_FAILURE,
        lcm::BOOT_STOPPED => lcm::BOOT_STOPPED_FAILURE,
        lcm::BOOT_UNDEPLOY => lcm::BOOT_UNDEPLOY_FAILURE,
        lcm::EPILOG_STOP => lcm::EPILOG_STOP_FAILURE,
        lcm::EPILOG_UNDEPLOY => lcm::EPILOG_UNDEPLOY_FAILURE,
        lcm::EPILOG => lcm::EPILOG_FAILURE,
        _ => lcm::BOOT_FAILURE,
    }
}

fn retry_of(l: u32) -> u32 {
    match l {
        lcm::PROLOG_FAILURE => lcm::PROLOG,
        lcm::PROLOG_RESUME_FAILURE => lcm::PROLOG_RESUME,
        lcm::PROLOG_UNDEPLOY_FAILURE => lcm::PROLOG_UNDEPLOY,
        lcm::BOOT_STOPPED_FAILURE => lcm::BOOT_STOPPED,
        lcm::BOOT_UNDEPLOY_FAILURE => lcm::BOOT_UNDEPLOY,
        lcm::EPILOG_STOP_FAILURE => lcm::EPILOG_STOP,
        lcm::EPILOG_UNDEPLOY_FAILURE => lcm::EPILOG_UNDEPLOY,
        lcm::EPILOG_FAILURE => lcm::EPILOG,
        _ => lcm::BOOT,
    }
}

/// A tiny evaluator for `SCHED_REQUIREMENTS` of the form `ID=n` / `NAME="x"` (else: matches).
fn host_matches(req: &str, h: &Host) -> bool {
    let Some((k, v)) = req.split_once('=') else {
        return true;
    };
    let v = v.trim().trim_matches('"');
    match k.trim() {
        "ID" => v.parse::<u32>().is_ok_and(|i| i == h.id),
        "NAME" | "HOSTNAME" => v == h.name,
        _ => true,
    }
}

fn vm_ref(vm: &Vm) -> ObjRef {
    ObjRef {
        kind: Kind::Vm,
        id: vm.id,
        uid: vm.uid,
        gid: vm.gid,
        perms: Some(vm.perms),
    }
}

/// The VM-template attributes oned keeps in TEMPLATE; anything else goes to USER_TEMPLATE.
const VM_TEMPLATE_ATTRS: [&str; 24] = [
    "AUTOMATIC_DS_REQUIREMENTS",
    "AUTOMATIC_NIC_REQUIREMENTS",
    "AUTOMATIC_REQUIREMENTS",
    "CONTEXT",
    "CPU",
    "CPU_MODEL",
    "DISK",
    "FEATURES",
    "GRAPHICS",
    "INPUT",
    "MEMORY",
    "NIC",
    "NIC_ALIAS",
    "NUMA_NODE",
    "OS",
    "PCI",
    "RAW",
    "SECURITY_GROUP_RULE",
    "SNAPSHOT",
    "SUBMIT_ON_HOLD",
    "TEMPLATE_ID",
    "TM_MAD_SYSTEM",
    "VCPU",
    "VMID",
];

/// Builds a VM from a template the way oned's allocate does.
#[allow(clippy::too_many_arguments)]
pub fn new_vm(
    id: u32,
    user: &User,
    gname: &str,
    name: &str,
    template_id: u32,
    src: &Template,
    now: i64,
    hold: bool,
    uuid_seed: u64,
) -> Vm {
    let mut template = Template::default();
    let mut user_template = Template::default();
    let has_nic = src.get("NIC").is_some();
    let has_disk = src.get("DISK").is_some();
    let mut disk_id = 0;
    let mut nic_id = 0;
    for (n, a) in &src.attrs {
        if !VM_TEMPLATE_ATTRS.contains(&n.as_str()) {
            user_template.push(n, a.clone());
            continue;
        }
        match (n.as_str(), a) {
            ("GRAPHICS", Attr::Vector(v)) => {
                let mut g = v.clone();
                // oned keeps 8 characters of a VNC password in the VM (API.md §4.1).
                if let Some(p) = vget(&g, "PASSWD").map(str::to_string)
                    && vget(&g, "TYPE").is_some_and(|t| t.eq_ignore_ascii_case("vnc"))
                {
                    vset(&mut g, "PASSWD", p.chars().take(8).collect::<String>());
                }
                template.push("GRAPHICS", Attr::Vector(g));
            }
            ("DISK", Attr::Vector(_)) => {
                template.push("DISK", Attr::Vector(expand_disk(disk_id)));
                disk_id += 1;
            }
            ("NIC", Attr::Vector(_)) => {
                template.push("NIC", Attr::Vector(expand_nic(id, nic_id)));
                nic_id += 1;
            }
            ("CONTEXT", Attr::Vector(v)) => {
                let mut c = v.clone();
                vset(&mut c, "DISK_ID", disk_id.to_string());
                if has_nic {
                    for (k, val) in context_eth0(id) {
                        vset(&mut c, &k, val);
                    }
                }
                vset(&mut c, "TARGET", if has_disk { "sda" } else { "hda" });
                c.sort_by(|a, b| a.0.cmp(&b.0));
                template.push("CONTEXT", Attr::Vector(c));
            }
            _ => template.push(n, a.clone()),
        }
    }
    if has_nic || has_disk {
        template.set("AUTOMATIC_DS_REQUIREMENTS", "(\"CLUSTERS/ID\" @> 0)");
        if has_nic {
            template.set("AUTOMATIC_NIC_REQUIREMENTS", "(\"CLUSTERS/ID\" @> 0)");
            for (k, v) in [("OUTBOUND", 0), ("INBOUND", 1)] {
                let _ = v;
                template.push(
                    "SECURITY_GROUP_RULE",
                    Attr::Vector(vec![
                        ("PROTOCOL".into(), "ALL".into()),
                        ("RULE_TYPE".into(), k.into()),
                        ("SECURITY_GROUP_ID".into(), "0".into()),
                        ("SECURITY_GROUP_NAME".into(), "default".into()),
                    ]),
                );
            }
        }
        template.set(
            "AUTOMATIC_REQUIREMENTS",
            "(CLUSTER_ID = 0) & !(PIN_POLICY = PINNED)",
        );
    } else {
        template.set("AUTOMATIC_REQUIREMENTS", "!(PIN_POLICY = PINNED)");
    }
    template.remove("OS");
    template.push(
        "OS",
        Attr::Vector(vec![
            ("MACHINE".into(), "q35".into()),
            ("UUID".into(), uuid(uuid_seed)),
        ]),
    );
    if hold {
        template.set("SUBMIT_ON_HOLD", "YES");
    }
    template.set("TEMPLATE_ID", template_id.to_string());
    template.set("VMID", id.to_string());
    Vm {
        id,
        uid: user.id,
        gid: user.gid,
        uname: user.name.clone(),
        gname: gname.to_string(),
        name: name.to_string(),
        perms: Perms::from_octal(6, 0, 0),
        state: if hold { state::HOLD } else { state::PENDING },
        lcm: 0,
        prev_state: if hold { state::HOLD } else { state::PENDING },
        prev_lcm: 0,
        resched: false,
        stime: now,
        etime: 0,
        deploy_id: String::new(),
        template,
        user_template,
        history: Vec::new(),
        sched_actions: Vec::new(),
        resume_from: 0,
        epoch: 0,
        console_gen: 0,
        mon_seed: uuid_seed,
        next_snapshot: 0,
        transitions: std::collections::VecDeque::from([(
            if hold { state::HOLD } else { state::PENDING },
            0,
        )]),
    }
}

fn expand_disk(disk_id: u32) -> Vec<(String, String)> {
    let v: [(&str, String); 23] = [
        ("ALLOW_ORPHANS", "NO".into()),
        ("CLONE", "YES".into()),
        ("CLONE_TARGET", "SYSTEM".into()),
        ("CLUSTER_ID", "0".into()),
        ("DATASTORE", "default".into()),
        ("DATASTORE_ID", "1".into()),
        ("DEV_PREFIX", "sd".into()),
        ("DISK_ID", disk_id.to_string()),
        ("DISK_SNAPSHOT_TOTAL_SIZE", "0".into()),
        ("DISK_TYPE", "FILE".into()),
        ("DRIVER", "raw".into()),
        ("FORMAT", "raw".into()),
        ("IMAGE", "blank".into()),
        ("IMAGE_ID", "0".into()),
        ("IMAGE_STATE", "2".into()),
        ("LN_TARGET", "NONE".into()),
        ("ORIGINAL_SIZE", "16".into()),
        ("PERSISTENT_SNAPSHOTS", "YES".into()),
        ("READONLY", "NO".into()),
        ("SAVE", "NO".into()),
        ("SIZE", "16".into()),
        ("SOURCE", "dummy_path".into()),
        ("TARGET", format!("sd{}", (b'b' + disk_id as u8) as char)),
    ];
    let mut out: Vec<(String, String)> =
        v.iter().map(|(k, s)| (k.to_string(), s.clone())).collect();
    out.push(("TM_MAD".into(), "dummy".into()));
    out.push(("TYPE".into(), "FILE".into()));
    out
}

fn nic_ip(vm: u32) -> String {
    format!("10.0.{}.{}", (vm / 250) % 256, vm % 250 + 2)
}

fn nic_mac(vm: u32) -> String {
    format!("02:00:0a:00:{:02x}:{:02x}", (vm / 250) % 256, vm % 250 + 2)
}

fn expand_nic(vm: u32, nic_id: u32) -> Vec<(String, String)> {
    vec![
        ("AR_ID".into(), "0".into()),
        ("BRIDGE".into(), "br0".into()),
        ("BRIDGE_TYPE".into(), "linux".into()),
        ("CLUSTER_ID".into(), "0".into()),
        ("IP".into(), nic_ip(vm)),
        ("MAC".into(), nic_mac(vm)),
        ("NAME".into(), format!("NIC{nic_id}")),
        ("NETWORK".into(), "net0".into()),
        ("NETWORK_ID".into(), "0".into()),
        ("NIC_ID".into(), nic_id.to_string()),
        ("SECURITY_GROUPS".into(), "0".into()),
        ("TARGET".into(), format!("one-{vm}-{nic_id}")),
        ("VN_MAD".into(), "dummy".into()),
    ]
}

fn context_eth0(vm: u32) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = [
        "DNS",
        "EXTERNAL",
        "GATEWAY",
        "IP6",
        "IP6_GATEWAY",
        "IP6_METHOD",
        "IP6_METRIC",
        "IP6_PREFIX_LENGTH",
        "IP6_ULA",
        "MASK",
        "METHOD",
        "METRIC",
        "MTU",
        "NETWORK",
        "ROUTES",
        "SEARCH_DOMAIN",
        "VLAN_ID",
        "VROUTER_IP",
        "VROUTER_IP6",
        "VROUTER_MANAGEMENT",
    ]
    .iter()
    .map(|k| (format!("ETH0_{k}"), String::new()))
    .collect();
    v.push(("ETH0_IP".into(), nic_ip(vm)));
    v.push(("ETH0_MAC".into(), nic_mac(vm)));
    v.push(("NETWORK".into(), "YES".into()));
    v
}

/// A UUID-looking string from a seed (stable per VM).
pub fn uuid(seed: u64) -> String {
    let a = splitmix(seed);
    let b = splitmix(a);
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        (a >> 32) as u32,
        (a >> 16) as u16,
        a as u16 & 0x0fff,
        ((b >> 48) as u16 & 0x3fff) | 0x8000,
        b & 0xffff_ffff_ffff
    )
}

/// SplitMix64: the simulator's reproducible pseudo-random step.
pub fn splitmix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// `Wed Nov 25 09:00:59 2026`, the date form oned puts in ERROR/SCHED_MESSAGE.
pub fn ctime(epoch: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp(epoch)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let fmt = time::macros::format_description!(
        "[weekday repr:short] [month repr:short] [day] [hour]:[minute]:[second] [year]"
    );
    t.format(&fmt).unwrap_or_default()
}

/// One monitoring record of a VM at bucket time `ts` (values move from bucket to bucket).
pub fn monitoring_record(vm: &Vm, ts: i64) -> [(&'static str, String); 10] {
    let r = splitmix(vm.mon_seed ^ (ts as u64).wrapping_mul(0x2545_f491_4f6c_dd1d));
    let running = vm.state == state::ACTIVE;
    let mem_kb = (vm.tnum("MEMORY") * 1024.0) as u64;
    let cpu = if running { 2 + r % 60 } else { 0 };
    let mem = if running && mem_kb > 0 {
        mem_kb / 4 + (r >> 8) % (mem_kb / 2 + 1)
    } else {
        (r >> 8) % 80_000
    };
    let age = (ts - vm.stime).max(0) as u64;
    [
        ("CPU", cpu.to_string()),
        ("DISKRDBYTES", (age * 1000 + (r >> 16) % 1000).to_string()),
        ("DISKRDIOPS", (age * 3 + (r >> 20) % 100).to_string()),
        ("DISKWRBYTES", (age * 700 + (r >> 24) % 1000).to_string()),
        ("DISKWRIOPS", (age * 2 + (r >> 28) % 100).to_string()),
        ("ID", vm.id.to_string()),
        ("MEMORY", mem.to_string()),
        ("NETRX", (age * 2400 + (r >> 32) % 500).to_string()),
        ("NETTX", (age * 1900 + (r >> 40) % 500).to_string()),
        ("TIMESTAMP", ts.to_string()),
    ]
}

/// The monitoring timestamps of a VM at `now`: every 30 s after STIME, the last `max` ones.
pub fn monitoring_times(vm: &Vm, now: i64, max: usize) -> Vec<i64> {
    let end = if vm.state == state::DONE && vm.etime > 0 {
        vm.etime.min(now)
    } else {
        now
    };
    let mut out = Vec::new();
    let mut t = end - end.rem_euclid(30);
    while t > vm.stime && out.len() < max {
        out.push(t);
        t -= 30;
    }
    out.reverse();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vm() -> Vm {
        let user = User {
            id: 2,
            name: "alice".into(),
            gid: 100,
            groups: vec![100],
            password_hash: String::new(),
            token_password: String::new(),
            tokens: Vec::new(),
        };
        let mut t = Template::default();
        t.set("MEMORY", "128");
        t.set("CPU", "0.5");
        let mut v = new_vm(4, &user, "devs", "m", 0, &t, 1_000, false, 9);
        v.state = state::ACTIVE;
        v.lcm = lcm::RUNNING;
        v
    }

    #[test]
    fn monitoring_moves_and_counters_grow() {
        let v = vm();
        let a = monitoring_record(&v, 1_030);
        let b = monitoring_record(&v, 1_060);
        assert_ne!(a, b, "figures change between polls");
        let net = |r: &[(&str, String); 10]| r[7].1.parse::<u64>().expect("NETRX");
        assert!(net(&b) > net(&a), "NETRX is a counter");
        assert_eq!(
            monitoring_record(&v, 1_030),
            a,
            "deterministic per VM and time"
        );
        assert_eq!(
            monitoring_times(&v, 1_100, 3),
            vec![1_020, 1_050, 1_080],
            "every 30 s, last 3"
        );
        assert!(
            monitoring_times(&v, 1_010, 3).is_empty(),
            "not monitored yet"
        );
    }

    /// VNC_PORTS/RESERVED defaults to 32768:65536: oned never hands out a port there, so VM
    /// 26868 and above fall back to the lowest free port from START (API.md §4.2).
    #[test]
    fn reserved_vnc_ports_are_never_picked() {
        let mut w = World::new(5900);
        assert_eq!(
            w.pick_port(26_867),
            Some(32_767),
            "the last port below RESERVED"
        );
        assert_eq!(
            w.pick_port(26_868),
            Some(5900),
            "5900 + 26868 is reserved: fall back"
        );
        assert_eq!(
            w.pick_port(59_645),
            Some(5910),
            "the rule wraps at 65535 - START"
        );
        for p in 5900..32_768 {
            w.ports.insert(p, 0);
        }
        assert_eq!(
            w.pick_port(26_868),
            None,
            "every port below RESERVED is taken"
        );
    }

    #[test]
    fn ctime_and_uuid_forms() {
        assert_eq!(ctime(1_795_597_259), "Wed Nov 25 09:00:59 2026");
        let u = uuid(7);
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
        assert_ne!(uuid(7), uuid(8));
    }
}
