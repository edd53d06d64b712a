//! After an operation, the VM is re-read (that VM only, with backoff) until its state settles,
//! and each change goes to the UI as [`DeckEvent::VmChanged`], so the row moves on by itself.

use std::time::Duration;

use onedeck_opennebula::{LcmState, Vm, VmId, VmState};
use onedeck_vault::ProfileId;

use super::Deck;
use crate::view::{DeckEvent, VmSummary};

/// The first re-read comes this soon after the operation; each later one waits twice as long,
/// up to [`WATCH_MAX_DELAY`]. Short, because oned moves a VM into its transitional state within
/// the call and a quick transition (a power-off on an idle host, a rename) is then seen at once;
/// `make bench-ui` measured 205 ms from the state change to the row with 250 ms here.
pub const WATCH_FIRST_DELAY: Duration = Duration::from_millis(100);
/// The longest wait between two re-reads.
pub const WATCH_MAX_DELAY: Duration = Duration::from_secs(4);
/// A watch gives up (and says "settled") after this long: a VM left PENDING by the scheduler
/// is then picked up by the inventory's regular poll.
pub const WATCH_LIMIT: Duration = Duration::from_secs(120);

/// True when no transition is under way: the state changes only when someone acts again.
pub fn is_settled(vm: &Vm) -> bool {
    match vm.state {
        VmState::Active => {
            matches!(vm.lcm_state, LcmState::Running | LcmState::LcmUnknown)
                || vm.lcm_state.is_failure()
        }
        VmState::Hold
        | VmState::Poweroff
        | VmState::Stopped
        | VmState::Suspended
        | VmState::Undeployed
        | VmState::Done
        | VmState::CloningFailure => true,
        _ => false,
    }
}

impl Deck {
    /// Starts watching `vm` of profile `id` (a background task, ended at shutdown).
    pub(super) fn watch_vm(&self, id: &ProfileId, vm: VmId) {
        let deck = self.clone();
        let profile_id = id.to_owned();
        let cancel = self.inner.cancel.clone();
        self.inner.tasks.spawn(async move {
            tokio::select! {
                () = deck.watch(profile_id, vm) => {}
                () = cancel.cancelled() => {}
            }
        });
    }

    async fn watch(&self, profile_id: ProfileId, vm_id: VmId) {
        let started = tokio::time::Instant::now();
        let mut delay = WATCH_FIRST_DELAY;
        let mut last: Option<VmSummary> = None;
        loop {
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(WATCH_MAX_DELAY);
            let out_of_time = started.elapsed() >= WATCH_LIMIT;
            // A profile signed out meanwhile: nothing more to tell.
            let Ok(session) = self.session(&profile_id) else {
                return;
            };
            let (row, settled, observed) = match session.client.vm_info(vm_id).await {
                Ok(vm) if vm.state == VmState::Done => (None, true, true),
                Ok(vm) => (Some(VmSummary::of(&vm)), is_settled(&vm), true),
                Err(onedeck_opennebula::Error::NoExists(_)) => (None, true, true),
                Err(e) if e.is_retryable() && !out_of_time => {
                    tracing::debug!(error = %e, vm = %vm_id, "watch: endpoint unreachable, trying again");
                    continue;
                }
                Err(e) => {
                    tracing::info!(error = %e, vm = %vm_id, "watch: giving up");
                    (last.clone(), true, false)
                }
            };
            let settled = settled || out_of_time;
            if observed {
                let has_console = row.as_ref().is_some_and(|r| r.console);
                self.end_consoles_without_console(&profile_id, |vm| vm != vm_id || has_console);
            }
            if settled || row != last {
                self.hold_change(&profile_id, vm_id, row.as_ref());
                let _ = self.inner.events.send(DeckEvent::VmChanged {
                    profile_id: profile_id.clone(),
                    vm_id,
                    vm: row.clone(),
                    settled,
                });
            }
            if settled {
                return;
            }
            last = row;
        }
    }
}
