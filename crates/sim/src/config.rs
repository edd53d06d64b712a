//! What a simulator is started with.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// The demo's administrator: `oneadmin` / `opennebula`.
pub const DEMO_ADMIN: (&str, &str) = ("oneadmin", "opennebula");
/// The demo's first user: `alice` / `alice` (group `devs`).
pub const DEMO_ALICE: (&str, &str) = ("alice", "alice");
/// The demo's second user: `bob` / `bob` (group `ops`).
pub const DEMO_BOB: (&str, &str) = ("bob", "bob");
/// Every demo credential, admin first.
pub const DEMO_CREDENTIALS: [(&str, &str); 3] = [DEMO_ADMIN, DEMO_ALICE, DEMO_BOB];

/// How running VMs get their consoles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum VncMode {
    /// The built-in RFB 3.8 server (text console echoing keys).
    #[default]
    Builtin,
    /// One `qemu-system-x86_64 -display none -vnc …` per running VM.
    Qemu,
    /// No consoles (ports are still assigned; for scale runs).
    None,
}

/// A user to add (`--user NAME:PASSWORD[:admin]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserSpec {
    /// Login name.
    pub name: String,
    /// Password.
    pub password: String,
    /// Member of the oneadmin group.
    pub admin: bool,
}

impl std::str::FromStr for UserSpec {
    type Err = crate::Error;

    fn from_str(s: &str) -> crate::Result<Self> {
        let bad = || crate::Error::Config(format!("user `{s}` is not NAME:PASSWORD[:admin]"));
        let (name, rest) = s.split_once(':').ok_or_else(bad)?;
        let (password, admin) = match rest.rsplit_once(':') {
            Some((p, "admin")) => (p, true),
            _ => (rest, false),
        };
        if name.is_empty() || password.is_empty() || name.contains(char::is_whitespace) {
            return Err(bad());
        }
        Ok(Self {
            name: name.to_string(),
            password: password.to_string(),
            admin,
        })
    }
}

/// Everything the simulator is started with.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Where the XML-RPC server listens (loopback only; default `127.0.0.1:0`).
    pub listen: SocketAddr,
    /// Extra users (or new passwords for the demo ones).
    pub users: Vec<UserSpec>,
    /// Extra generated VMs (up to 100,000).
    pub vms: usize,
    /// Seed for generated content and faults.
    pub seed: u64,
    /// Added to every reply.
    pub latency: Duration,
    /// Probability (0..=1) that a request gets a fault: a hang, an HTTP 500 or a malformed reply.
    pub fault_rate: f64,
    /// How long a "timeout" fault holds the connection before closing it.
    pub fault_hold: Duration,
    /// Console kind.
    pub vnc: VncMode,
    /// VNC_PORTS/START: VM N's console is at `vnc_base + N` when free (5900 like oned).
    pub vnc_base: u16,
    /// At most this many consoles are served at once (the rest get ports but no server).
    pub max_consoles: usize,
    /// Persist the cloud in this file (JSON) across runs.
    pub state_file: Option<PathBuf>,
    /// Give the demo groups the ACL rules an admin would add (CREATE, HOST USE).
    pub demo_acls: bool,
    /// Extra templates, shared with everyone: the first, `web-inputs`, asks USER_INPUTS of every
    /// type; the rest are plain (`tpl-0001`...), for dialogs with long lists.
    pub templates: usize,
    /// More ACL rules, as `oneacl create` takes them (`@100 VM/@101 USE`).
    pub acls: Vec<String>,
    /// Run as the app's built-in demo cloud: answer only requests whose `Host` is this server's
    /// own loopback address (a web page using DNS rebinding cannot call it) and serve no test
    /// hook (`/sim/...`). `onedeck-cli sim` keeps both off for the tests that use them.
    pub embedded: bool,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            users: Vec::new(),
            vms: 0,
            seed: 1,
            latency: Duration::ZERO,
            fault_rate: 0.0,
            fault_hold: Duration::from_secs(30),
            vnc: VncMode::Builtin,
            vnc_base: 5900,
            max_consoles: 256,
            state_file: None,
            demo_acls: true,
            templates: 0,
            acls: Vec::new(),
            embedded: false,
        }
    }
}

impl SimConfig {
    /// Checks the values a user can get wrong.
    pub fn validate(&self) -> crate::Result<()> {
        if !self.listen.ip().is_loopback() {
            return Err(crate::Error::Config(format!(
                "listen address {} is not loopback; the simulator only serves 127.0.0.1",
                self.listen
            )));
        }
        for rule in &self.acls {
            crate::model::AclRule::parse(rule).map_err(crate::Error::Config)?;
        }
        if self.vms > 100_000 {
            return Err(crate::Error::Config("--vms is limited to 100000".into()));
        }
        if !(0.0..=1.0).contains(&self.fault_rate) {
            return Err(crate::Error::Config(
                "--fault-rate must be between 0 and 1".into(),
            ));
        }
        if self.vnc_base < 1024 {
            return Err(crate::Error::Config(
                "the VNC port base must be at least 1024".into(),
            ));
        }
        if self.vnc == VncMode::Qemu && self.vnc_base < 5900 {
            return Err(crate::Error::Config(
                "--vnc qemu needs a VNC port base of 5900 or more (QEMU counts displays from 5900)"
                    .into(),
            ));
        }
        Ok(())
    }
}

/// A VNC port base with `count` consecutive free loopback ports, for tests and the app's demo.
///
/// It searches 10000–32767, below Linux's ephemeral range (32768+), where client sockets in
/// TIME_WAIT would make a "free" port fail to bind a moment later.
pub fn free_vnc_base(count: u16) -> crate::Result<u16> {
    // Calls in one process (parallel tests) get different ranges even before they bind them.
    static HANDED_OUT: std::sync::atomic::AtomicU16 = std::sync::atomic::AtomicU16::new(0);
    let count = count.clamp(1, 4096);
    let step = count.max(16);
    let offset = HANDED_OUT.fetch_add(step, std::sync::atomic::Ordering::Relaxed);
    let start = 10_000 + ((std::process::id() % 1000) as u16 * 16 + offset) % 22_000;
    let mut last_error = None;
    let mut base = start;
    let mut wrapped = false;
    loop {
        if base + count > 32_768 {
            if wrapped {
                break;
            }
            wrapped = true;
            base = 10_000;
        }
        if wrapped && base >= start {
            break;
        }
        match (0..count)
            .try_for_each(|i| std::net::TcpListener::bind(("127.0.0.1", base + i)).map(drop))
        {
            Ok(()) => return Ok(base),
            Err(e) => last_error = Some(e),
        }
        base += count.max(16);
    }
    Err(crate::Error::Config(format!(
        "no free range of {count} VNC ports on 127.0.0.1 from {start}: {last_error:?}"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_user_specs() {
        let u: UserSpec = "carol:pw:admin".parse().expect("parses");
        assert!(u.admin);
        assert_eq!(u.password, "pw");
        let u: UserSpec = "dave:a:b".parse().expect("parses");
        assert!(!u.admin);
        assert_eq!(u.password, "a:b");
        assert!("nocolon".parse::<UserSpec>().is_err());
        assert!(":pw".parse::<UserSpec>().is_err());
    }

    #[test]
    fn rejects_non_loopback() {
        let cfg = SimConfig {
            listen: "0.0.0.0:2633".parse().expect("addr"),
            ..SimConfig::default()
        };
        assert!(cfg.validate().is_err());
        assert!(SimConfig::default().validate().is_ok());
    }
}
