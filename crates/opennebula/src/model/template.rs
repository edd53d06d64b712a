//! VM templates (`one.template.info`, `one.templatepool.info`).

use serde::{Deserialize, Serialize};

use super::common::{Lock, Permissions, document, num, opt_num, string};
use super::ids::{GroupId, TemplateId, UserId};
use super::user_input::UserInput;
use super::vm::{VmTemplate, decode_template, split_labels};
use crate::xml::{Cursor, El, Fail};

/// A VM template (`VMTEMPLATE`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Template {
    /// `ID`.
    pub id: TemplateId,
    /// Owner's user id.
    pub uid: UserId,
    /// Group id.
    pub gid: GroupId,
    /// Owner's name.
    pub uname: String,
    /// Group's name.
    pub gname: String,
    /// Template name.
    pub name: String,
    /// Permission bits.
    pub permissions: Option<Permissions>,
    /// Lock, if locked.
    pub lock: Option<Lock>,
    /// Registration time, epoch seconds.
    pub regtime: i64,
    /// `TEMPLATE`: capacity, disks, NICs, graphics (its `PASSWD` is kept as a secret, not
    /// serialised), context.
    pub template: VmTemplate,
    /// Labels from `TEMPLATE/LABELS`.
    pub labels: Vec<String>,
}

impl Template {
    /// The questions `USER_INPUTS` asks at instantiation, in the order to ask them.
    pub fn user_inputs(&self) -> Vec<UserInput> {
        UserInput::parse_all(
            &self.template.user_inputs,
            self.template.inputs_order.as_deref(),
        )
    }
}

/// `one.templatepool.info`: the templates in oned's order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TemplatePool {
    /// The templates.
    pub templates: Vec<Template>,
}

document!(Template, "VMTEMPLATE", |c: &mut Cursor<'_>,
                                   root: &El<'_>|
 -> Result<Template, Fail> {
    decode_vmtemplate(c, root)
});

document!(TemplatePool, "VMTEMPLATE_POOL", |c: &mut Cursor<'_>,
                                            root: &El<'_>|
 -> Result<
    TemplatePool,
    Fail,
> {
    let templates = c.children(root, "VMTEMPLATE", decode_vmtemplate)?;
    Ok(TemplatePool { templates })
});

fn decode_vmtemplate(c: &mut Cursor<'_>, el: &El<'_>) -> Result<Template, Fail> {
    let mut id = None;
    let mut t = Template {
        id: TemplateId(-1),
        uid: UserId(-1),
        gid: GroupId(-1),
        uname: String::new(),
        gname: String::new(),
        name: String::new(),
        permissions: None,
        lock: None,
        regtime: 0,
        template: VmTemplate::default(),
        labels: Vec::new(),
    };
    while let Some(child) = c.next_child(el)? {
        match child.name() {
            "ID" => id = Some(TemplateId(num(c, &child, "an integer")?)),
            "UID" => t.uid = UserId(num(c, &child, "an integer")?),
            "GID" => t.gid = GroupId(num(c, &child, "an integer")?),
            "UNAME" => t.uname = string(c, &child)?,
            "GNAME" => t.gname = string(c, &child)?,
            "NAME" => t.name = string(c, &child)?,
            "PERMISSIONS" => t.permissions = Some(Permissions::decode(c, &child)?),
            "LOCK" => t.lock = Some(Lock::decode(c, &child)?),
            "REGTIME" => t.regtime = opt_num(c, &child, "an integer")?.unwrap_or(0),
            "TEMPLATE" => t.template = decode_template(c, &child)?,
            _ => c.skip(&child)?,
        }
    }
    t.id = id.ok_or_else(|| Fail::new(el.offset, "<VMTEMPLATE> without <ID>"))?;
    t.labels = split_labels(t.template.labels.as_deref());
    Ok(t)
}
