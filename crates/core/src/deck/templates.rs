//! Templates and creating VMs from them.

use onedeck_opennebula::{Instantiate, PoolFilter, PoolRange, TemplateId, answers_to_template};
use onedeck_vault::ProfileId;

use super::Deck;
use super::vms::check_name;
use crate::error::{Error, Result};
use crate::view::{CreateRequest, Created, MAX_CREATE_COUNT, TemplateSummary};

impl Deck {
    /// The templates the user may instantiate: every template they may see, their own, their
    /// groups' and those shared with everyone (filter -2, API.md §2.1), by ascending id.
    ///
    /// # Errors
    /// `notSignedIn`; oned's errors.
    pub async fn template_list(&self, id: &ProfileId) -> Result<Vec<TemplateSummary>> {
        let session = self.session(id)?;
        let pool = session
            .client
            .template_pool_info(PoolFilter::All, PoolRange::All)
            .await?;
        let mut out: Vec<TemplateSummary> =
            pool.templates.iter().map(TemplateSummary::of).collect();
        out.sort_by_key(|t| t.id);
        Ok(out)
    }

    /// One template with its questions.
    ///
    /// # Errors
    /// `notFound`, `authorization`...
    pub async fn template_show(
        &self,
        id: &ProfileId,
        template: TemplateId,
    ) -> Result<TemplateSummary> {
        let session = self.session(id)?;
        let t = session.client.template_info(template).await?;
        Ok(TemplateSummary::of(&t))
    }

    /// Creates `count` VMs from a template with the USER_INPUTS answers checked first, so a bad
    /// answer never reaches the endpoint. Each new VM is watched until it runs (or settles).
    ///
    /// # Errors
    /// `invalidInput` naming the field (count, name, or the USER_INPUTS name with its problem);
    /// oned's errors; when some VMs were made before a refusal, [`Error::PartlyCreated`] with
    /// their ids.
    pub async fn vm_create(&self, id: &ProfileId, request: CreateRequest) -> Result<Created> {
        if request.count == 0 || request.count > MAX_CREATE_COUNT {
            return Err(Error::InvalidInput {
                field: "count",
                reason: format!("between 1 and {MAX_CREATE_COUNT}"),
            });
        }
        let name = if request.name.trim().is_empty() {
            String::new()
        } else {
            check_name(&request.name)?
        };
        let session = self.session(id)?;
        // Read afresh: the questions are the template's as it is now, not as the dialog saw it.
        let template = session.client.template_info(request.template_id).await?;
        let extra_template = answers_to_template(&template.user_inputs(), &request.inputs)?;
        let spec = Instantiate {
            name,
            count: request.count,
            hold: request.hold,
            capacity: Default::default(),
            extra_template,
        };
        let mut ids = Vec::with_capacity(request.count as usize);
        for i in 0..request.count {
            let one = Instantiate {
                name: spec.vm_name(i),
                count: 1,
                ..spec.clone()
            };
            match session
                .client
                .template_instantiate(request.template_id, &one)
                .await
            {
                Ok(made) => {
                    for vm in made {
                        self.watch_vm(id, vm);
                        ids.push(vm);
                    }
                }
                Err(e) if ids.is_empty() => return Err(e.into()),
                Err(e) => {
                    return Err(Error::PartlyCreated {
                        created: ids,
                        source: e,
                    });
                }
            }
        }
        Ok(Created { ids })
    }
}
