//! Which console targets a ticket may dial. A VM document names its console's host and port, and
//! whoever controls an endpoint (or a VM's template) controls that document: without a guard the
//! relay would connect to this machine's own services, the cloud's metadata address or anything
//! else the laptop can reach. Checked on every address a name resolves to, before connecting.

use std::net::{IpAddr, SocketAddr};

use serde::Serialize;

/// The lowest port a guarded target may use (VNC displays start at 5900; below 1024 live the
/// system's own services).
pub const MIN_GUARDED_PORT: u16 = 1024;

/// What a ticket's target may be.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetGuard {
    /// Anything (the headless relay with a token file, tests, an endpoint on this machine).
    #[default]
    Any,
    /// A hypervisor elsewhere: no loopback, link-local, unspecified, multicast or broadcast
    /// address, and no port below [`MIN_GUARDED_PORT`].
    Remote,
}

impl TargetGuard {
    /// Why `addr` may not be dialled under this guard, or `None` when it may.
    pub fn refuses(self, addr: SocketAddr) -> Option<&'static str> {
        if self == Self::Any {
            return None;
        }
        if addr.port() < MIN_GUARDED_PORT {
            return Some("a port below 1024 (a system service, not a VNC console)");
        }
        let ip = match addr.ip() {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
            v4 => v4,
        };
        match ip {
            IpAddr::V4(v4) if v4.is_loopback() => Some("a loopback address (this machine)"),
            IpAddr::V4(v4) if v4.is_link_local() => {
                Some("a link-local address (such as a cloud metadata service)")
            }
            IpAddr::V4(v4) if v4.is_unspecified() => Some("the unspecified address"),
            IpAddr::V4(v4) if v4.is_multicast() || v4.is_broadcast() => {
                Some("a multicast or broadcast address")
            }
            IpAddr::V6(v6) if v6.is_loopback() => Some("a loopback address (this machine)"),
            IpAddr::V6(v6) if v6.is_unicast_link_local() => Some("a link-local address"),
            IpAddr::V6(v6) if v6.is_unspecified() => Some("the unspecified address"),
            IpAddr::V6(v6) if v6.is_multicast() => Some("a multicast address"),
            _ => None,
        }
    }

    /// As [`TargetGuard::refuses`] for a host written as an IP address; `None` for a name (names
    /// are checked once resolved, at dial time).
    pub fn refuses_literal(self, host: &str, port: u16) -> Option<&'static str> {
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let ip: IpAddr = host.parse().ok()?;
        self.refuses(SocketAddr::new(ip, port))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remote_refuses_what_is_not_a_hypervisor() {
        let g = TargetGuard::Remote;
        for (host, port) in [
            ("127.0.0.1", 5900),
            ("127.9.9.9", 5900),
            ("169.254.169.254", 5900),
            ("::1", 5900),
            ("[::1]", 5900),
            ("0.0.0.0", 5900),
            ("::", 5900),
            ("224.0.0.1", 5900),
            ("255.255.255.255", 5900),
            ("fe80::1", 5900),
            ("::ffff:127.0.0.1", 5900),
            ("10.0.0.5", 22),
        ] {
            assert!(g.refuses_literal(host, port).is_some(), "{host}:{port}");
        }
        for (host, port) in [
            ("10.0.0.5", 5900),
            ("192.0.2.7", 5905),
            ("2001:db8::7", 5901),
        ] {
            assert_eq!(g.refuses_literal(host, port), None, "{host}:{port}");
        }
        assert_eq!(
            g.refuses_literal("node1.example", 22),
            None,
            "names wait for resolution"
        );
        assert_eq!(TargetGuard::Any.refuses_literal("127.0.0.1", 22), None);
    }
}
