//! The parts of OpenSSH's `~/.ssh/config` (ssh_config(5)) that decide where a console's SSH
//! connection goes: `HostName`, `Port`, `User` and `ProxyJump`, in `Host` blocks (patterns with
//! `*`, `?` and `!`). As in OpenSSH, the first value found for a key wins. Everything else
//! (`Match`, `Include`, `IdentityFile`, `ProxyCommand`…) is not read: a profile names its own key
//! file and jump hosts. The file is read up to [`MAX_CONFIG_BYTES`].

use std::io::Read;
use std::path::Path;

/// The most of a config file that is read.
pub const MAX_CONFIG_BYTES: u64 = 1 << 20;

/// What the config says of one host alias.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostConfig {
    /// `HostName`: the real host to connect to.
    pub host_name: Option<String>,
    /// `Port`.
    pub port: Option<u16>,
    /// `User`.
    pub user: Option<String>,
    /// `ProxyJump`: jump hosts, `[user@]host[:port]`, in order (`none` gives an empty list).
    pub proxy_jump: Option<Vec<String>>,
}

/// Reads `path` (absent or unreadable: nothing configured) and looks `alias` up.
pub fn lookup_file(path: &Path, alias: &str) -> HostConfig {
    let Ok(f) = std::fs::File::open(path) else {
        return HostConfig::default();
    };
    let mut bytes = Vec::new();
    if f.take(MAX_CONFIG_BYTES).read_to_end(&mut bytes).is_err() {
        return HostConfig::default();
    }
    lookup(&String::from_utf8_lossy(&bytes), alias)
}

/// Looks `alias` up in config `text`.
pub fn lookup(text: &str, alias: &str) -> HostConfig {
    let mut out = HostConfig::default();
    // Lines before any Host block apply to every host.
    let mut applies = true;
    for raw in text.lines() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (key, value) = split_key_value(line);
        let value = value.trim_matches('"');
        match key.to_ascii_lowercase().as_str() {
            "host" => applies = host_matches(value, alias),
            // A Match block is not evaluated: its settings are not applied.
            "match" => applies = false,
            _ if !applies => {}
            "hostname" if out.host_name.is_none() => {
                out.host_name = Some(value.replace("%h", alias));
            }
            "port" if out.port.is_none() => out.port = value.parse().ok().filter(|p| *p > 0),
            "user" if out.user.is_none() => out.user = Some(value.to_owned()),
            "proxyjump" if out.proxy_jump.is_none() => {
                out.proxy_jump = Some(if value.eq_ignore_ascii_case("none") {
                    Vec::new()
                } else {
                    value
                        .split(',')
                        .map(|j| j.trim().trim_start_matches("ssh://").to_owned())
                        .filter(|j| !j.is_empty())
                        .collect()
                });
            }
            _ => {}
        }
    }
    out
}

/// `Key value`, `Key=value` or `Key = value`.
fn split_key_value(line: &str) -> (&str, &str) {
    let end = line
        .find(|c: char| c.is_whitespace() || c == '=')
        .unwrap_or(line.len());
    let (key, rest) = line.split_at(end);
    let rest = rest.trim_start();
    let rest = rest.strip_prefix('=').unwrap_or(rest).trim();
    (key, rest)
}

/// A `Host` line's patterns against `alias`: some pattern matches and no negated one does.
fn host_matches(patterns: &str, alias: &str) -> bool {
    let mut matched = false;
    for p in patterns.split_whitespace() {
        if let Some(neg) = p.strip_prefix('!') {
            if crate::known_hosts::wildcard_matches(neg, alias) {
                return false;
            }
        } else if crate::known_hosts::wildcard_matches(p, alias) {
            matched = true;
        }
    }
    matched
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = "\
# global
ServerAliveInterval 30

Host front
    HostName one-frontend.example.org
    User oneadmin
    Port=2222
    ProxyJump me@bastion.example.org:2200,ops@inner

Host *.lab !bad.lab
  Port 2200
  User labber

Match host front
  User nobody

Host *
  User fallback
  HostName %h.example.net
";

    #[test]
    fn first_value_wins_across_blocks() {
        let front = lookup(CONFIG, "front");
        assert_eq!(front.host_name.as_deref(), Some("one-frontend.example.org"));
        assert_eq!(front.user.as_deref(), Some("oneadmin"));
        assert_eq!(front.port, Some(2222));
        assert_eq!(
            front.proxy_jump,
            Some(vec![
                "me@bastion.example.org:2200".into(),
                "ops@inner".into()
            ])
        );
        let node = lookup(CONFIG, "node1.lab");
        assert_eq!(
            (node.port, node.user.as_deref()),
            (Some(2200), Some("labber"))
        );
        assert_eq!(node.host_name.as_deref(), Some("node1.lab.example.net"));
        let bad = lookup(CONFIG, "bad.lab");
        assert_eq!((bad.port, bad.user.as_deref()), (None, Some("fallback")));
    }

    #[test]
    fn absent_files_and_junk_configure_nothing() {
        assert_eq!(
            lookup_file(Path::new("/nonexistent/config"), "x"),
            HostConfig::default()
        );
        let junk = "Port\nProxyJump none\n=\nPort 99999\nHost\nPort 22\n\u{0}";
        let c = lookup(junk, "anything");
        assert_eq!(c.port, None);
        assert_eq!(c.proxy_jump, Some(vec![]));
    }
}
