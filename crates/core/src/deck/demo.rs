//! The built-in demo cloud: the simulator on loopback, signed in as alice.

use onedeck_sim::{SimConfig, Simulator};
use onedeck_vault::{Profile, ProfileId, VmFilter};

use super::{DEMO_PROFILE_ID, Deck, write};
use crate::error::Result;

impl Deck {
    // ---- internals ----

    pub(super) async fn start_demo(&self) -> Result<()> {
        let config = SimConfig {
            vnc_base: onedeck_sim::free_vnc_base(64)?,
            templates: 1,
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
