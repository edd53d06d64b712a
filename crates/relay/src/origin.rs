//! The Origin and Host guards, checked before the WebSocket upgrade.
//!
//! Origin defeats cross-site WebSocket hijacking (CVE-2015-0259 class): a web page the user opens
//! elsewhere must not reach a console. Host defeats DNS rebinding: a page on `evil.example`
//! rebound to 127.0.0.1 still sends `Host: evil.example:PORT`. Neither is the only gate: the
//! single-use ticket is (a local non-browser process can forge both headers).

/// The origins the Tauri webview sends: `tauri://localhost` on Linux and macOS,
/// `http://tauri.localhost` on Windows.
pub const TAURI_ORIGINS: [&str; 2] = ["tauri://localhost", "http://tauri.localhost"];

/// The Vite dev server's origin: allowed only when `make dev` asks for it in a debug build
/// (see the app shell), never by default.
pub const DEV_ORIGIN: &str = "http://localhost:1420";

/// Which `Origin` headers may open a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OriginPolicy {
    allowed: Vec<String>,
    allow_missing: bool,
}

/// Why an Origin header was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OriginRefusal {
    /// The request had no Origin header and the policy requires one.
    Missing,
    /// The Origin header is not in the allowlist (or was sent more than once).
    NotAllowed,
}

impl OriginPolicy {
    /// The app's policy: exactly the Tauri origins, debug build or not; a request without Origin
    /// is refused (every webview request carries one).
    pub fn tauri_app() -> Self {
        Self::exact(TAURI_ORIGINS)
    }

    /// This policy plus one more allowed origin.
    pub fn also(mut self, origin: impl Into<String>) -> Self {
        self.allowed.push(origin.into());
        self
    }

    /// Exactly these origins; a request without Origin is refused.
    pub fn exact<I, S>(origins: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            allowed: origins.into_iter().map(Into::into).collect(),
            allow_missing: false,
        }
    }

    /// The headless policy: these origins, and requests with no Origin at all (non-browser clients,
    /// which a web page cannot impersonate). With an empty list every browser is refused.
    pub fn headless<I, S>(origins: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            allowed: origins.into_iter().map(Into::into).collect(),
            allow_missing: true,
        }
    }

    /// The allowed origins.
    pub fn allowed(&self) -> &[String] {
        &self.allowed
    }

    /// Whether a request without an Origin header is accepted.
    pub fn allows_missing(&self) -> bool {
        self.allow_missing
    }

    /// Checks the Origin header values of one request (all of them: a repeated header is refused).
    pub fn check<'a>(
        &self,
        mut values: impl Iterator<Item = &'a [u8]>,
    ) -> Result<(), OriginRefusal> {
        let Some(first) = values.next() else {
            return if self.allow_missing {
                Ok(())
            } else {
                Err(OriginRefusal::Missing)
            };
        };
        if values.next().is_some() {
            return Err(OriginRefusal::NotAllowed);
        }
        // Exact, case-sensitive match: browsers serialise origins in lower case, and a looser
        // comparison is how `http://tauri.localhost.evil.com`-style confusions start.
        if self.allowed.iter().any(|a| a.as_bytes() == first) {
            Ok(())
        } else {
            Err(OriginRefusal::NotAllowed)
        }
    }
}

impl Default for OriginPolicy {
    fn default() -> Self {
        Self::tauri_app()
    }
}

/// Whether a `Host` header names the loopback address and port the relay listens on:
/// `127.0.0.1:PORT` or `localhost:PORT` (any case), nothing else.
pub fn host_allowed(host: &[u8], port: u16) -> bool {
    let Some(colon) = host.iter().rposition(|b| *b == b':') else {
        return false;
    };
    let (name, port_part) = (&host[..colon], &host[colon + 1..]);
    let port_ok = std::str::from_utf8(port_part)
        .ok()
        .filter(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|p| p.parse::<u16>().ok())
        == Some(port);
    port_ok && (name == b"127.0.0.1" || name.eq_ignore_ascii_case(b"localhost"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(v: &str) -> std::iter::Once<&[u8]> {
        std::iter::once(v.as_bytes())
    }

    #[test]
    fn app_policy_accepts_exactly_the_tauri_origins() {
        let p = OriginPolicy::tauri_app();
        assert_eq!(p.check(one("tauri://localhost")), Ok(()));
        assert_eq!(p.check(one("http://tauri.localhost")), Ok(()));
        for bad in [
            "https://evil.com",
            "null",
            "http://tauri.localhost.evil.com",
            "http://tauri.localhost:1234",
            "TAURI://localhost",
            "tauri://localhost/",
            "",
        ] {
            assert_eq!(
                p.check(one(bad)),
                Err(OriginRefusal::NotAllowed),
                "{bad} must be refused"
            );
        }
    }

    #[test]
    fn app_policy_refuses_a_missing_origin() {
        assert_eq!(
            OriginPolicy::tauri_app().check(std::iter::empty()),
            Err(OriginRefusal::Missing)
        );
    }

    #[test]
    fn the_dev_origin_is_never_allowed_by_default() {
        // Security finding 8: it used to be allowed in every debug build, which every E2E test
        // runs, so any page on Vite's default port could reach a console.
        let p = OriginPolicy::tauri_app();
        assert_eq!(p.check(one(DEV_ORIGIN)), Err(OriginRefusal::NotAllowed));
        assert!(p.clone().also(DEV_ORIGIN).check(one(DEV_ORIGIN)).is_ok());
    }

    #[test]
    fn repeated_origin_is_refused() {
        let p = OriginPolicy::tauri_app();
        let two = [
            b"tauri://localhost".as_slice(),
            b"tauri://localhost".as_slice(),
        ];
        assert_eq!(p.check(two.into_iter()), Err(OriginRefusal::NotAllowed));
    }

    #[test]
    fn headless_without_list_accepts_only_non_browsers() {
        let p = OriginPolicy::headless(Vec::<String>::new());
        assert_eq!(p.check(std::iter::empty()), Ok(()));
        assert_eq!(
            p.check(one("http://127.0.0.1:8000")),
            Err(OriginRefusal::NotAllowed)
        );
        let p = OriginPolicy::headless(["http://127.0.0.1:8000"]);
        assert_eq!(p.check(one("http://127.0.0.1:8000")), Ok(()));
        assert_eq!(p.check(std::iter::empty()), Ok(()));
    }

    #[test]
    fn host_must_be_the_listening_loopback_address() {
        assert!(host_allowed(b"127.0.0.1:6080", 6080));
        assert!(host_allowed(b"localhost:6080", 6080));
        assert!(host_allowed(b"LocalHost:6080", 6080));
        for bad in [
            "evil.example:6080",
            "127.0.0.1:6081",
            "127.0.0.1",
            "localhost",
            "127.0.0.2:6080",
            "[::1]:6080",
            "localhost.evil.example:6080",
            "127.0.0.1:+6080",
            "127.0.0.1:06080x",
            "",
        ] {
            assert!(!host_allowed(bad.as_bytes(), 6080), "{bad} must be refused");
        }
    }
}
