#![allow(missing_docs)]
fn main() {
    let reply = std::fs::read_to_string("/tmp/pool10k.xml").unwrap_or_default();
    for _ in 0..10 {
        let p: Result<onedeck_opennebula::VmPool, _> =
            onedeck_opennebula::decode_response_document(&reply);
        std::hint::black_box(p.map(|p| p.vms.len()).unwrap_or(0));
    }
}
