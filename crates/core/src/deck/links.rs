//! `onedeck://console/<endpoint>/<vm-id>` links (VMware's `vmrc://` is the model): a script, a
//! wiki page or `onedeck-cli console` opens a VM's console in the running app. A link names an
//! endpoint (its id or its name) and a VM, never a credential; it opens only a VM that the
//! signed-in endpoint lists.

use onedeck_opennebula::VmId;

use super::Deck;
use crate::error::{Error, Result};
use crate::view::ConsoleWindow;

/// The scheme of console links.
pub const LINK_SCHEME: &str = "onedeck";
/// A link is at most this long.
const MAX_LINK: usize = 2048;

/// What a console link names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleLink {
    /// The endpoint: a profile's id or its name.
    pub endpoint: String,
    /// The VM.
    pub vm_id: VmId,
}

fn refused(reason: impl Into<String>) -> Error {
    Error::LinkRefused {
        problem: "linkMalformed",
        value: None,
        reason: reason.into(),
    }
}

/// Percent-decoding of one path segment (UTF-8).
fn decode(segment: &str) -> Option<String> {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = segment.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Reads `onedeck://console/<endpoint>/<vm-id>`.
///
/// # Errors
/// [`Error::LinkRefused`] (`invalidInput`, field `link`) for anything else: another scheme or action, a user or
/// password, a query or fragment (a link carries no credentials), a VM id that is not a number.
pub fn parse_console_link(link: &str) -> Result<ConsoleLink> {
    if link.len() > MAX_LINK {
        return Err(refused("the link is too long"));
    }
    let rest = link
        .strip_prefix(LINK_SCHEME)
        .and_then(|r| r.strip_prefix("://"))
        .ok_or_else(|| refused(format!("not a {LINK_SCHEME}:// link")))?;
    if rest.contains(['?', '#', '@']) {
        return Err(Error::LinkRefused {
            problem: "linkCredentials",
            value: None,
            reason:
                "a link carries no credentials, query or fragment: only the endpoint and the VM"
                    .into(),
        });
    }
    let mut parts = rest.trim_end_matches('/').split('/');
    let (Some("console"), Some(endpoint), Some(vm), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(refused(format!(
            "expected {LINK_SCHEME}://console/<endpoint>/<vm-id>"
        )));
    };
    let endpoint = decode(endpoint)
        .filter(|e| !e.trim().is_empty())
        .ok_or_else(|| refused("the endpoint's name is not valid"))?;
    let vm_id = vm
        .parse::<i32>()
        .ok()
        .filter(|id| *id >= 0)
        .map(VmId)
        .ok_or_else(|| refused(format!("{vm:?} is not a VM id")))?;
    Ok(ConsoleLink { endpoint, vm_id })
}

/// The link that opens VM `vm_id`'s console on endpoint `endpoint` (an id or a name).
pub fn console_link(endpoint: &str, vm_id: VmId) -> String {
    let mut e = String::new();
    for b in endpoint.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            e.push(char::from(b));
        } else {
            e.push_str(&format!("%{b:02X}"));
        }
    }
    format!("{LINK_SCHEME}://console/{e}/{}", vm_id.0)
}

impl Deck {
    /// Opens (or names the open) console window of the VM a link names, if the signed-in
    /// endpoint lists it.
    ///
    /// # Errors
    /// `invalidInput` for a malformed link; `notFound` for an endpoint or VM this app does not
    /// know; `notSignedIn`; `noConsole` as for [`Deck::console_open`].
    pub async fn open_console_link(&self, link: &str) -> Result<ConsoleWindow> {
        let ConsoleLink { endpoint, vm_id } = parse_console_link(link)?;
        let profiles = self.profiles().await?;
        let profile = profiles
            .iter()
            .find(|p| p.id.to_string() == endpoint)
            .or_else(|| profiles.iter().find(|p| p.name == endpoint))
            .ok_or_else(|| Error::LinkRefused {
                problem: "linkUnknownEndpoint",
                value: Some(endpoint.clone()),
                reason: format!("no endpoint {endpoint:?} in this app"),
            })?;
        if !profile.signed_in {
            return Err(Error::NotSignedIn(profile.name.clone()));
        }
        // Only a VM the endpoint lists (its latest inventory): a link cannot reach past what the
        // user sees.
        let listed = self
            .cached_rows(&profile.id)
            .await?
            .is_some_and(|(vms, _)| vms.iter().any(|v| v.id == vm_id));
        if !listed {
            return Err(Error::LinkRefused {
                problem: "linkVmNotListed",
                value: Some(vm_id.0.to_string()),
                reason: format!("endpoint {:?} lists no VM {}", profile.name, vm_id.0),
            });
        }
        self.console_open(&profile.id, vm_id).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_name_an_endpoint_and_a_vm_and_nothing_else() {
        assert_eq!(
            parse_console_link("onedeck://console/lab/42").ok(),
            Some(ConsoleLink {
                endpoint: "lab".into(),
                vm_id: VmId(42)
            })
        );
        assert_eq!(
            parse_console_link("onedeck://console/My%20lab/7/")
                .map(|l| l.endpoint)
                .ok(),
            Some("My lab".into())
        );
        for bad in [
            "http://console/lab/1",
            "onedeck://vm/lab/1",
            "onedeck://console/lab",
            "onedeck://console/lab/x",
            "onedeck://console/lab/-1",
            "onedeck://console/lab/1/extra",
            "onedeck://console/lab/1?password=x",
            "onedeck://user:pw@console/lab/1",
            "onedeck://console/%ZZ/1",
            "onedeck://console//1",
        ] {
            assert!(
                matches!(parse_console_link(bad), Err(Error::LinkRefused { .. })),
                "{bad}"
            );
        }
        assert!(parse_console_link(&format!("onedeck://console/{}/1", "x".repeat(3000))).is_err());
        let link = console_link("My lab/ü", VmId(9));
        assert_eq!(link, "onedeck://console/My%20lab%2F%C3%BC/9");
        assert_eq!(
            parse_console_link(&link).map(|l| l.endpoint).ok(),
            Some("My lab/ü".into())
        );
    }
}
