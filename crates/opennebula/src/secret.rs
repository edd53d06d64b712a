//! Secrets (passwords, login tokens, VNC passwords) and the credentials of an endpoint.
//!
//! A [`Secret`] wipes its bytes when dropped, prints as `Secret(***)` and implements neither
//! `Serialize` nor `Display`, so it cannot reach a log line, a JSON reply or the inventory cache by
//! accident: the only way to read it is [`Secret::expose`].

use std::fmt;

use zeroize::Zeroizing;

/// A secret string: zeroised on drop, redacted in `Debug`, never serialised.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Zeroizing<String>);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(Zeroizing::new(value.into()))
    }

    /// Reads the secret; call it only where the value must leave the process (a request body).
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// True when the secret is the empty string.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self::new(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Self::new(value)
    }
}

/// A user name and its secret (a password or a login token from `one.user.login`).
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    user: String,
    secret: Secret,
}

impl Credentials {
    /// Builds credentials from a user name and its password or login token.
    pub fn new(user: impl Into<String>, secret: impl Into<Secret>) -> Self {
        Self {
            user: user.into(),
            secret: secret.into(),
        }
    }

    /// The OpenNebula user name.
    pub fn user(&self) -> &str {
        &self.user
    }

    /// The password or login token.
    pub fn secret(&self) -> &Secret {
        &self.secret
    }

    /// The session string oned expects as every call's first parameter: `user:secret`.
    ///
    /// oned splits at the first `:` (API.md §1.2), so a secret may itself contain colons.
    pub(crate) fn session(&self) -> Zeroizing<String> {
        let mut s = String::with_capacity(self.user.len() + 1 + self.secret.expose().len());
        s.push_str(&self.user);
        s.push(':');
        s.push_str(self.secret.expose());
        Zeroizing::new(s)
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("user", &self.user)
            .field("secret", &self.secret)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_secret() {
        let c = Credentials::new("alice", "s3cr3t:with:colons");
        let shown = format!("{c:?} {:?}", c.secret());
        assert!(
            !shown.contains("s3cr3t"),
            "secret leaked into Debug: {shown}"
        );
        assert!(
            shown.contains("alice"),
            "the user name is not secret: {shown}"
        );
    }

    #[test]
    fn session_joins_at_the_first_colon() {
        let c = Credentials::new("alice", "tok:en");
        assert_eq!(c.session().as_str(), "alice:tok:en");
    }
}
