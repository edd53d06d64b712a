//! OneDeck's application logic, with no UI: what the app's commands call.
//!
//! [`Deck`] owns the signed-in sessions of the endpoint profiles, the inventory cache, the console
//! relay with its audit log, login-token renewal and the built-in demo cloud. It joins the library
//! crates along the data flows of docs/ARCHITECTURE.md: profiles and secrets (`onedeck-vault`) → a client
//! (`onedeck-opennebula`) → rows cached in SQLite (`onedeck-store`); a VM's console target from the
//! API → a single-use relay ticket (`onedeck-relay`) → an audit row per session.
//!
//! It leaves to others: windows, IPC and menus (the app shell in `src-tauri/`), drawing (the UI),
//! and every protocol detail (the crates above). Everything it returns to the UI is a plain view
//! ([`view`]); errors carry a stable [`ErrorKind`].
//!
//! Secrets: a typed password goes to the endpoint (and to the keyring, unless the user keeps it
//! for the session only) and nowhere else; in login-token mode only the token is kept. The VNC
//! password and the relay URL reach only the console window that asks ([`ConsoleGrant`]).

mod deck;
mod error;
pub mod inventory_diff;
pub mod screenshot;
pub mod spice;
pub mod ssh_dialer;

/// The known_hosts files OneDeck checks SSH host keys against: the user's
/// `~/.ssh/known_hosts` (read only) and OneDeck's own `ssh_known_hosts` in its data directory
/// (keys the user accepted).
///
/// # Errors
/// When the data directory cannot be found.
pub fn ssh_known_hosts() -> Result<onedeck_ssh::KnownHosts> {
    let data = onedeck_store::default_data_dir()?;
    let home = std::env::var_os("HOME").map(std::path::PathBuf::from);
    Ok(onedeck_ssh::KnownHosts::standard(
        home.as_deref(),
        data.join("ssh_known_hosts"),
    ))
}
mod typing;
pub mod view;

pub use deck::{
    ALL_ENDPOINTS_VIEW, CONSOLE_IDLE_TIMEOUT, ConsoleLink, DEMO_PROFILE_ID, DIRECT_PROFILE_ID,
    Deck, DeckConfig, DemoPolicy, ExportFormat, FIRST_PAGE, LINK_SCHEME, MAX_AUDIT_ROWS,
    MAX_MONITORING_RANGE_SECS, MAX_REPLAY_CHUNKS, MAX_VM_NAME_LEN, PAGE, Retention, SecretBackend,
    SecretRemoved, SpiceConfig, WATCH_FIRST_DELAY, WATCH_LIMIT, WATCH_MAX_DELAY, console_link,
    demo_profile_id, export_text, is_settled, parse_console_link,
};
pub use error::{Error, ErrorKind, ErrorView, Result};
/// The ids and action names of the OpenNebula client, as both front ends pass them.
pub use onedeck_opennebula::{SnapshotId, TemplateId, VmAction, VmId};
/// The Vite dev server's origin (allowed for consoles only when `make dev` asks in a debug build).
pub use onedeck_relay::DEV_ORIGIN;
/// A profile's id, as every profile-based method takes it.
pub use onedeck_vault::ProfileId;
pub use typing::{
    KeyStep, MAX_PASTE_CHARS, SendKey, TypingPlan, Untypable, keyboard_layouts, send_keys,
    typing_plan,
};
pub use view::inventory::{Column, InventoryDelta, SortDir, TableView};
pub use view::{
    ActionAccepted, AuditEntry, AuditQuery, AuditVerification, AuthModeName, BulkResult,
    CapacityInput, ConsoleEnd, ConsoleGrant, ConsoleSettings, ConsoleWindow, CreateRequest,
    Created, DeckEvent, Inventory, MonitoringSeries, OperationState, ProfileInput, ProfileSummary,
    Reinstalled, ReplayInfo, ScaleMode, SecretStorage, SnapshotCreated, SpiceHandoff, StateClass,
    TemplateSummary, TransportView, VmDetails, VmFilterName, VmOperation, VmSummary, WindowSize,
};
