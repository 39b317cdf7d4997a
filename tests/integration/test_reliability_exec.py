"""Targets that exec, fork under a census, or never allocate (issue 8).

A traced process that execs keeps its PID: the blocks and mappings live in the old
program leave the live figures at the exec (cumulative counters stay), and the new
program is counted on its own, with its own allocator files, alias slots (memalign vs
aligned_alloc) and allocator text, exactly. The new programs are ground-truth
workloads (tests/workloads, tests/allocators), the old one tests/reliability/execinto.c.
Every wait is bounded; every process a test starts is killed by PID in its finally.
"""
import json
import os
import re
import shutil
import tempfile

import harness
from harness import fail
import test_reliability_lib as rl

NEEDS_ROOT = True
ROOT = harness.ROOT
JEMALLOC = "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2"

# execinto's work before it execs, as it prints it ("allocd {JSON}"): its two sites
OLD_SITES = ("site_old_malloc", "site_old_memalign")


def _old_truth(line):
    """execinto's "allocd {JSON}" line -> ({flat path: value}, {site: allocs})."""
    j = json.loads(line.split(" ", 1)[1])
    flat = {k: j[k] for k in harness.PROC_KEYS}
    flat.update({"calls." + k: j["calls"].get(k, 0) for k in harness.CALLS})
    flat.update({"mmap." + k: j["mmap"][k] for k in harness.MMAP_KEYS})
    return flat, j["sites"]
CUMULATIVE = ["allocs", "frees", "alloc_bytes", "free_bytes", "untracked_frees", "temp_allocs"]
LIVE = ["live_allocs", "live_bytes"]


def _json(extra=(), interval=0.2, top=100000):
    return ["-b", "-o", "json", "-d", str(interval), "--top", str(top), *extra]


def _expect_after_exec(old, truth):
    """What a report must say once the new program ran: the old program's cumulative
    counts plus the new one's, live figures of the new program only."""
    want = {}
    for k in CUMULATIVE:
        want[k] = old[k] + truth[k]
    for k in LIVE:
        want[k] = truth[k]
    for k in harness.CALLS:
        want["calls." + k] = old["calls." + k] + truth["calls"][k]
    want["mmap.maps"] = old["mmap.maps"] + truth["mmap"]["maps"]
    want["mmap.unmaps"] = old["mmap.unmaps"] + truth["mmap"]["unmaps"]
    want["mmap.live_bytes"] = truth["mmap"]["live_bytes"]
    return want


def _check_new_program(label, report, pid, old, truth, old_sites):
    """The whole process entry against old + truth, the new program's sites against the
    truth, the old program's sites with nothing live, and the report's own sums."""
    proc = harness.find_process(report, pid)
    rl.check_fields(label, proc, _expect_after_exec(old, truth))
    diffs = harness.check_report_basics(report) + harness.diff_consistency(report, proc, pid)
    tot = harness.site_totals(report, pid)
    for name, want in sorted(truth["sites"].items()):
        got = tot.get(name)
        for k in harness.SITE_KEYS:
            if not got or got[k] != want[k]:
                diffs.append(("sites.%s.%s" % (name, k), want[k], got and got[k]))
    for name, allocs in old_sites.items():
        got = tot.get(name, {})
        if (got.get("allocs"), got.get("live_allocs"), got.get("live_bytes")) != (allocs, 0, 0):
            diffs.append(("sites.%s (old program)" % name, "allocs %d, nothing live" % allocs,
                          "allocs %s, live %s (%s bytes)" % (got.get("allocs"), got.get("live_allocs"),
                                                             got.get("live_bytes"))))
    extra = set(tot) - set(truth["sites"]) - set(OLD_SITES)
    if any(tot[n]["allocs"] or tot[n]["live_allocs"] for n in extra):
        diffs.append(("other sites", "none", {n: tot[n]["allocs"] for n in extra}))
    if diffs:
        fail(harness.format_diffs(label, diffs))


def _old_entry(report, pid, old):
    """The process entry before the exec, as a flat dict, checked against execinto's truth."""
    proc = harness.find_process(report, pid)
    rl.check_fields("execinto before its exec", proc, old)
    return {k: harness._get(proc, k) for k in list(old) + CUMULATIVE}


def _wait_moved(at, pid, start, timeout=15):
    """The -v line saying the probes follow the new program (printed at a refresh)."""
    at.err.wait_for(lambda l: re.search(r"process %d exec'd: probes moved" % pid, l), timeout,
                    "'probes moved' line for pid %d" % pid, start=start)


def _exec_under_pid(new_argv, mode_args=(), census=False):
    """-p (or -p --follow, or a census) on execinto, which allocates, then execs new_argv
    (a workload with the ready/go/truth/exit protocol and a whole-process truth). Returns
    (old entry, truth, report, pid, old sites): the final report, or for a census (which lists an
    exited process once, then forgets it) the last one before the program exits."""
    w = at = None
    before = rl.snapshot()
    try:
        w = rl.RelWorkload("execinto", [str(a) for a in new_argv])
        w.wait_ready()
        # a census lists every process on the machine: few hotspots keep its reports quick
        at = harness.Alloctop(_json(["-v", "--exact"], top=1) if census else _json(["-p", str(w.pid), "-v", *mode_args]))
        at.wait_attached()
        old_truth, old_sites = _old_truth(w.ask("alloc", "allocd "))
        old = _old_entry(rl.reports_after(at, len(at.reports()), 2), w.pid, old_truth)
        mark = len(at.err.lines)
        w.send("exec")
        if int(w.expect("ready ").split()[1]) != w.pid:
            fail("the exec'd program has another pid")
        _wait_moved(at, w.pid, mark)
        w.send("go")
        truth = json.loads(w.expect("{"))
        if census:
            rep = rl.reports_after(at, len(at.reports()), 2)
            w.finish()
            at.expect_ok(at.stop())
        else:
            w.finish()
            at.expect_ok(at.wait(60))
            rep = at.final_report()
            if harness.find_process(rep, w.pid).get("exited") is not True:
                fail("the exec'd target exited but is not marked exited")
        rl.assert_no_leftover(before, ours=[at.proc.pid])
        return old, truth, rep, w.pid, old_sites
    finally:
        for p in (w, at):
            if p:
                harness.kill(p.proc)


def test_exec_pid_drops_old_blocks_and_counts_new_program():
    """-p: execinto leaves 6 blocks and a mapping live, execs basic (every allocator
    function, same libc): afterwards live figures are basic's exactly, cumulative ones
    the sum, memalign named as such in both programs, old sites with nothing live."""
    old, truth, rep, pid, old_sites = _exec_under_pid([harness.workload_path("basic"), "--from-start"])
    _check_new_program("-p: execinto -> basic", rep, pid, old, truth, old_sites)
    if harness.find_process(rep, pid).get("comm") != "basic":
        fail("the process is still named %r after its exec" % harness.find_process(rep, pid).get("comm"))


def test_exec_follow_pid_counts_new_program():
    """The same under --follow (probes on whole files, process info re-planned from the
    exec record)."""
    old, truth, rep, pid, old_sites = _exec_under_pid([harness.workload_path("basic"), "--from-start"],
                                                      ["--follow"])
    _check_new_program("--follow -p: execinto -> basic", rep, pid, old, truth, old_sites)


def test_exec_census_counts_new_program():
    """The same under a census (every process; process info re-planned from the exec
    record, as --follow); process totals only, as the census lists few hotspots."""
    old, truth, rep, pid, _ = _exec_under_pid([harness.workload_path("basic"), "--from-start"], census=True)
    rl.check_fields("census: execinto -> basic", harness.find_process(rep, pid), _expect_after_exec(old, truth))


def test_exec_launch_is_exact_from_the_exec():
    """Launch mode stops the command at its exec and probes the new program before it
    runs: basic --nowait (its truth covers its whole life) is exact with the old
    program's work added."""
    truth_file = harness.SCRATCH / ("exec-truth-%d.json" % os.getpid())
    harness.SCRATCH.mkdir(parents=True, exist_ok=True)
    at = None
    before = rl.snapshot()
    try:
        at = harness.Alloctop(_json(["--", rl.rel_path("execinto"), "--now", harness.workload_path("basic"),
                                     "--nowait", "--truth", truth_file]))
        at.expect_ok(at.wait(60))
        rep = at.final_report()
        truth = json.loads(truth_file.read_text())
        pids = [p["pid"] for p in rep["processes"]]
        if len(pids) != 1:
            fail("want one process in the report, got %s" % pids)
        said = [l for l in at.err.lines if l.startswith("allocd ")]
        if len(said) != 1:
            fail("execinto --now wrote %d 'allocd' lines on stderr:\n%s" % (len(said), at.err.tail()))
        old, old_sites = _old_truth(said[0])
        _check_new_program("launch: execinto --now -> basic --nowait", rep, pids[0], old, truth, old_sites)
        rl.assert_no_leftover(before, ours=[at.proc.pid])
    finally:
        if at:
            harness.kill(at.proc)
        if truth_file.exists():
            truth_file.unlink()


def _exec_into_other_allocator(new_argv, env=None, label="", mmap_clean=True):
    """-p on execinto, which execs a program served by another allocator file (static
    glibc in the executable, jemalloc): the old links never fire there, the new ones come
    at the next refresh. The measured phase (after that) must be exact, and nothing of
    the old program may stay live."""
    w = at = None
    try:
        args = ([str(a) for a in ("--env", env)] if env else []) + [str(a) for a in new_argv]
        w = rl.RelWorkload("execinto", args)
        w.wait_ready()
        at = harness.Alloctop(_json(["-p", str(w.pid), "-v"]))
        at.wait_attached()
        old_truth, _ = _old_truth(w.ask("alloc", "allocd "))
        _old_entry(rl.reports_after(at, len(at.reports()), 2), w.pid, old_truth)
        mark = len(at.err.lines)
        w.send("exec")
        w.expect("ready ")
        _wait_moved(at, w.pid, mark)
        r0 = harness.find_process(rl.reports_after(at, len(at.reports()), 2), w.pid)
        w.send("go")
        truth = json.loads(w.expect("{"))
        rep = rl.reports_after(at, len(at.reports()), 2)
        r1 = harness.find_process(rep, w.pid)
        got = {"allocs": r1["allocs"] - r0["allocs"], "frees": r1["frees"] - r0["frees"],
               "live_allocs": r1["live_allocs"]}
        want = {k: truth[k] for k in got}
        sites = {}
        for h in rep["hotspots"]:
            if h["pid"] == w.pid and h["frames"] and h["frames"][0].get("symbol") in truth["sites"]:
                sites[h["frames"][0]["symbol"]] = sites.get(h["frames"][0]["symbol"], 0) + h["allocs"]
        if got != want or sites != truth["sites"]:
            fail("%s after the exec: %s, sites %s; want %s, sites %s" % (label, got, sites, want, truth["sites"]))
        old_live = {n: s["live_allocs"] for n, s in harness.site_totals(rep, w.pid).items() if n in OLD_SITES}
        if any(old_live.values()):
            fail("%s: the old program's blocks are still live: %s" % (label, old_live))
        # the old program's mapping is gone; the new one maps nothing itself (the
        # allocator's own mmaps before the probes moved may count: see README, Limits)
        if r1["mmap"]["live_bytes"] != (0 if mmap_clean else r0["mmap"]["live_bytes"]):
            fail("%s: mmap live bytes %s (%s before the measured phase)" % (label, r1["mmap"], r0["mmap"]))
        w.finish(cmd="exit")
        at.expect_ok(at.wait(60))
    finally:
        for p in (w, at):
            if p:
                harness.kill(p.proc)


def test_exec_into_static_binary():
    _exec_into_other_allocator([ROOT / "build/allocators/mix-static"], label="exec into a static binary")


def test_exec_into_jemalloc_program():
    if not os.path.exists(JEMALLOC):
        fail("%s is missing (tools/install-deps.sh installs it)" % JEMALLOC)
    _exec_into_other_allocator([ROOT / "build/allocators/mix"], env="LD_PRELOAD=" + JEMALLOC,
                               label="exec into a jemalloc program", mmap_clean=False)


# ---------------------------------------------------------------- census: children

def test_census_child_knows_alias_slots_and_allocator_text():
    """A census sees a forked child's allocator text and alias slots from its first
    instruction (the fork hook copies the parent's), not from the next rescan: with a
    long interval, a child that calls memalign and frees a 1 MiB block (glibc's free
    unmaps it) at once and exits has memalign counted as memalign and no munmap."""
    w = at = None
    try:
        w = rl.RelWorkload("forkexec")
        w.wait_ready()
        at = harness.Alloctop(_json(["--comm", "forkexec", "--exact"], interval=30))
        at.wait_attached()
        line = w.ask("forkalias", "forkedalias")
        child, said = int(line.split()[1]), rl.fields(line)
        at.expect_ok(at.stop())
        rep = at.final_report()
        rl.check_fields("census: forked child %d" % child, harness.find_process(rep, child), {
            "calls.memalign": said["memalign"], "calls.aligned_alloc": 0, "calls.malloc": said["malloc"],
            "calls.free": said["free"], "calls.munmap": 0, "calls.mmap": 0, "allocs": said["allocs"],
            "live_allocs": said["live_allocs"]})
        w.finish()
    finally:
        for p in (w, at):
            if p:
                harness.kill(p.proc)


# ---------------------------------------------------------------- idle targets

def test_idle_target_listed_in_json_and_text():
    """A target that makes no allocator call after attach is listed with zeros and its
    name, in JSON and in text, so a user sees it is traced."""
    w = at = None
    try:
        w = rl.RelWorkload("forkexec")
        w.wait_ready()
        at = harness.Alloctop(_json(["-p", str(w.pid), "-n", "2"]))
        at.expect_ok(at.wait(60))
        if len(at.reports()) != 2:
            fail("-n 2 printed %d reports" % len(at.reports()))
        for rep in at.reports():
            rl.check_fields("idle target in JSON", harness.find_process(rep, w.pid), {
                "comm": "forkexec", "allocs": 0, "frees": 0, "live_allocs": 0, "calls.malloc": 0,
                "calls.free": 0, "mmap.maps": 0})
        at = harness.Alloctop(["-p", str(w.pid), "-b", "-o", "text", "-d", "0.2", "-n", "1"])
        at.expect_ok(at.wait(60))
        text = at.out.text()
        if not re.search(r"\b%d\b" % w.pid, text) or "forkexec" not in text:
            fail("the text report does not list idle pid %d (forkexec):\n%s" % (w.pid, text[:2000]))
        w.finish()
    finally:
        for p in (w, at):
            if p:
                harness.kill(p.proc)


def test_idle_target_in_dashboard_process_table():
    import test_tui as tui
    tmp = tempfile.mkdtemp(prefix="alloctop-idle-")
    w = pane = None
    try:
        w = rl.RelWorkload("forkexec")
        w.wait_ready()
        pane = tui.Pane(100, 30, tmp)
        tui.start_alloctop(pane, w)
        def idle_row(s):        # the whole row: tmux may capture the screen mid-draw
            try:
                head, rows = tui.table(s)
                row = rows[str(w.pid)]
                return "forkexec" in row and tui.cell(head, row, "LIVE#") == "0"
            except (AssertionError, KeyError, IndexError):
                return False

        pane.press("2", lambda s: "COMMAND" in s and idle_row(s), 60)
        pane.keys("q")
        rc, s = pane.wait_exit()
        if rc != 0:
            fail("alloctop exit status %d:\n%s" % (rc, s))
        w.finish()
    finally:
        if pane:
            pane.close()
        if w:
            harness.kill(w.proc)
        shutil.rmtree(tmp, ignore_errors=True)


for _t in (test_idle_target_in_dashboard_process_table,):
    _t.TIMEOUT = 60
