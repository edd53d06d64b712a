//! The template calls: pool, info, instantiate.

use super::{Client, Instantiate, PoolFilter, PoolRange};
use crate::error::Result;
use crate::model::ids::{TemplateId, VmId};
use crate::model::template::{Template, TemplatePool};
use crate::xmlrpc::Param;

impl Client {
    /// `one.templatepool.info`.
    ///
    /// # Errors
    /// As [`Client::call`].
    pub async fn template_pool_info(
        &self,
        filter: PoolFilter,
        range: PoolRange,
    ) -> Result<TemplatePool> {
        let (start, end) = range.bounds();
        self.call_doc(
            "one.templatepool.info",
            &[
                Param::Int(filter.flag()),
                Param::Int(start),
                Param::Int(end),
            ],
        )
        .await
    }

    /// `one.template.info`.
    ///
    /// # Errors
    /// As [`Client::call`].
    pub async fn template_info(&self, id: TemplateId) -> Result<Template> {
        self.call_doc(
            "one.template.info",
            &[Param::Int(id.0), Param::Bool(false), Param::Bool(false)],
        )
        .await
    }

    /// `one.template.instantiate`, `count` times; returns the new VMs' ids.
    ///
    /// # Errors
    /// As [`Client::call`]; stops at the first refusal (VMs made before it stay).
    pub async fn template_instantiate(
        &self,
        id: TemplateId,
        spec: &Instantiate,
    ) -> Result<Vec<VmId>> {
        let extra = [spec.capacity.to_template(), spec.extra_template.clone()]
            .into_iter()
            .filter(|part| !part.trim().is_empty())
            .collect::<Vec<_>>()
            .join("\n");
        let count = spec.count.max(1);
        let mut ids = Vec::with_capacity(count as usize);
        for i in 0..count {
            let name = spec.vm_name(i);
            let params = [
                Param::Int(id.0),
                Param::Str(&name),
                Param::Bool(spec.hold),
                Param::Str(&extra),
                Param::Bool(false),
            ];
            ids.push(VmId(
                self.call_int("one.template.instantiate", &params).await?,
            ));
        }
        Ok(ids)
    }
}
