#!/usr/bin/env python3
"""Compare onedeck-opennebula's decoder with pyone's on the same 10,000-VM one.vmpool.info reply.

Usage (from the repository root, with the project venv):
    cargo build --release -p onedeck-opennebula --example decode_pool
    .venv/bin/python scripts/bench-pyone.py [--vms 10000] [--runs 5]

The reply is generated once by the committed generator (crates/opennebula/benches/support/pool.rs,
through the decode_pool example) from real OpenNebula 7.4.0 captures. pyone parses replies the way
its OneServerXRPC does: xmlrpc.client's parser for the envelope, then pyone.bindings.parseString for
the document (server_xrpc.py, __response). Both decoders run in this same process run, several
times each; the best time of each is reported, with peak memory.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import xmlrpc.client

from pyone import bindings

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLE = os.path.join(ROOT, "target", "release", "examples", "decode_pool")


def pyone_decode(data: bytes):
    parser, unmarshaller = xmlrpc.client.getparser()
    parser.feed(data)
    parser.close()
    result = unmarshaller.close()[0]
    assert result[0], "the generated reply is a success"
    return bindings.parseString(result[1].encode("utf-8"))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--vms", type=int, default=10_000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--disk-nic", action="store_true", help="only the captured VMs with a DISK and a NIC")
    args = ap.parse_args()
    if not os.path.exists(EXAMPLE):
        print(f"build it first: cargo build --release -p onedeck-opennebula --example decode_pool", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "vmpool-info.xml")
        subprocess.run([EXAMPLE, "write", path, str(args.vms)] + (["disk-nic"] if args.disk_nic else []), check=True)
        data = open(path, "rb").read()

        rust = []
        for _ in range(args.runs):
            out = subprocess.run([EXAMPLE, "decode", path], check=True, capture_output=True, text=True)
            rust.append(json.loads(out.stdout))
        assert all(r["vms"] == args.vms for r in rust)

        py_times = []
        py_cpu = []
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        for _ in range(args.runs):
            start, cpu = time.perf_counter(), time.thread_time()
            pool = pyone_decode(data)
            py_times.append((time.perf_counter() - start) * 1000)
            py_cpu.append((time.thread_time() - cpu) * 1000)
            assert len(pool.VM) == args.vms
            del pool
        rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    best_rust = min(r["decode_ms"] for r in rust)
    best_py = min(py_times)
    report = {
        "vms": args.vms,
        "reply_bytes": len(data),
        "rust_best_ms": round(best_rust, 2),
        "rust_median_ms": round(sorted(r["decode_ms"] for r in rust)[len(rust) // 2], 2),
        "rust_best_cpu_ms": round(min(r["decode_cpu_ms"] for r in rust), 2),
        "rust_peak_rss_growth_kib": max(r["peak_growth_kib"] for r in rust),
        "rust_peak_rss_kib": max(r["rss_peak_kib"] for r in rust),
        "pyone_best_ms": round(best_py, 2),
        "pyone_median_ms": round(sorted(py_times)[len(py_times) // 2], 2),
        "pyone_best_cpu_ms": round(min(py_cpu), 2),
        "pyone_peak_rss_growth_kib": rss_after - rss_before,
        "speedup_wall": round(best_py / best_rust, 1),
        "speedup_cpu": round(min(py_cpu) / min(r["decode_cpu_ms"] for r in rust), 1),
        "load_average": os.getloadavg(),
    }
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
