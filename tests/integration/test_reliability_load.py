"""Load (issue 8): 64 threads allocating as fast as they can for a bounded time
(ALLOCTOP_LOAD_SECONDS, default 10; set 60 for the long run): alloctop survives, its
totals are exact with nothing dropped, and the target is intact.
The 10-minute soak (RSS flat, maps bounded) is a bench: bench/soak.sh."""
import json
import os
import time

import harness
from harness import fail
import test_reliability_lib as rl

NEEDS_ROOT = True

LOAD_SECONDS = float(os.environ.get("ALLOCTOP_LOAD_SECONDS", "10"))


def _rss_kb(pid):
    try:
        for line in open("/proc/%d/status" % pid):
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def test_storm_64_threads():
    w, at = rl.RelWorkload("storm", ["64"]), None
    before = rl.snapshot()
    try:
        w.wait_ready(30)
        at = harness.Alloctop(["-p", w.pid, "-b", "-o", "json", "-d", "1", "--top", "100"])
        at.wait_attached()
        w.send("go")
        t0 = time.monotonic()
        rss = []
        while time.monotonic() - t0 < LOAD_SECONDS:
            time.sleep(min(1.0, max(0.0, LOAD_SECONDS - (time.monotonic() - t0))))
            if at.proc.poll() is not None:
                fail("alloctop died under load (status %s); stderr:\n%s" % (at.proc.returncode, at.err.tail()))
            if w.proc.poll() is not None:
                fail("the target died under load (status %s); stderr:\n%s" % (w.proc.returncode, w.err.tail()))
            rss.append(_rss_kb(at.proc.pid))
        truth = json.loads(w.ask("stop", "{", timeout=60))
        rl.reports_after(at, len(at.reports()), 1)
        at.expect_ok(at.stop())
        rep = at.final_report()
        harness.check_reports_monotonic(at.reports(), w.pid)
        p = rl.proc_entry(rep, w.pid)
        want = {"allocs": truth["allocs"], "frees": truth["frees"], "alloc_bytes": truth["alloc_bytes"],
                "free_bytes": truth["free_bytes"], "live_allocs": truth["live_allocs"],
                "live_bytes": truth["live_bytes"], "untracked_frees": 0,
                "calls.malloc": truth["allocs"], "calls.free": truth["frees"]}
        drops = rep["drops"]
        # exact, drops or not: a loss under load is a failure here, not a looser bound
        diffs = harness.check_report_basics(rep)
        diffs += [(k, v, harness._get(p, k)) for k, v in want.items() if harness._get(p, k) != v]
        diffs += harness.diff_consistency(rep, p, w.pid)
        if diffs:
            fail(harness.format_diffs("storm, %d threads, %g s, %d allocations (drops %s)"
                                      % (truth["threads"], LOAD_SECONDS, truth["allocs"], drops), diffs))
        w.finish(timeout=30)
        rl.assert_no_leftover(before, ours=[at.proc.pid])
        print("    storm: %d allocations in %g s traced, alloctop RSS %s kB (first) .. %s kB (last), drops %s"
              % (truth["allocs"], LOAD_SECONDS, rss[0] if rss else "?", rss[-1] if rss else "?", rep["dropped"]))
    finally:
        harness.kill(w.proc)
        if at:
            harness.kill(at.proc)


test_storm_64_threads.TIMEOUT = LOAD_SECONDS + 150
