//! What the UI is shown and sends: plain, serialisable views (camelCase, mirrored in
//! `ui/src/lib/ipc.ts`). No view carries a secret except [`ConsoleGrant`], which only the console
//! window receives and which is never written anywhere.

use std::time::{SystemTime, UNIX_EPOCH};

use onedeck_opennebula::{LcmState, Vm, VmId, VmState};
use onedeck_vault::{AuthMode, Profile, ProfileId, VmFilter};
use serde::{Deserialize, Serialize};

pub mod audit;
pub mod console_settings;
pub mod inventory;
pub mod templates;
mod transport;
pub mod vms;

pub use audit::{
    AuditEntry, AuditQuery, AuditVerification, RecordingBreak, ReplayChunk, ReplayClick, ReplayInfo,
};
pub use console_settings::{ConsoleSettings, PASTE_RATES, ScaleMode, WindowSize};
pub use templates::{CreateRequest, Created, MAX_CREATE_COUNT, TemplateSummary};
pub use transport::TransportView;
pub use vms::{
    ActionAccepted, BulkResult, CapacityInput, MonitoringPoint, MonitoringSeries, OperationState,
    ReinstallWay, Reinstalled, SnapshotCreated, VmDetails, VmOperation,
};

/// How a profile signs in, as the UI names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum AuthModeName {
    /// The password is stored and sent with every call.
    Password,
    /// The password is traded for a login token; only the token is stored.
    LoginToken,
}

/// Which VMs the inventory lists, as the UI names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum VmFilterName {
    /// The user's own VMs.
    Mine,
    /// The user's and their groups' VMs.
    MineAndGroups,
    /// Every VM the user may see.
    All,
}

impl From<VmFilter> for VmFilterName {
    fn from(f: VmFilter) -> Self {
        match f {
            VmFilter::Mine => Self::Mine,
            VmFilter::MineAndGroups => Self::MineAndGroups,
            VmFilter::All => Self::All,
        }
    }
}

impl From<VmFilterName> for VmFilter {
    fn from(f: VmFilterName) -> Self {
        match f {
            VmFilterName::Mine => Self::Mine,
            VmFilterName::MineAndGroups => Self::MineAndGroups,
            VmFilterName::All => Self::All,
        }
    }
}

/// Where a profile's secret is kept right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum SecretStorage {
    /// In the OS keyring.
    Keyring,
    /// In this process's memory, for this session only.
    Session,
    /// Nowhere known (not signed in, or the keyring was not asked yet).
    None,
}

/// One endpoint as the sidebar shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProfileSummary {
    /// Profile id.
    pub id: ProfileId,
    /// Display name.
    pub name: String,
    /// XML-RPC URL.
    pub url: String,
    /// OpenNebula user name.
    pub user: String,
    /// How it signs in.
    pub auth_mode: AuthModeName,
    /// Default inventory filter.
    pub vm_filter: VmFilterName,
    /// True for the built-in demo cloud.
    pub demo: bool,
    /// True while a session is live.
    pub signed_in: bool,
    /// Where its secret is kept now.
    pub secret_storage: SecretStorage,
    /// Its console sessions are recorded.
    pub record_consoles: bool,
    /// How its consoles reach the hypervisors.
    pub console_transport: TransportView,
}

impl ProfileSummary {
    pub(crate) fn of(profile: &Profile, demo: bool, session: Option<SecretStorage>) -> Self {
        Self {
            id: profile.id.clone(),
            name: profile.name.clone(),
            url: profile.url.clone(),
            user: profile.user.clone(),
            auth_mode: match profile.auth {
                AuthMode::Password => AuthModeName::Password,
                AuthMode::LoginToken { .. } => AuthModeName::LoginToken,
            },
            vm_filter: profile.vm_filter.into(),
            demo,
            signed_in: session.is_some(),
            secret_storage: session.unwrap_or(SecretStorage::None),
            record_consoles: profile.record_consoles,
            console_transport: (&profile.console_transport).into(),
        }
    }
}

/// The endpoint form: a new profile (`id: None`) or changes to one.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProfileInput {
    /// The profile to change, or `None` for a new one.
    pub id: Option<String>,
    /// Display name.
    pub name: String,
    /// XML-RPC URL.
    pub url: String,
    /// OpenNebula user name.
    pub user: String,
    /// How to sign in.
    pub auth_mode: AuthModeName,
    /// Default inventory filter.
    pub vm_filter: VmFilterName,
    /// A certificate fingerprint the user chose to trust.
    #[serde(default)]
    pub pinned_sha256: Option<String>,
    /// A PEM file of CA certificates to trust.
    #[serde(default)]
    pub ca_file: Option<String>,
    /// Login-token mode: the token's lifetime in seconds (default [`TOKEN_TTL_SECS`]).
    #[serde(default)]
    pub token_ttl_secs: Option<u64>,
    /// Login-token mode: renew when fewer seconds are left (default
    /// [`TOKEN_RENEW_BEFORE_SECS`]).
    #[serde(default)]
    pub renew_before_secs: Option<u64>,
    /// Console host-name → address overrides; `None` keeps the profile's.
    #[serde(default)]
    pub console_hosts: Option<std::collections::BTreeMap<String, String>>,
    /// The user confirmed a plain `http://` URL to another machine (secrets in clear).
    #[serde(default)]
    pub allow_plain_http: bool,
    /// Record the endpoint's console sessions (screen, keys typed, clicks).
    #[serde(default)]
    pub record_consoles: bool,
    /// How its consoles reach the hypervisors; absent keeps what the profile has.
    #[serde(default)]
    pub console_transport: Option<TransportView>,
}

/// Login tokens the app asks for last this long, and are renewed when less than
/// [`TOKEN_RENEW_BEFORE_SECS`] is left.
pub const TOKEN_TTL_SECS: u64 = 8 * 3600;
/// See [`TOKEN_TTL_SECS`].
pub const TOKEN_RENEW_BEFORE_SECS: u64 = 15 * 60;

/// The badge class of a VM state: what colour the UI paints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum StateClass {
    /// ACTIVE/RUNNING.
    Running,
    /// Waiting to be placed (PENDING, HOLD, INIT, CLONING).
    Pending,
    /// Not running but kept (POWEROFF, STOPPED, SUSPENDED, UNDEPLOYED).
    Stopped,
    /// A `*_FAILURE` state.
    Failed,
    /// Between two of the above (BOOT, MIGRATE, SHUTDOWN...).
    Transitional,
    /// DONE.
    Done,
}

impl StateClass {
    /// The class of an OpenNebula STATE/LCM_STATE pair.
    pub fn of(vm: &Vm) -> Self {
        if vm.is_failed() {
            return Self::Failed;
        }
        match vm.state {
            VmState::Active if vm.lcm_state == LcmState::Running => Self::Running,
            VmState::Active => Self::Transitional,
            VmState::Init | VmState::Pending | VmState::Hold | VmState::Cloning => Self::Pending,
            VmState::Stopped | VmState::Suspended | VmState::Poweroff | VmState::Undeployed => {
                Self::Stopped
            }
            VmState::Done => Self::Done,
            _ => Self::Transitional,
        }
    }
}

/// One row of the inventory. Also the cached form (JSON in the store): it has no secret field.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VmSummary {
    /// VM id.
    pub id: VmId,
    /// VM name.
    pub name: String,
    /// Owner's user name.
    pub owner: String,
    /// Group name.
    pub group: String,
    /// Sunstone's state label (`RUNNING`, `POWEROFF`...).
    pub state: String,
    /// Badge class.
    pub state_class: StateClass,
    /// Host of the last history record.
    pub host: Option<String>,
    /// IP addresses.
    pub ips: Vec<String>,
    /// Virtual CPUs.
    pub vcpu: Option<u32>,
    /// Memory in MiB.
    pub memory_mib: Option<u64>,
    /// True when a VNC console can be opened now.
    pub console: bool,
    /// True when the console is SPICE and can be handed to remote-viewer now.
    #[serde(default)]
    pub spice: bool,
}

impl VmSummary {
    /// The row of a VM as the client decoded it.
    pub fn of(vm: &Vm) -> Self {
        Self {
            id: vm.id,
            name: vm.name.clone(),
            owner: vm.uname.clone(),
            group: vm.gname.clone(),
            state: vm.state_label().to_owned(),
            state_class: StateClass::of(vm),
            host: vm.current_history().map(|h| h.hostname.clone()),
            ips: vm.ips(),
            vcpu: vm.template.vcpu,
            memory_mib: vm.template.memory_mb,
            console: vm
                .console_target(&std::collections::BTreeMap::new())
                .is_ok(),
            spice: vm.spice_target(&std::collections::BTreeMap::new()).is_ok(),
        }
    }
}

/// A profile's inventory: fresh from the endpoint, or the cached snapshot when it is unreachable.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Inventory {
    /// The profile.
    pub profile_id: ProfileId,
    /// When the rows were fetched from the endpoint, milliseconds since the Unix epoch.
    pub fetched_at: u64,
    /// True when these rows are the cached snapshot, not a fresh answer.
    pub stale: bool,
    /// Why fresh rows could not be had, when stale after a failed refresh.
    pub stale_reason: Option<String>,
    /// The VMs, by ascending id.
    pub vms: Vec<VmSummary>,
}

/// A SPICE console handed to remote-viewer ([`crate::Deck::spice_open`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SpiceHandoff {
    /// The VM's id.
    pub vm_id: VmId,
    /// The VM's name.
    pub vm_name: String,
    /// The remote-viewer program that was started.
    pub viewer: String,
    /// True when the viewer connected before the call returned (false: still starting).
    pub connected: bool,
}

/// What the shell needs to open (or focus) a console window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConsoleWindow {
    /// The window label (`console-N`): the key of [`crate::Deck::console_connect`].
    pub label: String,
    /// The window title, `<VM name> — OneDeck`.
    pub title: String,
    /// True when a window for this VM is open already: focus it instead.
    pub existing: bool,
    /// The size the VM's console window had last time, to open it at.
    pub size: Option<WindowSize>,
}

/// How a console window's last session ended, for the window to say why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConsoleEnd {
    /// The relay's stable name of the end (e.g. `input_idle`, `target_closed`).
    pub kind: String,
    /// The same in English words, for logs.
    pub reason: String,
    /// For `input_idle`: the timeout, in seconds.
    pub idle_secs: Option<u64>,
    /// The VNC server went away or could not be reached (a guest reboot, a migration, a
    /// hypervisor restart): the window reconnects on its own, with a fresh ticket each time,
    /// until the VM is no longer running. Not for ends the user or the app chose (closing,
    /// reconnecting, the input idle timeout) nor for refusals (an unsafe target, no recording).
    pub retry: bool,
}

/// What a console window needs to connect. Holds secrets: sent over IPC to that window only,
/// never logged, never stored.
#[derive(Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConsoleGrant {
    /// The session is recorded (the window shows it from the first byte).
    pub recording: bool,
    /// `ws://127.0.0.1:PORT/?token=…`, single use, short-lived.
    pub ws_url: String,
    /// The VNC password, when the VM has one.
    pub password: Option<String>,
    /// VM id.
    pub vm_id: VmId,
    /// VM name.
    pub vm_name: String,
    /// The profile's display name.
    pub profile_name: String,
}

impl std::fmt::Debug for ConsoleGrant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsoleGrant")
            .field("ws_url", &"<redacted>")
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("vm_id", &self.vm_id)
            .field("vm_name", &self.vm_name)
            .finish()
    }
}

/// Something the UI should learn without asking.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(
    rename_all = "camelCase",
    rename_all_fields = "camelCase",
    tag = "type"
)]
pub enum DeckEvent {
    /// A console session ended (the window may show why and offer to reconnect).
    ConsoleEnded {
        /// The console window's label.
        label: String,
        /// The profile.
        profile_id: ProfileId,
        /// The VM.
        vm_id: VmId,
        /// How it ended, in words.
        reason: String,
        /// How it ended, as the relay's stable name (e.g. `input_idle`, `target_closed`).
        kind: String,
    },
    /// A VM changed after an operation the app started: its new row, or `None` when it is gone
    /// (DONE or deleted). `settled` is true on the last event of the watch.
    VmChanged {
        /// The profile.
        profile_id: ProfileId,
        /// The VM.
        vm_id: VmId,
        /// Its inventory row now.
        vm: Option<VmSummary>,
        /// The state has settled (or the watch gave up): stop showing "pending".
        settled: bool,
    },
    /// A profile's session ended without the user asking (its token could not be renewed).
    SignedOut {
        /// The profile.
        profile_id: ProfileId,
        /// Why, for the user.
        reason: String,
    },
}

/// Milliseconds since the Unix epoch.
pub(crate) fn unix_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_cross_ipc_in_camel_case_as_docs_ipc_md_says() {
        let event = DeckEvent::VmChanged {
            profile_id: ProfileId::parse("lab").expect("a valid id"),
            vm_id: VmId(7),
            vm: None,
            settled: true,
        };
        assert_eq!(
            serde_json::to_value(&event).expect("plain data"),
            serde_json::json!({
                "type": "vmChanged", "profileId": "lab", "vmId": 7, "vm": null, "settled": true
            }),
            "the main window reads profileId and vmId (a snake_case field left every row pending)"
        );
        let ended = DeckEvent::ConsoleEnded {
            label: "console-1".into(),
            profile_id: ProfileId::parse("lab").expect("a valid id"),
            vm_id: VmId(7),
            reason: "closed".into(),
            kind: "client_closed".into(),
        };
        let json = serde_json::to_value(&ended).expect("plain data");
        assert_eq!(
            (json["profileId"].as_str(), json["vmId"].as_i64()),
            (Some("lab"), Some(7))
        );
    }
}
