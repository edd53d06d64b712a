//! The inventory: a profile's VMs from the endpoint in pages, or the cached snapshot; sent to a
//! front end as deltas against what it already holds.

use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::time::SystemTime;

use onedeck_opennebula::{PoolFilter, PoolRange, StateFilter, VmId};
use onedeck_store::VmRow;
use onedeck_vault::{ProfileId, VmFilter};

use super::{DEMO_PROFILE_ID, Deck, lock};
use crate::error::{Error, Result};
use crate::inventory_diff::Held;
use crate::view::inventory::{InventoryDelta, TableView};
use crate::view::{Inventory, VmSummary, unix_ms};

/// VMs asked for in the first pool page: small, so the first rows paint soon.
pub const FIRST_PAGE: u32 = 1_000;
/// VMs asked for in each later page: a real oned's VM is 1–2 KB of XML with a disk and a NIC, so
/// a page stays far below the client's reply cap (128 MiB) however large the pool.
pub const PAGE: u32 = 10_000;
/// A pool longer than this many pages is refused rather than fetched forever.
const MAX_PAGES: usize = 1_000;
/// The table view key of the "All endpoints" view (not a valid profile id).
pub const ALL_ENDPOINTS_VIEW: &str = "*all";

/// What one front end holds of a profile, under which revision.
#[derive(Debug, Default)]
pub(super) struct HeldInventory {
    revision: u64,
    held: Held,
}

/// A fetched pool, by ascending id.
struct Fetched {
    vms: Vec<VmSummary>,
    at: SystemTime,
}

impl Deck {
    // ---- inventory ----

    fn next_revision(&self) -> u64 {
        self.inner.revisions.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// Records that the front end holds `vms` of `id` whole; returns the new revision.
    fn hold(&self, id: &ProfileId, vms: &[VmSummary]) -> u64 {
        let revision = self.next_revision();
        lock(&self.inner.held).insert(
            id.to_owned(),
            HeldInventory {
                revision,
                held: Held::of(vms),
            },
        );
        revision
    }

    /// Keeps the held rows in step with a `vmChanged` event the front end applies.
    pub(super) fn hold_change(&self, id: &ProfileId, vm_id: VmId, row: Option<&VmSummary>) {
        if let Some(held) = lock(&self.inner.held).get_mut(id) {
            match row {
                Some(vm) => held.held.upsert(vm),
                None => held.held.remove(vm_id),
            }
        }
    }

    /// The cached snapshot as a reset delta (stale), or `None` when there is none. The front end
    /// then holds it: the next [`Deck::inventory_sync`] sends only what differs from it.
    ///
    /// # Errors
    /// `storage`.
    pub async fn inventory_cached(&self, id: &ProfileId) -> Result<Option<InventoryDelta>> {
        let Some((vms, fetched_at)) = self.cached_rows(id).await? else {
            return Ok(None);
        };
        let revision = self.hold(id, &vms);
        Ok(Some(InventoryDelta {
            profile_id: id.to_owned(),
            revision,
            reset: true,
            loaded: vms.len(),
            rows: vms,
            removed: Vec::new(),
            fetched_at,
            stale: true,
            stale_reason: None,
            done: true,
            pages: 0,
        }))
    }

    /// The cached snapshot's rows and when they were fetched, without holding them.
    pub(super) async fn cached_rows(
        &self,
        id: &ProfileId,
    ) -> Result<Option<(Vec<VmSummary>, u64)>> {
        let key = id.to_string();
        let snapshot = self.with_store(move |s| s.load_inventory(&key)).await?;
        Ok(snapshot.map(|snap| {
            let vms = snap
                .rows
                .iter()
                // A row this version cannot read is skipped, not fatal: the next refresh replaces it.
                .filter_map(|r| serde_json::from_str(&r.json).ok())
                .collect();
            (vms, unix_ms(snap.fetched_at))
        }))
    }

    /// The profile's VMs from the endpoint, whole (the command line's list). When the endpoint
    /// cannot be reached, the cached snapshot comes back marked stale with the reason.
    ///
    /// # Errors
    /// `notSignedIn`; the endpoint's error when nothing is cached or it is not a network error.
    pub async fn inventory_refresh(&self, id: &ProfileId) -> Result<Inventory> {
        match self.fetch_pool(id, Save::Await, |_| {}).await {
            Ok(fetched) => Ok(Inventory {
                profile_id: id.to_owned(),
                fetched_at: unix_ms(fetched.at),
                stale: false,
                stale_reason: None,
                vms: fetched.vms,
            }),
            Err(e) => {
                if e.is_offline()
                    && let Some((vms, fetched_at)) = self.cached_rows(id).await?
                {
                    return Ok(Inventory {
                        profile_id: id.to_owned(),
                        fetched_at,
                        stale: true,
                        stale_reason: Some(e.to_string()),
                        vms,
                    });
                }
                Err(e)
            }
        }
    }

    /// Brings a front end's rows of profile `id` up to date with the endpoint.
    ///
    /// `since` is the revision of the last delta the front end applied. When it is the one this
    /// deck last gave out for the profile, the reply carries only the rows that changed since and
    /// the VMs that went. Otherwise (first load, a reload) every row comes, page by page through
    /// `on_page` as the pool pages arrive (the first is a reset), and the reply is what changed
    /// during the load. When the endpoint cannot be reached the reply is marked stale: empty when
    /// the front end holds rows already, else the cached snapshot.
    ///
    /// # Errors
    /// `notSignedIn`; the endpoint's error when nothing is held or cached, or it is not a
    /// network error.
    pub async fn inventory_sync(
        &self,
        id: &ProfileId,
        since: Option<u64>,
        on_page: impl Fn(InventoryDelta) + Send + Sync,
    ) -> Result<InventoryDelta> {
        let holds_current = since.is_some_and(|since| {
            lock(&self.inner.held)
                .get(id)
                .is_some_and(|h| h.revision == since)
        });
        let stream_revision = (!holds_current).then(|| self.next_revision());
        let mut streamed = Held::default();
        let mut first = true;
        let mut pages = 0u32;
        let fetched = self
            .fetch_pool(id, Save::Background, |page: PageRows<'_>| {
                let Some(revision) = stream_revision else {
                    return;
                };
                pages += 1;
                on_page(InventoryDelta {
                    profile_id: id.to_owned(),
                    revision,
                    pages,
                    reset: std::mem::take(&mut first),
                    rows: page.rows.to_vec(),
                    removed: Vec::new(),
                    fetched_at: unix_ms(SystemTime::now()),
                    stale: false,
                    stale_reason: None,
                    done: false,
                    loaded: page.loaded,
                });
                for vm in page.rows {
                    streamed.upsert(vm);
                }
            })
            .await;
        let fetched = match fetched {
            Ok(fetched) => fetched,
            Err(e) => return self.sync_failed(id, since, holds_current, e).await,
        };
        let mut held = if holds_current {
            lock(&self.inner.held)
                .remove(id)
                .map(|h| h.held)
                .unwrap_or_default()
        } else {
            streamed
        };
        let diff = held.advance(&fetched.vms);
        let revision = self.next_revision();
        lock(&self.inner.held).insert(id.to_owned(), HeldInventory { revision, held });
        let loaded = fetched.vms.len();
        let rows = diff
            .changed
            .iter()
            .filter_map(|&i| fetched.vms.get(i).cloned())
            .collect();
        Ok(InventoryDelta {
            profile_id: id.to_owned(),
            revision,
            // Nothing streamed (an empty pool): the front end still drops what it had.
            reset: !holds_current && first,
            rows,
            removed: diff.removed,
            fetched_at: unix_ms(fetched.at),
            stale: false,
            stale_reason: None,
            done: true,
            loaded,
            pages,
        })
    }

    async fn sync_failed(
        &self,
        id: &ProfileId,
        since: Option<u64>,
        holds_current: bool,
        e: Error,
    ) -> Result<InventoryDelta> {
        if !e.is_offline() {
            return Err(e);
        }
        if holds_current && let Some(since) = since {
            let loaded = lock(&self.inner.held).get(id).map_or(0, |h| h.held.len());
            return Ok(InventoryDelta {
                profile_id: id.to_owned(),
                revision: since,
                reset: false,
                rows: Vec::new(),
                removed: Vec::new(),
                fetched_at: 0,
                stale: true,
                stale_reason: Some(e.to_string()),
                done: true,
                loaded,
                pages: 0,
            });
        }
        match self.inventory_cached(id).await? {
            Some(mut cached) => {
                cached.stale_reason = Some(e.to_string());
                Ok(cached)
            }
            None => Err(e),
        }
    }

    /// Fetches the pool page by page (ids may shift between pages while VMs come and go: a VM
    /// seen twice counts once, one missed is in the next refresh), calls `on_page` with each
    /// page's new rows, then saves the snapshot in the background.
    async fn fetch_pool(
        &self,
        id: &ProfileId,
        save: Save,
        mut on_page: impl FnMut(PageRows<'_>),
    ) -> Result<Fetched> {
        let session = self.session(id)?;
        let filter = match session.profile.vm_filter {
            VmFilter::Mine => PoolFilter::Mine,
            VmFilter::MineAndGroups => PoolFilter::MineAndGroups,
            VmFilter::All => PoolFilter::All,
        };
        let mut vms: Vec<VmSummary> = Vec::new();
        let mut seen = HashSet::new();
        let fetch = |offset: u32, size: u32| {
            let client = session.client.clone();
            // Its own task, so the next page is on the wire (and decoding on the other core)
            // while this one is turned into rows and sent.
            tokio::spawn(async move {
                client
                    .vm_pool_info(
                        filter,
                        StateFilter::NotDone,
                        PoolRange::Page { offset, size },
                    )
                    .await
            })
        };
        let mut offset = 0u32;
        let mut size = FIRST_PAGE;
        let mut next = Some(fetch(offset, size));
        for _ in 0..MAX_PAGES {
            let Some(page) = next.take() else { break };
            let pool = page.await.map_err(|e| Error::Task(e.to_string()))??;
            let got = pool.vms.len();
            // A short page is the last; a page longer than asked means paging was ignored and
            // this was the whole pool.
            let last = got != size as usize;
            if !last {
                offset = offset.saturating_add(size);
                size = PAGE;
                next = Some(fetch(offset, size));
            }
            let start = vms.len();
            vms.extend(
                pool.vms
                    .iter()
                    .filter(|vm| seen.insert(vm.id))
                    .map(VmSummary::of),
            );
            drop(pool);
            on_page(PageRows {
                rows: &vms[start..],
                loaded: vms.len(),
            });
            if last {
                return self.fetched(id, vms, save).await;
            }
        }
        Err(Error::InvalidInput {
            field: "VM pool",
            reason: format!("more than {} VMs", MAX_PAGES * PAGE as usize),
        })
    }

    async fn fetched(
        &self,
        id: &ProfileId,
        mut vms: Vec<VmSummary>,
        save: Save,
    ) -> Result<Fetched> {
        let at = SystemTime::now();
        vms.sort_unstable_by_key(|v| v.id);
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
            if save == Save::Await {
                self.with_store(move |s| s.save_inventory(&key, at, &rows))
                    .await?;
                return Ok(Fetched { vms, at });
            }
            // Off the reply's path: the rows are on screen before the snapshot is on disk. A
            // failed write costs only the offline copy, so it is logged, not returned.
            let deck = self.clone();
            self.inner.tasks.spawn(async move {
                if let Err(e) = deck
                    .with_store(move |s| s.save_inventory(&key, at, &rows))
                    .await
                {
                    tracing::warn!(error = %e, "the inventory snapshot was not saved");
                }
            });
        }
        Ok(Fetched { vms, at })
    }

    // ---- table views ----

    /// How the table of profile `id` (or of all endpoints, `None`) was last sorted, narrowed and
    /// laid out; the default when never saved or saved by a version that reads it otherwise.
    ///
    /// # Errors
    /// `storage`.
    pub async fn table_view(&self, id: Option<&ProfileId>) -> Result<TableView> {
        let key = id.map_or_else(|| ALL_ENDPOINTS_VIEW.to_owned(), ToString::to_string);
        let json = self.with_store(move |s| s.load_table_view(&key)).await?;
        Ok(json
            .and_then(|j| serde_json::from_str::<TableView>(&j).ok())
            .filter(|v| v.check().is_ok())
            .unwrap_or_default())
    }

    /// Remembers how the table of profile `id` (or of all endpoints, `None`) is shown.
    ///
    /// # Errors
    /// `invalidInput` for a view the table could not show; `storage`.
    pub async fn table_view_save(&self, id: Option<&ProfileId>, view: &TableView) -> Result<()> {
        view.check()?;
        let key = id.map_or_else(|| ALL_ENDPOINTS_VIEW.to_owned(), ToString::to_string);
        let json = serde_json::to_string(view).map_err(|e| Error::Task(e.to_string()))?;
        self.with_store(move |s| s.save_table_view(&key, &json))
            .await
    }
}

/// When the snapshot is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Save {
    /// Before the call returns (a command that exits next).
    Await,
    /// In the background (the window, which shows the rows first).
    Background,
}

/// The new rows of one pool page and how many VMs were received so far.
struct PageRows<'a> {
    rows: &'a [VmSummary],
    loaded: usize,
}
