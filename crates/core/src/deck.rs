//! [`Deck`]: the app's state and every operation the UI asks for.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};
use std::time::{Duration, SystemTime};

use onedeck_opennebula::{
    Client, ConsoleTarget, Credentials, Endpoint, PoolFilter, PoolRange, StateFilter,
    TokenValidity, VmId,
};
use onedeck_relay::{Relay, RelayConfig, SessionEvent, SessionId, Target, TicketOptions};
use onedeck_sim::{SimConfig, SimHandle, Simulator};
use onedeck_store::{AuditId, SessionEnd, SessionStart, Store, VmRow};
use onedeck_vault::{AuthMode, Profile, ProfileId, ProfileStore, Secret, SecretStore, VmFilter};
use tokio::sync::{broadcast, watch};
use tokio::task::JoinHandle;

use crate::error::{Error, Result};
use crate::view::{
    AuthModeName, ConsoleGrant, ConsoleWindow, DeckEvent, Inventory, ProfileInput, ProfileSummary,
    SecretStorage, TOKEN_RENEW_BEFORE_SECS, TOKEN_TTL_SECS, VmSummary, unix_ms,
};

/// The id of the built-in demo profile (never written to the profiles file).
pub const DEMO_PROFILE_ID: &str = "demo";

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

/// Everything [`Deck::start`] needs.
#[derive(Debug, Clone)]
pub struct DeckConfig {
    /// Directory of `profiles.toml`; `None` = the OS config dir (or `$ONEDECK_CONFIG_DIR`).
    pub config_dir: Option<PathBuf>,
    /// Directory of the SQLite store; `None` = the OS data dir (or `$ONEDECK_DATA_DIR`).
    pub data_dir: Option<PathBuf>,
    /// The console relay's settings.
    pub relay: RelayConfig,
    /// Where secrets go.
    pub secrets: SecretBackend,
    /// When to start the demo cloud.
    pub demo: DemoPolicy,
    /// How often login tokens are checked for renewal.
    pub renewal_interval: Duration,
}

impl Default for DeckConfig {
    fn default() -> Self {
        Self {
            config_dir: None,
            data_dir: None,
            relay: RelayConfig::default(),
            secrets: SecretBackend::OsKeyring,
            demo: DemoPolicy::WhenNoProfile,
            renewal_interval: Duration::from_secs(60),
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
    profile_id: String,
    profile_name: String,
    user: String,
    vm_id: i32,
    vm_name: String,
    target: ConsoleTarget,
}

#[derive(Default)]
struct Consoles {
    next: u64,
    by_label: HashMap<String, ConsoleSlot>,
    /// Live relay sessions: their audit row and whose they are (the window may close first).
    live: HashMap<SessionId, LiveSession>,
}

struct LiveSession {
    audit: Option<AuditId>,
    profile_id: String,
    vm_id: i32,
}

struct Inner {
    profiles: ProfileStore,
    secret_backend: SecretBackend,
    /// The connected OS keyring (or the memory store), dropped after a keyring failure.
    secrets: Mutex<Option<Arc<SecretStore>>>,
    store: Mutex<Store>,
    relay: Relay,
    sessions: RwLock<HashMap<String, Session>>,
    demo: RwLock<Option<Profile>>,
    sim: tokio::sync::Mutex<Option<SimHandle>>,
    consoles: Mutex<Consoles>,
    events: broadcast::Sender<DeckEvent>,
    stop: watch::Sender<bool>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
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
        let data_dir = config.data_dir.clone();
        let store = tokio::task::spawn_blocking(move || match data_dir {
            Some(dir) => Store::open(&dir.join(onedeck_store::FILE_NAME)),
            None => Store::open_default(),
        })
        .await??;
        if let Some(recovery) = store.recovered() {
            tracing::warn!(
                ?recovery,
                "the local database was unreadable and was moved aside"
            );
        }
        let relay = Relay::start(config.relay.clone()).await?;
        let (events, _) = broadcast::channel(64);
        let (stop, _) = watch::channel(false);
        let secrets = match &config.secrets {
            SecretBackend::Memory => Some(Arc::new(SecretStore::session_only())),
            SecretBackend::Given(store) => Some(store.clone()),
            SecretBackend::OsKeyring => None,
        };
        let deck = Self {
            inner: Arc::new(Inner {
                profiles,
                secret_backend: config.secrets.clone(),
                secrets: Mutex::new(secrets),
                store: Mutex::new(store),
                relay,
                sessions: RwLock::new(HashMap::new()),
                demo: RwLock::new(None),
                sim: tokio::sync::Mutex::new(None),
                consoles: Mutex::new(Consoles::default()),
                events,
                stop,
                tasks: Mutex::new(Vec::new()),
            }),
        };
        // Sessions an earlier run left open (a crash) end now, with a reason that says so.
        deck.with_store(|s| s.audit_close_unfinished(SystemTime::now(), "app_crashed"))
            .await?;
        deck.spawn_audit_writer();
        deck.spawn_renewal(config.renewal_interval);
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

    /// The relay's loopback address.
    pub fn relay_addr(&self) -> std::net::SocketAddr {
        self.inner.relay.local_addr()
    }

    /// The demo cloud's XML-RPC URL while it runs.
    pub fn demo_url(&self) -> Option<String> {
        read(&self.inner.demo).as_ref().map(|p| p.url.clone())
    }

    // ---- profiles and sessions ----

    /// Every profile, the demo cloud first, with its sign-in state.
    ///
    /// # Errors
    /// [`Error::Vault`] when the profiles file cannot be read (kind `profileFile`).
    pub async fn profiles(&self) -> Result<Vec<ProfileSummary>> {
        let store = self.inner.profiles.clone();
        let list = tokio::task::spawn_blocking(move || store.list()).await??;
        let sessions = read(&self.inner.sessions);
        let mut out = Vec::with_capacity(list.len() + 1);
        if let Some(demo) = read(&self.inner.demo).as_ref() {
            let storage = sessions.get(DEMO_PROFILE_ID).map(|s| s.storage);
            out.push(ProfileSummary::of(demo, true, storage));
        }
        for p in &list {
            let storage = sessions.get(p.id.as_str()).map(|s| s.storage);
            out.push(ProfileSummary::of(p, false, storage));
        }
        Ok(out)
    }

    /// Checks the form, signs in with `password` (or the stored secret when editing), and only
    /// then saves the profile and the secret, so a failed sign-in leaves nothing behind. With
    /// `session_only` the secret stays in memory and the keyring is not asked.
    ///
    /// # Errors
    /// `invalidInput` for a refused field; `keyringUnavailable` (before anything is sent to the
    /// endpoint) when the keyring cannot be used and `session_only` is false; sign-in errors.
    pub async fn save_profile(
        &self,
        input: ProfileInput,
        password: Option<String>,
        session_only: bool,
    ) -> Result<ProfileSummary> {
        let password = password.filter(|p| !p.is_empty()).map(Secret::new);
        let profile = self.profile_from_input(input).await?;
        let secrets = if session_only {
            None
        } else {
            Some(self.secret_store().await?)
        };
        let secret = match password {
            Some(p) => Credential::Password(p),
            None => match self.stored_secret(&profile.id).await? {
                Some(s) => Credential::Stored(s),
                None => return Err(Error::SecretMissing(profile.name.clone())),
            },
        };
        let session = authenticate(&profile, &secret).await?;
        let to_store = session.stored_secret(&secret);
        let storage = if session_only {
            SecretStorage::Session
        } else {
            SecretStorage::Keyring
        };
        let saved = {
            let profiles = self.inner.profiles.clone();
            let profile = profile.clone();
            tokio::task::spawn_blocking(move || {
                save(&profiles, secrets.as_deref(), profile, &to_store)
            })
            .await??
        };
        self.install_session(Session {
            profile: saved.clone(),
            storage,
            ..session
        });
        Ok(ProfileSummary::of(&saved, false, Some(storage)))
    }

    /// Removes a profile, its secret, its session, its cached inventory and its consoles.
    ///
    /// # Errors
    /// `notFound`; `invalidInput` for the demo cloud.
    pub async fn remove_profile(&self, id: &str) -> Result<()> {
        if id == DEMO_PROFILE_ID && read(&self.inner.demo).is_some() {
            return Err(Error::DemoReadOnly);
        }
        let pid = ProfileId::parse(id)?;
        let profiles = self.inner.profiles.clone();
        tokio::task::spawn_blocking(move || profiles.remove(&pid)).await??;
        self.end_session(id, None);
        // The profile is gone either way; a keyring or cache left behind is reported in the log.
        match self.secret_store().await {
            Ok(secrets) => {
                let pid = ProfileId::parse(id)?;
                if let Err(e) = tokio::task::spawn_blocking(move || secrets.delete(&pid)).await? {
                    tracing::warn!(error = %e, "the removed profile's secret may still be in the keyring");
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "no keyring: a removed profile's secret may remain")
            }
        }
        let key = id.to_owned();
        if let Err(e) = self.with_store(move |s| s.delete_inventory(&key)).await {
            tracing::warn!(error = %e, "could not delete the removed profile's cached inventory");
        }
        Ok(())
    }

    /// Signs a profile in: with `password` when given, else with the stored secret (a stored
    /// login token is renewed on the way, which also proves it still works).
    ///
    /// # Errors
    /// `secretMissing` when nothing is stored; `authentication`; `network`, `tls`...
    pub async fn sign_in(
        &self,
        id: &str,
        password: Option<String>,
        session_only: bool,
    ) -> Result<ProfileSummary> {
        let password = password.filter(|p| !p.is_empty()).map(Secret::new);
        let demo = read(&self.inner.demo).clone();
        if id == DEMO_PROFILE_ID
            && let Some(demo) = demo
        {
            let secret = Credential::Password(Secret::new(onedeck_sim::DEMO_ALICE.1.into()));
            let session = authenticate(&demo, &secret).await?;
            self.install_session(Session {
                storage: SecretStorage::Session,
                ..session
            });
            return Ok(ProfileSummary::of(
                &demo,
                true,
                Some(SecretStorage::Session),
            ));
        }
        let pid = ProfileId::parse(id)?;
        let profile = {
            let profiles = self.inner.profiles.clone();
            let pid = pid.clone();
            tokio::task::spawn_blocking(move || profiles.get(&pid)).await??
        };
        let credential = match password {
            Some(p) => Credential::Password(p),
            None => match self.stored_secret(&pid).await? {
                Some(s) => Credential::Stored(s),
                None => return Err(Error::SecretMissing(profile.name.clone())),
            },
        };
        let session = authenticate(&profile, &credential).await?;
        let storage = match (&credential, session_only) {
            (Credential::Stored(_), _) => SecretStorage::Keyring,
            (Credential::Password(_), true) => SecretStorage::Session,
            (Credential::Password(_), false) => {
                let secrets = self.secret_store().await?;
                let to_store = session.stored_secret(&credential);
                tokio::task::spawn_blocking(move || secrets.set(&pid, &to_store)).await??;
                SecretStorage::Keyring
            }
        };
        if let (Credential::Stored(old), Some(lease)) = (&credential, &session.lease)
            && old.expose() != lease.token.expose()
        {
            // Signing in with a stored token traded it for a new one: keep that one instead.
            self.store_secret(&profile.id, lease.token.expose()).await?;
        }
        self.install_session(Session { storage, ..session });
        Ok(ProfileSummary::of(&profile, false, Some(storage)))
    }

    /// Ends a profile's session (the stored secret stays) and closes its consoles.
    ///
    /// # Errors
    /// `notFound` for an unknown profile.
    pub async fn sign_out(&self, id: &str) -> Result<ProfileSummary> {
        self.end_session(id, None);
        let demo = read(&self.inner.demo).clone();
        if id == DEMO_PROFILE_ID
            && let Some(demo) = demo
        {
            return Ok(ProfileSummary::of(&demo, true, None));
        }
        let pid = ProfileId::parse(id)?;
        let profiles = self.inner.profiles.clone();
        let profile = tokio::task::spawn_blocking(move || profiles.get(&pid)).await??;
        Ok(ProfileSummary::of(&profile, false, None))
    }

    // ---- inventory ----

    /// The cached snapshot (marked stale), or `None` when there is none.
    ///
    /// # Errors
    /// `storage`.
    pub async fn inventory_cached(&self, id: &str) -> Result<Option<Inventory>> {
        let key = id.to_owned();
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
    pub async fn inventory_refresh(&self, id: &str) -> Result<Inventory> {
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
        if id != DEMO_PROFILE_ID {
            let rows = vms
                .iter()
                .map(|v| {
                    Ok(VmRow {
                        vm_id: u64::try_from(v.id).unwrap_or_default(),
                        json: serde_json::to_string(v).map_err(|e| Error::Task(e.to_string()))?,
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            let key = id.to_owned();
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

    // ---- consoles ----

    /// Reads the VM afresh, derives its console target and registers a console window for it
    /// (or names the one already open). The shell opens the window; the window then calls
    /// [`Deck::console_connect`] with its label.
    ///
    /// # Errors
    /// `notSignedIn`; `noConsole` with the reason; the endpoint's errors.
    pub async fn console_open(&self, id: &str, vm_id: i32) -> Result<ConsoleWindow> {
        let session = self.session(id)?;
        let vm = session.client.vm_info(VmId(vm_id)).await?;
        let target = vm
            .console_target(&session.profile.console_hosts)
            .map_err(|reason| Error::NoConsole {
                vm_id,
                vm_name: vm.name.clone(),
                reason,
            })?;
        let title = format!("{} — OneDeck", vm.name);
        let mut consoles = lock(&self.inner.consoles);
        if let Some((label, slot)) = consoles
            .by_label
            .iter_mut()
            .find(|(_, s)| s.profile_id == id && s.vm_id == vm_id)
        {
            slot.target = target;
            slot.vm_name = vm.name.clone();
            return Ok(ConsoleWindow {
                label: label.clone(),
                title,
                existing: true,
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
            },
        );
        Ok(ConsoleWindow {
            label,
            title,
            existing: false,
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
        if let Ok(session) = self.session(&profile_id) {
            match session.client.vm_info(VmId(vm_id)).await {
                Ok(vm) => {
                    let target =
                        vm.console_target(&session.profile.console_hosts)
                            .map_err(|reason| Error::NoConsole {
                                vm_id,
                                vm_name: vm.name.clone(),
                                reason,
                            })?;
                    if let Some(slot) = lock(&self.inner.consoles).by_label.get_mut(label) {
                        slot.target = target;
                        slot.vm_name = vm.name.clone();
                    }
                }
                Err(e) if e.is_retryable() => {
                    tracing::info!(error = %e, "endpoint unreachable: using the last known console target");
                }
                Err(e) => return Err(e.into()),
            }
        }
        let consoles = lock(&self.inner.consoles);
        let slot = consoles.by_label.get(label).ok_or(Error::UnknownConsole)?;
        let ticket = self.inner.relay.issue_ticket(
            Target::new(slot.target.host.clone(), slot.target.port),
            TicketOptions::labelled(label),
        )?;
        Ok(ConsoleGrant {
            ws_url: ticket.ws_url(),
            password: slot.target.password.as_ref().map(|p| p.expose().to_owned()),
            vm_id: slot.vm_id,
            vm_name: slot.vm_name.clone(),
            profile_name: slot.profile_name.clone(),
        })
    }

    /// The console window `label` closed: its session ends and its unused tickets are revoked.
    pub fn console_closed(&self, label: &str) {
        lock(&self.inner.consoles).by_label.remove(label);
        self.inner.relay.revoke_tickets(label);
        self.inner.relay.close_sessions_for(label);
    }

    /// The console audit log, newest first (one profile's, or everyone's).
    ///
    /// # Errors
    /// `storage`.
    pub async fn audit_log(
        &self,
        profile_id: Option<&str>,
        limit: u32,
    ) -> Result<Vec<onedeck_store::AuditRecord>> {
        let key = profile_id.map(str::to_owned);
        self.with_store(move |s| s.audit_list(key.as_deref(), limit))
            .await
    }

    /// Labels of the console windows the app knows.
    pub fn console_labels(&self) -> Vec<String> {
        lock(&self.inner.consoles)
            .by_label
            .keys()
            .cloned()
            .collect()
    }

    // ---- token renewal ----

    /// Renews every login token that [`AuthMode::renewal_due`] says is due at `now`. A token
    /// the endpoint refuses ends its session (a [`DeckEvent::SignedOut`] says why); a network
    /// failure leaves it for the next round. Returns the profiles renewed.
    pub async fn renew_due_tokens(&self, now: SystemTime) -> Vec<String> {
        let due: Vec<Session> = read(&self.inner.sessions)
            .values()
            .filter(|s| {
                s.lease
                    .as_ref()
                    .is_some_and(|l| s.profile.auth.renewal_due(l.expires_at, now))
            })
            .cloned()
            .collect();
        let mut renewed = Vec::new();
        for session in due {
            let id = session.profile.id.to_string();
            match renew(&session).await {
                Ok(next) => {
                    let changed = session
                        .lease
                        .as_ref()
                        .zip(next.lease.as_ref())
                        .is_some_and(|(a, b)| a.token.expose() != b.token.expose());
                    if changed
                        && session.storage == SecretStorage::Keyring
                        && let Some(lease) = &next.lease
                        && let Err(e) = self
                            .store_secret(&session.profile.id, lease.token.expose())
                            .await
                    {
                        tracing::warn!(error = %e, "a renewed login token could not be stored");
                    }
                    self.install_session(next);
                    renewed.push(id);
                }
                Err(e) if e.is_offline() => {
                    tracing::info!(error = %e, profile = %id, "token renewal postponed: endpoint unreachable");
                }
                Err(e) => {
                    tracing::warn!(error = %e, profile = %id, "login token renewal refused: signed out");
                    self.end_session(
                        &id,
                        Some(Error::TokenExpired(session.profile.name.clone()).to_string()),
                    );
                }
            }
        }
        renewed
    }

    /// When the login token of a signed-in profile expires, as the app believes.
    pub fn token_expiry(&self, id: &str) -> Option<SystemTime> {
        read(&self.inner.sessions)
            .get(id)
            .and_then(|s| s.lease.as_ref().map(|l| l.expires_at))
    }

    // ---- shutdown ----

    /// Ends every console session (audit rows closed with `app_exited`), stops the background
    /// tasks and the demo cloud.
    pub async fn shutdown(&self) {
        let report = self.inner.relay.shutdown(Duration::from_secs(2)).await;
        tracing::info!(?report, "relay stopped");
        let _ = self.inner.stop.send(true);
        let tasks = std::mem::take(&mut *lock(&self.inner.tasks));
        for task in tasks {
            let _ = task.await;
        }
        if let Err(e) = self
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

    // ---- internals ----

    async fn start_demo(&self) -> Result<()> {
        let config = SimConfig {
            vnc_base: onedeck_sim::free_vnc_base(64)?,
            ..SimConfig::default()
        };
        let sim = Simulator::start(config).await?;
        let mut profile =
            Profile::new("Demo cloud", &sim.endpoint_url(), onedeck_sim::DEMO_ALICE.0)?;
        profile.id = ProfileId::parse(DEMO_PROFILE_ID)?;
        profile.vm_filter = VmFilter::MineAndGroups;
        *self.inner.sim.lock().await = Some(sim);
        *write(&self.inner.demo) = Some(profile);
        self.sign_in(DEMO_PROFILE_ID, None, true).await?;
        Ok(())
    }

    async fn profile_from_input(&self, input: ProfileInput) -> Result<Profile> {
        if input.id.as_deref() == Some(DEMO_PROFILE_ID) && read(&self.inner.demo).is_some() {
            return Err(Error::DemoReadOnly);
        }
        let mut profile = match &input.id {
            Some(id) => {
                let pid = ProfileId::parse(id)?;
                let profiles = self.inner.profiles.clone();
                let mut p = tokio::task::spawn_blocking(move || profiles.get(&pid)).await??;
                p.name = input.name.trim().to_owned();
                p.url = input.url.trim().to_owned();
                p.user = input.user.trim().to_owned();
                p
            }
            None => Profile::new(&input.name, &input.url, &input.user)?,
        };
        profile.auth = match input.auth_mode {
            AuthModeName::Password => AuthMode::Password,
            AuthModeName::LoginToken => match profile.auth {
                keep @ AuthMode::LoginToken { .. } => keep,
                AuthMode::Password => AuthMode::LoginToken {
                    token_ttl_secs: TOKEN_TTL_SECS,
                    renew_before_secs: TOKEN_RENEW_BEFORE_SECS,
                },
            },
        };
        profile.vm_filter = input.vm_filter.into();
        profile.tls.pinned_sha256 = input.pinned_sha256.filter(|s| !s.trim().is_empty());
        profile.tls.ca_file = input
            .ca_file
            .filter(|s| !s.trim().is_empty())
            .map(PathBuf::from);
        profile.normalize()?;
        Ok(profile)
    }

    /// The secret store, connecting to the OS keyring when not connected yet.
    async fn secret_store(&self) -> Result<Arc<SecretStore>> {
        if let Some(s) = lock(&self.inner.secrets).clone() {
            return Ok(s);
        }
        let store = match &self.inner.secret_backend {
            SecretBackend::OsKeyring => {
                let store = tokio::task::spawn_blocking(|| -> Result<SecretStore> {
                    let store = SecretStore::os_keyring()?;
                    // A locked collection shows only on use: find out before a password is sent.
                    store.check()?;
                    Ok(store)
                })
                .await??;
                Arc::new(store)
            }
            SecretBackend::Memory => Arc::new(SecretStore::session_only()),
            SecretBackend::Given(store) => store.clone(),
        };
        *lock(&self.inner.secrets) = Some(store.clone());
        Ok(store)
    }

    async fn stored_secret(&self, id: &ProfileId) -> Result<Option<Secret>> {
        let secrets = self.secret_store().await?;
        let id = id.clone();
        let result = tokio::task::spawn_blocking(move || secrets.get(&id)).await?;
        if matches!(&result, Err(e) if e.is_keyring_unavailable()) {
            lock(&self.inner.secrets).take();
        }
        Ok(result?)
    }

    async fn store_secret(&self, id: &ProfileId, secret: &str) -> Result<()> {
        let secrets = self.secret_store().await?;
        let id = id.clone();
        let secret = Secret::new(secret.to_owned());
        tokio::task::spawn_blocking(move || secrets.set(&id, &secret)).await??;
        Ok(())
    }

    fn session(&self, id: &str) -> Result<Session> {
        read(&self.inner.sessions)
            .get(id)
            .cloned()
            .ok_or_else(|| Error::NotSignedIn(id.to_owned()))
    }

    fn install_session(&self, session: Session) {
        write(&self.inner.sessions).insert(session.profile.id.to_string(), session);
    }

    /// Drops a session and closes its consoles; `reason` (unasked sign-out) is told to the UI.
    fn end_session(&self, id: &str, reason: Option<String>) {
        write(&self.inner.sessions).remove(id);
        let labels: Vec<String> = lock(&self.inner.consoles)
            .by_label
            .iter()
            .filter(|(_, s)| s.profile_id == id)
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

    /// Writes an audit row when a console session starts and completes it when it ends.
    fn spawn_audit_writer(&self) {
        let mut rx = self.inner.relay.subscribe();
        let mut stop = self.inner.stop.subscribe();
        let deck = self.clone();
        let task = tokio::spawn(async move {
            loop {
                let event = tokio::select! {
                    event = rx.recv() => event,
                    _ = stop.changed() => {
                        // The relay has shut down: its last events are already queued.
                        while let Ok(event) = rx.try_recv() {
                            deck.audit(event).await;
                        }
                        return;
                    }
                };
                match event {
                    Ok(event) => deck.audit(event).await,
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        tracing::warn!(missed = n, "audit writer fell behind the relay's events");
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                }
            }
        });
        lock(&self.inner.tasks).push(task);
    }

    async fn audit(&self, event: SessionEvent) {
        match event {
            SessionEvent::Started {
                id,
                label,
                target,
                started_unix_ms,
                recording,
                ..
            } => {
                let start = {
                    let consoles = lock(&self.inner.consoles);
                    let Some(slot) = consoles.by_label.get(&label) else {
                        return;
                    };
                    SessionStart {
                        profile_id: slot.profile_id.clone(),
                        user: slot.user.clone(),
                        vm_id: u64::try_from(slot.vm_id).unwrap_or_default(),
                        vm_name: slot.vm_name.clone(),
                        target_host: target.host.clone(),
                        target_port: target.port,
                        started_at: SystemTime::UNIX_EPOCH + Duration::from_millis(started_unix_ms),
                        recording_file: recording,
                    }
                };
                let profile_id = start.profile_id.clone();
                let vm_id = i32::try_from(start.vm_id).unwrap_or_default();
                let audit = match self.with_store(move |s| s.audit_start(&start)).await {
                    Ok(audit) => Some(audit),
                    Err(e) => {
                        tracing::warn!(error = %e, "could not write the console audit row");
                        None
                    }
                };
                lock(&self.inner.consoles).live.insert(
                    id,
                    LiveSession {
                        audit,
                        profile_id,
                        vm_id,
                    },
                );
            }
            SessionEvent::Ended {
                id,
                label,
                stats,
                reason,
                ..
            } => {
                let Some(live) = lock(&self.inner.consoles).live.remove(&id) else {
                    return;
                };
                if let Some(audit) = live.audit {
                    let end = SessionEnd {
                        ended_at: SystemTime::now(),
                        bytes_to_client: stats.bytes_to_client,
                        bytes_to_server: stats.bytes_to_target,
                        end_reason: reason_code(&reason),
                    };
                    if let Err(e) = self.with_store(move |s| s.audit_end(audit, &end)).await {
                        tracing::warn!(error = %e, "could not complete the console audit row");
                    }
                }
                let _ = self.inner.events.send(DeckEvent::ConsoleEnded {
                    label,
                    profile_id: live.profile_id,
                    vm_id: live.vm_id,
                    reason: reason.to_string(),
                });
            }
            SessionEvent::Rejected { peer, reason } => {
                tracing::warn!(%peer, ?reason, "console connection refused by the relay");
            }
        }
    }

    fn spawn_renewal(&self, interval: Duration) {
        let deck = self.clone();
        let mut stop = self.inner.stop.subscribe();
        let task = tokio::spawn(async move {
            let mut ticker = tokio::time::interval(interval);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = ticker.tick() => {
                        deck.renew_due_tokens(SystemTime::now()).await;
                    }
                    _ = stop.changed() => return,
                }
            }
        });
        lock(&self.inner.tasks).push(task);
    }
}

/// The audit log's name for an end reason (the relay's serde tag, e.g. `client_closed`).
fn reason_code(reason: &onedeck_relay::EndReason) -> String {
    serde_json::to_value(reason)
        .ok()
        .and_then(|v| v.get("kind").and_then(|k| k.as_str()).map(str::to_owned))
        .unwrap_or_else(|| "unknown".to_owned())
}

/// What the user gave to sign in.
enum Credential {
    /// A password just typed.
    Password(Secret),
    /// The secret from the keyring: a password or, in login-token mode, a token.
    Stored(Secret),
}

impl Session {
    /// What to keep for the next start: the token in login-token mode, else the password.
    fn stored_secret(&self, credential: &Credential) -> Secret {
        match (&self.lease, credential) {
            (Some(lease), _) => Secret::new(lease.token.expose().to_owned()),
            (None, Credential::Password(s) | Credential::Stored(s)) => s.clone(),
        }
    }
}

/// A client of the profile's endpoint that signs calls with `secret`.
fn client(profile: &Profile, secret: &str) -> Result<Client> {
    let mut endpoint = Endpoint::new(profile.url.clone());
    if let Some(ca) = &profile.tls.ca_file {
        endpoint.ca_bundle_pem =
            Some(
                std::fs::read_to_string(ca).map_err(|e| Error::InvalidInput {
                    field: "caFile",
                    reason: format!("cannot read {}: {e}", ca.display()),
                })?,
            );
    }
    if let Some(pin) = &profile.tls.pinned_sha256 {
        endpoint.pinned_sha256 = Some(pin.parse().map_err(|e| Error::InvalidInput {
            field: "pinnedSha256",
            reason: format!("{e}"),
        })?);
    }
    endpoint.host_overrides = profile.console_hosts.clone();
    let credentials = Credentials::new(profile.user.clone(), secret.to_owned());
    Ok(Client::new(endpoint, credentials)?)
}

fn token_validity(profile: &Profile) -> TokenValidity {
    match profile.auth {
        AuthMode::LoginToken { token_ttl_secs, .. } => {
            TokenValidity::Seconds(u32::try_from(token_ttl_secs).unwrap_or(u32::MAX))
        }
        AuthMode::Password => TokenValidity::Never,
    }
}

fn token_ttl(profile: &Profile) -> Duration {
    match profile.auth {
        AuthMode::LoginToken { token_ttl_secs, .. } => Duration::from_secs(token_ttl_secs),
        AuthMode::Password => Duration::ZERO,
    }
}

/// Proves the credential works and builds the session. In login-token mode a typed password is
/// traded for a token, and a stored token is extended (which proves it too).
async fn authenticate(profile: &Profile, credential: &Credential) -> Result<Session> {
    let make = |client: Client, lease: Option<Lease>| Session {
        profile: profile.clone(),
        client,
        storage: SecretStorage::None,
        lease,
    };
    match (&profile.auth, credential) {
        (AuthMode::Password, Credential::Password(s) | Credential::Stored(s)) => {
            let c = client(profile, s.expose())?;
            c.user_info_self().await?;
            Ok(make(c, None))
        }
        (AuthMode::LoginToken { .. }, Credential::Password(password)) => {
            let issued_at = SystemTime::now();
            let token = client(profile, password.expose())?
                .login_token_create(token_validity(profile), None)
                .await?;
            let c = client(profile, token.expose())?;
            c.user_info_self().await?;
            Ok(make(
                c,
                Some(Lease {
                    token,
                    expires_at: issued_at + token_ttl(profile),
                }),
            ))
        }
        (AuthMode::LoginToken { .. }, Credential::Stored(token)) => {
            // Trading the stored token for a fresh one proves it still works.
            let lease = Lease {
                token: token.expose().into(),
                expires_at: SystemTime::UNIX_EPOCH,
            };
            let session = make(client(profile, token.expose())?, Some(lease));
            renew(&session).await.map_err(|e| match e {
                Error::OpenNebula(one) if one.is_authentication() => {
                    Error::TokenExpired(profile.name.clone())
                }
                other => other,
            })
        }
    }
}

/// Trades the session's login token for a new one with the profile's full lifetime, then revokes
/// the old one. A new token rather than the same one extended: oned keeps a token's first expiry
/// when the same token is logged in again, and a fresh token works on every version.
async fn renew(session: &Session) -> Result<Session> {
    let Some(lease) = &session.lease else {
        return Ok(session.clone());
    };
    let issued_at = SystemTime::now();
    let token = session
        .client
        .login_token_create(token_validity(&session.profile), None)
        .await?;
    let client = client(&session.profile, token.expose())?;
    if let Err(e) = client.login_token_revoke(Some(&lease.token)).await {
        // The old token then simply expires on its own.
        tracing::info!(error = %e, "the previous login token could not be revoked");
    }
    Ok(Session {
        client,
        lease: Some(Lease {
            token,
            expires_at: issued_at + token_ttl(&session.profile),
        }),
        ..session.clone()
    })
}

/// Saves the profile, and its secret unless the session keeps it (`secrets: None`).
fn save(
    profiles: &ProfileStore,
    secrets: Option<&SecretStore>,
    profile: Profile,
    secret: &Secret,
) -> Result<Profile> {
    Ok(match secrets {
        Some(secrets) => {
            onedeck_vault::save_profile_with(profiles, secrets, profile, Some(secret))?
        }
        None => profiles.upsert(profile)?,
    })
}
