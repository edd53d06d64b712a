//! Entry point for the fuzz target (`crates/fuzz`) and its corpus replay test: known_hosts and
//! ssh_config files as the user's other tools may have written them, parsed and matched without
//! panicking and in bounded time. Not API.

/// The first line is the host name looked up; the rest is the file, read as both kinds.
pub fn ssh_files(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let (host, file) = text.split_once('\n').unwrap_or((text.as_ref(), ""));
    let _ = crate::known_hosts::fuzz_entries(file, host);
    let _ = crate::ssh_config::lookup(file, host);
}
