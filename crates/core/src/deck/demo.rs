//! The built-in demo cloud: the simulator on loopback, signed in as alice.

use onedeck_sim::{SimConfig, Simulator, UserSpec};
use onedeck_vault::{Profile, ProfileId, Secret, VmFilter};

use super::{DEMO_PROFILE_ID, Deck, lock, write};
use crate::error::{Error, Result};

/// 128 random bits as hex.
fn random_password() -> Result<String> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| Error::Task(format!("no randomness: {e}")))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

impl Deck {
    // ---- internals ----

    /// Starts the simulator as the app's demo cloud: every demo user gets a random password for
    /// this launch (the documented ones would let any local process in), it answers only its
    /// own loopback Host (no DNS rebinding) and serves no test hook (security finding 7).
    pub(super) async fn start_demo(&self) -> Result<()> {
        let users = onedeck_sim::DEMO_CREDENTIALS
            .iter()
            .map(|(name, _)| {
                Ok(UserSpec {
                    name: (*name).to_owned(),
                    password: random_password()?,
                    admin: *name == onedeck_sim::DEMO_ADMIN.0,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let alice = users
            .iter()
            .find(|u| u.name == onedeck_sim::DEMO_ALICE.0)
            .map(|u| Secret::new(u.password.clone()));
        *lock(&self.inner.demo_password) = alice;
        let config = SimConfig {
            vnc_base: onedeck_sim::free_vnc_base(64)?,
            templates: 1,
            users,
            embedded: true,
            ..SimConfig::default()
        };
        let sim = Simulator::start(config).await?;
        let mut profile =
            Profile::new("Demo cloud", &sim.endpoint_url(), onedeck_sim::DEMO_ALICE.0)?;
        profile.id = ProfileId::parse(DEMO_PROFILE_ID)?;
        profile.vm_filter = VmFilter::MineAndGroups;
        *self.inner.sim.lock().await = Some(sim);
        *write(&self.inner.demo) = Some(profile);
        self.sign_in(&super::demo_profile_id(), None, true).await?;
        Ok(())
    }
}
