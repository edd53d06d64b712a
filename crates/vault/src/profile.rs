//! One endpoint profile: where an OpenNebula front end is and how to sign in to it (never the secret).

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::transport::{ConsoleTransport, SshAuthKind, SshTransport};

use crate::error::{Error, Result};

/// Longest profile id accepted; ids are keyring account names and file keys, so they stay short.
pub const MAX_ID_LEN: usize = 64;

/// A profile's stable identifier: a lowercase slug such as `prod-3fa2c1d0`.
///
/// It is the keyring account name of the profile's secret and never changes when the profile is
/// renamed.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ProfileId(String);

impl ProfileId {
    /// Parses an id: 1 to [`MAX_ID_LEN`] characters of `a-z`, `0-9` and `-`, not starting with `-`.
    ///
    /// # Errors
    /// [`Error::InvalidProfile`] naming `id` when the text is not such a slug.
    pub fn parse(text: &str) -> Result<Self> {
        let valid = !text.is_empty()
            && text.len() <= MAX_ID_LEN
            && !text.starts_with('-')
            && text
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if valid {
            Ok(Self(text.to_owned()))
        } else {
            Err(Error::InvalidProfile {
                field: "id",
                reason: format!(
                    "`{text}` is not 1-{MAX_ID_LEN} characters of a-z, 0-9 and '-' (not starting with '-')"
                ),
            })
        }
    }

    /// Makes a fresh id from a display name: its slug (at most 40 characters) plus 8 random hex digits.
    pub fn generate(display_name: &str) -> Self {
        let mut slug = String::new();
        for c in display_name.chars().flat_map(char::to_lowercase) {
            if slug.len() >= 40 {
                break;
            }
            if c.is_ascii_alphanumeric() {
                slug.push(c);
            } else if !slug.is_empty() && !slug.ends_with('-') {
                slug.push('-');
            }
        }
        while slug.ends_with('-') {
            slug.pop();
        }
        if slug.is_empty() {
            slug.push_str("endpoint");
        }
        let mut bytes = [0u8; 4];
        // The suffix only has to make ids unique among one user's profiles; a clock-based
        // fallback is good enough if the OS RNG is unavailable.
        if getrandom::fill(&mut bytes).is_err() {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.subsec_nanos())
                .unwrap_or_default();
            bytes = nanos.to_le_bytes();
        }
        Self(format!("{slug}-{:08x}", u32::from_le_bytes(bytes)))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl PartialEq<str> for ProfileId {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for ProfileId {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl AsRef<str> for ProfileId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ProfileId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&self.0)
    }
}

impl TryFrom<String> for ProfileId {
    type Error = Error;
    fn try_from(value: String) -> Result<Self> {
        Self::parse(&value)
    }
}

impl From<ProfileId> for String {
    fn from(id: ProfileId) -> Self {
        id.0
    }
}

impl std::str::FromStr for ProfileId {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::parse(s)
    }
}

/// How the app signs in to the endpoint.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case", deny_unknown_fields)]
pub enum AuthMode {
    /// The user's password is kept in the keyring and sent with every call.
    #[default]
    Password,
    /// The password is traded for a login token (`one.user.login`); only the token is kept and it
    /// is renewed before it expires.
    LoginToken {
        /// Lifetime requested from `one.user.login`, in seconds.
        token_ttl_secs: u64,
        /// Renew when less than this many seconds of the token are left.
        renew_before_secs: u64,
    },
}

impl AuthMode {
    /// True when a login token expiring at `expires_at` should be renewed at `now` (less than
    /// `renew_before_secs` left, or already expired). Always false in password mode.
    pub fn renewal_due(
        &self,
        expires_at: std::time::SystemTime,
        now: std::time::SystemTime,
    ) -> bool {
        match self {
            Self::Password => false,
            Self::LoginToken {
                renew_before_secs, ..
            } => expires_at
                .duration_since(now)
                .map_or(true, |left| left.as_secs() < *renew_before_secs),
        }
    }
}

/// TLS settings for the XML-RPC endpoint.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsOptions {
    /// A PEM file of CA certificates to trust in addition to the system's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
    /// The SHA-256 fingerprint of the server certificate to pin, as 32 colon-separated upper-case
    /// hex bytes (`AB:CD:…`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pinned_sha256: Option<String>,
    /// The user confirmed that an `http://` URL to a host other than this machine is meant: the
    /// password or token then crosses the network in clear with every call.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub allow_plain_http: bool,
}

/// Which VMs the inventory shows by default (the `filter` flag of `one.vmpool.info`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VmFilter {
    /// The user's own VMs (`-3`).
    #[default]
    Mine,
    /// The user's and their groups' VMs (`-1`).
    MineAndGroups,
    /// Every VM the user may see (`-2`).
    All,
}

impl VmFilter {
    /// The value of the `filter_flag` argument of `one.vmpool.info`.
    pub fn filter_flag(self) -> i32 {
        match self {
            Self::Mine => -3,
            Self::MineAndGroups => -1,
            Self::All => -2,
        }
    }
}

/// An SSH jump host for consoles, as files written before [`crate::ConsoleTransport`] said it.
/// Migrated when the file is read ([`Profile::migrate`]) to an SSH transport through that host.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SshJump {
    /// Host name or address of the jump host.
    pub host: String,
    /// SSH port (22 when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// Remote user name (the local one when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
}

/// One endpoint: everything needed to sign in except the secret, which lives in the keyring under
/// account [`Profile::id`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// Stable id (keyring account name).
    pub id: ProfileId,
    /// Name shown to the user.
    pub name: String,
    /// XML-RPC endpoint, e.g. `https://one.example.org:2633/RPC2`.
    pub url: String,
    /// OpenNebula user name.
    pub user: String,
    /// How to sign in.
    #[serde(default)]
    pub auth: AuthMode,
    /// TLS settings.
    #[serde(default, skip_serializing_if = "TlsOptions::is_default")]
    pub tls: TlsOptions,
    /// Default VM filter of the inventory.
    #[serde(default)]
    pub vm_filter: VmFilter,
    /// OpenNebula host name → address reachable from this machine, for consoles.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub console_hosts: BTreeMap<String, String>,
    /// The old form of an SSH host for consoles: migrated to `console_transport` when read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssh_jump: Option<SshJump>,
    /// How consoles reach the hypervisors: directly or through SSH.
    #[serde(default, skip_serializing_if = "ConsoleTransport::is_direct")]
    pub console_transport: ConsoleTransport,
    /// Record this endpoint's console sessions (screen, keys typed, clicks): off by default.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub record_consoles: bool,
}

impl TlsOptions {
    fn is_default(&self) -> bool {
        self == &Self::default()
    }
}

impl Profile {
    /// A password profile with a fresh id and defaults for everything else.
    ///
    /// # Errors
    /// [`Error::InvalidProfile`] when a field is refused (see [`Profile::validate`]).
    pub fn new(name: &str, url: &str, user: &str) -> Result<Self> {
        let profile = Self {
            id: ProfileId::generate(name),
            name: name.trim().to_owned(),
            url: url.trim().to_owned(),
            user: user.trim().to_owned(),
            auth: AuthMode::Password,
            tls: TlsOptions::default(),
            vm_filter: VmFilter::Mine,
            console_hosts: BTreeMap::new(),
            ssh_jump: None,
            console_transport: ConsoleTransport::Direct,
            record_consoles: false,
        };
        profile.validate()?;
        Ok(profile)
    }

    /// Checks every field.
    ///
    /// # Errors
    /// [`Error::InvalidProfile`] naming the first field that is refused.
    pub fn validate(&self) -> Result<()> {
        let bad =
            |field: &'static str, reason: String| Err(Error::InvalidProfile { field, reason });
        if self.name.trim().is_empty() {
            return bad("name", "must not be empty".into());
        }
        let url = self.url.as_str();
        // Checked first, so that no message below echoes a URL that carries a password.
        let authority = url.split_once("://").map_or(url, |(_, rest)| rest);
        if authority.split('/').next().is_some_and(|a| a.contains('@')) {
            // Credentials in the URL would end up in the profiles file, in plain text.
            return bad(
                "url",
                "must not contain user:password@; the password goes to the keyring".into(),
            );
        }
        let rest = url
            .strip_prefix("https://")
            .or_else(|| url.strip_prefix("http://"));
        match rest {
            None => {
                return bad(
                    "url",
                    format!("`{url}` must start with http:// or https://"),
                );
            }
            Some(rest) if rest.is_empty() || rest.starts_with('/') => {
                return bad("url", format!("`{url}` has no host"));
            }
            Some(rest) if rest.chars().any(|c| c.is_whitespace()) => {
                return bad("url", format!("`{url}` contains white space"));
            }
            Some(_) => {}
        }
        if self.user.trim().is_empty() {
            return bad("user", "must not be empty".into());
        }
        if self.user.contains(':') {
            return bad(
                "user",
                "must not contain ':' (OpenNebula's session separator)".into(),
            );
        }
        if let AuthMode::LoginToken {
            token_ttl_secs,
            renew_before_secs,
        } = self.auth
        {
            if token_ttl_secs == 0 {
                return bad("auth.token_ttl_secs", "must be more than 0".into());
            }
            if renew_before_secs >= token_ttl_secs {
                return bad(
                    "auth.renew_before_secs",
                    format!("must be less than token_ttl_secs ({token_ttl_secs})"),
                );
            }
        }
        if let Some(pin) = &self.tls.pinned_sha256 {
            normalize_fingerprint(pin)?;
        }
        for (host, addr) in &self.console_hosts {
            if host.trim().is_empty()
                || addr.trim().is_empty()
                || addr.contains(char::is_whitespace)
            {
                return bad(
                    "console_hosts",
                    format!(
                        "`{host}` = `{addr}`: host and address must be non-empty, without spaces"
                    ),
                );
            }
        }
        if let Some(jump) = &self.ssh_jump
            && jump.host.trim().is_empty()
        {
            return bad("ssh_jump.host", "must not be empty".into());
        }
        if let ConsoleTransport::Ssh(ssh) = &self.console_transport {
            ssh.validate()?;
            if ssh.host.is_none() && self.endpoint_host().is_none() {
                return bad(
                    "ssh.host",
                    "the endpoint URL names no host: give the SSH host".into(),
                );
            }
        }
        Ok(())
    }

    /// Turns an older file's `ssh_jump` into an SSH console transport through that host (its
    /// user, or this profile's OpenNebula user; ssh-agent auth), so the setting the user chose is
    /// honoured, never dropped. A profile with both is left for [`Profile::check_transport`]
    /// to refuse.
    pub fn migrate(&mut self) {
        if let (Some(jump), true) = (&self.ssh_jump, self.console_transport.is_direct()) {
            self.console_transport = ConsoleTransport::Ssh(SshTransport {
                host: Some(jump.host.trim().to_owned()),
                port: jump.port.unwrap_or(22),
                user: jump.user.clone().unwrap_or_else(|| self.user.clone()),
                jumps: Vec::new(),
                auth: SshAuthKind::Agent,
                identity_file: None,
            });
            self.ssh_jump = None;
        }
    }

    /// The host named by the endpoint URL (the default SSH host for consoles).
    pub fn endpoint_host(&self) -> Option<String> {
        let url = self.url.trim();
        let rest = url.split_once("://").map_or(url, |(_, r)| r);
        let authority = rest.split('/').next()?;
        let host = if let Some(v6) = authority.strip_prefix('[') {
            v6.split_once(']')?.0
        } else {
            authority.rsplit_once(':').map_or(authority, |(h, _)| h)
        };
        (!host.is_empty()).then(|| host.to_owned())
    }

    /// Validates, then normalises: trims the texts and writes the pinned fingerprint as `AB:CD:…`.
    ///
    /// # Errors
    /// [`Error::InvalidProfile`] naming the first field that is refused.
    pub fn normalize(&mut self) -> Result<()> {
        self.migrate();
        self.validate()?;
        self.check_transport()?;
        self.name = self.name.trim().to_owned();
        self.url = self.url.trim().to_owned();
        self.user = self.user.trim().to_owned();
        if let Some(pin) = &self.tls.pinned_sha256 {
            self.tls.pinned_sha256 = Some(normalize_fingerprint(pin)?);
        }
        Ok(())
    }

    /// Refuses what would send the secret or the consoles another way than the user expects:
    /// plain `http://` to a host other than this machine without [`TlsOptions::allow_plain_http`],
    /// and an SSH jump host (not supported yet; consoles would be dialled directly). Checked at
    /// every save and every sign-in, not at load, so an older file still opens and says why.
    ///
    /// # Errors
    /// [`Error::InvalidProfile`] naming `url` or `ssh_jump`.
    pub fn check_transport(&self) -> Result<()> {
        if let Some(rest) = self.url.trim().strip_prefix("http://")
            && !self.tls.allow_plain_http
            && !is_loopback_host(rest)
        {
            return Err(Error::InvalidProfile {
                field: "url",
                reason: "plain http:// to another machine sends your password or token in clear \
                         with every call: use https:// (a TLS proxy in front of oned), or confirm \
                         plain http for this endpoint"
                    .into(),
            });
        }
        if let ConsoleTransport::Ssh(ssh) = &self.console_transport {
            ssh.check_usable()?;
        }
        if self.ssh_jump.is_some() {
            return Err(Error::InvalidProfile {
                field: "ssh_jump",
                reason: "ssh_jump is the old form of console_transport and both are set: keep \
                         console_transport only (OneDeck will not guess which one you meant)"
                    .into(),
            });
        }
        Ok(())
    }

    /// True when the endpoint's URL names this machine (`localhost`, 127.0.0.0/8, `[::1]`).
    pub fn endpoint_on_loopback(&self) -> bool {
        let url = self.url.trim();
        let rest = url
            .strip_prefix("https://")
            .or_else(|| url.strip_prefix("http://"))
            .unwrap_or(url);
        is_loopback_host(rest)
    }

    /// The address to dial for the OpenNebula host `host`: its override if one is set, else `host`.
    pub fn console_address<'a>(&'a self, host: &'a str) -> &'a str {
        self.console_hosts.get(host).map_or(host, String::as_str)
    }
}

/// Whether the authority of a URL (what follows `scheme://`) names this machine: `localhost`,
/// 127.0.0.0/8 or `[::1]`.
fn is_loopback_host(after_scheme: &str) -> bool {
    let authority = after_scheme.split(['/', '?', '#']).next().unwrap_or("");
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => authority.rsplit_once(':').map_or(authority, |(h, _)| h),
    };
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Normalises a SHA-256 fingerprint written as 64 hex digits, with or without `:` separators, to
/// upper-case `AB:CD:…` form.
///
/// # Errors
/// [`Error::InvalidProfile`] naming `tls.pinned_sha256` when it is not 32 bytes of hex.
pub fn normalize_fingerprint(text: &str) -> Result<String> {
    let hex: String = text.chars().filter(|c| *c != ':').collect();
    if hex.len() != 64 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(Error::InvalidProfile {
            field: "tls.pinned_sha256",
            reason: "must be 32 bytes of hex (64 digits, ':' separators allowed)".into(),
        });
    }
    let upper = hex.to_ascii_uppercase();
    let pairs: Vec<&str> = (0..32).map(|i| &upper[2 * i..2 * i + 2]).collect();
    Ok(pairs.join(":"))
}

#[cfg(test)]
#[path = "profile_tests.rs"]
mod tests;
