//! Users (`one.user.info`) and the system configuration (`one.system.config`).

use serde::{Deserialize, Serialize};

use super::common::{Attributes, document, flag, num, opt_num, string};
use super::ids::{GroupId, UserId};
use crate::secret::Secret;
use crate::xml::{Cursor, El, Fail};

/// A login token stored in the user (`LOGIN_TOKEN`). The token itself is a secret.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoginToken {
    /// The token. Never serialised.
    #[serde(skip)]
    pub token: Option<Secret>,
    /// Expiry, epoch seconds; -1 = never.
    pub expiration_time: i64,
    /// Group the token is scoped to; -1 = none.
    pub egid: i32,
}

/// VM quota of a user (`VM_QUOTA/VM`): limits (-1 = default, -2 = unlimited) and usage.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct VmQuota {
    /// `CPU` limit.
    pub cpu: Option<f64>,
    /// `CPU_USED`.
    pub cpu_used: Option<f64>,
    /// `MEMORY` limit, MiB.
    pub memory: Option<f64>,
    /// `MEMORY_USED`, MiB.
    pub memory_used: Option<f64>,
    /// `VMS` limit.
    pub vms: Option<f64>,
    /// `VMS_USED`.
    pub vms_used: Option<f64>,
    /// `RUNNING_VMS` limit.
    pub running_vms: Option<f64>,
    /// `RUNNING_VMS_USED`.
    pub running_vms_used: Option<f64>,
}

/// A user. The password hash is not kept.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct User {
    /// `ID`.
    pub id: UserId,
    /// Primary group.
    pub gid: GroupId,
    /// All groups.
    pub groups: Vec<GroupId>,
    /// Primary group's name.
    pub gname: String,
    /// `NAME`.
    pub name: String,
    /// `AUTH_DRIVER` (core, ldap...).
    pub auth_driver: String,
    /// `ENABLED`.
    pub enabled: bool,
    /// Live login tokens.
    pub login_tokens: Vec<LoginToken>,
    /// `TEMPLATE` attributes (secrets dropped).
    pub template: Attributes,
    /// VM quota, when the document has one.
    pub vm_quota: Option<VmQuota>,
}

document!(User, "USER", decode_user);

fn decode_user(c: &mut Cursor<'_>, root: &El<'_>) -> Result<User, Fail> {
    let mut id = None;
    let mut u = User {
        id: UserId(-1),
        gid: GroupId(-1),
        groups: Vec::new(),
        gname: String::new(),
        name: String::new(),
        auth_driver: String::new(),
        enabled: true,
        login_tokens: Vec::new(),
        template: Attributes::default(),
        vm_quota: None,
    };
    while let Some(child) = c.next_child(root)? {
        match child.name() {
            "ID" => id = Some(UserId(num(c, &child, "an integer")?)),
            "GID" => u.gid = GroupId(num(c, &child, "an integer")?),
            "GROUPS" => {
                while let Some(g) = c.next_child(&child)? {
                    if g.name() == "ID" {
                        u.groups.push(GroupId(num(c, &g, "an integer")?));
                    } else {
                        c.skip(&g)?;
                    }
                }
            }
            "GNAME" => u.gname = string(c, &child)?,
            "NAME" => u.name = string(c, &child)?,
            "AUTH_DRIVER" => u.auth_driver = string(c, &child)?,
            "ENABLED" => u.enabled = flag(c, &child)?,
            "LOGIN_TOKEN" => {
                let mut t = LoginToken {
                    token: None,
                    expiration_time: -1,
                    egid: -1,
                };
                while let Some(f) = c.next_child(&child)? {
                    match f.name() {
                        "TOKEN" => t.token = Some(Secret::new(string(c, &f)?)),
                        "EXPIRATION_TIME" => {
                            t.expiration_time = opt_num(c, &f, "an integer")?.unwrap_or(-1)
                        }
                        "EGID" => t.egid = opt_num(c, &f, "an integer")?.unwrap_or(-1),
                        _ => c.skip(&f)?,
                    }
                }
                u.login_tokens.push(t);
            }
            "TEMPLATE" => u.template = Attributes::decode(c, &child)?,
            "VM_QUOTA" => u.vm_quota = decode_vm_quota(c, &child)?,
            _ => c.skip(&child)?,
        }
    }
    u.id = id.ok_or_else(|| Fail::new(root.offset, "<USER> without <ID>"))?;
    Ok(u)
}

fn decode_vm_quota(c: &mut Cursor<'_>, el: &El<'_>) -> Result<Option<VmQuota>, Fail> {
    let mut quota = None;
    while let Some(vm) = c.next_child(el)? {
        if vm.name() != "VM" {
            c.skip(&vm)?;
            continue;
        }
        let mut q = VmQuota::default();
        while let Some(f) = c.next_child(&vm)? {
            let slot = match f.name() {
                "CPU" => &mut q.cpu,
                "CPU_USED" => &mut q.cpu_used,
                "MEMORY" => &mut q.memory,
                "MEMORY_USED" => &mut q.memory_used,
                "VMS" => &mut q.vms,
                "VMS_USED" => &mut q.vms_used,
                "RUNNING_VMS" => &mut q.running_vms,
                "RUNNING_VMS_USED" => &mut q.running_vms_used,
                _ => {
                    c.skip(&f)?;
                    continue;
                }
            };
            *slot = opt_num(c, &f, "a number")?;
        }
        quota = Some(q);
    }
    Ok(quota)
}

/// `one.system.config`: oned's configuration as attributes (non-admins get a reduced copy).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SystemConfig {
    /// Every attribute of `OPENNEBULA_CONFIGURATION` (secrets dropped).
    pub attributes: Attributes,
}

impl SystemConfig {
    /// `VNC_PORTS/START` (5900 by default).
    pub fn vnc_ports_start(&self) -> Option<u16> {
        match self.attributes.get("VNC_PORTS")? {
            super::common::AttrValue::Vector(v) => v.text("START")?.trim().parse().ok(),
            _ => None,
        }
    }

    /// A single attribute, e.g. `API_LIST_ORDER`.
    pub fn text(&self, name: &str) -> Option<&str> {
        self.attributes.text(name)
    }
}

document!(
    SystemConfig,
    "OPENNEBULA_CONFIGURATION",
    |c: &mut Cursor<'_>, root: &El<'_>| -> Result<SystemConfig, Fail> {
        Ok(SystemConfig {
            attributes: Attributes::decode(c, root)?,
        })
    }
);

/// `one.userpool.info` (admins; kept so every captured document decodes).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UserPool {
    /// The users.
    pub users: Vec<User>,
}

document!(UserPool, "USER_POOL", |c: &mut Cursor<'_>,
                                  root: &El<'_>|
 -> Result<UserPool, Fail> {
    let users = c.children(root, "USER", decode_user)?;
    Ok(UserPool { users })
});
