//! `onedeck-cli decode KIND FILE`: decodes an OpenNebula document with `onedeck-opennebula` and
//! prints the typed model as JSON. A broken document exits 1 with one line naming the element and
//! the line/column where it broke.

use std::io::Write as _;
use std::path::PathBuf;

use onedeck_opennebula::{
    AnyDocument, Document, Error, Host, HostPool, Template, TemplatePool, User, Value, Vm, VmPool,
    decode_response_document, decode_response_value,
};

/// The document kinds `decode` understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Kind {
    /// A `<VM>` (`one.vm.info`).
    Vm,
    /// A `<VM_POOL>` (`one.vmpool.info*`).
    VmPool,
    /// A `<VMTEMPLATE>`.
    Template,
    /// A `<VMTEMPLATE_POOL>`.
    TemplatePool,
    /// A `<HOST>`.
    Host,
    /// A `<HOST_POOL>`.
    HostPool,
    /// A `<USER>`.
    User,
    /// A whole XML-RPC `<methodResponse>` as oned sends it.
    XmlrpcResponse,
}

/// Arguments of `onedeck-cli decode`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// What the file holds. The typed kinds also accept the XML-RPC reply that carries them.
    #[arg(value_enum)]
    pub kind: Kind,
    /// The file to decode.
    pub file: PathBuf,
    /// One line of JSON instead of indented JSON.
    #[arg(long)]
    pub compact: bool,
}

/// Runs `onedeck-cli decode`. A document that does not decode is reported on one stderr line
/// (even with `RUST_BACKTRACE` set) and the process exits with status 1.
pub fn run(args: Args) -> anyhow::Result<()> {
    let json = match read_and_decode(&args) {
        Ok(json) => json,
        Err(line) => {
            eprintln!("error: {line}");
            std::process::exit(1);
        }
    };
    let out = if args.compact {
        serde_json::to_string(&json)?
    } else {
        serde_json::to_string_pretty(&json)?
    };
    let mut stdout = std::io::stdout().lock();
    match writeln!(stdout, "{out}") {
        // `decode … | head` closes the pipe early: that is not an error of ours.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}

/// Reads and decodes the file; the error is the one line to show.
fn read_and_decode(args: &Args) -> Result<serde_json::Value, String> {
    let shown = args.file.display().to_string();
    let bytes = std::fs::read(&args.file).map_err(|e| format!("{shown}: {e}"))?;
    let text = String::from_utf8(bytes).map_err(|e| format!("{shown}: not UTF-8 text ({e})"))?;
    decode(args.kind, &text).map_err(|e| format!("{shown}: {e}"))
}

/// Decodes `text` as `kind` into JSON.
pub fn decode(kind: Kind, text: &str) -> Result<serde_json::Value, Error> {
    // A macro rather than a generic function: the JSON comes from each model's own Serialize.
    macro_rules! typed {
        ($t:ty) => {{
            let doc: $t = if is_envelope(text) {
                decode_response_document(text)?
            } else {
                <$t>::from_xml(text)?
            };
            to_json(serde_json::to_value(&doc))
        }};
    }
    match kind {
        Kind::Vm => typed!(Vm),
        Kind::VmPool => typed!(VmPool),
        Kind::Template => typed!(Template),
        Kind::TemplatePool => typed!(TemplatePool),
        Kind::Host => typed!(Host),
        Kind::HostPool => typed!(HostPool),
        Kind::User => typed!(User),
        Kind::XmlrpcResponse => response(text),
    }
}

fn is_envelope(text: &str) -> bool {
    let head = &text[..text.len().min(256)];
    head.contains("<methodResponse")
}

fn to_json(v: Result<serde_json::Value, serde_json::Error>) -> Result<serde_json::Value, Error> {
    v.map_err(|e| Error::Config(format!("JSON: {e}")))
}

/// A reply: `{"ok": true, "result": ...}` with the document decoded by its root element, or
/// `{"ok": false, "error": {...}}` for oned's failure replies and XML-RPC faults (which are
/// well-formed replies, so they exit 0).
fn response(text: &str) -> Result<serde_json::Value, Error> {
    match decode_response_value(text) {
        Ok(Value::Str(s)) if s.trim_start().starts_with('<') => {
            let doc = AnyDocument::from_xml(&s)?;
            Ok(serde_json::json!({ "ok": true, "result": to_json(serde_json::to_value(&doc))? }))
        }
        Ok(v) => Ok(serde_json::json!({ "ok": true, "result": value_json(&v) })),
        Err(e @ Error::Fault { .. }) => Ok(serde_json::json!({
            "ok": false,
            "error": { "kind": e.kind(), "code": e.code(), "message": e.to_string() }
        })),
        Err(e) => match e.oned() {
            Some(o) => Ok(serde_json::json!({
                "ok": false,
                "error": { "kind": e.kind(), "code": o.code, "message": o.message, "object_id": o.object_id }
            })),
            None => Err(e),
        },
    }
}

fn value_json(v: &Value) -> serde_json::Value {
    match v {
        Value::Bool(b) => serde_json::Value::Bool(*b),
        Value::Int(i) => serde_json::Value::from(*i),
        Value::Double(d) => serde_json::Value::from(*d),
        Value::Str(s) | Value::Other(s) => serde_json::Value::String(s.clone()),
        Value::Array(items) => serde_json::Value::Array(items.iter().map(value_json).collect()),
        Value::Struct(members) => serde_json::Value::Object(
            members
                .iter()
                .map(|(k, v)| (k.clone(), value_json(v)))
                .collect(),
        ),
    }
}
