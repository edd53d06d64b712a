//! The XML-RPC client: one [`Client`] per endpoint profile, one async method per oned call.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::Semaphore;

use crate::error::{DecodeError, Error, Result, TransportError};
use crate::model::common::Document;
use crate::model::host::{Host, HostPool};
use crate::model::ids::{GroupId, HostId, SnapshotId, TemplateId, UserId, VmId};
use crate::model::state::{RecoverOp, VmAction, VmState};
use crate::model::template::{Template, TemplatePool};
use crate::model::user::{SystemConfig, User};
use crate::model::vm::{MonitoringData, Vm, VmPool, VmTemplate};
use crate::secret::{Credentials, Secret};
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

/// Whose VMs (or templates) a pool call lists (API.md §2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PoolFilter {
    /// -3: the caller's own.
    Mine,
    /// -1: the caller's and those of the caller's groups.
    MineAndGroups,
    /// -2: everything the caller may see (including objects shared through OTHER rights).
    All,
    /// -4: the caller's primary group's.
    PrimaryGroup,
    /// ≥ 0: that user's (subject to ACLs).
    User(UserId),
}

impl PoolFilter {
    /// oned's filter flag.
    pub fn flag(self) -> i32 {
        match self {
            Self::Mine => -3,
            Self::MineAndGroups => -1,
            Self::All => -2,
            Self::PrimaryGroup => -4,
            Self::User(u) => u.0,
        }
    }
}

/// Which VM states a pool call lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StateFilter {
    /// -2: every state, DONE included.
    Any,
    /// -1: every state but DONE.
    NotDone,
    /// One state.
    Only(VmState),
}

impl StateFilter {
    /// oned's state filter value.
    pub fn value(self) -> i32 {
        match self {
            Self::Any => -2,
            Self::NotDone => -1,
            Self::Only(s) => s.as_i32(),
        }
    }
}

/// Which part of a pool to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PoolRange {
    /// Everything.
    All,
    /// Ids from `from` to `to` inclusive (`None` = no bound).
    Ids {
        /// Lowest id.
        from: Option<i32>,
        /// Highest id.
        to: Option<i32>,
    },
    /// A page: `size` objects after skipping `offset` (newest first by default).
    Page {
        /// Objects to skip.
        offset: u32,
        /// Page size (≥ 2: oned reads `end < -1` as paging).
        size: u32,
    },
}

impl PoolRange {
    /// oned's `(start, end)` pair.
    pub fn bounds(self) -> (i32, i32) {
        match self {
            Self::All => (-1, -1),
            Self::Ids { from, to } => (from.unwrap_or(-1), to.unwrap_or(-1)),
            Self::Page { offset, size } => {
                let size = i32::try_from(size.max(2)).unwrap_or(i32::MAX);
                (i32::try_from(offset).unwrap_or(i32::MAX), -size)
            }
        }
    }
}

/// CPU/VCPU/MEMORY values for resize and instantiate; `None` leaves a value unchanged.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Capacity {
    /// `CPU`.
    pub cpu: Option<f64>,
    /// `VCPU`.
    pub vcpu: Option<u32>,
    /// `MEMORY` in MiB.
    pub memory_mb: Option<u64>,
}

impl Capacity {
    /// The capacity written in a VM or template.
    pub fn of(t: &VmTemplate) -> Self {
        Self {
            cpu: t.cpu,
            vcpu: t.vcpu,
            memory_mb: t.memory_mb,
        }
    }

    /// True when no value is set.
    pub fn is_empty(&self) -> bool {
        self.cpu.is_none() && self.vcpu.is_none() && self.memory_mb.is_none()
    }

    /// Only the values that differ from `base`.
    pub fn differences(&self, base: &VmTemplate) -> Self {
        Self {
            cpu: self.cpu.filter(|c| Some(*c) != base.cpu),
            vcpu: self.vcpu.filter(|v| Some(*v) != base.vcpu),
            memory_mb: self.memory_mb.filter(|m| Some(*m) != base.memory_mb),
        }
    }

    /// The values as template text (`CPU="0.5"` lines), empty when nothing is set.
    pub fn to_template(&self) -> String {
        let mut out = Vec::new();
        if let Some(c) = self.cpu {
            out.push(format!("CPU=\"{c}\""));
        }
        if let Some(v) = self.vcpu {
            out.push(format!("VCPU=\"{v}\""));
        }
        if let Some(m) = self.memory_mb {
            out.push(format!("MEMORY=\"{m}\""));
        }
        out.join("\n")
    }
}

/// What `template_instantiate` creates.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Instantiate {
    /// VM name; `""` lets oned choose. With `count > 1`, `%i` is replaced by the index, or
    /// `-<index>` is appended.
    pub name: String,
    /// How many VMs (at least one).
    pub count: u32,
    /// Create them on hold.
    pub hold: bool,
    /// Capacity overrides (a non-empty override needs TEMPLATE:CREATE, API.md §2).
    pub capacity: Capacity,
    /// More extra-template lines, e.g. USER_INPUTS answers from
    /// [`crate::model::user_input::answers_to_template`] (also needs TEMPLATE:CREATE).
    pub extra_template: String,
}

impl Instantiate {
    /// The name of the `index`-th VM (from 0): the name as given for a single VM or an empty
    /// name, else `%i` replaced by the index, else `-<index>` appended (Sunstone's rule).
    pub fn vm_name(&self, index: u32) -> String {
        if self.count <= 1 || self.name.is_empty() {
            self.name.clone()
        } else if self.name.contains("%i") {
            self.name.replace("%i", &index.to_string())
        } else {
            format!("{}-{index}", self.name)
        }
    }
}

/// How `vm_reinstall` reinstalled the VM.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "way")]
pub enum Reinstall {
    /// `one.vm.recover` delete-recreate: same VM id, disks reset, back to PENDING.
    Recreated {
        /// The VM (same id).
        id: VmId,
    },
    /// No right to recover: a new VM from the same template with the same name and capacity was
    /// instantiated, then the old one terminated (hard).
    Replaced {
        /// The terminated VM.
        old: VmId,
        /// The new VM.
        new: VmId,
    },
}

/// How long a login token lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenValidity {
    /// Expires after that many seconds (capped by the auth driver's `MAX_TOKEN_TIME`).
    Seconds(u32),
    /// Never expires.
    Never,
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

    /// `one.vmpool.info`: short VM bodies (enough for the list and the console target).
    ///
    /// # Errors
    /// As [`Client::call`].
    pub async fn vm_pool_info(
        &self,
        filter: PoolFilter,
        state: StateFilter,
        range: PoolRange,
    ) -> Result<VmPool> {
        let (start, end) = range.bounds();
        let params = [
            Param::Int(filter.flag()),
            Param::Int(start),
            Param::Int(end),
            Param::Int(state.value()),
        ];
        self.call_doc("one.vmpool.info", &params).await
    }

    /// `one.vmpool.infoextended`: full VM bodies (heavy: page it).
    ///
    /// # Errors
    /// As [`Client::call`].
    pub async fn vm_pool_info_extended(
        &self,
        filter: PoolFilter,
        state: StateFilter,
        range: PoolRange,
    ) -> Result<VmPool> {
        let (start, end) = range.bounds();
        let params = [
            Param::Int(filter.flag()),
            Param::Int(start),
            Param::Int(end),
            Param::Int(state.value()),
        ];
        self.call_doc("one.vmpool.infoextended", &params).await
    }

    /// `one.vmpool.infoset`: a known set of VMs, cheaply refreshed.
    ///
    /// # Errors
    /// As [`Client::call`].
    pub async fn vm_pool_info_set(&self, ids: &[VmId], extended: bool) -> Result<VmPool> {
        let list = ids
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(",");
        self.call_doc(
            "one.vmpool.infoset",
            &[Param::Str(&list), Param::Bool(extended)],
        )
        .await
    }

    /// `one.vm.info`: the full document, all history records.
    ///
    /// # Errors
    /// As [`Client::call`]; [`Error::NoExists`] for an unknown id.
    pub async fn vm_info(&self, id: VmId) -> Result<Vm> {
        self.call_doc("one.vm.info", &[Param::Int(id.0), Param::Bool(false)])
            .await
    }

    /// `one.vm.action`: the action name goes first, then the id. Success means "accepted".
    ///
    /// # Errors
    /// As [`Client::call`]; [`Error::Action`] when the state does not allow it.
    pub async fn vm_action(&self, action: VmAction, id: VmId) -> Result<VmId> {
        self.call_int(
            "one.vm.action",
            &[Param::Str(action.as_str()), Param::Int(id.0)],
        )
        .await
        .map(VmId)
    }

    /// `one.vm.recover` (admin).
    ///
    /// # Errors
    /// As [`Client::call`]; [`Error::Authorization`] without ADMIN rights on the VM.
    pub async fn vm_recover(&self, id: VmId, op: RecoverOp) -> Result<VmId> {
        self.call_int("one.vm.recover", &[Param::Int(id.0), Param::Int(op.code())])
            .await
            .map(VmId)
    }

    /// Reinstalls a VM the way the user's rights allow: `recover` delete-recreate (same id), or,
    /// when that is not authorised, instantiate its template again with the same name and
    /// capacity and terminate the old VM. Says which way happened.
    ///
    /// The new VM is created before the old one is terminated, so a failing instantiate (quota,
    /// rights) leaves the user's VM untouched.
    ///
    /// # Errors
    /// As [`Client::call`]; [`Error::Config`]-free: a VM that does not name its template gives
    /// the original [`Error::Authorization`].
    pub async fn vm_reinstall(&self, id: VmId) -> Result<Reinstall> {
        let denied = match self.vm_recover(id, RecoverOp::DeleteRecreate).await {
            Ok(_) => return Ok(Reinstall::Recreated { id }),
            Err(e @ Error::Authorization(_)) => e,
            Err(e) => return Err(e),
        };
        let vm = self.vm_info(id).await?;
        let Some(template_id) = vm.template.template_id else {
            return Err(denied);
        };
        let wanted = Capacity::of(&vm.template);
        // Only send what differs from the template: a non-empty extra template needs
        // TEMPLATE:CREATE, which plain users of most groups lack (API.md §2).
        let capacity = match self.template_info(template_id).await {
            Ok(t) => wanted.differences(&t.template),
            Err(_) => wanted,
        };
        let spec = Instantiate {
            name: vm.name.clone(),
            count: 1,
            hold: false,
            capacity,
            extra_template: String::new(),
        };
        let created = self.template_instantiate(template_id, &spec).await?;
        let new = created
            .first()
            .copied()
            .ok_or_else(|| shape_error("instantiate returned no VM".to_owned()))?;
        self.vm_action(VmAction::TerminateHard, id).await?;
        Ok(Reinstall::Replaced { old: id, new })
    }

    /// `one.vm.resize`: `None` values stay unchanged; `enforce` checks host capacity (honoured
    /// for the oneadmin group only).
    ///
    /// # Errors
    /// As [`Client::call`].
    pub async fn vm_resize(&self, id: VmId, capacity: Capacity, enforce: bool) -> Result<VmId> {
        let template = capacity.to_template();
        self.call_int(
            "one.vm.resize",
            &[
                Param::Int(id.0),
                Param::Str(&template),
                Param::Bool(enforce),
            ],
        )
        .await
        .map(VmId)
    }

    /// `one.vm.rename`.
    ///
    /// # Errors
    /// As [`Client::call`].
    pub async fn vm_rename(&self, id: VmId, name: &str) -> Result<VmId> {
        self.call_int("one.vm.rename", &[Param::Int(id.0), Param::Str(name)])
            .await
            .map(VmId)
    }

    /// `one.vm.snapshotcreate`: returns the new snapshot's id (RUNNING only).
    ///
    /// # Errors
    /// As [`Client::call`].
    pub async fn vm_snapshot_create(&self, id: VmId, name: &str) -> Result<SnapshotId> {
        self.call_int(
            "one.vm.snapshotcreate",
            &[Param::Int(id.0), Param::Str(name)],
        )
        .await
        .map(SnapshotId)
    }

    /// `one.vm.snapshotrevert`.
    ///
    /// # Errors
    /// As [`Client::call`].
    pub async fn vm_snapshot_revert(&self, id: VmId, snapshot: SnapshotId) -> Result<VmId> {
        self.call_int(
            "one.vm.snapshotrevert",
            &[Param::Int(id.0), Param::Int(snapshot.0)],
        )
        .await
        .map(VmId)
    }

    /// `one.vm.snapshotdelete`.
    ///
    /// # Errors
    /// As [`Client::call`].
    pub async fn vm_snapshot_delete(&self, id: VmId, snapshot: SnapshotId) -> Result<VmId> {
        self.call_int(
            "one.vm.snapshotdelete",
            &[Param::Int(id.0), Param::Int(snapshot.0)],
        )
        .await
        .map(VmId)
    }

    /// `one.vm.monitoring`.
    ///
    /// # Errors
    /// As [`Client::call`].
    pub async fn vm_monitoring(&self, id: VmId) -> Result<MonitoringData> {
        self.call_doc("one.vm.monitoring", &[Param::Int(id.0)])
            .await
    }

    /// `one.templatepool.info`.
    ///
    /// # Errors
    /// As [`Client::call`].
    pub async fn template_pool_info(
        &self,
        filter: PoolFilter,
        range: PoolRange,
    ) -> Result<TemplatePool> {
        let (start, end) = range.bounds();
        self.call_doc(
            "one.templatepool.info",
            &[
                Param::Int(filter.flag()),
                Param::Int(start),
                Param::Int(end),
            ],
        )
        .await
    }

    /// `one.template.info`.
    ///
    /// # Errors
    /// As [`Client::call`].
    pub async fn template_info(&self, id: TemplateId) -> Result<Template> {
        self.call_doc(
            "one.template.info",
            &[Param::Int(id.0), Param::Bool(false), Param::Bool(false)],
        )
        .await
    }

    /// `one.template.instantiate`, `count` times; returns the new VMs' ids.
    ///
    /// # Errors
    /// As [`Client::call`]; stops at the first refusal (VMs made before it stay).
    pub async fn template_instantiate(
        &self,
        id: TemplateId,
        spec: &Instantiate,
    ) -> Result<Vec<VmId>> {
        let extra = [spec.capacity.to_template(), spec.extra_template.clone()]
            .into_iter()
            .filter(|part| !part.trim().is_empty())
            .collect::<Vec<_>>()
            .join("\n");
        let count = spec.count.max(1);
        let mut ids = Vec::with_capacity(count as usize);
        for i in 0..count {
            let name = spec.vm_name(i);
            let params = [
                Param::Int(id.0),
                Param::Str(&name),
                Param::Bool(spec.hold),
                Param::Str(&extra),
                Param::Bool(false),
            ];
            ids.push(VmId(
                self.call_int("one.template.instantiate", &params).await?,
            ));
        }
        Ok(ids)
    }

    /// `one.hostpool.info` (empty for users without HOST:USE).
    ///
    /// # Errors
    /// As [`Client::call`].
    pub async fn host_pool_info(&self) -> Result<HostPool> {
        self.call_doc("one.hostpool.info", &[]).await
    }

    /// `one.host.info`.
    ///
    /// # Errors
    /// As [`Client::call`].
    pub async fn host_info(&self, id: HostId) -> Result<Host> {
        self.call_doc("one.host.info", &[Param::Int(id.0), Param::Bool(false)])
            .await
    }

    /// `one.user.info(-1)`: the caller; the cheapest credential check.
    ///
    /// # Errors
    /// As [`Client::call`]; [`Error::Authentication`] for wrong credentials.
    pub async fn user_info_self(&self) -> Result<User> {
        self.user_info(UserId(-1)).await
    }

    /// `one.user.info`.
    ///
    /// # Errors
    /// As [`Client::call`].
    pub async fn user_info(&self, id: UserId) -> Result<User> {
        self.call_doc("one.user.info", &[Param::Int(id.0), Param::Bool(false)])
            .await
    }

    /// `one.user.login` for the client's own user: a new token from oned (expiry per `validity`),
    /// optionally scoped to a group. Use it later as `Credentials::new(user, token)`.
    ///
    /// # Errors
    /// As [`Client::call`]; [`Error::Action`] when the driver disables tokens.
    pub async fn login_token_create(
        &self,
        validity: TokenValidity,
        group: Option<GroupId>,
    ) -> Result<Secret> {
        let valid = match validity {
            TokenValidity::Seconds(s) => i32::try_from(s.max(1)).unwrap_or(i32::MAX),
            TokenValidity::Never => -1,
        };
        self.login(None, valid, group).await
    }

    /// `one.user.login` with an existing token and a new validity: extends it (oned returns the
    /// same token).
    ///
    /// # Errors
    /// As [`Client::call`].
    pub async fn login_token_renew(
        &self,
        token: &Secret,
        validity: TokenValidity,
    ) -> Result<Secret> {
        let valid = match validity {
            TokenValidity::Seconds(s) => i32::try_from(s.max(1)).unwrap_or(i32::MAX),
            TokenValidity::Never => -1,
        };
        self.login(Some(token), valid, None).await
    }

    /// `one.user.login` with validity 0: revokes `token`, or every token of the user when `None`.
    ///
    /// # Errors
    /// As [`Client::call`].
    pub async fn login_token_revoke(&self, token: Option<&Secret>) -> Result<()> {
        self.login(token, 0, None).await.map(drop)
    }

    async fn login(
        &self,
        token: Option<&Secret>,
        valid: i32,
        group: Option<GroupId>,
    ) -> Result<Secret> {
        let user = self.inner.credentials.user().to_owned();
        let token = token.map_or("", Secret::expose);
        let egid = group.map_or(-1, |g| g.0);
        let params = [
            Param::Str(&user),
            Param::Str(token),
            Param::Int(valid),
            Param::Int(egid),
        ];
        self.call_string("one.user.login", &params)
            .await
            .map(Secret::new)
    }

    /// `one.system.version`, e.g. `7.4.0`.
    ///
    /// # Errors
    /// As [`Client::call`].
    pub async fn system_version(&self) -> Result<String> {
        self.call_string("one.system.version", &[]).await
    }

    /// `one.system.config` (non-admins get a copy without hidden attributes).
    ///
    /// # Errors
    /// As [`Client::call`].
    pub async fn system_config(&self) -> Result<SystemConfig> {
        self.call_doc("one.system.config", &[]).await
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
