//! Console window settings, per VM: the console window reads its own and saves them as they
//! change; the shell opens the window at its remembered size.

use onedeck_opennebula::VmId;

use super::{Deck, lock};
use crate::error::{Error, Result};
use crate::view::ConsoleSettings;

impl Deck {
    pub(super) async fn load_console_settings(
        &self,
        profile: String,
        vm_id: VmId,
    ) -> Result<ConsoleSettings> {
        let vm = u64::try_from(vm_id.0).unwrap_or(0);
        let json = self
            .with_store(move |s| s.load_console_settings(&profile, vm))
            .await?;
        // Settings an older or newer build wrote that this one cannot read fall back to the
        // defaults rather than keeping the console from opening.
        Ok(json
            .and_then(|j| serde_json::from_str::<ConsoleSettings>(&j).ok())
            .filter(|s| s.validate().is_ok())
            .unwrap_or_default())
    }

    fn console_vm(&self, label: &str) -> Result<(String, VmId)> {
        let consoles = lock(&self.inner.consoles);
        let slot = consoles.by_label.get(label).ok_or(Error::UnknownConsole)?;
        Ok((slot.profile_id.to_string(), slot.vm_id))
    }

    /// The settings of the console window `label`'s VM (the defaults when none were saved).
    ///
    /// # Errors
    /// `notFound` for an unknown window; `storage`.
    pub async fn console_settings(&self, label: &str) -> Result<ConsoleSettings> {
        let (profile, vm_id) = self.console_vm(label)?;
        self.load_console_settings(profile, vm_id).await
    }

    /// A file name for a screenshot of the console window `label`'s VM taken at `taken` (the
    /// window's local time).
    ///
    /// # Errors
    /// `notFound` for an unknown window.
    pub fn console_screenshot_name(&self, label: &str, taken: &str) -> Result<String> {
        let consoles = lock(&self.inner.consoles);
        let slot = consoles.by_label.get(label).ok_or(Error::UnknownConsole)?;
        Ok(crate::screenshot::screenshot_name(&slot.vm_name, taken))
    }

    /// Whether the console window `label` may read and write the local clipboard: only when the
    /// user turned sharing on for its VM.
    ///
    /// # Errors
    /// `invalidInput` (field `clipboard`) while sharing is off; `notFound`; `storage`.
    pub async fn console_clipboard_allowed(&self, label: &str) -> Result<()> {
        if self.console_settings(label).await?.clipboard {
            Ok(())
        } else {
            Err(Error::InvalidInput {
                field: "clipboard",
                reason: "clipboard sharing is off for this VM".into(),
            })
        }
    }

    /// Saves the settings of the console window `label`'s VM.
    ///
    /// # Errors
    /// `invalidInput` naming a field out of bounds; `notFound`; `storage`.
    pub async fn console_settings_save(
        &self,
        label: &str,
        settings: ConsoleSettings,
    ) -> Result<()> {
        settings.validate()?;
        let (profile, vm_id) = self.console_vm(label)?;
        let json = serde_json::to_string(&settings).map_err(|e| Error::InvalidInput {
            field: "settings",
            reason: e.to_string(),
        })?;
        let vm = u64::try_from(vm_id.0).unwrap_or(0);
        self.with_store(move |s| s.save_console_settings(&profile, vm, &json))
            .await
    }
}
