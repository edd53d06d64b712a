//! The simulated cloud's objects: users, groups, ACL rules, templates, hosts and VMs.
//!
//! Plain data plus the authorization rules oned applies to it (object permissions owner/group/
//! other × USE/MANAGE/ADMIN, then ACL rules). The VM life cycle lives in `lifecycle`, the
//! documents in `docs`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// One attribute of a template: a single value or a vector of sub-attributes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Attr {
    /// `NAME = "value"`.
    Single(String),
    /// `NAME = [ A = "1", B = "2" ]`.
    Vector(Vec<(String, String)>),
}

/// A template: attributes in insertion order; written sorted by name like oned's multimap.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Template {
    /// The attributes.
    pub attrs: Vec<(String, Attr)>,
}

impl Template {
    /// The first attribute called `name`.
    pub fn get(&self, name: &str) -> Option<&Attr> {
        self.attrs.iter().find(|(n, _)| n == name).map(|(_, a)| a)
    }

    /// The value of single attribute `name`.
    pub fn get_str(&self, name: &str) -> Option<&str> {
        match self.get(name) {
            Some(Attr::Single(s)) => Some(s),
            _ => None,
        }
    }

    /// Sets single attribute `name`, replacing the first one of that name.
    pub fn set(&mut self, name: &str, value: impl Into<String>) {
        let value = value.into();
        if let Some((_, a)) = self.attrs.iter_mut().find(|(n, _)| n == name) {
            *a = Attr::Single(value);
        } else {
            self.attrs.push((name.to_string(), Attr::Single(value)));
        }
    }

    /// Removes every attribute called `name`.
    pub fn remove(&mut self, name: &str) {
        self.attrs.retain(|(n, _)| n != name);
    }

    /// Adds an attribute (vectors may repeat).
    pub fn push(&mut self, name: &str, attr: Attr) {
        self.attrs.push((name.to_string(), attr));
    }

    /// The vectors called `name`, in order.
    pub fn vectors<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Vec<(String, String)>> {
        self.attrs.iter().filter_map(move |(n, a)| match a {
            Attr::Vector(v) if n == name => Some(v),
            _ => None,
        })
    }

    /// The first vector called `name`, mutable.
    pub fn vector_mut(&mut self, name: &str) -> Option<&mut Vec<(String, String)>> {
        self.attrs.iter_mut().find_map(|(n, a)| match a {
            Attr::Vector(v) if n == name => Some(v),
            _ => None,
        })
    }

    /// Whether the template has no attributes.
    pub fn is_empty(&self) -> bool {
        self.attrs.is_empty()
    }

    /// Attributes sorted by name, stable for repeated names (oned's order).
    pub fn sorted(&self) -> Vec<&(String, Attr)> {
        let mut v: Vec<&(String, Attr)> = self.attrs.iter().collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    }
}

/// Sub-attribute `key` of a vector.
pub fn vget<'a>(v: &'a [(String, String)], key: &str) -> Option<&'a str> {
    v.iter().find(|(k, _)| k == key).map(|(_, s)| s.as_str())
}

/// Sets sub-attribute `key` of a vector.
pub fn vset(v: &mut Vec<(String, String)>, key: &str, value: impl Into<String>) {
    let value = value.into();
    if let Some((_, s)) = v.iter_mut().find(|(k, _)| k == key) {
        *s = value;
    } else {
        v.push((key.to_string(), value));
    }
}

/// Removes sub-attribute `key` of a vector.
pub fn vremove(v: &mut Vec<(String, String)>, key: &str) {
    v.retain(|(k, _)| k != key);
}

/// Why a template text could not be parsed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("syntax error in template: {0}")]
pub struct TemplateSyntax(pub String);

/// Parses oned's template syntax: `NAME = value` / `NAME = "value"` / `NAME = [ K = V, … ]`.
pub fn parse_template(text: &str) -> Result<Template, TemplateSyntax> {
    let mut p = TplParser {
        s: text.as_bytes(),
        i: 0,
    };
    let mut t = Template::default();
    loop {
        p.skip_ws(true);
        if p.i >= p.s.len() {
            break;
        }
        let name = p.word()?.to_ascii_uppercase();
        p.skip_ws(false);
        if !p.eat(b'=') {
            return Err(TemplateSyntax(format!("expected '=' after {name}")));
        }
        p.skip_ws(false);
        if p.eat(b'[') {
            let mut v = Vec::new();
            loop {
                p.skip_ws(true);
                if p.eat(b']') {
                    break;
                }
                let k = p.word()?.to_ascii_uppercase();
                p.skip_ws(true);
                if !p.eat(b'=') {
                    return Err(TemplateSyntax(format!("expected '=' after {k}")));
                }
                p.skip_ws(true);
                let val = p.value(true)?;
                v.push((k, val));
                p.skip_ws(true);
                if p.eat(b',') {
                    continue;
                }
                if p.eat(b']') {
                    break;
                }
                return Err(TemplateSyntax("expected ',' or ']'".into()));
            }
            t.push(&name, Attr::Vector(v));
        } else {
            let val = p.value(false)?;
            t.push(&name, Attr::Single(val));
        }
    }
    Ok(t)
}

struct TplParser<'a> {
    s: &'a [u8],
    i: usize,
}

impl TplParser<'_> {
    fn skip_ws(&mut self, newlines: bool) {
        while self.i < self.s.len() {
            let c = self.s[self.i];
            if c == b' ' || c == b'\t' || c == b'\r' || (newlines && c == b'\n') {
                self.i += 1;
            } else if newlines && c == b'#' {
                while self.i < self.s.len() && self.s[self.i] != b'\n' {
                    self.i += 1;
                }
            } else {
                break;
            }
        }
    }

    fn eat(&mut self, c: u8) -> bool {
        if self.s.get(self.i) == Some(&c) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn word(&mut self) -> Result<String, TemplateSyntax> {
        let start = self.i;
        while self.i < self.s.len()
            && (self.s[self.i].is_ascii_alphanumeric()
                || self.s[self.i] == b'_'
                || self.s[self.i] == b'-')
        {
            self.i += 1;
        }
        if start == self.i {
            return Err(TemplateSyntax(format!("expected a name at byte {start}")));
        }
        Ok(String::from_utf8_lossy(&self.s[start..self.i]).into_owned())
    }

    fn value(&mut self, in_vector: bool) -> Result<String, TemplateSyntax> {
        if self.eat(b'"') {
            let mut out = Vec::new();
            while self.i < self.s.len() {
                let c = self.s[self.i];
                self.i += 1;
                match c {
                    b'\\' if self.i < self.s.len() => {
                        out.push(self.s[self.i]);
                        self.i += 1;
                    }
                    b'"' => return Ok(String::from_utf8_lossy(&out).into_owned()),
                    _ => out.push(c),
                }
            }
            Err(TemplateSyntax("unterminated string".into()))
        } else {
            let start = self.i;
            while self.i < self.s.len() {
                let c = self.s[self.i];
                if c == b'\n' || (in_vector && (c == b',' || c == b']')) {
                    break;
                }
                self.i += 1;
            }
            Ok(String::from_utf8_lossy(&self.s[start..self.i])
                .trim()
                .to_string())
        }
    }
}

/// Object permissions: owner/group/other × use/manage/admin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Perms(pub [bool; 9]);

impl Perms {
    /// From an octal-like triple such as `(6, 0, 0)` = `um- --- ---`.
    pub fn from_octal(owner: u8, group: u8, other: u8) -> Self {
        let b = |v: u8, bit: u8| v & bit != 0;
        Self([
            b(owner, 4),
            b(owner, 2),
            b(owner, 1),
            b(group, 4),
            b(group, 2),
            b(group, 1),
            b(other, 4),
            b(other, 2),
            b(other, 1),
        ])
    }
}

/// What an operation needs (ACL rights).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// USE.
    Use,
    /// MANAGE.
    Manage,
    /// ADMIN.
    Admin,
    /// CREATE.
    Create,
}

impl Op {
    /// The word oned writes in authorization errors.
    pub fn word(self) -> &'static str {
        match self {
            Op::Use => "USE",
            Op::Manage => "MANAGE",
            Op::Admin => "ADMIN",
            Op::Create => "CREATE",
        }
    }

    fn bit(self) -> u8 {
        match self {
            Op::Use => 1,
            Op::Manage => 2,
            Op::Admin => 4,
            Op::Create => 8,
        }
    }
}

/// Object kinds that ACL rules name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Kind {
    /// VM.
    Vm,
    /// HOST.
    Host,
    /// TEMPLATE.
    Template,
    /// IMAGE.
    Image,
    /// NET.
    Net,
    /// DATASTORE.
    Datastore,
    /// USER.
    User,
    /// ZONE.
    Zone,
    /// Anything else the default rules name (DOCUMENT, SECGROUP, …).
    OtherKind,
}

impl Kind {
    /// The word oned writes in authorization errors.
    pub fn word(self) -> &'static str {
        match self {
            Kind::Vm => "VM",
            Kind::Host => "HOST",
            Kind::Template => "TEMPLATE",
            Kind::Image => "IMAGE",
            Kind::Net => "NET",
            Kind::Datastore => "DATASTORE",
            Kind::User => "USER",
            Kind::Zone => "ZONE",
            Kind::OtherKind => "DOCUMENT",
        }
    }
}

/// Who an ACL rule applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AclWho {
    /// `*`.
    All,
    /// `#uid`.
    User(u32),
    /// `@gid`.
    Group(u32),
}

/// Which objects an ACL rule covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AclWhat {
    /// `/*`.
    All,
    /// `/#id`.
    Id(u32),
    /// `/@gid`.
    Group(u32),
}

/// One ACL rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AclRule {
    /// Subject.
    pub who: AclWho,
    /// Object kinds.
    pub kinds: Vec<Kind>,
    /// Object selector.
    pub what: AclWhat,
    /// Rights bits (USE 1, MANAGE 2, ADMIN 4, CREATE 8).
    pub rights: u8,
}

impl AclRule {
    /// Parses a rule as `oneacl create` takes it: `WHO RESOURCES/SELECTOR RIGHTS`, e.g.
    /// `@100 VM/@101 USE` (group 100 may use the VMs of group 101) or `#2 VM+TEMPLATE/* USE+MANAGE`.
    /// WHO is `*`, `#uid` or `@gid`; SELECTOR `*`, `#id` or `@gid`; the zone part is not modelled.
    ///
    /// # Errors
    /// A sentence naming the part that is not understood.
    pub fn parse(text: &str) -> Result<Self, String> {
        let parts: Vec<&str> = text.split_whitespace().collect();
        let [who, resources, rights] = parts[..] else {
            return Err(format!(
                "ACL {text:?}: expected \"WHO RESOURCES/SELECTOR RIGHTS\""
            ));
        };
        let id = |s: &str, what: &str| -> Result<u32, String> {
            s.parse()
                .map_err(|_| format!("ACL {text:?}: {what} {s:?} is not a number"))
        };
        let who = match who {
            "*" => AclWho::All,
            w if w.starts_with('#') => AclWho::User(id(&w[1..], "user id")?),
            w if w.starts_with('@') => AclWho::Group(id(&w[1..], "group id")?),
            w => return Err(format!("ACL {text:?}: who {w:?} is not *, #uid or @gid")),
        };
        let (kinds, selector) = resources
            .split_once('/')
            .ok_or_else(|| format!("ACL {text:?}: resources need /SELECTOR"))?;
        let kinds = kinds
            .split('+')
            .map(|k| match k.to_ascii_uppercase().as_str() {
                "VM" => Ok(Kind::Vm),
                "HOST" => Ok(Kind::Host),
                "TEMPLATE" => Ok(Kind::Template),
                "IMAGE" => Ok(Kind::Image),
                "NET" => Ok(Kind::Net),
                "DATASTORE" => Ok(Kind::Datastore),
                "USER" => Ok(Kind::User),
                "ZONE" => Ok(Kind::Zone),
                other => Err(format!("ACL {text:?}: unknown resource {other:?}")),
            })
            .collect::<Result<Vec<_>, _>>()?;
        let what = match selector {
            "*" => AclWhat::All,
            s if s.starts_with('#') => AclWhat::Id(id(&s[1..], "object id")?),
            s if s.starts_with('@') => AclWhat::Group(id(&s[1..], "group id")?),
            s => {
                return Err(format!(
                    "ACL {text:?}: selector {s:?} is not *, #id or @gid"
                ));
            }
        };
        let ops = rights
            .split('+')
            .map(|r| match r.to_ascii_uppercase().as_str() {
                "USE" => Ok(Op::Use),
                "MANAGE" => Ok(Op::Manage),
                "ADMIN" => Ok(Op::Admin),
                "CREATE" => Ok(Op::Create),
                other => Err(format!("ACL {text:?}: unknown right {other:?}")),
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self::new(who, &kinds, what, &ops))
    }

    /// A rule from its parts; `rights` are the operations it grants.
    pub fn new(who: AclWho, kinds: &[Kind], what: AclWhat, rights: &[Op]) -> Self {
        Self {
            who,
            kinds: kinds.to_vec(),
            what,
            rights: rights.iter().fold(0, |acc, o| acc | o.bit()),
        }
    }
}

/// A login token (API.md §1.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Token {
    /// The token text.
    pub token: String,
    /// Epoch seconds, or -1 for never.
    pub expiration: i64,
    /// Group scope, -1 for none.
    pub egid: i32,
}

/// A user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct User {
    /// ID.
    pub id: u32,
    /// Name.
    pub name: String,
    /// Primary group.
    pub gid: u32,
    /// All groups (primary first).
    pub groups: Vec<u32>,
    /// SHA-256 of the password, lowercase hex (what oned stores for the core driver).
    pub password_hash: String,
    /// TEMPLATE/TOKEN_PASSWORD.
    pub token_password: String,
    /// Live login tokens.
    pub tokens: Vec<Token>,
}

/// SHA-256 in lowercase hex.
pub fn sha256_hex(s: &str) -> String {
    let d = Sha256::digest(s.as_bytes());
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// A group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Group {
    /// ID.
    pub id: u32,
    /// Name.
    pub name: String,
}

/// A VM template.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VmTemplate {
    /// ID.
    pub id: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Owner name.
    pub uname: String,
    /// Group name.
    pub gname: String,
    /// Name.
    pub name: String,
    /// Permissions.
    pub perms: Perms,
    /// Registration time.
    pub regtime: i64,
    /// Contents.
    pub template: Template,
}

/// A host.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Host {
    /// ID.
    pub id: u32,
    /// Name (what VMs' HISTORY/HOSTNAME carries; resolves to loopback here).
    pub name: String,
    /// State (2 = MONITORED).
    pub state: u32,
    /// Cluster ID.
    pub cluster_id: u32,
    /// Last monitoring time.
    pub monitored_at: i64,
}

/// One HISTORY record of a VM.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct History {
    /// Sequence number.
    pub seq: u32,
    /// Host name.
    pub hostname: String,
    /// Host ID.
    pub hid: u32,
    /// Start time.
    pub stime: i64,
    /// End time.
    pub etime: i64,
    /// Scheduler plan (-1 scheduler, -2 API).
    pub plan_id: i32,
    /// Scheduler action (0 scheduler, -1 API).
    pub action_id: i32,
    /// Prolog start/end, running start/end, epilog start/end.
    pub times: [i64; 6],
    /// The action that closed (or acts on) this record.
    pub action: u32,
    /// Who requested it (-1 = none).
    pub uid: i32,
    /// Their group.
    pub gid: i32,
    /// Request ID.
    pub request_id: i32,
}

/// A scheduled action.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SchedAction {
    /// ID.
    pub id: u32,
    /// Action name.
    pub action: String,
    /// Epoch time.
    pub time: i64,
}

/// A VM.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Vm {
    /// ID.
    pub id: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Owner name.
    pub uname: String,
    /// Group name.
    pub gname: String,
    /// Name.
    pub name: String,
    /// Permissions.
    pub perms: Perms,
    /// STATE.
    pub state: u32,
    /// LCM_STATE.
    pub lcm: u32,
    /// PREV_STATE.
    pub prev_state: u32,
    /// PREV_LCM_STATE.
    pub prev_lcm: u32,
    /// RESCHED.
    pub resched: bool,
    /// Start time.
    pub stime: i64,
    /// End time.
    pub etime: i64,
    /// DEPLOY_ID ("" before the first deploy).
    pub deploy_id: String,
    /// TEMPLATE.
    pub template: Template,
    /// USER_TEMPLATE.
    pub user_template: Template,
    /// HISTORY records, oldest first.
    pub history: Vec<History>,
    /// Scheduled actions.
    pub sched_actions: Vec<SchedAction>,
    /// Where a PENDING VM resumes from (STOPPED/UNDEPLOYED need a prolog), 0 for a fresh deploy.
    pub resume_from: u32,
    /// Bumped on every state change; stale timers check it.
    pub epoch: u64,
    /// Bumped when the console must be dropped and reopened (reboot).
    pub console_gen: u64,
    /// Seed for this VM's monitoring figures.
    pub mon_seed: u64,
    /// Next snapshot ID.
    pub next_snapshot: u32,
    /// The last STATE/LCM_STATE pairs the VM went through, oldest first (for the test hook
    /// `GET /sim/vms/<id>/transitions`: a state lasting 50 ms is easy to miss by polling).
    #[serde(skip)]
    pub transitions: std::collections::VecDeque<(u32, u32)>,
}

/// VM STATE values (API.md §3).
pub mod state {
    /// INIT.
    pub const INIT: u32 = 0;
    /// PENDING.
    pub const PENDING: u32 = 1;
    /// HOLD.
    pub const HOLD: u32 = 2;
    /// ACTIVE.
    pub const ACTIVE: u32 = 3;
    /// STOPPED.
    pub const STOPPED: u32 = 4;
    /// SUSPENDED.
    pub const SUSPENDED: u32 = 5;
    /// DONE.
    pub const DONE: u32 = 6;
    /// POWEROFF.
    pub const POWEROFF: u32 = 8;
    /// UNDEPLOYED.
    pub const UNDEPLOYED: u32 = 9;
    /// CLONING.
    pub const CLONING: u32 = 10;
    /// CLONING_FAILURE.
    pub const CLONING_FAILURE: u32 = 11;
}

/// LCM_STATE values used by the simulator (API.md §3).
pub mod lcm {
    /// LCM_INIT.
    pub const LCM_INIT: u32 = 0;
    /// PROLOG.
    pub const PROLOG: u32 = 1;
    /// BOOT.
    pub const BOOT: u32 = 2;
    /// RUNNING.
    pub const RUNNING: u32 = 3;
    /// SAVE_STOP.
    pub const SAVE_STOP: u32 = 5;
    /// SAVE_SUSPEND.
    pub const SAVE_SUSPEND: u32 = 6;
    /// PROLOG_RESUME.
    pub const PROLOG_RESUME: u32 = 9;
    /// EPILOG_STOP.
    pub const EPILOG_STOP: u32 = 10;
    /// EPILOG.
    pub const EPILOG: u32 = 11;
    /// SHUTDOWN.
    pub const SHUTDOWN: u32 = 12;
    /// CLEANUP_RESUBMIT.
    pub const CLEANUP_RESUBMIT: u32 = 15;
    /// UNKNOWN.
    pub const UNKNOWN: u32 = 16;
    /// SHUTDOWN_POWEROFF.
    pub const SHUTDOWN_POWEROFF: u32 = 18;
    /// BOOT_UNKNOWN.
    pub const BOOT_UNKNOWN: u32 = 19;
    /// BOOT_POWEROFF.
    pub const BOOT_POWEROFF: u32 = 20;
    /// BOOT_SUSPENDED.
    pub const BOOT_SUSPENDED: u32 = 21;
    /// BOOT_STOPPED.
    pub const BOOT_STOPPED: u32 = 22;
    /// CLEANUP_DELETE.
    pub const CLEANUP_DELETE: u32 = 23;
    /// HOTPLUG_SNAPSHOT.
    pub const HOTPLUG_SNAPSHOT: u32 = 24;
    /// SHUTDOWN_UNDEPLOY.
    pub const SHUTDOWN_UNDEPLOY: u32 = 29;
    /// EPILOG_UNDEPLOY.
    pub const EPILOG_UNDEPLOY: u32 = 30;
    /// PROLOG_UNDEPLOY.
    pub const PROLOG_UNDEPLOY: u32 = 31;
    /// BOOT_UNDEPLOY.
    pub const BOOT_UNDEPLOY: u32 = 32;
    /// BOOT_FAILURE.
    pub const BOOT_FAILURE: u32 = 36;
    /// PROLOG_FAILURE.
    pub const PROLOG_FAILURE: u32 = 39;
    /// EPILOG_FAILURE.
    pub const EPILOG_FAILURE: u32 = 40;
    /// EPILOG_STOP_FAILURE.
    pub const EPILOG_STOP_FAILURE: u32 = 41;
    /// EPILOG_UNDEPLOY_FAILURE.
    pub const EPILOG_UNDEPLOY_FAILURE: u32 = 42;
    /// BOOT_UNDEPLOY_FAILURE.
    pub const BOOT_UNDEPLOY_FAILURE: u32 = 47;
    /// BOOT_STOPPED_FAILURE.
    pub const BOOT_STOPPED_FAILURE: u32 = 48;
    /// PROLOG_RESUME_FAILURE.
    pub const PROLOG_RESUME_FAILURE: u32 = 49;
    /// PROLOG_UNDEPLOY_FAILURE.
    pub const PROLOG_UNDEPLOY_FAILURE: u32 = 50;
}

/// The name oned gives a STATE.
pub fn state_name(s: u32) -> &'static str {
    match s {
        0 => "INIT",
        1 => "PENDING",
        2 => "HOLD",
        3 => "ACTIVE",
        4 => "STOPPED",
        5 => "SUSPENDED",
        6 => "DONE",
        7 => "FAILED",
        8 => "POWEROFF",
        9 => "UNDEPLOYED",
        10 => "CLONING",
        11 => "CLONING_FAILURE",
        _ => "UNKNOWN",
    }
}

/// The name oned gives an LCM_STATE.
pub fn lcm_name(l: u32) -> &'static str {
    const NAMES: [&str; 72] = [
        "LCM_INIT",
        "PROLOG",
        "BOOT",
        "RUNNING",
        "MIGRATE",
        "SAVE_STOP",
        "SAVE_SUSPEND",
        "SAVE_MIGRATE",
        "PROLOG_MIGRATE",
        "PROLOG_RESUME",
        "EPILOG_STOP",
        "EPILOG",
        "SHUTDOWN",
        "CANCEL",
        "FAILURE",
        "CLEANUP_RESUBMIT",
        "UNKNOWN",
        "HOTPLUG",
        "SHUTDOWN_POWEROFF",
        "BOOT_UNKNOWN",
        "BOOT_POWEROFF",
        "BOOT_SUSPENDED",
        "BOOT_STOPPED",
        "CLEANUP_DELETE",
        "HOTPLUG_SNAPSHOT",
        "HOTPLUG_NIC",
        "HOTPLUG_SAVEAS",
        "HOTPLUG_SAVEAS_POWEROFF",
        "HOTPLUG_SAVEAS_SUSPENDED",
        "SHUTDOWN_UNDEPLOY",
        "EPILOG_UNDEPLOY",
        "PROLOG_UNDEPLOY",
        "BOOT_UNDEPLOY",
        "HOTPLUG_PROLOG_POWEROFF",
        "HOTPLUG_EPILOG_POWEROFF",
        "BOOT_MIGRATE",
        "BOOT_FAILURE",
        "BOOT_MIGRATE_FAILURE",
        "PROLOG_MIGRATE_FAILURE",
        "PROLOG_FAILURE",
        "EPILOG_FAILURE",
        "EPILOG_STOP_FAILURE",
        "EPILOG_UNDEPLOY_FAILURE",
        "PROLOG_MIGRATE_POWEROFF",
        "PROLOG_MIGRATE_POWEROFF_FAILURE",
        "PROLOG_MIGRATE_SUSPEND",
        "PROLOG_MIGRATE_SUSPEND_FAILURE",
        "BOOT_UNDEPLOY_FAILURE",
        "BOOT_STOPPED_FAILURE",
        "PROLOG_RESUME_FAILURE",
        "PROLOG_UNDEPLOY_FAILURE",
        "DISK_SNAPSHOT_POWEROFF",
        "DISK_SNAPSHOT_REVERT_POWEROFF",
        "DISK_SNAPSHOT_DELETE_POWEROFF",
        "DISK_SNAPSHOT_SUSPENDED",
        "DISK_SNAPSHOT_REVERT_SUSPENDED",
        "DISK_SNAPSHOT_DELETE_SUSPENDED",
        "DISK_SNAPSHOT",
        "DISK_SNAPSHOT_REVERT",
        "DISK_SNAPSHOT_DELETE",
        "PROLOG_MIGRATE_UNKNOWN",
        "PROLOG_MIGRATE_UNKNOWN_FAILURE",
        "DISK_RESIZE",
        "DISK_RESIZE_POWEROFF",
        "DISK_RESIZE_UNDEPLOYED",
        "HOTPLUG_NIC_POWEROFF",
        "HOTPLUG_RESIZE",
        "HOTPLUG_SAVEAS_UNDEPLOYED",
        "HOTPLUG_SAVEAS_STOPPED",
        "BACKUP",
        "BACKUP_POWEROFF",
        "RESTORE",
    ];
    NAMES.get(l as usize).copied().unwrap_or("UNKNOWN")
}

impl Vm {
    /// The state name oned uses in messages: the LCM name for ACTIVE VMs.
    pub fn state_str(&self) -> &'static str {
        if self.state == state::ACTIVE {
            lcm_name(self.lcm)
        } else {
            state_name(self.state)
        }
    }

    /// GRAPHICS/PORT, if set.
    pub fn vnc_port(&self) -> Option<u16> {
        self.template
            .vectors("GRAPHICS")
            .next()
            .and_then(|g| vget(g, "PORT"))
            .and_then(|p| p.parse().ok())
    }

    /// GRAPHICS/PASSWD, if set and non-empty.
    pub fn vnc_password(&self) -> Option<String> {
        self.template
            .vectors("GRAPHICS")
            .next()
            .and_then(|g| vget(g, "PASSWD"))
            .filter(|p| !p.is_empty())
            .map(str::to_string)
    }

    /// Whether GRAPHICS/TYPE is VNC.
    pub fn has_vnc(&self) -> bool {
        self.template
            .vectors("GRAPHICS")
            .next()
            .and_then(|g| vget(g, "TYPE"))
            .is_some_and(|t| t.eq_ignore_ascii_case("vnc"))
    }

    /// Whether GRAPHICS/TYPE is SPICE.
    pub fn has_spice(&self) -> bool {
        self.template
            .vectors("GRAPHICS")
            .next()
            .and_then(|g| vget(g, "TYPE"))
            .is_some_and(|t| t.eq_ignore_ascii_case("spice"))
    }

    /// Whether the VM is on a host with its console up (Sunstone's console states).
    pub fn console_up(&self) -> bool {
        self.state == state::ACTIVE
            && matches!(
                self.lcm,
                3 | 4 | 12 | 13 | 16 | 17 | 18 | 24..=29 | 57 | 58 | 62
            )
    }

    /// A template number (CPU, MEMORY, VCPU) or 0.
    pub fn tnum(&self, name: &str) -> f64 {
        self.template
            .get_str(name)
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0)
    }
}

/// The caller of a request, after authentication.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// User ID.
    pub uid: u32,
    /// Primary group.
    pub gid: u32,
    /// All groups.
    pub groups: Vec<u32>,
}

impl Caller {
    /// Members of the oneadmin group (and oneadmin itself) pass every check.
    pub fn is_admin(&self) -> bool {
        self.uid == 0 || self.groups.contains(&0)
    }
}

/// What authorization needs to know about an object.
#[derive(Debug, Clone, Copy)]
pub struct ObjRef {
    /// Kind.
    pub kind: Kind,
    /// ID.
    pub id: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Permissions (None for objects without, e.g. hosts).
    pub perms: Option<Perms>,
}

/// Whether `caller` may do `op` on `obj`, by permissions first, then ACL rules (oned's order).
pub fn authorized(acls: &[AclRule], caller: &Caller, op: Op, obj: &ObjRef) -> bool {
    if caller.is_admin() {
        return true;
    }
    if let Some(p) = obj.perms {
        let idx = match op {
            Op::Use => 0,
            Op::Manage => 1,
            Op::Admin => 2,
            Op::Create => 99,
        };
        if idx < 3 {
            if obj.uid == caller.uid && p.0[idx] {
                return true;
            }
            if caller.groups.contains(&obj.gid) && p.0[3 + idx] {
                return true;
            }
            if p.0[6 + idx] {
                return true;
            }
        }
    }
    acl_allows(acls, caller, op, obj.kind, Some((obj.id, obj.gid)))
}

/// Whether an ACL rule grants `op` on `kind` (object `Some((id, gid))`, or `None` for CREATE).
pub fn acl_allows(
    acls: &[AclRule],
    caller: &Caller,
    op: Op,
    kind: Kind,
    obj: Option<(u32, u32)>,
) -> bool {
    acls.iter().any(|r| {
        let who = match r.who {
            AclWho::All => true,
            AclWho::User(u) => u == caller.uid,
            AclWho::Group(g) => caller.groups.contains(&g),
        };
        let what = match (r.what, obj) {
            (AclWhat::All, _) => true,
            (AclWhat::Id(i), Some((id, _))) => i == id,
            (AclWhat::Group(g), Some((_, gid))) => g == gid,
            _ => false,
        };
        who && what && r.kinds.contains(&kind) && r.rights & op.bit() != 0
    })
}

/// Users by ID.
pub type Users = BTreeMap<u32, User>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acl_rules_parse_as_oneacl_writes_them() {
        let r = AclRule::parse("@100 VM/@101 USE").expect("a valid rule");
        assert_eq!(
            r,
            AclRule::new(
                AclWho::Group(100),
                &[Kind::Vm],
                AclWhat::Group(101),
                &[Op::Use]
            )
        );
        let r = AclRule::parse("#2 VM+TEMPLATE/* USE+MANAGE").expect("a valid rule");
        assert_eq!(r.kinds, [Kind::Vm, Kind::Template]);
        assert_eq!(r.rights, Op::Use.bit() | Op::Manage.bit());
        for bad in [
            "@100 VM USE",
            "@x VM/* USE",
            "@1 WIDGET/* USE",
            "@1 VM/* FLY",
            "@1 VM/%1 USE",
            "",
        ] {
            assert!(AclRule::parse(bad).is_err(), "{bad:?} is refused");
        }
    }

    #[test]
    fn parses_oned_template_text() {
        let t = parse_template(
            "CPU=\"0.5\"\nVCPU = 2\nMEMORY=\"256\"\nGRAPHICS=[TYPE=\"VNC\", LISTEN = 0.0.0.0 ,PORT=\"5999\"]\n# c\nlabels = \"a \\\"b\\\"\"",
        )
        .expect("parses");
        assert_eq!(t.get_str("CPU"), Some("0.5"));
        assert_eq!(t.get_str("VCPU"), Some("2"));
        let g = t.vectors("GRAPHICS").next().expect("graphics");
        assert_eq!(vget(g, "LISTEN"), Some("0.0.0.0"));
        assert_eq!(vget(g, "PORT"), Some("5999"));
        assert_eq!(t.get_str("LABELS"), Some("a \"b\""));
        assert!(parse_template("CPU").is_err());
        assert!(parse_template("A=[B=1").is_err());
        assert!(parse_template("A=\"x").is_err());
    }

    #[test]
    fn permissions_then_acl() {
        let alice = Caller {
            uid: 2,
            gid: 100,
            groups: vec![100],
        };
        let vm = ObjRef {
            kind: Kind::Vm,
            id: 10,
            uid: 3,
            gid: 101,
            perms: Some(Perms::from_octal(6, 0, 0)),
        };
        assert!(!authorized(&[], &alice, Op::Use, &vm));
        let own = ObjRef {
            uid: 2,
            gid: 100,
            ..vm
        };
        assert!(authorized(&[], &alice, Op::Use, &own));
        assert!(authorized(&[], &alice, Op::Manage, &own));
        assert!(!authorized(&[], &alice, Op::Admin, &own));
        let host = ObjRef {
            kind: Kind::Host,
            id: 0,
            uid: 0,
            gid: 0,
            perms: None,
        };
        let manage_only = [AclRule::new(
            AclWho::Group(100),
            &[Kind::Host],
            AclWhat::All,
            &[Op::Manage],
        )];
        assert!(!authorized(&manage_only, &alice, Op::Use, &host));
        let usable = [AclRule::new(
            AclWho::Group(100),
            &[Kind::Host],
            AclWhat::All,
            &[Op::Use],
        )];
        assert!(authorized(&usable, &alice, Op::Use, &host));
        let admin = Caller {
            uid: 0,
            gid: 0,
            groups: vec![0],
        };
        assert!(authorized(&[], &admin, Op::Admin, &vm));
    }

    #[test]
    fn state_names() {
        assert_eq!(lcm_name(18), "SHUTDOWN_POWEROFF");
        assert_eq!(lcm_name(71), "RESTORE");
        assert_eq!(state_name(8), "POWEROFF");
    }
}
