//! Helpers shared by the simulator's integration tests.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use onedeck_sim::config::UserSpec;
use onedeck_sim::world::World;
use onedeck_sim::{SimConfig, VncMode, fixture};
use quick_xml::Reader;
use quick_xml::events::Event;

/// Where the real oned 7.4.0 captures and the 7.4.0 XSDs are: `ONEDECK_OPENNEBULA_SHARED` if set
/// (a folder laid out like `shared/opennebula`: `samples/real-oned-7.4.0/`, `xsd/`), otherwise
/// the byte-exact copies kept in the repository, so a bare clone runs these tests.
pub fn shared() -> PathBuf {
    let p = std::env::var_os("ONEDECK_OPENNEBULA_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(in_repo_copies);
    assert!(
        p.join("samples/real-oned-7.4.0").is_dir() && p.join("xsd/vm.xsd").is_file(),
        "the real 7.4.0 captures or the XSDs are not under {} (set ONEDECK_OPENNEBULA_SHARED)",
        p.display()
    );
    p
}

/// Lays the repository's copies out as `samples/real-oned-7.4.0` + `xsd` in a temp folder of
/// symlinks (the captures live with the client crate's fixtures, the XSDs with ours).
fn in_repo_copies() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let root = std::env::temp_dir().join(format!("onedeck-sim-fixtures-{}", std::process::id()));
    let samples = root.join("samples");
    std::fs::create_dir_all(&samples).expect("temp dir for fixture links");
    let link = |target: PathBuf, at: PathBuf| {
        if !at.exists() {
            // Tests run on threads: another one may have made the link first.
            let _ = std::os::unix::fs::symlink(target, &at);
        }
    };
    link(
        manifest.join("../opennebula/tests/fixtures/real-oned-7.4.0"),
        samples.join("real-oned-7.4.0"),
    );
    link(manifest.join("tests/fixtures/xsd"), root.join("xsd"));
    root
}

/// The config matching the capture fixture: oned's default ACLs, oneadmin's password as
/// written in the captured requests, no consoles.
pub fn capture_config() -> SimConfig {
    SimConfig {
        users: vec![UserSpec {
            name: "oneadmin".into(),
            password: "PASSWORD".into(),
            admin: true,
        }],
        demo_acls: false,
        vnc: VncMode::None,
        ..SimConfig::default()
    }
}

/// A fresh capture-fixture world.
pub fn capture_world() -> World {
    fixture::build(&capture_config())
}

/// An XML-RPC request body; params are already-typed `<value>` contents.
pub fn request(method: &str, params: &[String]) -> Vec<u8> {
    let mut s = format!(
        "<?xml version='1.0'?>\n<methodCall>\n<methodName>{method}</methodName>\n<params>\n"
    );
    for p in params {
        s.push_str(&format!("<param>\n<value>{p}</value>\n</param>\n"));
    }
    s.push_str("</params>\n</methodCall>\n");
    s.into_bytes()
}

/// `<string>…</string>` (escaped).
pub fn s(v: &str) -> String {
    format!(
        "<string>{}</string>",
        v.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    )
}

/// `<int>…</int>`.
pub fn i(v: i64) -> String {
    format!("<int>{v}</int>")
}

/// `<boolean>…</boolean>`.
pub fn b(v: bool) -> String {
    format!("<boolean>{}</boolean>", u8::from(v))
}

/// One value of a reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Val {
    /// `boolean`, `string`, `i4`, `i8`.
    pub kind: String,
    /// Unescaped text.
    pub text: String,
}

/// A parsed reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resp {
    /// `<fault>`: code and string.
    Fault(i64, String),
    /// The array values.
    Values(Vec<Val>),
}

impl Resp {
    /// The values of a non-fault reply.
    pub fn values(&self) -> &[Val] {
        match self {
            Resp::Values(v) => v,
            Resp::Fault(c, m) => panic!("fault {c} {m}"),
        }
    }

    /// Whether index 0 is true.
    pub fn ok(&self) -> bool {
        self.values()[0].text == "1"
    }

    /// Index 1 as text (document, message, id).
    pub fn body(&self) -> String {
        self.values()[1].text.clone()
    }

    /// The error code of a failure.
    pub fn code(&self) -> i64 {
        self.values()[2].text.parse().expect("code")
    }
}

/// Parses an XML-RPC reply (fault or params array).
pub fn parse_response(xml: &str) -> Resp {
    let mut r = Reader::from_str(xml);
    let mut stack: Vec<String> = Vec::new();
    let mut vals = Vec::new();
    let mut text = String::new();
    let mut fault = false;
    loop {
        match r.read_event().expect("well-formed reply") {
            Event::Start(e) => {
                let n = e.name().as_ref().to_string();
                if n == "fault" {
                    fault = true;
                }
                text.clear();
                stack.push(n);
            }
            Event::Text(t) => text.push_str(&t.into_inner()),
            Event::GeneralRef(g) => {
                let c = match g.as_ref() {
                    "lt" => "<".to_string(),
                    "gt" => ">".to_string(),
                    "amp" => "&".to_string(),
                    "quot" => "\"".to_string(),
                    "apos" => "'".to_string(),
                    _ => g
                        .resolve_char_ref()
                        .ok()
                        .flatten()
                        .map(String::from)
                        .expect("entity"),
                };
                text.push_str(&c);
            }
            Event::End(e) => {
                let n = e.name().as_ref().to_string();
                stack.pop();
                if matches!(n.as_str(), "boolean" | "string" | "i4" | "i8" | "int") {
                    vals.push(Val {
                        kind: n,
                        text: text.clone(),
                    });
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if fault {
        let code = vals
            .iter()
            .find(|v| v.kind == "i4")
            .map(|v| v.text.parse().expect("code"))
            .expect("faultCode");
        let msg = vals
            .iter()
            .find(|v| v.kind == "string")
            .map(|v| v.text.clone())
            .expect("faultString");
        Resp::Fault(code, msg)
    } else {
        Resp::Values(vals)
    }
}

/// How an element is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Form {
    /// `<X><![CDATA[..]]></X>`.
    Cdata,
    /// `<X>text</X>`.
    Text,
    /// `<X></X>`.
    EmptyPair,
    /// `<X/>`.
    SelfClosing,
    /// Has child elements.
    Children,
}

/// The structure of a document: every path with its forms, and the child order seen per path.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Shape {
    /// path → forms seen.
    pub forms: BTreeMap<String, BTreeSet<Form>>,
    /// path → (child a, child b) pairs where a came before b among siblings.
    pub order: BTreeMap<String, BTreeSet<(String, String)>>,
    /// Root element name.
    pub root: String,
}

/// Reads a compact oned document into its [`Shape`].
pub fn shape(doc: &str) -> Shape {
    struct Open {
        path: String,
        children: Vec<String>,
        text: bool,
        cdata: bool,
    }
    let mut sh = Shape::default();
    let mut r = Reader::from_str(doc);
    let mut stack: Vec<Open> = Vec::new();
    loop {
        match r.read_event().expect("well-formed document") {
            Event::Start(e) => {
                let n = e.name().as_ref().to_string();
                let path = match stack.last_mut() {
                    Some(p) => {
                        p.children.push(n.clone());
                        format!("{}/{}", p.path, n)
                    }
                    None => {
                        sh.root = n.clone();
                        n
                    }
                };
                stack.push(Open {
                    path,
                    children: Vec::new(),
                    text: false,
                    cdata: false,
                });
            }
            Event::Empty(e) => {
                let n = e.name().as_ref().to_string();
                let path = match stack.last_mut() {
                    Some(p) => {
                        p.children.push(n.clone());
                        format!("{}/{}", p.path, n)
                    }
                    None => n,
                };
                sh.forms.entry(path).or_default().insert(Form::SelfClosing);
            }
            Event::Text(_) | Event::GeneralRef(_) => {
                if let Some(o) = stack.last_mut() {
                    o.text = true;
                }
            }
            Event::CData(_) => {
                if let Some(o) = stack.last_mut() {
                    o.cdata = true;
                }
            }
            Event::End(_) => {
                let o = stack.pop().expect("balanced");
                let form = if !o.children.is_empty() {
                    Form::Children
                } else if o.cdata {
                    Form::Cdata
                } else if o.text {
                    Form::Text
                } else {
                    Form::EmptyPair
                };
                sh.forms.entry(o.path.clone()).or_default().insert(form);
                let ord = sh.order.entry(o.path).or_default();
                for (i, a) in o.children.iter().enumerate() {
                    for bb in &o.children[i + 1..] {
                        if a != bb {
                            ord.insert((a.clone(), bb.clone()));
                        }
                    }
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    sh
}

/// Differences between a captured document's shape and ours (empty = same structure).
pub fn shape_diff(real: &Shape, ours: &Shape) -> Vec<String> {
    let mut out = Vec::new();
    if real.root != ours.root {
        out.push(format!("root {} vs {}", real.root, ours.root));
    }
    for (p, f) in &real.forms {
        match ours.forms.get(p) {
            None => out.push(format!("missing {p}")),
            Some(g) if g.is_disjoint(f) => out.push(format!("{p}: real {f:?} ours {g:?}")),
            _ => {}
        }
    }
    for p in ours.forms.keys() {
        if !real.forms.contains_key(p) {
            out.push(format!("extra {p}"));
        }
    }
    for (p, pairs) in &ours.order {
        if let Some(rp) = real.order.get(p) {
            for (a, b) in pairs {
                if rp.contains(&(b.clone(), a.clone())) && !rp.contains(&(a.clone(), b.clone())) {
                    out.push(format!("{p}: {a} before {b}, oned writes {b} first"));
                }
            }
        }
    }
    out
}

/// Runs xmllint against `xsd` on `doc` (namespace added to the root for validation only).
/// Returns the error lines (empty = valid). Never-deployed VMs may lack TM_MAD_SYSTEM.
pub fn xsd_errors(doc: &str, xsd: &str) -> Vec<String> {
    let root_end = doc.find('>').expect("root");
    let (head, rest) = doc.split_at(root_end);
    let nsdoc = format!("{head} xmlns=\"http://opennebula.org/XMLSchema\"{rest}");
    let dir = tempfile::tempdir().expect("tempdir");
    let f = dir.path().join("doc.xml");
    std::fs::write(&f, nsdoc).expect("write");
    let schema = shared().join("xsd").join(xsd);
    let out = std::process::Command::new("xmllint")
        .arg("--noout")
        .arg("--schema")
        .arg(&schema)
        .arg(&f)
        .output()
        .expect("xmllint (Debian libxml2-utils) must be installed");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let never_deployed = doc.contains("<HISTORY_RECORDS/>");
    stderr
        .lines()
        .filter(|l| l.contains("error") || l.contains("fails to validate"))
        .filter(|l| !l.contains("fails to validate"))
        .filter(|l| !(never_deployed && l.contains("TM_MAD_SYSTEM )")))
        .map(str::to_string)
        .collect()
}

/// The XSD for a document by its root (and whether a VM pool is the extended one).
pub fn xsd_for(doc: &str, extended: bool) -> &'static str {
    let root = &doc[1..doc.find('>').expect("root")];
    match root {
        "VM" => "vm.xsd",
        "VM_POOL" if extended => "vm_pool_extended.xsd",
        "VM_POOL" => "vm_pool.xsd",
        "HOST" => "host.xsd",
        "HOST_POOL" => "host_pool.xsd",
        "USER" => "user.xsd",
        "VMTEMPLATE" => "vmtemplate.xsd",
        "VMTEMPLATE_POOL" => "vmtemplate_pool.xsd",
        "MONITORING_DATA" => "monitoring_data.xsd",
        "OPENNEBULA_CONFIGURATION" => "opennebula_configuration.xsd",
        other => panic!("no XSD for {other}"),
    }
}
