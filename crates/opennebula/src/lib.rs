//! The only place in OneDeck that speaks to OpenNebula.
//!
//! It owns the XML-RPC transport to oned (`/RPC2`), the typed models of the documents oned returns
//! (VM, VM pool, template, host, user, monitoring), the facts derived from them (state labels,
//! allowed actions, IP addresses, console target) and the typed errors of every call.
//!
//! It leaves to others: where credentials come from (`onedeck-vault`), caching (`onedeck-store`) and
//! relaying console bytes (`onedeck-relay`). It has no UI dependency and runs headless.
//!
//! # The envelope: our own module on quick-xml, not `dxr`
//!
//! `dxr` 0.9 was considered. It deserialises through serde into owned values and has no way to
//! cap or stream a reply, and its `<i8>` support sits behind a feature: every oned failure reply
//! ends in `<i8>-1</i8>` (API.md §1.4). oned's document travels escaped inside one `<string>` of up
//! to hundreds of MB; [`xmlrpc`] reads that string as one borrowed slice, unescapes it with one
//! allocation, and the models are then decoded by a pull cursor without building a tree. That,
//! the 5-value failure arrays, faults, DTD refusal and a decode error with element path and
//! line/column are all covered by tests in a few hundred lines. Large VM pools are decoded in
//! slices on all cores, and the client frees the reply body before the models are built, so a
//! decode peaks below 3× the reply size (figures in `docs/PERFORMANCE.md`).
//!
//! # Example
//!
//! ```
//! use onedeck_opennebula::{Document, VmPool};
//! let pool = VmPool::from_xml("<VM_POOL><VM><ID>7</ID><NAME>web</NAME><STATE>8</STATE><LCM_STATE>0</LCM_STATE></VM></VM_POOL>")?;
//! assert_eq!(pool.vms[0].state_label(), "POWEROFF");
//! # Ok::<(), onedeck_opennebula::Error>(())
//! ```

pub mod client;
pub mod error;
#[doc(hidden)]
pub mod fuzzing;
pub mod model;
pub mod secret;
pub mod tls;
mod xml;
pub mod xmlrpc;

pub use client::{
    Capacity, Client, DEFAULT_MAX_REPLY_BYTES, Endpoint, Instantiate, PoolFilter, PoolRange,
    Reinstall, StateFilter, TokenValidity, decode_response_document,
    decode_response_document_owned, decode_response_value,
};
pub use error::{DecodeError, Error, OnedError, Result, TransportError};
pub use model::action::{
    AllowedActions, RecoverOp, VmAction, allowed_actions, history_action_name,
};
pub use model::any::AnyDocument;
pub use model::common::{AttrValue, Attributes, Document, Lock, Permissions};
pub use model::console::{ConsoleTarget, NoConsole};
pub use model::host::{Host, HostPool, HostShare, HostState};
pub use model::ids::{
    ClusterId, DatastoreId, GroupId, HostId, ImageId, NetworkId, SnapshotId, TemplateId, UserId,
    VmId,
};
pub use model::state::{LcmState, VmState, state_label};
pub use model::template::{Template, TemplatePool};
pub use model::user::{LoginToken, SystemConfig, User, UserPool, VmQuota};
pub use model::user_input::{
    InputError, InputProblem, UserInput, UserInputType, answers_to_template,
};
pub use model::vm::{
    Disk, DiskSnapshot, DiskSnapshots, Graphics, GraphicsType, HistoryRecord, Monitoring,
    MonitoringData, Nic, Snapshot, Vm, VmPool, VmTemplate,
};
pub use secret::{Credentials, Secret};
pub use tls::Fingerprint;
pub use xmlrpc::{Param, Value};
