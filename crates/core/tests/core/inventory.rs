//! The inventory sent as deltas: the first load in pages, then only what changed; stale answers
//! when the endpoint is away; table views remembered per endpoint.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use onedeck_core::{
    AuthModeName, Column, Deck, FIRST_PAGE, InventoryDelta, PAGE, ProfileId, SortDir, TableView,
    VmAction, VmId,
};
use onedeck_sim::{SimConfig, Simulator, UserSpec};

use crate::support::{Env, PASSWORD, TestResult, USER, input};

/// VMs beyond the first page and into the second, so the load takes several pages.
const VMS: usize = FIRST_PAGE as usize + 1_500;

async fn sync(
    deck: &Deck,
    id: &ProfileId,
    since: Option<u64>,
) -> onedeck_core::Result<(Vec<InventoryDelta>, InventoryDelta)> {
    let pages = Arc::new(Mutex::new(Vec::new()));
    let sink = pages.clone();
    let last = deck
        .inventory_sync(id, since, move |page| {
            sink.lock().unwrap_or_else(|e| e.into_inner()).push(page);
        })
        .await?;
    let pages = std::mem::take(&mut *pages.lock().unwrap_or_else(|e| e.into_inner()));
    Ok((pages, last))
}

fn ids(deltas: &[InventoryDelta]) -> Vec<VmId> {
    deltas
        .iter()
        .flat_map(|d| d.rows.iter().map(|v| v.id))
        .collect()
}

#[tokio::test]
async fn a_first_load_comes_in_pages_then_only_changes_cross() -> TestResult {
    let sim = Simulator::start(SimConfig {
        vnc_base: onedeck_sim::free_vnc_base(64)?,
        vms: VMS,
        users: vec![UserSpec {
            name: USER.into(),
            password: PASSWORD.into(),
            admin: true,
        }],
        ..SimConfig::default()
    })
    .await?;
    let (env_a, env_b) = (Env::new()?, Env::new()?);
    let (a, b) = (env_a.deck().await?, env_b.deck().await?);
    let url = sim.endpoint_url();
    let profile = a
        .save_profile(
            input(&url, AuthModeName::Password),
            Some(PASSWORD.into()),
            true,
        )
        .await?;
    let other = b
        .save_profile(
            input(&url, AuthModeName::Password),
            Some(PASSWORD.into()),
            true,
        )
        .await?;
    let whole = a.inventory_refresh(&profile.id).await?;
    assert!(
        whole.vms.len() > FIRST_PAGE as usize,
        "{} VMs",
        whole.vms.len()
    );

    // First load: every VM once, in pages; the first page is a reset of FIRST_PAGE rows.
    let (pages, last) = sync(&a, &profile.id, None).await?;
    assert!(pages.len() >= 2, "{} pages", pages.len());
    assert!(pages[0].reset && pages[1..].iter().all(|p| !p.reset));
    assert_eq!(pages[0].rows.len(), FIRST_PAGE as usize);
    assert!(pages.iter().all(|p| !p.done && !p.stale));
    assert!(pages.windows(2).all(|w| w[0].loaded < w[1].loaded));
    assert!(pages.iter().all(|p| p.rows.len() <= PAGE as usize));
    let streamed = ids(&pages);
    let unique: BTreeSet<VmId> = streamed.iter().copied().collect();
    assert_eq!(unique.len(), streamed.len(), "no VM twice");
    assert_eq!(
        unique,
        whole.vms.iter().map(|v| v.id).collect::<BTreeSet<_>>()
    );
    assert!(last.done && !last.reset && !last.stale);
    assert!(last.rows.is_empty() && last.removed.is_empty());
    assert_eq!(last.loaded, whole.vms.len());
    assert_eq!(
        last.pages as usize,
        pages.len(),
        "the reply counts the pages before it"
    );
    assert!(
        pages
            .iter()
            .enumerate()
            .all(|(i, p)| p.pages as usize == i + 1)
    );

    // Nothing changed: nothing crosses.
    let (pages, same) = sync(&a, &profile.id, Some(last.revision)).await?;
    assert!(pages.is_empty());
    assert!(same.rows.is_empty() && same.removed.is_empty() && !same.reset);
    assert_ne!(same.revision, last.revision);

    // Another front end renames three VMs and stops one: exactly those rows cross.
    let running: Vec<VmId> = whole
        .vms
        .iter()
        .filter(|v| v.state == "RUNNING")
        .map(|v| v.id)
        .take(4)
        .collect();
    assert_eq!(running.len(), 4);
    for (n, vm) in running[..3].iter().enumerate() {
        b.vm_rename(&other.id, *vm, &format!("renamed-{n}")).await?;
    }
    b.vm_action(&other.id, running[3], VmAction::PoweroffHard)
        .await?;
    let (pages, changed) = sync(&a, &profile.id, Some(same.revision)).await?;
    assert!(pages.is_empty(), "a delta needs no pages");
    let got: BTreeSet<VmId> = changed.rows.iter().map(|v| v.id).collect();
    assert_eq!(got, running.iter().copied().collect::<BTreeSet<_>>());
    assert!(changed.rows.iter().any(|v| v.name == "renamed-2"));
    assert!(changed.removed.is_empty());

    // A VM that goes is named in `removed`.
    b.vm_action(&other.id, running[0], VmAction::TerminateHard)
        .await?;
    // TERMINATE passes through SHUTDOWN first: the row may change before it goes.
    let mut since = changed.revision;
    let mut gone = Vec::new();
    for _ in 0..50 {
        let (_, delta) = sync(&a, &profile.id, Some(since)).await?;
        since = delta.revision;
        gone.extend(delta.removed);
        if !gone.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert_eq!(gone, vec![running[0]]);

    // A revision this deck did not give out last: a full load again.
    let (pages, _) = sync(&a, &profile.id, Some(last.revision)).await?;
    assert!(pages.first().is_some_and(|p| p.reset));

    // The endpoint goes away: a front end holding rows gets a stale, empty delta.
    let (_, current) = sync(&a, &profile.id, None).await?;
    sim.shutdown().await?;
    let (pages, stale) = sync(&a, &profile.id, Some(current.revision)).await?;
    assert!(pages.is_empty());
    assert!(stale.stale && stale.stale_reason.is_some() && stale.rows.is_empty());
    assert_eq!(
        stale.revision, current.revision,
        "what it holds stays current"
    );
    a.shutdown().await;
    b.shutdown().await;

    // After a restart (the snapshot was written in the background, before shutdown ended),
    // the cache comes whole and is what the next sync diffs against.
    let a = env_a.deck().await?;
    let cached = a.inventory_cached(&profile.id).await?.ok_or("a snapshot")?;
    assert!(cached.reset && cached.stale && cached.rows.len() + 1 >= whole.vms.len() - 1);
    a.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn table_views_are_remembered_per_endpoint_and_checked() -> TestResult {
    let env = Env::new()?;
    let deck = env.deck().await?;
    let lab = ProfileId::parse("lab")?;
    assert_eq!(deck.table_view(Some(&lab)).await?, TableView::default());
    let view = TableView {
        sort: Column::Host,
        dir: SortDir::Desc,
        states: vec!["RUNNING".into()],
        owners: vec!["alice".into()],
        columns: vec![Column::Name, Column::Host, Column::Endpoint],
        ..TableView::default()
    };
    deck.table_view_save(Some(&lab), &view).await?;
    let all = TableView {
        endpoints: vec!["lab".into()],
        ..TableView::default()
    };
    deck.table_view_save(None, &all).await?;
    let bad = TableView {
        columns: vec![],
        ..view.clone()
    };
    assert!(deck.table_view_save(Some(&lab), &bad).await.is_err());
    deck.shutdown().await;

    let deck = env.deck().await?;
    assert_eq!(deck.table_view(Some(&lab)).await?, view);
    assert_eq!(deck.table_view(None).await?, all);
    let other = ProfileId::parse("other")?;
    assert_eq!(deck.table_view(Some(&other)).await?, TableView::default());
    deck.shutdown().await;
    Ok(())
}
