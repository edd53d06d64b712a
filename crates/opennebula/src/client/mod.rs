//! The XML-RPC client: one [`Client`] per endpoint profile, one async method per oned call.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

mod host;
mod params;
mod template;
mod user;
mod vm;

pub use params::{
    Capacity, Instantiate, PoolFilter, PoolRange, Reinstall, StateFilter, TokenValidity,
};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::Semaphore;

use crate::error::{DecodeError, Error, Result, TransportError};
use crate::model::common::Document;
use crate::secret::Credentials;
use crate::tls::{Fingerprint, SeenSlot, client_config};
use crate::xmlrpc::{Param, Value, encode_call, oned_result, parse_response};

/// Default cap on a reply body: 128 MiB, room for ~50,000 VMs of `one.vmpool.info` (oned itself
/// allows 1 GiB, and PR #53 shows a 10 MB cap is too small).
pub const DEFAULT_MAX_REPLY_BYTES: u64 = 128 * 1024 * 1024;
/// Replies larger than this are decoded on a blocking thread, off the async workers.
const BLOCKING_DECODE_BYTES: usize = 256 * 1024;
/// How much of a non-XML body an error quotes.
const SNIPPET_CHARS: usize = 120;

/// Where and how to reach oned: the URL as the user typed it and the transport settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Endpoint {
    /// The XML-RPC URL, e.g. `http://frontend:2633/RPC2` or `https://proxy/RPC2`.
    pub url: String,
    /// TCP/TLS connect timeout, seconds.
    pub connect_timeout_secs: u64,
    /// Whole-call timeout, seconds (large pools take a while to serialise).
    pub timeout_secs: u64,
    /// PEM CA bundle trusted for this endpoint instead of the system store.
    pub ca_bundle_pem: Option<String>,
    /// SHA-256 of a self-signed certificate the user confirmed.
    pub pinned_sha256: Option<Fingerprint>,
    /// OpenNebula host name → address reachable from this machine, for consoles.
    pub host_overrides: BTreeMap<String, String>,
    /// Replies larger than this are refused with [`TransportError::TooLarge`].
    pub max_reply_bytes: u64,
    /// Calls in flight at once (oned's Abyss allows 15 connections and closes each after one call).
    pub max_in_flight: usize,
}

impl Default for Endpoint {
    fn default() -> Self {
        Self {
            url: String::new(),
            connect_timeout_secs: 10,
            timeout_secs: 60,
            ca_bundle_pem: None,
            pinned_sha256: None,
            host_overrides: BTreeMap::new(),
            max_reply_bytes: DEFAULT_MAX_REPLY_BYTES,
            max_in_flight: 4,
        }
    }
}

impl Endpoint {
    /// An endpoint with default settings.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            ..Self::default()
        }
    }
}

struct Inner {
    http: reqwest::Client,
    url: reqwest::Url,
    credentials: Credentials,
    endpoint: Endpoint,
    seen: SeenSlot,
    permits: Semaphore,
}

/// A client of one endpoint with one set of credentials. Cheap to clone.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("url", &self.inner.url.as_str())
            .field("user", &self.inner.credentials.user())
            .finish()
    }
}

impl Client {
    /// Builds a client. No network traffic happens here; call [`Client::user_info_self`] to check
    /// the credentials.
    ///
    /// # Errors
    /// [`Error::Config`] for a URL that is not http(s), an unusable CA bundle, or a TLS setup error.
    pub fn new(endpoint: Endpoint, credentials: Credentials) -> Result<Self> {
        let url = reqwest::Url::parse(endpoint.url.trim())
            .map_err(|e| Error::Config(format!("endpoint URL {:?}: {e}", endpoint.url)))?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none_or(str::is_empty) {
            return Err(Error::Config(format!(
                "endpoint URL {:?} must be http(s)://host[:port]/path (e.g. http://frontend:2633/RPC2)",
                endpoint.url
            )));
        }
        let seen: SeenSlot = Arc::new(Mutex::new(None));
        let tls = client_config(
            endpoint.ca_bundle_pem.as_deref(),
            endpoint.pinned_sha256,
            seen.clone(),
        )?;
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(endpoint.connect_timeout_secs.max(1)))
            .timeout(Duration::from_secs(endpoint.timeout_secs.max(1)))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("onedeck/", env!("CARGO_PKG_VERSION")))
            .tls_backend_preconfigured(tls)
            .build()
            .map_err(|e| Error::Config(format!("HTTP client: {e}")))?;
        let permits = Semaphore::new(endpoint.max_in_flight.max(1));
        Ok(Self {
            inner: Arc::new(Inner {
                http,
                url,
                credentials,
                endpoint,
                seen,
                permits,
            }),
        })
    }

    /// The endpoint settings.
    pub fn endpoint(&self) -> &Endpoint {
        &self.inner.endpoint
    }

    /// The user name of the credentials.
    pub fn user(&self) -> &str {
        self.inner.credentials.user()
    }

    /// Calls any method; the session string is prepended to `params`.
    ///
    /// # Errors
    /// Every [`Error`] class: oned's refusals, faults, transport, TLS and decoding errors.
    pub async fn call(&self, method: &str, params: &[Param<'_>]) -> Result<Value> {
        let body = self.fetch(method, params, false).await?;
        decode_response_value(&body)
    }

    async fn fetch(&self, method: &str, params: &[Param<'_>], idempotent: bool) -> Result<String> {
        let session = self.inner.credentials.session();
        let mut all = Vec::with_capacity(params.len() + 1);
        all.push(Param::Str(session.as_str()));
        all.extend_from_slice(params);
        let body = zeroize::Zeroizing::new(encode_call(method, &all));
        let _permit = self
            .inner
            .permits
            .acquire()
            .await
            .map_err(|_| Error::Config("client closed".to_owned()))?;
        tracing::debug!(method, "oned call");
        match self.post(&body).await {
            // oned closes every connection after one call; a read may meet a reset: retry once.
            Err(Error::Transport(
                TransportError::Connect { .. } | TransportError::Other { .. },
            )) if idempotent => self.post(&body).await,
            other => other,
        }
    }

    async fn post(&self, body: &str) -> Result<String> {
        let inner = &self.inner;
        let mut resp = inner
            .http
            .post(inner.url.clone())
            .header(reqwest::header::CONTENT_TYPE, "text/xml")
            .body(body.to_owned())
            .send()
            .await
            .map_err(|e| self.map_reqwest(&e))?;
        let status = resp.status();
        if status != reqwest::StatusCode::OK {
            return Err(Error::Transport(TransportError::HttpStatus {
                status: status.as_u16(),
            }));
        }
        let content_type = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let limit = inner.endpoint.max_reply_bytes;
        if resp.content_length().is_some_and(|len| len > limit) {
            return Err(Error::Transport(TransportError::TooLarge { limit }));
        }
        let capacity = resp
            .content_length()
            .map_or(64 * 1024, |l| usize::try_from(l).unwrap_or(0));
        let mut buf = Vec::with_capacity(capacity);
        while let Some(chunk) = resp.chunk().await.map_err(|e| self.map_reqwest(&e))? {
            if (buf.len() + chunk.len()) as u64 > limit {
                return Err(Error::Transport(TransportError::TooLarge { limit }));
            }
            buf.extend_from_slice(&chunk);
        }
        check_xml(&content_type, &buf)?;
        String::from_utf8(buf).map_err(|e| {
            Error::Decode(DecodeError {
                document: "XML-RPC reply".to_owned(),
                path: String::new(),
                line: 1,
                column: 1,
                reason: format!("not UTF-8 at byte {}", e.utf8_error().valid_up_to()),
            })
        })
    }

    fn map_reqwest(&self, e: &reqwest::Error) -> Error {
        let detail = error_chain(e);
        let https = self.inner.url.scheme() == "https";
        // rustls' error usually sits in the source chain; hyper-util can hide it behind a boxed
        // connector error, so a handshake failure on https is also recognised by its text.
        let tls_reason = find_rustls_error(e).map(ToString::to_string).or_else(|| {
            let lower = detail.to_ascii_lowercase();
            (https
                && e.is_connect()
                && ["certificate", "tls", "handshake"]
                    .iter()
                    .any(|w| lower.contains(w)))
            .then(|| detail.rsplit(": ").next().unwrap_or(&detail).to_owned())
        });
        if let Some(reason) = tls_reason {
            let fingerprint = self.inner.seen.lock().ok().and_then(|s| *s);
            return Error::Tls {
                reason,
                fingerprint,
            };
        }
        if e.is_timeout() {
            return Error::Transport(TransportError::Timeout);
        }
        if e.is_connect() {
            Error::Transport(TransportError::Connect { detail })
        } else {
            Error::Transport(TransportError::Other { detail })
        }
    }

    async fn call_doc<T: Document + Send + 'static>(
        &self,
        method: &str,
        params: &[Param<'_>],
    ) -> Result<T> {
        let body = self.fetch(method, params, true).await?;
        if body.len() > BLOCKING_DECODE_BYTES {
            tokio::task::spawn_blocking(move || decode_response_document_owned::<T>(body))
                .await
                .map_err(|e| {
                    Error::Transport(TransportError::Other {
                        detail: format!("decoder task: {e}"),
                    })
                })?
        } else {
            decode_response_document_owned::<T>(body)
        }
    }

    async fn call_int(&self, method: &str, params: &[Param<'_>]) -> Result<i32> {
        let value = self.call(method, params).await?;
        match value {
            Value::Int(i) => {
                i32::try_from(i).map_err(|_| shape_error(format!("result {i} out of range")))
            }
            other => Err(shape_error(format!(
                "expected an integer result, got {other:?}"
            ))),
        }
    }

    async fn call_string(&self, method: &str, params: &[Param<'_>]) -> Result<String> {
        match self.call(method, params).await? {
            Value::Str(s) => Ok(s),
            other => Err(shape_error(format!(
                "expected a string result, got {other:?}"
            ))),
        }
    }
}

/// Decodes a whole reply body into its result value, or oned's typed error.
///
/// # Errors
/// [`Error::Decode`], [`Error::Fault`] or oned's error class.
pub fn decode_response_value(body: &str) -> Result<Value> {
    oned_result(parse_response(body)?)
}

/// Decodes a whole reply body whose result is a document (`one.vm.info`, `one.vmpool.info`...).
///
/// # Errors
/// As [`decode_response_value`], plus [`Error::Decode`] for a malformed inner document.
pub fn decode_response_document<T: Document>(body: &str) -> Result<T> {
    document_of(decode_response_value(body)?)
}

/// Like [`decode_response_document`], but frees the reply body as soon as the document has been
/// taken out of it, so the body and the decoded models are never in memory together.
///
/// # Errors
/// As [`decode_response_document`].
pub fn decode_response_document_owned<T: Document>(body: String) -> Result<T> {
    let value = decode_response_value(&body);
    drop(body);
    document_of(value?)
}

fn document_of<T: Document>(value: Value) -> Result<T> {
    match value {
        Value::Str(xml) => T::from_xml(&xml),
        other => Err(shape_error(format!(
            "expected a {} document, got {other:?}",
            T::ROOT
        ))),
    }
}

fn shape_error(reason: String) -> Error {
    Error::Decode(DecodeError {
        document: "XML-RPC reply".to_owned(),
        path: "methodResponse/params/param/value/array/data/value[2]".to_owned(),
        line: 1,
        column: 1,
        reason,
    })
}

/// Refuses bodies that are not XML: an HTML login page of a proxy, a JSON error, plain text.
fn check_xml(content_type: &str, body: &[u8]) -> Result<()> {
    let start = body
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .map_or(&[][..], |i| &body[i..]);
    let head: String = String::from_utf8_lossy(&start[..start.len().min(512)])
        .chars()
        .take(SNIPPET_CHARS)
        .collect();
    let lower = head.to_ascii_lowercase();
    let html = content_type.to_ascii_lowercase().contains("html")
        || lower.starts_with("<!doctype html")
        || lower.starts_with("<html");
    if html || !head.starts_with('<') {
        return Err(Error::Transport(TransportError::NotXml {
            content_type: content_type.to_owned(),
            snippet: head.replace(['\r', '\n'], " "),
        }));
    }
    Ok(())
}

fn find_rustls_error<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(r) = err.downcast_ref::<rustls::Error>() {
            return Some(r);
        }
        if let Some(io) = err.downcast_ref::<std::io::Error>()
            && let Some(r) = io.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>())
        {
            return Some(r);
        }
        cur = err.source();
    }
    None
}

fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![e.to_string()];
    let mut cur = e.source();
    while let Some(err) = cur {
        let s = err.to_string();
        if !parts.iter().any(|p| p.contains(&s)) {
            parts.push(s);
        }
        cur = err.source();
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ids::UserId;
    use crate::model::state::VmState;
    use crate::model::vm::VmTemplate;

    #[test]
    fn filters_and_ranges_use_oneds_numbers() {
        assert_eq!(PoolFilter::Mine.flag(), -3);
        assert_eq!(PoolFilter::MineAndGroups.flag(), -1);
        assert_eq!(PoolFilter::All.flag(), -2);
        assert_eq!(PoolFilter::User(UserId(3)).flag(), 3);
        assert_eq!(StateFilter::NotDone.value(), -1);
        assert_eq!(StateFilter::Only(VmState::Poweroff).value(), 8);
        assert_eq!(PoolRange::All.bounds(), (-1, -1));
        assert_eq!(
            PoolRange::Page {
                offset: 200,
                size: 200
            }
            .bounds(),
            (200, -200)
        );
        assert_eq!(
            PoolRange::Ids {
                from: Some(5),
                to: None
            }
            .bounds(),
            (5, -1)
        );
    }

    #[test]
    fn html_and_non_xml_bodies_are_refused() {
        assert!(check_xml("text/xml", b"\r\n<?xml version=\"1.0\"?><methodResponse/>").is_ok());
        assert!(matches!(
            check_xml("text/html", b"<html><body>Login</body></html>"),
            Err(Error::Transport(TransportError::NotXml { .. }))
        ));
        assert!(matches!(
            check_xml("", b"<!DOCTYPE html><html>"),
            Err(Error::Transport(TransportError::NotXml { .. }))
        ));
        assert!(matches!(
            check_xml("application/json", b"{\"error\":1}"),
            Err(Error::Transport(TransportError::NotXml { .. }))
        ));
    }

    #[test]
    fn capacity_template_and_differences() {
        let c = Capacity {
            cpu: Some(0.5),
            vcpu: Some(2),
            memory_mb: Some(1024),
        };
        assert_eq!(c.to_template(), "CPU=\"0.5\"\nVCPU=\"2\"\nMEMORY=\"1024\"");
        let base = VmTemplate {
            cpu: Some(0.5),
            vcpu: Some(1),
            memory_mb: Some(1024),
            ..VmTemplate::default()
        };
        assert_eq!(
            c.differences(&base),
            Capacity {
                cpu: None,
                vcpu: Some(2),
                memory_mb: None
            }
        );
        assert!(Capacity::default().to_template().is_empty());
    }

    #[test]
    fn bad_urls_are_config_errors() {
        for url in ["ftp://x/RPC2", "not a url", "frontend:2633/RPC2", "http://"] {
            let r = Client::new(Endpoint::new(url), Credentials::new("a", "b"));
            assert!(matches!(r, Err(Error::Config(_))), "{url}");
        }
    }
}
