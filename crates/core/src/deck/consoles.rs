//! Console windows: their targets from the API and single-use relay tickets.

use onedeck_opennebula::{ConsoleTarget, Vm, VmId};
use onedeck_relay::{Target, TargetGuard, TicketOptions};
use onedeck_vault::{Profile, ProfileId};

use super::{ConsoleSlot, Deck, lock};
use crate::error::{Error, Result};
use crate::view::{ConsoleEnd, ConsoleGrant, ConsoleWindow};

impl Deck {
    // ---- consoles ----

    /// Reads the VM afresh, derives its console target and registers a console window for it
    /// (or names the one already open). The shell opens the window; the window then calls
    /// [`Deck::console_connect`] with its label.
    ///
    /// # Errors
    /// `notSignedIn`; `noConsole` with the reason; the endpoint's errors.
    pub async fn console_open(&self, id: &ProfileId, vm_id: VmId) -> Result<ConsoleWindow> {
        let session = self.session(id)?;
        let vm = session.client.vm_info(vm_id).await?;
        let (target, guard) =
            checked_target(&session.profile, &vm, self.inner.guard_local_endpoints)?;
        // Through SSH: connect now, so that an unknown host key or a refused login is told to
        // the main window (which can ask the user), not to a console window.
        self.console_dialer(&session.profile).await?;
        let title = format!("{} — OneDeck", vm.name);
        // The lock is held in this block only: the settings read below awaits.
        let label = {
            let mut consoles = lock(&self.inner.consoles);
            if let Some((label, slot)) = consoles
                .by_label
                .iter_mut()
                .find(|(_, s)| &s.profile_id == id && s.vm_id == vm_id)
            {
                slot.target = target;
                slot.guard = guard;
                slot.vm_name = vm.name.clone();
                slot.record = session.profile.record_consoles;
                return Ok(ConsoleWindow {
                    label: label.clone(),
                    title,
                    existing: true,
                    size: None,
                });
            }
            consoles.next += 1;
            let label = format!("console-{}", consoles.next);
            consoles.by_label.insert(
                label.clone(),
                ConsoleSlot {
                    profile_id: id.to_owned(),
                    profile_name: session.profile.name.clone(),
                    user: session.profile.user.clone(),
                    vm_id,
                    vm_name: vm.name.clone(),
                    target,
                    guard,
                    last_end: None,
                    record: session.profile.record_consoles,
                },
            );
            label
        };
        // A settings read that fails only loses the window's size: the console still opens.
        let size = self
            .load_console_settings(id.to_string(), vm_id)
            .await
            .ok()
            .and_then(|s| s.window);
        Ok(ConsoleWindow {
            label,
            title,
            existing: false,
            size,
        })
    }

    /// A fresh single-use ticket for the console window `label`. The target is read again from
    /// the API (the VM may have moved); when the endpoint is unreachable the last known target is
    /// used, so a console keeps working while the API is down.
    ///
    /// # Errors
    /// `notFound` for an unknown window; `noConsole` when the VM stopped; relay errors.
    pub async fn console_connect(&self, label: &str) -> Result<ConsoleGrant> {
        let (profile_id, vm_id) = {
            let consoles = lock(&self.inner.consoles);
            let slot = consoles.by_label.get(label).ok_or(Error::UnknownConsole)?;
            (slot.profile_id.clone(), slot.vm_id)
        };
        let mut via = None;
        if let Ok(session) = self.session(&profile_id) {
            via = self.console_dialer(&session.profile).await?;
            match session.client.vm_info(vm_id).await {
                Ok(vm) => {
                    let (target, guard) =
                        checked_target(&session.profile, &vm, self.inner.guard_local_endpoints)?;
                    if let Some(slot) = lock(&self.inner.consoles).by_label.get_mut(label) {
                        slot.target = target;
                        slot.guard = guard;
                        slot.vm_name = vm.name.clone();
                        slot.record = session.profile.record_consoles;
                    }
                }
                Err(e) if e.is_retryable() => {
                    tracing::info!(error = %e, "endpoint unreachable: using the last known console target");
                }
                Err(e) => return Err(e.into()),
            }
        }
        let relay = self.relay()?;
        let mut consoles = lock(&self.inner.consoles);
        let slot = consoles
            .by_label
            .get_mut(label)
            .ok_or(Error::UnknownConsole)?;
        // The end of the session this ticket replaces is no longer news.
        slot.last_end = None;
        // One live session per window (security finding 5): a new ticket revokes the window's
        // unused ones and ends its current session, as a reconnect means.
        relay.revoke_tickets(label);
        relay.close_sessions_for(label);
        let mut target =
            Target::new(slot.target.host.clone(), slot.target.port).guarded(slot.guard);
        if let Some(dialer) = via {
            target = target.via(dialer);
        }
        let ticket = relay.issue_ticket(
            target,
            TicketOptions {
                record: slot.record,
                ..TicketOptions::labelled(label)
            },
        )?;
        Ok(ConsoleGrant {
            ws_url: ticket.ws_url(),
            password: slot.target.password.as_ref().map(|p| p.expose().to_owned()),
            vm_id: slot.vm_id,
            vm_name: slot.vm_name.clone(),
            profile_name: slot.profile_name.clone(),
            recording: slot.record,
        })
    }

    /// The console window `label` closed: its session ends and its unused tickets are revoked.
    pub fn console_closed(&self, label: &str) {
        lock(&self.inner.consoles).by_label.remove(label);
        if let Some(relay) = &self.inner.relay {
            relay.revoke_tickets(label);
            relay.close_sessions_for(label);
        }
    }

    /// Ends the live sessions of `profile`'s console windows whose VM `has_console` says no
    /// longer has one (it left RUNNING, or is gone): the window stays and says why; a reconnect
    /// asks the API again (security finding 10: sessions outliving their VM's state).
    pub(super) fn end_consoles_without_console(
        &self,
        profile: &ProfileId,
        has_console: impl Fn(VmId) -> bool,
    ) {
        let Some(relay) = &self.inner.relay else {
            return;
        };
        let labels: Vec<String> = lock(&self.inner.consoles)
            .by_label
            .iter()
            .filter(|(_, s)| &s.profile_id == profile && !has_console(s.vm_id))
            .map(|(label, _)| label.clone())
            .collect();
        for label in labels {
            tracing::info!(%label, "the VM no longer has a console: its session ends");
            relay.close_sessions_for(&label);
        }
    }

    /// How the last session of console window `label` ended (`None` while none has).
    ///
    /// # Errors
    /// [`Error::UnknownConsole`] for a window the app did not open.
    pub fn console_last_end(&self, label: &str) -> Result<Option<ConsoleEnd>> {
        let consoles = lock(&self.inner.consoles);
        let slot = consoles.by_label.get(label).ok_or(Error::UnknownConsole)?;
        Ok(slot.last_end.clone())
    }

    /// Labels of the console windows the app knows.
    pub fn console_labels(&self) -> Vec<String> {
        lock(&self.inner.consoles)
            .by_label
            .keys()
            .cloned()
            .collect()
    }
}

/// The VM's console target and the guard its ticket gets. Consoles of an endpoint on another
/// machine may not lead back to this one, to a link-local or multicast address or to a system
/// port (security finding 6): a literal address is refused here, a name once resolved by the
/// relay. An endpoint on this machine (the demo cloud, a test cloud) keeps its consoles here too.
fn checked_target(
    profile: &Profile,
    vm: &Vm,
    guard_local_endpoints: bool,
) -> Result<(ConsoleTarget, TargetGuard)> {
    let target = vm
        .console_target(&profile.console_hosts)
        .map_err(|reason| Error::NoConsole {
            vm_id: vm.id,
            vm_name: vm.name.clone(),
            reason,
        })?;
    let guard = target_guard(profile, vm, &target, guard_local_endpoints)?;
    Ok((target, guard))
}

/// The guard a console target of `profile` gets, or [`Error::UnsafeTarget`] when its literal
/// address is refused outright.
pub(super) fn target_guard(
    profile: &Profile,
    vm: &Vm,
    target: &ConsoleTarget,
    guard_local_endpoints: bool,
) -> Result<TargetGuard> {
    let guard = if profile.endpoint_on_loopback() && !guard_local_endpoints {
        TargetGuard::Any
    } else {
        TargetGuard::Remote
    };
    if let Some(why) = guard.refuses_literal(&target.host, target.port) {
        return Err(Error::UnsafeTarget {
            vm_id: vm.id,
            vm_name: vm.name.clone(),
            target: format!("{}:{}", target.host, target.port),
            why,
        });
    }
    Ok(guard)
}
