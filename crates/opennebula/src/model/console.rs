//! Where a VM's console is: the target the relay dials (VNC) or forwards to remote-viewer
//! (SPICE), or why there is none (API.md §4).

use std::collections::BTreeMap;

use serde::Serialize;

use super::state::{LcmState, VmState};
use super::vm::{GraphicsType, Vm};
use crate::secret::Secret;

/// Where a VM's console is, ready for the relay.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConsoleTarget {
    /// The address to dial: the history record's host name, mapped through the endpoint's
    /// host-name→address overrides.
    pub host: String,
    /// OpenNebula's name of that host (before the override).
    pub hostname: String,
    /// `GRAPHICS/PORT` (always the document's, never 5900 + id).
    pub port: u16,
    /// The VNC password, if any. Never serialised.
    #[serde(skip)]
    pub password: Option<Secret>,
    /// `GRAPHICS/KEYMAP`.
    pub keymap: Option<String>,
    /// `GRAPHICS/LISTEN`: when it is a loopback address the host itself refuses outside callers.
    pub listen: Option<String>,
}

/// Why a VM has no console to open.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(rename_all = "snake_case", tag = "reason")]
pub enum NoConsole {
    /// The VM is not running on a host now (label: Sunstone's state label).
    #[error("the VM is not running (state {label})")]
    NotRunning {
        /// Sunstone's label of the current state.
        label: String,
    },
    /// The VM has never been placed on a host.
    #[error("the VM has never been deployed on a host")]
    NeverDeployed,
    /// The template has no `GRAPHICS`.
    #[error("the VM has no graphics console")]
    NoGraphics,
    /// The console is SPICE: OneDeck hands it to remote-viewer ([`Vm::spice_target`]).
    #[error("the VM's console is SPICE only")]
    SpiceOnly,
    /// A SPICE hand-off was asked for a console that is not SPICE.
    #[error("the VM's console is not SPICE")]
    NotSpice,
    /// The console type is neither VNC nor SPICE.
    #[error("the VM's console type {kind:?} is not supported")]
    Unsupported {
        /// The `GRAPHICS/TYPE` value.
        kind: String,
    },
    /// `GRAPHICS/PORT` is missing.
    #[error("the VM's console has no port yet")]
    NoPort,
}

/// LCM states in which the hypervisor runs the domain and its console (API.md §4.1, plus BACKUP).
fn console_lcm(lcm: LcmState) -> bool {
    matches!(
        lcm.as_i32(),
        3 | 4 | 12 | 13 | 16 | 17 | 18 | 24..=29 | 57 | 58 | 62 | 69
    )
}

impl Vm {
    /// Where to connect for this VM's VNC console, or why there is none. `overrides` maps
    /// OpenNebula host names to addresses reachable from this machine (the endpoint's setting).
    ///
    /// # Errors
    /// A [`NoConsole`] reason: not running, never deployed, no graphics, SPICE only, no port.
    pub fn console_target(
        &self,
        overrides: &BTreeMap<String, String>,
    ) -> Result<ConsoleTarget, NoConsole> {
        match &self.graphics_type()? {
            GraphicsType::Vnc => self.graphics_target(overrides),
            GraphicsType::Spice => Err(NoConsole::SpiceOnly),
            GraphicsType::Other(kind) => Err(NoConsole::Unsupported { kind: kind.clone() }),
        }
    }

    /// Where to connect for this VM's SPICE console (for remote-viewer), or why there is none.
    ///
    /// # Errors
    /// As [`Vm::console_target`], with [`NoConsole::NotSpice`] for a VNC console.
    pub fn spice_target(
        &self,
        overrides: &BTreeMap<String, String>,
    ) -> Result<ConsoleTarget, NoConsole> {
        match &self.graphics_type()? {
            GraphicsType::Spice => self.graphics_target(overrides),
            GraphicsType::Vnc => Err(NoConsole::NotSpice),
            GraphicsType::Other(kind) => Err(NoConsole::Unsupported { kind: kind.clone() }),
        }
    }

    fn graphics_type(&self) -> Result<GraphicsType, NoConsole> {
        self.template
            .graphics
            .as_ref()
            .map(|g| g.graphics_type.clone())
            .ok_or(NoConsole::NoGraphics)
    }

    /// The target of `GRAPHICS`, whatever its type, when the VM runs on a host.
    fn graphics_target(
        &self,
        overrides: &BTreeMap<String, String>,
    ) -> Result<ConsoleTarget, NoConsole> {
        let graphics = self
            .template
            .graphics
            .as_ref()
            .ok_or(NoConsole::NoGraphics)?;
        let history = self.current_history();
        if history.is_none()
            && matches!(
                self.state,
                VmState::Pending | VmState::Hold | VmState::Init | VmState::Cloning
            )
        {
            return Err(NoConsole::NeverDeployed);
        }
        if self.state != VmState::Active || !console_lcm(self.lcm_state) {
            return Err(NoConsole::NotRunning {
                label: self.state_label().to_owned(),
            });
        }
        let history = history.ok_or(NoConsole::NeverDeployed)?;
        let port = graphics.port.ok_or(NoConsole::NoPort)?;
        let host = overrides
            .get(&history.hostname)
            .cloned()
            .unwrap_or_else(|| history.hostname.clone());
        Ok(ConsoleTarget {
            host,
            hostname: history.hostname.clone(),
            port,
            password: graphics.password.clone().filter(|p| !p.is_empty()),
            keymap: graphics.keymap.clone(),
            listen: graphics.listen.clone(),
        })
    }
}
