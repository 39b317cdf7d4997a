"""Fragmentation against glibc's own mallinfo2(), lifetimes in the right buckets, and
leak suspects found after their age (issue 6)."""
import json
import os
import time

import harness
from harness import check

import test_reliability_lib as rl

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NEEDS_ROOT = True


def _trace(workload_args, alloctop_args, until):
    """Starts the workload, attaches, sends go, waits for its reply line, then waits
    (bounded) until until(report) holds for a periodic report, stops alloctop with SIGINT
    and returns (reply, final JSON report)."""
    wl = rl.RelWorkload(os.path.basename(workload_args[0]), argv=workload_args)
    wl.wait_ready()
    at = harness.Alloctop(["-p", wl.pid, "-b", "-o", "json", "-d", "0.2", "--top", "1000"] + alloctop_args)
    at.wait_attached()
    reply = wl.ask("go", "", timeout=harness.TRUTH_TIMEOUT)
    # an event, not a time: a report that shows what the test needs (generous deadline)
    deadline = time.monotonic() + 60
    while not any(until(r) for r in at.reports()):
        check(at.proc.poll() is None, "alloctop exited early; stderr:\n%s" % at.err.tail())
        check(time.monotonic() < deadline, "no report showed the expected state within 60 s:\n%s"
              % at.out.tail(3))
        time.sleep(0.05)
    at.expect_ok(at.stop())
    wl.finish()
    return reply, at.final_report()


def _frag_case(mode):
    reply, rep = _trace([os.path.join(ROOT, "build/frag/fragheap"), mode], [],
                        lambda r: bool(r["processes"] and r["processes"][0].get("fragmentation")))
    mi = json.loads(reply)
    proc = rep["processes"][0]
    f = proc["fragmentation"]
    check(f, "no fragmentation object")
    glibc_total = mi["arena"] + mi["hblkhd"]
    glibc_ratio = mi["fordblks"] / glibc_total
    check(abs(f["heap_bytes"] - glibc_total) <= 0.10 * glibc_total,
          "heap_bytes %d vs mallinfo2 arena+hblkhd %d" % (f["heap_bytes"], glibc_total))
    check(abs(f["ratio"] - glibc_ratio) <= 0.05, "ratio %.3f vs mallinfo2 %.3f" % (f["ratio"], glibc_ratio))
    # alloctop measures the heap from the process's mappings and its live blocks, glibc from
    # its own bookkeeping: two ways to count, so within 10% of the heap, not exact
    check(abs(f["free_bytes"] - mi["fordblks"]) <= 0.10 * glibc_total,
          "free_bytes %d vs mallinfo2 fordblks %d" % (f["free_bytes"], mi["fordblks"]))
    check(0 < f["resident_bytes"] <= f["heap_bytes"])
    return f


def test_fragmented_heap_matches_mallinfo2():
    f = _frag_case("fragmented")
    small = sum(h["count"] for h in f["hole_hist"] if h["hi"] < 256)
    check(small >= 9000, "expected ~10000 small holes, got %d" % small)   # every other of 20000 freed
    check(f["ratio"] > 0.2)


def test_compact_heap_matches_mallinfo2():
    f = _frag_case("compact")
    small = sum(h["count"] for h in f["hole_hist"] if h["hi"] < 256)
    check(small < 100, "a compact heap has no small holes, got %d" % small)
    check(f["ratio"] < 0.1)


def _site(rep, name):
    hs = [h for h in rep["hotspots"] if h["frames"] and h["frames"][0]["symbol"] == name]
    check(hs, "no hotspot for %s" % name)
    return hs


def _lifetimes(hs):
    out = {}
    for h in hs:
        for b in h["lifetime_hist"]:
            out[(b["lo_ns"], b["hi_ns"])] = out.get((b["lo_ns"], b["hi_ns"]), 0) + b["count"]
    return out


def _old_leaks(rep):
    return sum(h["old_allocs"] for h in rep.get("leak_suspects", [])
               if h["frames"] and h["frames"][0]["symbol"] == "site_leak")


def test_lifetimes_and_leak_suspects():
    reply, rep = _trace([os.path.join(ROOT, "build/frag/lifetimes")], ["--min-age", "0.5"],
                        lambda r: _old_leaks(r) > 0)
    check(reply.startswith("done "), "workload said %r" % reply)
    want = rl.fields(reply)     # the workload's own counts
    # Lifetimes are times: the lower bounds hold by construction (each block outlives
    # its sleep); the upper bounds only keep the three classes apart, generously (a
    # loaded machine stretches a sleep, never shortens it).
    imm = _lifetimes(_site(rep, "site_immediate"))
    check(sum(imm.values()) == want["immediate"], "site_immediate frees %r, want %d" % (imm, want["immediate"]))
    check(all(lo < 4000000 for (lo, hi) in imm), "immediate frees land below the 5 ms class: %r" % imm)
    ms = _lifetimes(_site(rep, "site_ms"))
    check(sum(ms.values()) == want["ms"], "site_ms frees %r, want %d" % (ms, want["ms"]))
    check(all(lo >= 4000000 and lo < 268435456 for (lo, hi) in ms), "~5 ms blocks: %r" % ms)
    slow = _lifetimes(_site(rep, "site_slow"))
    check(sum(slow.values()) == want["slow"], "site_slow frees %r, want %d" % (slow, want["slow"]))
    check(all(lo >= 268435456 for (lo, hi) in slow), "~300 ms blocks: %r" % slow)
    leak = _site(rep, "site_leak")
    check(sum(h["live_allocs"] for h in leak) == want["leak"], "site_leak live %r" % leak)
    check(sum(h["old_allocs"] for h in leak) == want["leak"] and
          sum(h["old_bytes"] for h in leak) == want["leak_bytes"], "site_leak old %r" % leak)
    check(max(h["oldest_age_s"] for h in leak) >= 0.5, "oldest_age_s below --min-age: %r" % leak)
    sus = [h for h in rep["leak_suspects"] if h["frames"][0]["symbol"] == "site_leak"]
    check(sus and sum(h["old_allocs"] for h in sus) == want["leak"], "leak suspects %r" % sus)
    others = [h for h in rep["leak_suspects"] if h["frames"][0]["symbol"] != "site_leak"]
    check(not others, "only site_leak holds old blocks: %r" % [h["frames"][0]["symbol"] for h in others])
    proc = rep["processes"][0]
    check(proc["temp_allocs"] == want["temp"], "temp_allocs %r, the workload made %d temporaries"
          % (proc["temp_allocs"], want["temp"]))
