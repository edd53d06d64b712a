//! Writes or decodes a generated `one.vmpool.info` reply and reports time and peak memory.
//!
//! `decode_pool write FILE [N [disk-nic]]` writes a reply with N VMs (default 10,000), cycling
//! through every captured VM or only those with a DISK and a NIC;
//! `decode_pool decode FILE` decodes it once and prints one JSON line with the document size,
//! the decode time and the peak RSS growth (Linux `VmHWM`), for `scripts/bench-pyone.py`.

use std::time::Instant;

use onedeck_opennebula::{VmPool, decode_response_document_owned};

#[path = "../benches/support/pool.rs"]
mod pool;

/// Peak resident set size of this process in KiB, from /proc (Linux).
fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// CPU time this thread has run, in ns (Linux `/proc/thread-self/schedstat`): unlike wall time it
/// does not grow when other processes share the cores.
fn cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|v| v.parse().ok()))
        .unwrap_or(0)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    match (args.get(1).map(String::as_str), args.get(2)) {
        (Some("write"), Some(path)) => {
            let n = args.get(3).map_or(Ok(10_000), |s| s.parse())?;
            let disk_nic_only = args.get(4).is_some_and(|s| s == "disk-nic");
            std::fs::write(path, pool::vmpool_reply(n, disk_nic_only))?;
        }
        (Some("decode"), Some(path)) => {
            let reply = std::fs::read_to_string(path)?;
            let before = peak_rss_kib();
            let cpu = cpu_ns();
            let start = Instant::now();
            let reply_bytes = reply.len();
            // The client's path: the body is freed once the document is out of it.
            let pool: VmPool = decode_response_document_owned(reply)?;
            let ms = start.elapsed().as_secs_f64() * 1000.0;
            let cpu_ms = cpu_ns().saturating_sub(cpu) as f64 / 1e6;
            let after = peak_rss_kib();
            println!(
                "{{\"vms\":{},\"reply_bytes\":{},\"decode_ms\":{ms:.2},\"decode_cpu_ms\":{cpu_ms:.2},\"rss_before_kib\":{before},\"rss_peak_kib\":{after},\"peak_growth_kib\":{}}}",
                pool.vms.len(),
                reply_bytes,
                after.saturating_sub(before)
            );
        }
        _ => {
            return Err(
                "usage: decode_pool write FILE [N [disk-nic]] | decode_pool decode FILE".into(),
            );
        }
    }
    Ok(())
}
