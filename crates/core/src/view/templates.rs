//! What the create dialog is shown and sends.

use std::collections::BTreeMap;

use onedeck_opennebula::{Template, TemplateId, UserInput, VmId};
use serde::{Deserialize, Serialize};

/// A template the user may instantiate, with its questions.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TemplateSummary {
    /// Template id.
    pub id: TemplateId,
    /// Name.
    pub name: String,
    /// Owner's name.
    pub owner: String,
    /// Group's name.
    pub group: String,
    /// `CPU`.
    pub cpu: Option<f64>,
    /// `VCPU`.
    pub vcpu: Option<u32>,
    /// `MEMORY` in MiB.
    pub memory_mib: Option<u64>,
    /// `DESCRIPTION`.
    pub description: Option<String>,
    /// `USER_INPUTS`, in the order to ask them.
    pub user_inputs: Vec<UserInput>,
}

impl TemplateSummary {
    /// The dialog's view of a template.
    pub fn of(t: &Template) -> Self {
        Self {
            id: t.id,
            name: t.name.clone(),
            owner: t.uname.clone(),
            group: t.gname.clone(),
            cpu: t.template.cpu,
            vcpu: t.template.vcpu,
            memory_mib: t.template.memory_mb,
            description: t.template.description.clone(),
            user_inputs: t.user_inputs(),
        }
    }
}

/// The most VMs one create request makes (Sunstone's dialog has no limit; a typo of 1000
/// should not flood a cloud).
pub const MAX_CREATE_COUNT: u32 = 100;

/// The create dialog's request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateRequest {
    /// The template.
    pub template_id: TemplateId,
    /// VM name; `""` lets OpenNebula choose. With `count > 1`, `%i` is replaced by the index,
    /// or `-<index>` is appended.
    #[serde(default)]
    pub name: String,
    /// How many VMs, 1 to [`MAX_CREATE_COUNT`].
    #[serde(default = "one")]
    pub count: u32,
    /// Create them on hold.
    #[serde(default)]
    pub hold: bool,
    /// USER_INPUTS answers by name, as typed.
    #[serde(default)]
    pub inputs: BTreeMap<String, String>,
}

fn one() -> u32 {
    1
}

/// The VMs a create request made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Created {
    /// Their ids, in creation order.
    pub ids: Vec<VmId>,
}
