"""Options end to end, each against the workloads' own truth: --follow (forked children
traced, alloctop exits when the tree is gone), a census with --comm and --exclude (and
alloctop leaving itself out), --sort and --top, --pprof-out alone and at each report,
-b implied by -o or by a stdout that is not a terminal, the text report's numbers, and
a full --max-procs table. Every wait is bounded; every process is killed by PID."""
import gzip
import json
import os
import pty
import re
import select
import subprocess
import time

import harness
from harness import check, fail
import test_reliability_lib as rl
import test_stacks as ts

NEEDS_ROOT = True


def _scratch(tag, ext="json"):
    harness.SCRATCH.mkdir(parents=True, exist_ok=True)
    return harness.SCRATCH / ("opt-%s-%d.%s" % (tag, os.getpid(), ext))


def _launch_basic(args, tag, timeout=120):
    """alloctop ARGS -- basic --nowait --truth FILE. Launch mode traces basic from its
    first instruction and its truth then covers its whole life, exactly. Returns
    (stdout, stderr, truth)."""
    tf = _scratch(tag)
    try:
        rc, out, err = harness.run_cmd([harness.ALLOCTOP, *args, "--", harness.workload_path("basic"),
                                        "--nowait", "--truth", tf], timeout)
        if rc != 0:
            fail("alloctop %s: exit status %d; stderr:\n%s" % (" ".join(map(str, args)), rc, err[-2000:]))
        return out, err, json.loads(tf.read_text())
    finally:
        if tf.exists():
            tf.unlink()


def _json_lines(out):
    return [json.loads(l) for l in out.splitlines() if l.startswith("{")]


# ---------------------------------------------------------------- --follow

def test_follow_traces_forked_children_and_exits_with_the_tree():
    """-p PARENT --follow: the child it forks is traced exactly (its own entry and site,
    marked exited), the parent too; when the parent, the last of the tree, exits,
    alloctop exits 0 by itself."""
    w, at = rl.RelWorkload("forkexec"), None
    before = rl.snapshot()
    try:
        w.wait_ready()
        at = harness.Alloctop(["-p", w.pid, "--follow", "-b", "-o", "json", "-d", "0.2", "--top", "100000"])
        at.wait_attached()
        line = w.ask("fork", "forked")
        child, said = int(line.split()[1]), rl.fields(line)
        w.finish()
        at.expect_ok(at.wait(60))
        reps = at.reports()
        final = at.final_report()
        diffs = harness.check_report_basics(final)
        p = harness.find_process(final, w.pid)
        for k, v in (("allocs", said["allocs"]), ("alloc_bytes", said["bytes"]), ("calls.malloc", said["allocs"]),
                     ("frees", 0), ("exited", True)):
            if harness._get(p, k) != v:
                diffs.append(("parent " + k, v, harness._get(p, k)))
        # the child exited before the parent said "forked": its last entry is complete
        last = [(r, q) for r in reps for q in r["processes"] if q["pid"] == child]
        if not last:
            fail("the forked child %d never had an entry under --follow" % child)
        rep, c = last[-1]
        n, nb = said["child_allocs"], said["child_bytes"]
        for k, v in (("allocs", n), ("frees", n), ("alloc_bytes", nb), ("free_bytes", nb), ("live_allocs", 0),
                     ("calls.malloc", n), ("calls.free", n), ("exited", True)):
            if harness._get(c, k) != v:
                diffs.append(("child " + k, v, harness._get(c, k)))
        # its stacks: all at site_child. Summed by pid, not by name: a followed child that
        # exits before a report has its stacks unsymbolized (module [unknown]), a known gap
        # of the symbolizer, not of the counts this test is about.
        hs = [h for h in rep["hotspots"] if h["pid"] == child]
        for k in ("allocs", "frees", "live_allocs"):
            got = sum(h[k] for h in hs)
            if got != (0 if k == "live_allocs" else n):
                diffs.append(("child hotspots' " + k, 0 if k == "live_allocs" else n, got))
        if diffs:
            fail(harness.format_diffs("--follow: forkexec %d and its child %d" % (w.pid, child), diffs))
        rl.assert_no_leftover(before, ours=[at.proc.pid])
    finally:
        harness.kill(w.proc)
        if at:
            harness.kill(at.proc)


# ---------------------------------------------------------------- census filters

def _census(args, wls):
    """A census with ARGS while the workloads run their measured phase; returns
    (alloctop, every report, the last report)."""
    at = harness.Alloctop(["-b", "-o", "json", "-d", "0.3", "--exact", *args])
    at.wait_attached()
    for w in wls:
        w.send("go")
    for w in wls:
        w.read_truth()
    rep = rl.reports_after(at, len(at.reports()), 2)
    at.expect_ok(at.stop())
    return at, at.reports(), rep


def test_census_comm_keeps_others_out():
    """--comm basic: basic is counted exactly; threads (running at the same time) and
    alloctop never appear; every process listed is named basic."""
    a, b = harness.Workload("basic"), harness.Workload("threads")
    try:
        a.wait_ready()
        b.wait_ready()
        at, reps, rep = _census(["--top", "100000", "--comm", "basic"], [a, b])
        others = sorted({(p["pid"], p["comm"]) for r in reps for p in r["processes"] if p["comm"] != "basic"})
        if others:
            fail("--comm basic listed other processes: %s" % others[:10])
        if any(p["pid"] in (b.pid, at.proc.pid) for r in reps for p in r["processes"]):
            fail("--comm basic listed threads (%d) or alloctop (%d)" % (b.pid, at.proc.pid))
        diffs = harness.diff_process(a.truth, harness.find_process(rep, a.pid))
        diffs += harness.diff_sites(a.truth, rep, a.pid)
        if diffs:
            fail(harness.format_diffs("census --comm basic (pid %d)" % a.pid, diffs))
        a.finish()
        b.finish()
    finally:
        harness.kill(a.proc)
        harness.kill(b.proc)


def test_census_exclude_and_alloctop_leaves_itself_out():
    """--exclude A: A never appears, B (running at the same time) is counted exactly,
    and alloctop, which allocates for every report, never lists itself. (Other processes
    on the machine are listed too; only these are checked. Few hotspots keep the
    machine-wide reports quick.)"""
    a, b = harness.Workload("basic"), harness.Workload("basic", nofp=True)
    try:
        a.wait_ready()
        b.wait_ready()
        at, reps, rep = _census(["--top", "1", "--exclude", a.pid], [a, b])
        listed = {p["pid"] for r in reps for p in r["processes"]}
        if a.pid in listed:
            fail("--exclude %d: it is listed" % a.pid)
        if at.proc.pid in listed:
            fail("alloctop (pid %d) listed itself" % at.proc.pid)
        diffs = harness.diff_process(b.truth, harness.find_process(rep, b.pid))
        if diffs:
            fail(harness.format_diffs("census --exclude %d: basic-nofp (pid %d)" % (a.pid, b.pid), diffs))
        a.finish()
        b.finish()
    finally:
        harness.kill(a.proc)
        harness.kill(b.proc)


# ---------------------------------------------------------------- --sort and --top

SORT_KEYS = {"alloc-bytes": "alloc_bytes", "allocs": "allocs", "live-bytes": "live_bytes",
             "live-allocs": "live_allocs"}


def test_sort_and_top():
    """basic launched (deterministic: the same hotspots every run): every hotspot with
    --top 100000, exact against the truth and in alloc-bytes order (the default); then
    --top 3 --sort KEY lists exactly the 3 largest by KEY, largest first."""
    out, _, truth = _launch_basic(["-b", "-o", "json", "--top", "100000"], "all")
    full = _json_lines(out)[-1]
    pid = full["processes"][0]["pid"]
    harness.assert_exact(truth, full, pid, "basic, launched, every hotspot")
    order = [h["alloc_bytes"] for h in full["hotspots"]]
    if order != sorted(order, reverse=True):
        fail("default order is not by alloc_bytes, largest first: %s" % order)
    for key, field in SORT_KEYS.items():
        out, _, _ = _launch_basic(["-b", "-o", "json", "--top", "3", "--sort", key], key)
        rep = _json_lines(out)[-1]
        got = [h[field] for h in rep["hotspots"]]
        want = sorted((h[field] for h in full["hotspots"]), reverse=True)[:3]
        if got != want:
            fail("--top 3 --sort %s: %s %s, want %s" % (key, field, got, want))


# ---------------------------------------------------------------- pprof

def _profile_totals(path):
    prof = ts._msg(gzip.decompress(path.read_bytes()), ts.PROFILE)
    return [sum(s["value"][i] for s in prof["sample"]) for i in range(4)]


def test_pprof_alone():
    """--pprof-out FILE alone, and -o pprof --pprof-out FILE: nothing on stdout, and the
    profile's totals are the workload's truth."""
    path = _scratch("alone", "pb.gz")
    try:
        for args in (["--pprof-out", path], ["-o", "pprof", "--pprof-out", path]):
            out, _, truth = _launch_basic(["-d", "0.2", *args], "pprof")
            if out.strip():
                fail("%s printed on stdout: %r" % (" ".join(map(str, args)), out[:300]))
            got = _profile_totals(path)
            want = [truth["allocs"], truth["alloc_bytes"], truth["live_allocs"], truth["live_bytes"]]
            if got != want:
                fail("%s: profile totals %s, the truth %s" % (" ".join(map(str, args)), got, want))
            path.unlink()
    finally:
        if path.exists():
            path.unlink()


def test_pprof_out_at_each_report():
    """-p with --pprof-out: the file is there from the first report (empty: nothing
    allocated since the attach) and replaced at each one: once the workload's measured
    phase is over its totals are the truth, while alloctop still runs."""
    path = _scratch("each", "pb.gz")
    w, at = harness.Workload("basic"), None
    try:
        w.wait_ready()
        at = harness.Alloctop(harness.base_args([w.pid], 0.2) + ["--pprof-out", path])
        at.wait_attached()
        rl.reports_after(at, 0, 1)
        if not path.exists():
            fail("no %s after the first report" % path)
        first = _profile_totals(path)
        if first != [0, 0, 0, 0]:
            fail("the profile before the measured phase has totals %s, want none" % first)
        w.send("go")
        truth = w.read_truth()
        rl.reports_after(at, len(at.reports()), 2)
        got = _profile_totals(path)
        want = [truth["allocs"], truth["alloc_bytes"], truth["live_allocs"], truth["live_bytes"]]
        if got != want:
            fail("profile totals %s while running, the truth %s" % (got, want))
        at.expect_ok(at.stop())
        w.finish()
    finally:
        harness.kill(w.proc)
        if at:
            harness.kill(at.proc)
        if path.exists():
            path.unlink()


# ---------------------------------------------------------------- -b implied

def test_batch_implied_by_a_pipe():
    """No -b, no -o, stdout a pipe: text reports, no dashboard (no escape sequences)."""
    out, _, truth = _launch_basic(["-d", "0.2"], "pipe")
    if "\x1b" in out or "=== alloctop" not in out:
        fail("want text reports on a pipe, got: %r" % out[:500])
    m = re.findall(r"allocs (\d+) \(", out)
    if not m or int(m[-1]) != truth["allocs"]:
        fail("the final text report says allocs %s, the truth %d" % (m[-1:] or None, truth["allocs"]))


def test_batch_implied_by_output_on_a_terminal():
    """-o json with stdout a terminal: JSON reports, not the dashboard."""
    tf = _scratch("tty")
    master, slave = pty.openpty()
    p = None
    try:
        p = subprocess.Popen([str(harness.ALLOCTOP), "-o", "json", "-d", "0.2", "--top", "100000", "--",
                              str(harness.workload_path("basic")), "--nowait", "--truth", str(tf)],
                             stdin=subprocess.DEVNULL, stdout=slave, stderr=subprocess.PIPE, cwd=str(harness.ROOT))
        harness.STARTED.append(p)
        os.close(slave)
        slave = None
        buf = b""
        deadline = time.monotonic() + 120
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                fail("alloctop -o json on a terminal did not finish within 120 s; got %r" % buf[-500:])
            if not select.select([master], [], [], min(left, 1))[0]:
                continue
            try:
                chunk = os.read(master, 65536)
            except OSError:        # EIO: the terminal's last writer is gone
                break
            if not chunk:
                break
            buf += chunk
        rc = harness.wait_exit(p, 30, "alloctop -o json on a terminal")
        check(rc == 0, "exit status %d; stderr %s" % (rc, p.stderr.read().decode(errors="replace")[-1000:]))
        text = buf.decode(errors="replace").replace("\r", "")
        if "\x1b" in text:
            fail("escape sequences on the terminal: the dashboard ran despite -o json: %r" % text[:300])
        reps = [json.loads(l) for l in text.splitlines() if l.strip()]
        truth = json.loads(tf.read_text())
        if not reps or reps[-1].get("final") is not True:
            fail("no final JSON report on the terminal: %r" % text[-300:])
        harness.assert_exact(truth, reps[-1], reps[-1]["processes"][0]["pid"], "-o json on a terminal")
    finally:
        if slave is not None:
            os.close(slave)
        os.close(master)
        if p:
            harness.kill(p)
        if tf.exists():
            tf.unlink()


# ---------------------------------------------------------------- text numbers

def test_text_numbers_match_truth():
    """-o text: the final report's counts (allocations, frees, live blocks, untracked
    frees, temporaries, every call, maps and unmaps) and each site's allocations, live
    blocks and frees, summed over its hotspots, are the truth. Byte figures are rounded
    for reading (1.6M), so they are not compared; the JSON tests check bytes exactly."""
    out, _, truth = _launch_basic(["-b", "-o", "text", "--top", "100000", "-d", "60"], "text")
    final = out[out.rfind("=== alloctop"):]
    diffs = []
    m = re.search(r"allocs (\d+) \(.*?\)\s+frees (\d+) \(.*?\)\s+live (\d+) blocks,.*?untracked frees (\d+)"
                  r"\s+temporary (\d+)", final)
    if not m:
        fail("no totals line in the final text report:\n%s" % final[:1500])
    for k, v in zip(("allocs", "frees", "live_allocs", "untracked_frees", "temp_allocs"), m.groups()):
        if int(v) != truth[k]:
            diffs.append((k, truth[k], int(v)))
    calls = re.search(r"calls: (.*)", final)
    shown = dict(re.findall(r"([a-z_]+) (\d+)", calls.group(1))) if calls else {}
    for k in harness.CALLS:
        if truth["calls"][k] and int(shown.get(k, -1)) != truth["calls"][k]:
            diffs.append(("calls." + k, truth["calls"][k], shown.get(k)))
    mm = re.search(r"mmap: (\d+) maps, (\d+) unmaps", final)
    if not mm or (int(mm.group(1)), int(mm.group(2))) != (truth["mmap"]["maps"], truth["mmap"]["unmaps"]):
        diffs.append(("mmap maps, unmaps", (truth["mmap"]["maps"], truth["mmap"]["unmaps"]), mm and mm.groups()))
    sites = {}
    for hm in re.finditer(r"^#\d+\s+pid \d+\s+allocs (\d+)\s+bytes \S+\s+live (\d+) \(.*?\)\s+frees (\d+).*\n"
                          r"\s+(\S+?)\+0x", final, re.M):
        t = sites.setdefault(hm.group(4), [0, 0, 0])
        for i in range(3):
            t[i] += int(hm.group(i + 1))
    for name, want in sorted(truth["sites"].items()):
        got = sites.get(name)
        if not got or got[0] != want["allocs"] or got[1] != want["live_allocs"]:
            diffs.append(("sites." + name + " allocs, live", (want["allocs"], want["live_allocs"]),
                          got and tuple(got[:2])))
    if diffs:
        fail(harness.format_diffs("basic, -o text", diffs))


# ---------------------------------------------------------------- --max-procs

def test_full_max_procs_table():
    """--max-procs 16 with 17 targets that allocate one after another: the first 16 are
    exact, the 17th has no entry, and the loss is counted as proc_map_full, the whole of
    dropped. (Its size is one per probe hit of the 17th, allocator-internal mmaps
    included, which no workload can print: only its being there is checked.)"""
    wls, at = [], None
    try:
        wls = [harness.Workload("basic") for _ in range(17)]
        for w in wls:
            w.wait_ready()
        at = harness.Alloctop(harness.base_args([w.pid for w in wls], 0.2) + ["--max-procs", "16"])
        at.wait_attached()
        for w in wls:       # one after another: the table fills in this order
            w.send("go")
            w.read_truth()
        at.expect_ok(at.stop())
        rep = at.final_report()
        diffs = []
        for w in wls[:16]:
            diffs += [("pid %d %s" % (w.pid, k), a, b)
                      for k, a, b in harness.diff_process(w.truth, harness.find_process(rep, w.pid))]
        if any(p["pid"] == wls[16].pid for p in rep["processes"]):
            diffs.append(("pid %d (the 17th)" % wls[16].pid, "no entry", "an entry"))
        d = rep["drops"]
        if not d["proc_map_full"] or rep["dropped"] != d["proc_map_full"]:
            diffs.append(("drops", "proc_map_full > 0, all of dropped", "%r, dropped %r" % (d, rep["dropped"])))
        if diffs:
            fail(harness.format_diffs("--max-procs 16, 17 targets", diffs))
        for w in wls:
            w.finish()
    finally:
        for w in wls:
            harness.kill(w.proc)
        if at:
            harness.kill(at.proc)


for _t in (test_sort_and_top, test_full_max_procs_table, test_census_exclude_and_alloctop_leaves_itself_out,
           test_census_comm_keeps_others_out):
    _t.TIMEOUT = 300
