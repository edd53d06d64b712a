//! The inventory: a profile's VMs from the endpoint, or the cached snapshot.

use std::time::SystemTime;

use onedeck_opennebula::{PoolFilter, PoolRange, StateFilter};
use onedeck_store::VmRow;
use onedeck_vault::{ProfileId, VmFilter};

use super::{DEMO_PROFILE_ID, Deck};
use crate::error::{Error, Result};
use crate::view::{Inventory, VmSummary, unix_ms};

impl Deck {
    // ---- inventory ----

    /// The cached snapshot (marked stale), or `None` when there is none.
    ///
    /// # Errors
    /// `storage`.
    pub async fn inventory_cached(&self, id: &ProfileId) -> Result<Option<Inventory>> {
        let key = id.to_string();
        let snapshot = self.with_store(move |s| s.load_inventory(&key)).await?;
        Ok(snapshot.map(|snap| Inventory {
            profile_id: id.to_owned(),
            fetched_at: unix_ms(snap.fetched_at),
            stale: true,
            stale_reason: None,
            vms: snap
                .rows
                .iter()
                // A row this version cannot read is skipped, not fatal: the next refresh replaces it.
                .filter_map(|r| serde_json::from_str(&r.json).ok())
                .collect(),
        }))
    }

    /// The profile's VMs from the endpoint, saved as the new snapshot. When the endpoint cannot
    /// be reached, the cached snapshot comes back marked stale with the reason.
    ///
    /// # Errors
    /// `notSignedIn`; the endpoint's error when nothing is cached or it is not a network error.
    pub async fn inventory_refresh(&self, id: &ProfileId) -> Result<Inventory> {
        let session = self.session(id)?;
        let filter = match session.profile.vm_filter {
            VmFilter::Mine => PoolFilter::Mine,
            VmFilter::MineAndGroups => PoolFilter::MineAndGroups,
            VmFilter::All => PoolFilter::All,
        };
        let pool = match session
            .client
            .vm_pool_info(filter, StateFilter::NotDone, PoolRange::All)
            .await
        {
            Ok(pool) => pool,
            Err(e) => {
                let e = Error::from(e);
                if e.is_offline()
                    && let Some(mut cached) = self.inventory_cached(id).await?
                {
                    cached.stale_reason = Some(e.to_string());
                    return Ok(cached);
                }
                return Err(e);
            }
        };
        let fetched_at = SystemTime::now();
        let mut vms: Vec<VmSummary> = pool.vms.iter().map(VmSummary::of).collect();
        vms.sort_by_key(|v| v.id);
        // The list holds only VMs that are not DONE: any other console of this profile is gone.
        self.end_consoles_without_console(id, |vm| {
            vms.binary_search_by_key(&vm, |v| v.id)
                .is_ok_and(|i| vms[i].console)
        });
        if id != DEMO_PROFILE_ID {
            let rows = vms
                .iter()
                .map(|v| {
                    Ok(VmRow {
                        vm_id: u64::try_from(v.id.0).unwrap_or_default(),
                        json: serde_json::to_string(v).map_err(|e| Error::Task(e.to_string()))?,
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            let key = id.to_string();
            self.with_store(move |s| s.save_inventory(&key, fetched_at, &rows))
                .await?;
        }
        Ok(Inventory {
            profile_id: id.to_owned(),
            fetched_at: unix_ms(fetched_at),
            stale: false,
            stale_reason: None,
            vms,
        })
    }
}
