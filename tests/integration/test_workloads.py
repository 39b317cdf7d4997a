"""alloctop against the workloads: every counter must equal the workload's truth."""
import os
import re
import signal

import harness
from harness import fail

NEEDS_ROOT = True


def attach_exact(name, nofp):
    at, (w,) = harness.run_attached([(name, nofp)])
    reports = at.reports()
    rep = at.final_report()
    harness.check_reports_monotonic(reports, w.pid)
    harness.assert_exact(w.truth, rep, w.pid, w.name, exited=False)
    return rep, w


def test_attach_basic():
    attach_exact("basic", False)


def test_attach_basic_nofp():
    attach_exact("basic", True)


def test_attach_threads():
    attach_exact("threads", False)


def test_attach_threads_nofp():
    attach_exact("threads", True)


def test_attach_deep():
    attach_exact("deep", False)


def test_attach_deep_nofp():
    attach_exact("deep", True)


def test_attach_churn():
    attach_exact("churn", False)


def test_attach_churn_nofp():
    attach_exact("churn", True)


# Expected stacks of deep.c's frame-pointer build (names must match deep.c).
DEEP_CHAIN = ["site_deep_bottom", "deep_7", "deep_6", "deep_5", "deep_4", "deep_3", "deep_2", "deep_1",
              "run_deep"]
REC_MAX = 5


def test_deep_stacks():
    """With frame pointers the whole chain is known: frames[1..] are the callers, in order,
    and each distinct stack of one site is its own hotspot."""
    rep, w = attach_exact("deep", False)
    hs = [h for h in rep["hotspots"] if h["pid"] == w.pid]

    def syms(h):
        return [f.get("symbol") for f in h["frames"]]

    problems = []
    bottom = [h for h in hs if syms(h)[:1] == ["site_deep_bottom"]]
    if len(bottom) != 1:
        problems.append("site_deep_bottom: %d hotspots, want 1" % len(bottom))
    for h in bottom:
        if syms(h)[:len(DEEP_CHAIN)] != DEEP_CHAIN:
            problems.append("site_deep_bottom frames %s, want %s..." % (syms(h)[:12], DEEP_CHAIN))
        f0 = h["frames"][0]
        if not isinstance(f0.get("offset"), int) or f0["offset"] <= 0 or \
                not str(f0.get("module", "")).endswith("/build/work/deep"):
            problems.append("site_deep_bottom frames[0] offset/module: %r" % f0)

    shared = sorted((syms(h) for h in hs if syms(h)[:1] == ["site_deep_shared"]), key=len)
    want_shared = [["site_deep_shared", "run_deep"], ["site_deep_shared"] + DEEP_CHAIN[1:]]
    got_shared = [s[:len(want)] for s, want in zip(shared, want_shared)]
    if len(shared) != 2 or got_shared != want_shared:
        problems.append("site_deep_shared stacks %s, want two starting %s" % ([s[:10] for s in shared], want_shared))

    leaf = [syms(h) for h in hs if syms(h)[:1] == ["site_rec_leaf"]]
    depths = sorted(s[1:].index("run_rec") if "run_rec" in s else -1 for s in leaf)
    if depths != [d + 1 for d in range(1, REC_MAX + 1)]:
        problems.append("site_rec_leaf: rec frames per stack %s, want %s" % (depths, list(range(2, REC_MAX + 2))))
    for s in leaf:
        if "run_rec" in s and set(s[1:s.index("run_rec")]) != {"rec"}:
            problems.append("site_rec_leaf stack %s" % s[:10])
    if problems:
        fail("deep stacks:\n    " + "\n    ".join(problems))


def test_two_targets():
    """-p A,B: each process exact and separate."""
    at, wls = harness.run_attached([("basic", False), ("threads", True)])
    rep = at.final_report()
    if len(rep["processes"]) != 2:
        fail("want 2 process entries, got pids %s" % [p.get("pid") for p in rep["processes"]])
    errors = []
    for w in wls:
        try:
            harness.assert_exact(w.truth, rep, w.pid, w.name, exited=False)
        except harness.Failure as e:
            errors.append(str(e))
    if errors:
        fail("\n".join(errors))


def test_launch_basic():
    """alloctop -- CMD: attached before the first allocation, so the truth (which with
    --nowait covers the whole process) must match; final report after CMD exits."""
    harness.SCRATCH.mkdir(parents=True, exist_ok=True)
    tf = harness.SCRATCH / ("launch-truth-%d.json" % os.getpid())
    if tf.exists():
        tf.unlink()
    at = harness.Alloctop(["-b", "-o", "json", "-d", "1", "--top", "100000", "--",
                           harness.workload_path("basic"), "--nowait", "--truth", tf])
    try:
        at.expect_ok(at.wait(60))
        rep = at.final_report()
        if not tf.exists():
            fail("the workload wrote no truth file; alloctop stderr:\n" + at.err.tail())
        import json
        truth = json.loads(tf.read_text())
        procs = rep["processes"]
        if len(procs) != 1:
            fail("want 1 process entry, got %s" % [(p.get("pid"), p.get("comm")) for p in procs])
        if procs[0].get("comm") != "basic":
            fail("comm %r, want 'basic'" % procs[0].get("comm"))
        harness.assert_exact(truth, rep, procs[0]["pid"], "basic (launched)", exited=True)
    finally:
        harness.kill(at.proc)
        if tf.exists():
            tf.unlink()


def test_target_exits_first():
    """When every -p target exits, alloctop prints a final report and exits 0 by itself.
    basic makes no allocator calls on its way out, so the counts are still exact."""
    w, at = harness.Workload("basic"), None
    try:
        w.wait_ready()
        at = harness.Alloctop(harness.base_args([w.pid]))
        at.wait_attached()
        w.send("go")
        w.read_truth()
        w.finish()
        at.expect_ok(at.wait(60))
        rep = at.final_report()
        harness.assert_exact(w.truth, rep, w.pid, w.name, exited=True)
    finally:
        harness.kill(w.proc)
        if at:
            harness.kill(at.proc)


def test_workload_survives_detach():
    """After alloctop detaches (SIGTERM this time) the target runs on normally:
    it can still allocate (threads frees and joins) and exits 0."""
    w, at = harness.Workload("threads"), None
    try:
        w.wait_ready()
        at = harness.Alloctop(harness.base_args([w.pid]))
        at.wait_attached()
        w.send("go")
        w.read_truth()
        at.expect_ok(at.stop(signal.SIGTERM))
        rep = at.final_report()
        harness.assert_exact(w.truth, rep, w.pid, w.name, exited=False)
        w.finish()
        if w.err.text().strip():
            fail("workload stderr: " + w.err.text())
    finally:
        harness.kill(w.proc)
        if at:
            harness.kill(at.proc)


def test_count_exits():
    """-n 2: exits 0 by itself after two reports, the last one final."""
    w, at = harness.Workload("basic"), None
    try:
        w.wait_ready()
        args = harness.base_args([w.pid], interval=0.5)
        at = harness.Alloctop(args + ["-n", "2"])
        at.wait_attached()
        at.expect_ok(at.wait(60))
        reps = at.reports()
        if len(reps) != 2:
            fail("want 2 reports, got %d" % len(reps))
        at.final_report()
        if w.proc.poll() is not None:
            fail("the target died")
        w.send("go")
        w.read_truth()
        w.finish()
    finally:
        harness.kill(w.proc)
        if at:
            harness.kill(at.proc)


def test_text_output():
    """-o text lists the sites by name."""
    at, (w,) = harness.run_attached([("basic", False)], fmt="text")
    text = at.out.text()
    missing = [s for s in sorted(w.truth["sites"]) if s not in text]
    if missing:
        fail("text output lacks sites %s; output ends:\n%s" % (missing, at.out.tail(30)))
    if text.lstrip().startswith("{"):
        fail("-o text printed JSON")


def test_incremental_site_reads_stay_exact():
    """600 sites, then replacements in steps of 30 (bench-live --steps: none between
    steps, so what a refresh finds changed does not depend on the machine's speed): after
    the first sync every refresh reads only the sites the BPF side marked changed (-v
    says so), at least one per step reads some. The process map is read whole each
    time, before the sites: a site update missed or read stale would leave the sites'
    counters behind their process's, so they may only be ahead (calls made in between;
    2 of slack for a probe caught between its two updates), and equal in the final
    report, whose numbers are the workload's: BLOCKS live, BLOCKS + N allocations, N
    frees."""
    blocks, paths, steps, per_step = 2400, 600, 3, 30
    live = harness.ROOT / "build" / "bench" / "live"
    if not live.exists():
        fail("%s is missing (make)" % live)
    w = harness.spawn([live, "-b", blocks, "-k", paths, "--wait", "--steps"])
    at = None
    try:
        out = harness.Lines(w.stdout, "bench-live stdout")
        out.wait_for(lambda l: l.startswith("ready "), harness.READY_TIMEOUT, "'ready' line")
        at = harness.Alloctop(harness.base_args([w.pid], 0.2) + ["-v"])
        at.wait_attached()
        w.stdin.write(b"go\n")
        w.stdin.flush()
        pos = out.wait_for(lambda l: l.startswith("populated"), 120, "'populated' line") + 1

        def refresh(l):
            return "sites: " in l and " read" in l

        # the refresh that finds the 600 new sites reads them whole; from the next on,
        # only changed sites
        n = at.err.wait_for(refresh, 120, "a refresh after populating", start=len(at.err.lines)) + 1
        n = at.err.wait_for(refresh, 120, "a second refresh after populating", start=n) + 1
        sync = n
        for k in range(steps):
            w.stdin.write(b"step %d\n" % per_step)
            w.stdin.flush()
            pos = out.wait_for(lambda l: l.startswith("stepped "), 120, "'stepped' line %d" % (k + 1), start=pos) + 1
            # two refreshes after the step: the second began after it ended
            for _ in range(2):
                n = at.err.wait_for(refresh, 120, "a refresh after step %d" % (k + 1), start=n) + 1
            got = [l for l in at.err.lines[sync:n] if refresh(l)]
            if not any(re.search(r" [1-9]\d* read$", l) for l in got):
                fail("no refresh after step %d read the changed sites alone:\n%s" % (k + 1, "\n".join(got)))
        whole = [l for l in at.err.lines[sync:] if refresh(l) and "whole map" in l]
        if whole:
            fail("refreshes after the sync read the whole map although few sites changed: %s" % whole[:3])
        w.stdin.write(b"stop\n")
        w.stdin.close()
        i = out.wait_for(lambda l: l.startswith("done "), 60, "'done' line", start=pos)
        ops = int(out.lines[i].split("=")[1])
        harness.wait_exit(w, 30, "bench-live")
        at.expect_ok(at.wait(harness.STOP_TIMEOUT))
        reports = at.reports()
        keys = ("allocs", "alloc_bytes", "frees", "free_bytes", "live_allocs", "live_bytes")
        for n, rep in enumerate(reports):
            p = harness.find_process(rep, w.pid)
            s = {k: sum(h[k] for h in rep["hotspots"] if h["pid"] == w.pid) for k in keys}
            final = n == len(reports) - 1
            for k in keys:
                behind = s[k] < p[k] - (0 if final else 2 if k in ("allocs", "frees") else 2 * 512)
                if (final and s[k] != p[k]) or (not k.startswith("live") and behind):
                    fail("report %d of %d: the sites' %s add up to %s, the process has %s"
                         % (n + 1, len(reports), k, s[k], p[k]))
        p = harness.find_process(reports[-1], w.pid)
        want = {"allocs": blocks + ops, "frees": ops, "live_allocs": blocks, "dropped": 0}
        got = {"allocs": p["allocs"], "frees": p["frees"], "live_allocs": p["live_allocs"],
               "dropped": reports[-1]["dropped"]}
        if got != want:
            fail("final report %s, want %s" % (got, want))
    finally:
        harness.kill(w)
        if at:
            harness.kill(at.proc)


# each report lists every hotspot with its frames: seconds a refresh under ASan
test_incremental_site_reads_stay_exact.TIMEOUT = 600
