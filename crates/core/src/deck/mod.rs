//! [`Deck`]: the app's state and every operation the UI asks for.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};
use std::time::{Duration, SystemTime};

use onedeck_opennebula::{Client, ConsoleTarget, VmId};
use onedeck_relay::{Relay, RelayConfig, SessionId};
use onedeck_sim::SimHandle;
use onedeck_store::{AuditId, Store};
use onedeck_vault::{Profile, ProfileId, ProfileStore, SecretStore};
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

mod audit;
mod auth;
mod console_settings;
mod consoles;
mod demo;
mod inventory;
mod links;
mod recordings;
mod renewal;
mod replay;
mod sessions;
mod spice;
mod templates;
mod transport;
mod vms;
mod watch;

pub use inventory::{ALL_ENDPOINTS_VIEW, FIRST_PAGE, PAGE};
pub use links::{ConsoleLink, LINK_SCHEME, console_link, parse_console_link};
pub use recordings::{ExportFormat, MAX_AUDIT_ROWS, export_text};
pub use replay::MAX_REPLAY_CHUNKS;
pub use sessions::{DIRECT_PROFILE_ID, SecretRemoved};
pub use vms::{MAX_MONITORING_RANGE_SECS, MAX_VM_NAME_LEN};
pub use watch::{WATCH_FIRST_DELAY, WATCH_LIMIT, WATCH_MAX_DELAY, is_settled};

use crate::error::{Error, Result};
use crate::view::{ConsoleEnd, DeckEvent, SecretStorage};

/// How long shutdown waits for the relay's sessions and the background tasks.
const SHUTDOWN_DEADLINE: Duration = Duration::from_secs(2);

/// The id of the built-in demo profile (never written to the profiles file).
pub const DEMO_PROFILE_ID: &str = "demo";

/// [`DEMO_PROFILE_ID`] as the id type every method takes.
pub fn demo_profile_id() -> ProfileId {
    ProfileId::parse(DEMO_PROFILE_ID).expect("\"demo\" is a valid profile id")
}

/// Where secrets go.
#[derive(Debug, Clone)]
pub enum SecretBackend {
    /// The OS keyring (Secret Service, Keychain, Credential Manager), connected on first use and
    /// again after a failure, so starting or unlocking the keyring needs no restart.
    OsKeyring,
    /// Memory only, for the whole process (tests, and machines where the user chose so).
    Memory,
    /// A store the caller made (tests share one between two decks to model a restart).
    Given(Arc<SecretStore>),
}

/// When to start the built-in demo cloud.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DemoPolicy {
    /// When no profile is configured (the app's default).
    WhenNoProfile,
    /// Never.
    Never,
}

/// A console with no input from the person at it (keys, pointer, clipboard) for this long is
/// closed: a console left open on an unattended laptop is a signed-in shell for whoever passes.
pub const CONSOLE_IDLE_TIMEOUT: Duration = Duration::from_secs(60 * 60);

/// Everything [`Deck::start`] needs.
#[derive(Debug, Clone)]
pub struct DeckConfig {
    /// Directory of `profiles.toml`; `None` = the OS config dir (or `$ONEDECK_CONFIG_DIR`).
    pub config_dir: Option<PathBuf>,
    /// Directory of the SQLite store; `None` = the OS data dir (or `$ONEDECK_DATA_DIR`).
    pub data_dir: Option<PathBuf>,
    /// The console relay's settings; `None` runs no relay (a front end without consoles, the
    /// CLI): no audit writer, and an earlier run's open audit rows are left to the app.
    pub relay: Option<RelayConfig>,
    /// Where secrets go.
    pub secrets: SecretBackend,
    /// When to start the demo cloud.
    pub demo: DemoPolicy,
    /// How often login tokens are checked for renewal; zero runs no renewal loop.
    pub renewal_interval: Duration,
    /// Guard the consoles of endpoints on this machine too (tests of the guard; an endpoint on
    /// loopback normally has its hypervisors here as well).
    pub guard_local_endpoints: bool,
    /// How long recordings are kept and how much disk they may take.
    pub retention: Retention,
    /// The SPICE hand-off's viewer and where its connection files go.
    pub spice: SpiceConfig,
}

/// How SPICE consoles are handed to remote-viewer.
#[derive(Debug, Clone, Default)]
pub struct SpiceConfig {
    /// The program to run; `None` = `$ONEDECK_REMOTE_VIEWER`, else `remote-viewer` on `PATH`
    /// or in its usual install places.
    pub remote_viewer: Option<PathBuf>,
    /// Where `.vv` files go; `None` = the per-user runtime directory (see [`crate::spice`]).
    pub vv_dir: Option<PathBuf>,
}

/// How long console recordings are kept and how much disk they may take: the oldest go first,
/// and each deletion is written to the audit log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// Recordings older than this are deleted.
    pub max_age: Duration,
    /// Beyond this many bytes in all, the oldest recordings are deleted.
    pub max_total_bytes: u64,
}

impl Default for Retention {
    fn default() -> Self {
        Self {
            max_age: Duration::from_secs(90 * 24 * 3600),
            max_total_bytes: 10 << 30,
        }
    }
}

impl DeckConfig {
    /// What a command-line front end needs: the OS config and data dirs and keyring, no relay,
    /// no demo cloud, no background renewal (a command is over before a token would be due).
    pub fn headless() -> Self {
        Self {
            relay: None,
            demo: DemoPolicy::Never,
            renewal_interval: Duration::ZERO,
            ..Self::default()
        }
    }
}

impl Default for DeckConfig {
    fn default() -> Self {
        Self {
            config_dir: None,
            data_dir: None,
            relay: Some(RelayConfig {
                input_idle_timeout: Some(CONSOLE_IDLE_TIMEOUT),
                ..RelayConfig::default()
            }),
            secrets: SecretBackend::OsKeyring,
            demo: DemoPolicy::WhenNoProfile,
            renewal_interval: Duration::from_secs(60),
            guard_local_endpoints: false,
            retention: Retention::default(),
            spice: SpiceConfig::default(),
        }
    }
}

/// A login token and when it stops working.
#[derive(Clone)]
struct Lease {
    token: onedeck_opennebula::Secret,
    expires_at: SystemTime,
}

/// A signed-in profile.
#[derive(Clone)]
struct Session {
    profile: Profile,
    client: Client,
    storage: SecretStorage,
    lease: Option<Lease>,
}

/// A console window the app opened, with the target the API gave for its VM.
struct ConsoleSlot {
    profile_id: ProfileId,
    profile_name: String,
    user: String,
    vm_id: VmId,
    vm_name: String,
    target: ConsoleTarget,
    /// Where the target may resolve to (see `consoles::checked_target`).
    guard: onedeck_relay::TargetGuard,
    /// How the window's last session ended, for the window to say why.
    last_end: Option<ConsoleEnd>,
    /// The endpoint's policy says its consoles are recorded.
    record: bool,
}

#[derive(Default)]
struct Consoles {
    next: u64,
    by_label: HashMap<String, ConsoleSlot>,
    /// Live relay sessions: their audit row and whose they are (the window may close first).
    live: HashMap<SessionId, LiveSession>,
    /// Replay windows: label → the audit row they replay.
    replays: HashMap<String, i64>,
}

struct LiveSession {
    audit: Option<AuditId>,
    recording: Option<onedeck_store::RecordingId>,
    profile_id: ProfileId,
    vm_id: VmId,
}

struct Inner {
    profiles: ProfileStore,
    guard_local_endpoints: bool,
    spice: SpiceConfig,
    secret_backend: SecretBackend,
    /// The connected OS keyring (or the memory store), dropped after a keyring failure.
    secrets: Mutex<Option<Arc<SecretStore>>>,
    store: Mutex<Store>,
    relay: Option<Relay>,
    sessions: RwLock<HashMap<ProfileId, Session>>,
    demo: RwLock<Option<Profile>>,
    /// The demo cloud's password for alice, random per launch (never written anywhere).
    demo_password: Mutex<Option<onedeck_vault::Secret>>,
    sim: tokio::sync::Mutex<Option<SimHandle>>,
    consoles: Mutex<Consoles>,
    /// SSH console transports: a dialer per profile, host keys awaiting the user's decision.
    transports: Mutex<transport::Transports>,
    /// SSH passwords and passphrases the user chose to keep for this session only.
    ssh_session_secrets: Arc<SecretStore>,
    retention: Retention,
    /// Where the database, recordings and exports live.
    data_dir: PathBuf,
    events: broadcast::Sender<DeckEvent>,
    /// Cancelled at shutdown: every background task (audit writer, renewal, VM watches) ends.
    cancel: CancellationToken,
    /// The background tasks, awaited (with a deadline) at shutdown.
    tasks: TaskTracker,
    /// What the front end holds of each profile's inventory (only changes cross on a refresh).
    held: Mutex<HashMap<ProfileId, inventory::HeldInventory>>,
    /// The last inventory revision given out (never repeats within a run).
    revisions: AtomicU64,
}

/// The app's state: profiles and their sessions, the inventory cache, the console relay and the
/// audit log, the demo cloud. Cheap to clone; every method may be called from any task.
#[derive(Clone)]
pub struct Deck {
    inner: Arc<Inner>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every critical section here is a plain map update: a panic cannot leave it half done.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn read<T>(m: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    m.read().unwrap_or_else(PoisonError::into_inner)
}

fn write<T>(m: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    m.write().unwrap_or_else(PoisonError::into_inner)
}

impl Deck {
    /// Opens the profiles file and the store, starts the relay, the audit writer, the token
    /// renewal loop and, when the policy says so and no profile exists, the demo cloud.
    ///
    /// # Errors
    /// [`Error::Store`] when the database cannot be opened, [`Error::Relay`] when the relay
    /// cannot listen, [`Error::Vault`] when the config dir is unusable, [`Error::Demo`].
    pub async fn start(config: DeckConfig) -> Result<Self> {
        let profiles = match &config.config_dir {
            Some(dir) => ProfileStore::in_dir(dir)?,
            None => ProfileStore::open_default()?,
        };
        let data_dir = match config.data_dir.clone() {
            Some(dir) => dir,
            None => onedeck_store::default_data_dir()?,
        };
        let db = data_dir.join(onedeck_store::FILE_NAME);
        let store = tokio::task::spawn_blocking(move || Store::open(&db)).await??;
        if let Some(recovery) = store.recovered() {
            tracing::warn!(
                ?recovery,
                "the local database was unreadable and was moved aside"
            );
        }
        let relay = match &config.relay {
            Some(relay) => {
                let mut relay = relay.clone();
                // Recordings live beside the database (0700; files 0600).
                relay
                    .recording_dir
                    .get_or_insert_with(|| data_dir.join("recordings"));
                Some(Relay::start(relay).await?)
            }
            None => None,
        };
        let (events, _) = broadcast::channel(256);
        let secrets = match &config.secrets {
            SecretBackend::Memory => Some(Arc::new(SecretStore::session_only())),
            SecretBackend::Given(store) => Some(store.clone()),
            SecretBackend::OsKeyring => None,
        };
        let deck = Self {
            inner: Arc::new(Inner {
                profiles,
                guard_local_endpoints: config.guard_local_endpoints,
                spice: config.spice.clone(),
                secret_backend: config.secrets.clone(),
                secrets: Mutex::new(secrets),
                store: Mutex::new(store),
                relay,
                sessions: RwLock::new(HashMap::new()),
                demo: RwLock::new(None),
                demo_password: Mutex::new(None),
                sim: tokio::sync::Mutex::new(None),
                consoles: Mutex::new(Consoles::default()),
                transports: Mutex::new(transport::Transports::default()),
                ssh_session_secrets: Arc::new(SecretStore::session_only()),
                retention: config.retention,
                data_dir: data_dir.clone(),
                events,
                cancel: CancellationToken::new(),
                tasks: TaskTracker::new(),
                held: Mutex::new(HashMap::new()),
                revisions: AtomicU64::new(0),
            }),
        };
        if deck.inner.relay.is_some() {
            // Sessions an earlier run left open (a crash) end now, with a reason that says so.
            deck.with_store(|s| s.audit_close_unfinished(SystemTime::now(), "app_crashed"))
                .await?;
            deck.spawn_audit_writer();
        }
        if !config.renewal_interval.is_zero() {
            deck.spawn_renewal(config.renewal_interval);
        }
        if config.demo == DemoPolicy::WhenNoProfile {
            let profiles = deck.inner.profiles.clone();
            let empty = tokio::task::spawn_blocking(move || profiles.list())
                .await?
                .map(|list| list.is_empty())
                // A profiles file that cannot be read is the user's data: no demo over it.
                .unwrap_or(false);
            if empty {
                deck.start_demo().await?;
            }
        }
        Ok(deck)
    }

    /// Events for the UI (console ended, signed out).
    pub fn subscribe(&self) -> broadcast::Receiver<DeckEvent> {
        self.inner.events.subscribe()
    }

    /// The relay's loopback address (`None` in a front end without consoles).
    pub fn relay_addr(&self) -> Option<std::net::SocketAddr> {
        self.inner.relay.as_ref().map(Relay::local_addr)
    }

    /// The console relay, or [`Error::NoRelay`] in a front end without consoles.
    fn relay(&self) -> Result<&Relay> {
        self.inner.relay.as_ref().ok_or(Error::NoRelay)
    }

    /// The demo cloud's XML-RPC URL while it runs.
    pub fn demo_url(&self) -> Option<String> {
        read(&self.inner.demo).as_ref().map(|p| p.url.clone())
    }

    // ---- shutdown ----

    /// Ends every console session (audit rows closed with `app_exited`), stops the background
    /// tasks and the demo cloud.
    pub async fn shutdown(&self) {
        if let Some(relay) = &self.inner.relay {
            let report = relay.shutdown(SHUTDOWN_DEADLINE).await;
            tracing::info!(?report, "relay stopped");
        }
        self.inner.cancel.cancel();
        self.inner.tasks.close();
        if tokio::time::timeout(SHUTDOWN_DEADLINE, self.inner.tasks.wait())
            .await
            .is_err()
        {
            tracing::warn!("background tasks did not stop in time");
        }
        if self.inner.relay.is_some()
            && let Err(e) = self
                .with_store(|s| s.audit_close_unfinished(SystemTime::now(), "app_exited"))
                .await
        {
            tracing::warn!(error = %e, "could not close the audit log's open sessions");
        }
        if let Some(sim) = self.inner.sim.lock().await.take()
            && let Err(e) = sim.shutdown().await
        {
            tracing::warn!(error = %e, "the demo cloud did not stop cleanly");
        }
        write(&self.inner.sessions).clear();
    }

    /// The in-memory store of SSH secrets kept for this session only.
    fn session_secrets(&self) -> Arc<SecretStore> {
        self.inner.ssh_session_secrets.clone()
    }

    fn session(&self, id: &ProfileId) -> Result<Session> {
        read(&self.inner.sessions)
            .get(id)
            .cloned()
            .ok_or_else(|| Error::NotSignedIn(id.to_string()))
    }

    fn install_session(&self, session: Session) {
        write(&self.inner.sessions).insert(session.profile.id.clone(), session);
    }

    /// Drops a session and closes its consoles; `reason` (unasked sign-out) is told to the UI.
    fn end_session(&self, id: &ProfileId, reason: Option<String>) {
        write(&self.inner.sessions).remove(id);
        // Its SSH connection goes with it (closed in the background: this is not async).
        if let Some((_, dialer)) = lock(&self.inner.transports).dialers_remove(id) {
            self.inner.tasks.spawn(async move { dialer.close().await });
        }
        let labels: Vec<String> = lock(&self.inner.consoles)
            .by_label
            .iter()
            .filter(|(_, s)| &s.profile_id == id)
            .map(|(l, _)| l.clone())
            .collect();
        for label in labels {
            self.console_closed(&label);
        }
        if let Some(reason) = reason {
            let _ = self.inner.events.send(DeckEvent::SignedOut {
                profile_id: id.to_owned(),
                reason,
            });
        }
    }

    async fn with_store<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Store) -> onedeck_store::Result<T> + Send + 'static,
    ) -> Result<T> {
        let inner = self.inner.clone();
        Ok(tokio::task::spawn_blocking(move || f(&mut lock(&inner.store))).await??)
    }
}
