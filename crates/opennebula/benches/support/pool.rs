//! Generator of a large `one.vmpool.info` reply from the real 7.4.0 captures.
//!
//! It takes the short VM bodies oned sent (`one.vmpool.info.oneadmin.filter-2` and
//! `one.vmpool.info.oneadmin-disk-nic`, the latter with a DISK and a NIC), repeats them with fresh
//! ids and names in descending id order (as oned lists them), escapes the pool into the
//! `<string>` of the captured envelope and keeps xmlrpc-c's CRLF framing. It uses plain string
//! operations and quick-xml's unescape, not the decoder under test.

const SOURCES: [&str; 2] = [
    include_str!(
        "../../tests/fixtures/real-oned-7.4.0/one.vmpool.info.oneadmin.filter-2.response.xml"
    ),
    include_str!(
        "../../tests/fixtures/real-oned-7.4.0/one.vmpool.info.oneadmin-disk-nic.response.xml"
    ),
];

fn between<'a>(s: &'a str, start: &str, end: &str) -> (&'a str, &'a str, &'a str) {
    let a = s.find(start).map_or(0, |i| i + start.len());
    let b = s[a..].find(end).map_or(s.len(), |i| a + i);
    (&s[..a], &s[a..b], &s[b..])
}

/// The VM bodies (`<VM>…</VM>`) of the captured pools; `disk_nic_only` keeps the VMs that have
/// a DISK and a NIC (the ~1.5 KB bodies API.md §5 calls typical).
pub fn sample_vms(disk_nic_only: bool) -> Vec<String> {
    let mut vms = Vec::new();
    for src in SOURCES {
        let (_, escaped, _) = between(src, "<string>", "</string>");
        let doc = quick_xml::escape::unescape(escaped)
            .map(|d| d.into_owned())
            .unwrap_or_default();
        let mut rest = doc.as_str();
        while let Some(start) = rest.find("<VM>") {
            let Some(len) = rest[start..].find("</VM>") else {
                break;
            };
            let vm = &rest[start..start + len + 5];
            if !disk_nic_only || (vm.contains("<DISK>") && vm.contains("<NIC>")) {
                vms.push(vm.to_owned());
            }
            rest = &rest[start + len + 5..];
        }
    }
    vms
}

fn replace_first(body: &str, open: &str, close: &str, value: &str) -> String {
    let (head, _, tail) = between(body, open, close);
    format!("{head}{value}{tail}")
}

/// A `one.vmpool.info` reply body with `n` VMs (ids n-1 … 0), as oned would send it, cycling
/// through every captured VM, or only those with a DISK and a NIC.
pub fn vmpool_reply(n: usize, disk_nic_only: bool) -> String {
    let samples = sample_vms(disk_nic_only);
    let mut doc = String::with_capacity(n * 1600);
    doc.push_str("<VM_POOL>");
    for id in (0..n).rev() {
        let vm = &samples[id % samples.len()];
        let vm = replace_first(vm, "<ID>", "</ID>", &id.to_string());
        let vm = replace_first(&vm, "<NAME>", "</NAME>", &format!("vm-{id}"));
        doc.push_str(&vm);
    }
    doc.push_str("</VM_POOL>");
    let escaped = doc
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    let (head, _, tail) = between(SOURCES[0], "<string>", "</string>");
    format!("{head}{escaped}{tail}")
}
