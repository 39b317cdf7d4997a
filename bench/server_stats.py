#!/usr/bin/env python3
"""Helpers for bench/server.sh: free ports, load-generator output, the breakpoint byte at
a probe site, and the estimate comparison (alloctop exact vs --max-overhead JSON).

  port                         a free loopback TCP port
  wait-port PORT SECS          exit 0 once 127.0.0.1:PORT accepts, 1 after SECS
  sigint-exec CMD ARGS...      exec CMD with SIGINT at its default (a script's background
                               jobs inherit SIG_IGN; Python tools then ignore Ctrl-C)
  textbyte PID PATH:OFF...     the byte at each file offset OFF of PATH in PID's memory (hex)
  redis FILE                   redis-benchmark --csv output: "RPS REQUESTS" (all tests)
  wrk FILE                     wrk output: "RPS REQUESTS ERRORS"
  final FILE                   exit 0 if FILE's last JSON line is a final report
  estimate PID EXACT MO LABEL  EXACT and MO list "json-file requests" lines; prints the
                               markdown comparison of the two modes for process PID
"""
import json
import os
import re
import signal
import socket
import sys
import time

MIN_SITE = 1000  # sites exact mode saw at least this many times (per run) are compared


def cmd_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        print(s.getsockname()[1])


def cmd_wait_port(port, secs):
    end = time.monotonic() + float(secs)
    while time.monotonic() < end:
        try:
            with socket.create_connection(("127.0.0.1", int(port)), timeout=1):
                return 0
        except OSError:
            time.sleep(0.05)
    return 1


def cmd_sigint_exec(argv):
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    os.execvp(argv[0], argv)


def cmd_textbyte(pid, *sites):
    """The byte at each PATH:OFF (a file offset) as PID's memory holds it, hex, "-" if unmapped."""
    maps = [line.split() for line in open(f"/proc/{pid}/maps")]
    out = []
    with open(f"/proc/{pid}/mem", "rb") as mem:
        for site in sites:
            path, off = site.rsplit(":", 1)
            off, byte = int(off, 0), "-"
            for f in maps:
                if len(f) < 6 or f[5] != path:
                    continue
                lo, hi = (int(x, 16) for x in f[0].split("-"))
                moff = int(f[2], 16)
                if moff <= off < moff + hi - lo:
                    mem.seek(lo + off - moff)
                    byte = mem.read(1).hex()
                    break
            out.append(byte)
    print(" ".join(out))
    return 0


def cmd_redis(path):
    # "test","rps",...: the run's rate is all requests over the tests' summed time
    tests = []
    with open(path) as f:
        for line in f:
            cols = [c.strip('"') for c in line.strip().split(",")]
            if len(cols) >= 2 and cols[0] != "test":
                try:
                    tests.append(float(cols[1]))
                except ValueError:
                    pass
    n = int(os.environ.get("REDIS_N", "0"))
    if not tests or n <= 0 or min(tests) <= 0:
        return 1
    secs = sum(n / r for r in tests)
    print(f"{n * len(tests) / secs:.0f} {n * len(tests)}")
    return 0


def cmd_wrk(path):
    text = open(path).read()
    rps = re.search(r"^Requests/sec:\s*([0-9.]+)", text, re.M)
    req = re.search(r"^\s*(\d+) requests in", text, re.M)
    if not rps or not req:
        return 1
    err = re.search(r"Non-2xx or 3xx responses:\s*(\d+)", text)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    errors = (int(err.group(1)) if err else 0) + (sum(int(x) for x in sock.groups()) if sock else 0)
    print(f"{float(rps.group(1)):.0f} {req.group(1)} {errors}")
    return 0


def last_json(path):
    doc = None
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line.startswith("{"):
                try:
                    doc = json.loads(line)
                except ValueError:
                    pass
    return doc


def cmd_final(path):
    doc = last_json(path)
    return 0 if doc and doc.get("final") else 1


def site_key(h):
    # a site is a distinct stack; runs on one server process share its addresses
    return tuple((fr.get("module"), fr.get("symbol"), fr.get("offset")) for fr in h.get("frames", []))


def site_name(key):
    # the allocating function and three callers: a wrapper such as zmalloc names no site alone
    named = [f"{sym}+{off}" for _, sym, off in key if sym][:4]
    return " < ".join(named) or "?"


def pool(listfile, pid):
    """Sums over a mode's runs: requests, allocs, bytes, and per-site allocs and bytes."""
    tot = {"runs": 0, "req": 0, "allocs": 0, "bytes": 0, "sites": {}, "estimated": False, "samples": None,
           "alt": {}}
    for line in open(listfile):
        parts = line.split()
        if len(parts) != 2:
            continue
        doc = last_json(parts[0])
        if not doc or not doc.get("final"):
            continue
        procs = [p for p in doc.get("processes", []) if p.get("pid") == pid]
        if not procs:
            continue
        tot["runs"] += 1
        tot["req"] += int(parts[1])
        tot["allocs"] += procs[0].get("allocs", 0)
        # the same allocations under each estimator of the share of work seen (JSON
        # estimate.shares): allocs x the share used / that estimator's share
        est = procs[0].get("estimate") or {}
        shares = est.get("shares") or {}
        used = shares.get(est.get("share_from", "").replace("-", "_"))
        for name, sh in shares.items():
            if used and sh:
                tot["alt"][name] = tot["alt"].get(name, 0) + procs[0].get("allocs", 0) * used / sh
        tot["bytes"] += procs[0].get("alloc_bytes", 0)
        tot["estimated"] |= bool(doc.get("estimated"))
        for h in doc.get("hotspots", []):
            if h.get("pid") != pid:
                continue
            s = tot["sites"].setdefault(site_key(h), [0, 0])
            s[0] += h.get("allocs", 0)
            if "samples" in h:  # events actually seen behind an estimate
                tot["samples"] = (tot["samples"] or 0) + h["samples"]
            s[1] += h.get("alloc_bytes", 0)
    return tot


def pct(est, exact):
    return (est / exact - 1) * 100 if exact else float("nan")


def cmd_estimate(pid, exact_list, mo_list, label):
    pid = int(pid)
    ex, mo = pool(exact_list, pid), pool(mo_list, pid)
    if not ex["runs"] or not mo["runs"] or not ex["req"] or not mo["req"]:
        print(f"{label}: not compared (exact runs {ex['runs']}, {label} runs {mo['runs']} with a final JSON report)")
        return 0
    big = [k for k, v in ex["sites"].items() if v[0] >= MIN_SITE * ex["runs"]]
    big.sort(key=lambda k: -ex["sites"][k][0])
    per = lambda t, v: v / t["req"]
    apr_e, apr_m = per(ex, ex["allocs"]), per(mo, mo["allocs"])
    bb_e = per(ex, sum(ex["sites"][k][1] for k in big))
    bb_m = per(mo, sum(mo["sites"].get(k, [0, 0])[1] for k in big))
    print(f"| measure | exact | {label} | difference |")
    print("|---|--:|--:|--:|")
    print(f"| allocations per request | {apr_e:.3f} | {apr_m:.3f} | {pct(apr_m, apr_e):+.1f}% |")
    for name, v in sorted(mo["alt"].items()):
        print(f"| allocations per request, share of work seen from {name.replace('_', ' ')} "
              f"| {apr_e:.3f} | {per(mo, v):.3f} | {pct(per(mo, v), apr_e):+.1f}% |")
    print(f"| bytes per request, sites seen >= {MIN_SITE} times a run ({len(big)} sites) "
          f"| {bb_e:.1f} | {bb_m:.1f} | {pct(bb_m, bb_e):+.1f}% |")
    print(f"| bytes per request, all allocations | {per(ex, ex['bytes']):.1f} | {per(mo, mo['bytes']):.1f} "
          f"| {pct(per(mo, mo['bytes']), per(ex, ex['bytes'])):+.1f}% |")
    rows, diffs = [], []
    for k in big:
        se = ex["sites"][k][0] / ex["allocs"]
        sm = mo["sites"].get(k, [0, 0])[0] / mo["allocs"] if mo["allocs"] else 0
        diffs.append(pct(sm, se))
        rows.append(f"| `{site_name(k)}` | {se * 100:.2f}% | {sm * 100:.2f}% | {diffs[-1]:+.1f}% |")
    within = sum(1 for d in diffs if abs(d) <= 15)
    worst = max((abs(d) for d in diffs), default=0.0)
    print(f"| site shares of allocations within 15% (relative) | | | {within} of {len(big)} (worst {worst:.1f}%) |")
    print()
    notes = [f"Runs pooled: exact {ex['runs']} ({ex['req']} requests), {label} {mo['runs']} ({mo['req']} requests)"]
    if not mo["estimated"]:
        notes.append(f"{label} reports did not say estimated")
    if mo["samples"] is not None:
        notes.append(f"{label} hotspots saw {mo['samples']} events (samples)")
    print("; ".join(notes) + ".")
    if rows:
        print()
        print(f"| site (allocation stack: innermost named frames) | share exact | share {label} | difference |")
        print("|---|--:|--:|--:|")
        print("\n".join(rows))
    return 0


def main(argv):
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    cmd, args = argv[0], argv[1:]
    if cmd == "sigint-exec":
        return cmd_sigint_exec(args)
    fn = {"port": cmd_port, "wait-port": cmd_wait_port, "textbyte": cmd_textbyte, "redis": cmd_redis,
          "wrk": cmd_wrk, "final": cmd_final, "estimate": cmd_estimate}.get(cmd)
    if fn is None:
        print(f"server_stats: unknown command {cmd}", file=sys.stderr)
        return 2
    return fn(*args) or 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
