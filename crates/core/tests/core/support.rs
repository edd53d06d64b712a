//! A deck on temporary dirs beside a simulator.

use std::sync::Arc;
use std::time::Duration;

use onedeck_core::{
    AuthModeName, Deck, DeckConfig, DemoPolicy, ProfileInput, SecretBackend, VmFilterName,
};
use onedeck_sim::{SimConfig, SimHandle, Simulator, UserSpec};
use onedeck_vault::SecretStore;

pub type TestResult = Result<(), Box<dyn std::error::Error>>;

/// A user only these tests know, so a leak of the password is recognisable.
pub const USER: &str = "carol";
pub const PASSWORD: &str = "Carol-pw-7f3a9c1e";

pub async fn sim() -> Result<SimHandle, Box<dyn std::error::Error>> {
    let config = SimConfig {
        vnc_base: onedeck_sim::free_vnc_base(64)?,
        users: vec![UserSpec {
            name: USER.into(),
            password: PASSWORD.into(),
            admin: true,
        }],
        ..SimConfig::default()
    };
    Ok(Simulator::start(config).await?)
}

pub struct Env {
    pub dir: tempfile::TempDir,
    pub secrets: Arc<SecretStore>,
}

impl Env {
    pub fn new() -> Result<Self, Box<dyn std::error::Error>> {
        Ok(Self {
            dir: tempfile::tempdir()?,
            secrets: Arc::new(SecretStore::session_only()),
        })
    }

    pub fn config(&self, demo: DemoPolicy) -> DeckConfig {
        DeckConfig {
            config_dir: Some(self.dir.path().join("config")),
            data_dir: Some(self.dir.path().join("data")),
            secrets: SecretBackend::Given(self.secrets.clone()),
            demo,
            renewal_interval: Duration::from_secs(3600),
            ..DeckConfig::default()
        }
    }

    /// A deck with no demo cloud (the tests bring their own simulator).
    pub async fn deck(&self) -> Result<Deck, Box<dyn std::error::Error>> {
        Ok(Deck::start(self.config(DemoPolicy::Never)).await?)
    }
}

pub fn input(url: &str, auth_mode: AuthModeName) -> ProfileInput {
    ProfileInput {
        id: None,
        name: "Lab cloud".into(),
        url: url.into(),
        user: USER.into(),
        auth_mode,
        vm_filter: VmFilterName::All,
        pinned_sha256: None,
        ca_file: None,
        token_ttl_secs: None,
        renew_before_secs: None,
        console_hosts: None,
        allow_plain_http: false,
        record_consoles: false,
        console_transport: None,
    }
}

/// A simulator, a deck on fresh dirs, and a profile saved through it (so signed in).
pub struct Signed {
    pub sim: SimHandle,
    pub env: Env,
    pub deck: Deck,
    pub profile: onedeck_core::ProfileSummary,
}

pub async fn signed_in(
    auth_mode: AuthModeName,
    session_only: bool,
) -> Result<Signed, Box<dyn std::error::Error>> {
    let sim = sim().await?;
    let env = Env::new()?;
    let deck = env.deck().await?;
    let profile = deck
        .save_profile(
            input(&sim.endpoint_url(), auth_mode),
            Some(PASSWORD.into()),
            session_only,
        )
        .await?;
    Ok(Signed {
        sim,
        env,
        deck,
        profile,
    })
}

impl Signed {
    /// Stops the deck and the simulator.
    pub async fn stop(self) -> TestResult {
        self.deck.shutdown().await;
        self.sim.shutdown().await?;
        Ok(())
    }
}

/// The kind of a call's error; `None` when it succeeded.
pub fn kind<T>(result: onedeck_core::Result<T>) -> Option<onedeck_core::ErrorKind> {
    result.err().map(|e| e.kind())
}
