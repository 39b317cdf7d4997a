"""alloctop --growth against tests/workloads/growth.c: page faults attributed to the
function whose instruction faulted, exactly as many as the workload touched fresh pages;
brk and anonymous mmap by calling stack; RSS growth; and not one allocator probe."""
import gzip
import json
import os
import re
import time

import harness
from harness import fail

NEEDS_ROOT = True
TOUCH = ("touch_brk", "touch_mmap", "touch_partial", "touch_huge")
BPF_PROG_TYPE_KPROBE = 2        # uprobes are kprobe-type programs


def syms(h):
    return [f.get("symbol") for f in h.get("frames", [])]


def bpf_fds(pid):
    """(prog types, link types) of the BPF descriptors process pid holds, from fdinfo."""
    progs, links = [], []
    for fd in os.listdir("/proc/%d/fdinfo" % pid):
        try:
            with open("/proc/%d/fdinfo/%s" % (pid, fd)) as f:
                info = f.read()
        except OSError:
            continue
        m = re.search(r"^link_type:\s*(\S+)", info, re.M)
        if m:
            links.append(m.group(1))
            continue
        m = re.search(r"^prog_type:\s*(\d+)", info, re.M)
        if m:
            progs.append(int(m.group(1)))
    return progs, links


def probes_while_running(args, wl_name="growth", nofp=False):
    """Starts the workload and alloctop with args + -p PID, records the BPF descriptors
    alloctop holds once attached, runs the measured phase, stops alloctop. Returns
    (final report, truth, (prog types, link types))."""
    w, at = harness.Workload(wl_name, nofp), None
    try:
        w.wait_ready()
        at = harness.Alloctop(args + harness.base_args([w.pid]))
        at.wait_attached()
        fds = bpf_fds(at.proc.pid)
        w.send("go")
        w.read_truth()
        at.expect_ok(at.stop())
        w.finish()
        return at, w.truth, fds
    finally:
        harness.kill(w.proc)
        if at:
            harness.kill(at.proc)


def check_growth(rep, truth, pid, label, whole=False, calls=False):
    """whole: alloctop saw the process from its exec (a launched command): its RSS growth
    is the workload's final RSS, and includes what was not a fault (files mapped).
    calls: --growth-calls, the brk and mmap calls by stack are listed."""
    problems = []
    proc = harness.find_process(rep, pid)
    g = proc.get("growth")
    if rep.get("mode") != "growth" or not isinstance(g, dict):
        fail("%s: no growth report (mode %r, growth %r)" % (label, rep.get("mode"), g))
    for k in ("fault_pages", "fault_bytes", "brk_bytes", "mmap_bytes", "rss_bytes"):
        if not isinstance(g.get(k), int):
            problems.append("growth.%s = %r" % (k, g.get(k)))
    hs = [h for h in rep["hotspots"] if h["pid"] == pid]
    page = truth["page"]
    # each touching function: its faults, exactly, with frames[0] the faulting function
    for fn in TOUCH:
        mine = [h for h in hs if syms(h)[:1] == [fn]]
        pages = sum(h["fault_pages"] for h in mine)
        fbytes = sum(h["fault_bytes"] for h in mine)
        want = truth["fault_pages"][fn]
        if pages != want or fbytes != want * page:
            problems.append("%s: %d fault pages (%d bytes), want %d" % (fn, pages, fbytes, want))
        if mine and syms(mine[0])[1:2] != ["main"]:
            problems.append("%s: caller %s, want main" % (fn, syms(mine[0])[:4]))
        elsewhere = [h for h in hs if fn in syms(h)[1:]]
        if elsewhere:
            problems.append("%s also below frames[0]: %s" % (fn, [syms(h)[:3] for h in elsewhere]))
    never = [syms(h)[:4] for h in hs if "map_never" in syms(h)]
    if never:
        problems.append("faults at the never-touched mapping: %s" % never)
    if calls:
        problems += check_calls(rep, truth, pid)
    elif "growth_calls" in rep:
        problems.append("growth_calls listed without --growth-calls")
    touched = sum(truth["fault_pages"].values())
    if g.get("fault_pages", 0) < touched or g.get("fault_bytes") != g.get("fault_pages", 0) * page:
        problems.append("process fault_pages %r (bytes %r), want at least %d" % (g.get("fault_pages"),
                        g.get("fault_bytes"), touched))
    if g.get("brk_bytes", 0) < truth["brk_bytes"]:
        problems.append("process brk_bytes %r < %d" % (g.get("brk_bytes"), truth["brk_bytes"]))
    mapped = truth["mmap_bytes"]["map_touched"] + truth["mmap_bytes"]["map_never"] + truth["big_bytes"]
    if g.get("mmap_bytes", 0) < mapped:
        problems.append("process mmap_bytes %r < %d" % (g.get("mmap_bytes"), mapped))
    # RSS: the workload's own statm reading is approximate (per-CPU counter batches)
    rss = (truth["rss_after_pages"] - (0 if whole else truth["rss_before_pages"])) * page
    if not abs(g.get("rss_bytes", 0) - rss) <= 0.1 * rss:
        problems.append("rss_bytes %r, the workload saw %d (not within 10%%)" % (g.get("rss_bytes"), rss))
    if not whole and not abs(g.get("fault_bytes", 0) - rss) <= 0.1 * rss:
        problems.append("fault_bytes %r against RSS growth %d: not within 10%%" % (g.get("fault_bytes"), rss))
    if problems:
        fail("%s:\n    %s" % (label, "\n    ".join(problems)))


def check_calls(rep, truth, pid):
    """--growth-calls: brk and mmap by the stack of the call, exactly what was asked."""
    problems = []
    calls = [c for c in rep.get("growth_calls", []) if c["pid"] == pid]

    def call_bytes(fn, key):
        return sum(c[key] for c in calls if fn in syms(c))

    for fn, key, want in (("grow_brk", "brk_bytes", truth["brk_bytes"]),
                          ("map_touched", "mmap_bytes", truth["mmap_bytes"]["map_touched"]),
                          ("map_never", "mmap_bytes", truth["mmap_bytes"]["map_never"])):
        if call_bytes(fn, key) != want:
            problems.append("%s: %s %d, want %d" % (fn, key, call_bytes(fn, key), want))
    if call_bytes("big_malloc", "mmap_bytes") < truth["big_bytes"]:
        problems.append("big_malloc: mmap_bytes %d, want at least %d"
                        % (call_bytes("big_malloc", "mmap_bytes"), truth["big_bytes"]))
    return problems


def check_no_allocator_probe(fds, label, calls=False):
    progs, links = fds
    if BPF_PROG_TYPE_KPROBE in progs or any("uprobe" in l or "kprobe" in l for l in links):
        fail("%s: allocator probes attached: prog types %s, links %s" % (label, sorted(set(progs)), links))
    if not links:
        fail("%s: alloctop holds no BPF link at all (prog types %s)" % (label, sorted(set(progs))))
    # syscall tracepoints (perf_event links) slow every system call: only with --growth-calls
    if ("perf" in links) != calls:
        fail("%s: links %s: syscall tracepoints %s" % (label, links, "missing" if calls else "attached"))


def test_growth_no_allocator_probes_control():
    """The check below can fail: exact mode holds uprobe_multi links and kprobe-type
    programs."""
    at, truth, fds = probes_while_running([])
    progs, links = fds
    if "uprobe_multi" not in links or BPF_PROG_TYPE_KPROBE not in progs:
        fail("exact mode: want uprobe_multi links and kprobe programs, got %s %s" % (links, sorted(set(progs))))


def check_pprof(path, rep, truth):
    """The profile's default sample type is fault_bytes; per leaf function its
    fault_bytes are the workload's."""
    import test_stacks     # its stdlib pprof decoder
    prof = test_stacks._msg(gzip.decompress(path.read_bytes()), test_stacks.PROFILE)
    st = prof["string_table"]
    types = [st[t["type"]] for t in prof["sample_type"]]
    if types != ["fault_pages", "fault_bytes", "resident_pages", "resident_bytes"] or \
            st[prof["default_sample_type"]] != "fault_bytes":
        fail("pprof sample types %s, default %s" % (types, st[prof["default_sample_type"]]))
    funcs = {f["id"]: st[f["name"]] for f in prof["function"]}
    leaf_of = {l["id"]: funcs.get(l["line"][0]["function_id"]) if l["line"] else None for l in prof["location"]}
    got = {}
    for smp in prof["sample"]:
        leaf = leaf_of.get(smp["location_id"][0]) if smp["location_id"] else None
        if leaf in TOUCH:
            got[leaf] = got.get(leaf, 0) + smp["value"][1]
    want = {fn: truth["fault_pages"][fn] * truth["page"] for fn in TOUCH}
    if got != want:
        fail("pprof fault_bytes per leaf %s, want %s" % (got, want))


def growth_pid(nofp, calls):
    harness.SCRATCH.mkdir(parents=True, exist_ok=True)
    pb = harness.SCRATCH / ("growth-%d.pb.gz" % os.getpid())
    at, truth, fds = probes_while_running(["--growth-calls" if calls else "--growth", "--pprof-out", pb],
                                          nofp=nofp)
    label = "growth -p" + (" (nofp)" if nofp else "") + (" --growth-calls" if calls else "")
    check_no_allocator_probe(fds, label, calls)
    rep = at.final_report()
    check_growth(rep, truth, truth["pid"], label, calls=calls)
    check_pprof(pb, rep, truth)
    pb.unlink()


def test_growth_pid():
    growth_pid(False, False)


def test_growth_pid_nofp_calls():
    """-O2 without frame pointers: stacks from the .eh_frame unwinder at the fault and at
    the system calls."""
    growth_pid(True, True)


def test_growth_under_uretprobes():
    """Another tracer's return probes (here exact mode's, on mmap and malloc) replace
    return addresses with the uretprobe trampoline: the stacks still name every caller."""
    w, exact, grow = harness.Workload("growth"), None, None
    try:
        w.wait_ready()
        exact = harness.Alloctop(harness.base_args([w.pid]))
        exact.wait_attached()
        grow = harness.Alloctop(["--growth-calls"] + harness.base_args([w.pid]))
        grow.wait_attached()
        w.send("go")
        w.read_truth()
        grow.expect_ok(grow.stop())
        exact.expect_ok(exact.stop())
        w.finish()
        check_growth(grow.final_report(), w.truth, w.pid, "growth beside exact mode", calls=True)
    finally:
        harness.kill(w.proc)
        for at in (exact, grow):
            if at:
                harness.kill(at.proc)


def test_growth_launch():
    harness.SCRATCH.mkdir(parents=True, exist_ok=True)
    tf = harness.SCRATCH / ("growth-truth-%d.json" % os.getpid())
    if tf.exists():
        tf.unlink()
    at = harness.Alloctop(["--growth-calls", "-b", "-o", "json", "-d", "1", "--top", "100000", "--",
                           harness.workload_path("growth"), "--nowait", "--truth", tf])
    try:
        at.expect_ok(at.wait(60))
        if not tf.exists():
            fail("the workload wrote no truth file; alloctop stderr:\n" + at.err.tail())
        truth = json.loads(tf.read_text())
        check_growth(at.final_report(), truth, truth["pid"], "growth -- CMD", whole=True, calls=True)
    finally:
        harness.kill(at.proc)
        if tf.exists():
            tf.unlink()


def test_growth_systemwide():
    """No -p: every process; the workload's sites are exact among them."""
    w, at = None, None
    try:
        at = harness.Alloctop(["--growth", "-b", "-o", "json", "-d", "1", "--top", "100000"])
        at.wait_attached()
        fds = bpf_fds(at.proc.pid)
        w = harness.Workload("growth")
        w.wait_ready()
        # its first faults flag it for unwind tables, read at a later refresh: go once a
        # report lists its program among the modules with tables
        exe = str(harness.workload_path("growth"))
        deadline = time.monotonic() + harness.TRUTH_TIMEOUT
        while time.monotonic() < deadline:
            reps = at.reports()
            if reps and any(m.get("path") == exe for m in reps[-1]["unwind"]["modules"]):
                break
            time.sleep(0.1)
        else:
            fail("no report listed unwind tables for %s" % exe)
        w.send("go")
        w.read_truth()
        # the next report covers the whole phase: wait for one that lists its sites
        deadline = time.monotonic() + harness.TRUTH_TIMEOUT
        while time.monotonic() < deadline:
            reps = at.reports()
            if reps and any(h["pid"] == w.pid and syms(h)[:1] == ["touch_partial"] for h in reps[-1]["hotspots"]):
                break
            time.sleep(0.2)
        at.expect_ok(at.stop())
        w.finish()
        check_no_allocator_probe(fds, "growth system-wide")
        check_growth(at.final_report(), w.truth, w.pid, "growth system-wide", whole=True)
    finally:
        if w:
            harness.kill(w.proc)
        if at:
            harness.kill(at.proc)


test_growth_systemwide.TIMEOUT = 300     # under ASan, tables for every process come first


def test_growth_folded():
    """-o folded weighs fault bytes by default with --growth."""
    w, at2 = harness.Workload("growth"), None
    try:
        w.wait_ready()
        at2 = harness.Alloctop(["--growth", "-p", str(w.pid), "-b", "-o", "folded", "-d", "1"])
        at2.wait_attached()
        w.send("go")
        w.read_truth()
        at2.expect_ok(at2.stop())
        w.finish()
        got = {}
        for line in at2.out.lines:
            stack, _, weight = line.rpartition(" ")
            leaf = stack.split(";")[-1]
            if leaf in TOUCH:
                got[leaf] = got.get(leaf, 0) + int(weight)
        want = {fn: w.truth["fault_pages"][fn] * w.truth["page"] for fn in TOUCH}
        if got != want:
            fail("folded fault-bytes per leaf %s, want %s" % (got, want))
    finally:
        harness.kill(w.proc)
        if at2:
            harness.kill(at2.proc)


def test_growth_usage_errors():
    for args, what in ((["--growth", "--max-overhead", "5", "-p", "1"], "max-overhead"),
                       (["--weight", "fault-bytes", "-p", "1"], "--growth"),
                       (["--growth", "--lib", "/bin/true", "-p", "1"], "--lib")):
        rc, out, err = harness.run_cmd([harness.ALLOCTOP, *args])
        if rc != 2 or what not in err:
            fail("alloctop %s: status %d, stderr %r; want 2 and a message naming %s"
                 % (" ".join(args), rc, err.strip(), what))


def test_growth_dashboard():
    """The dashboard in growth mode: its title says what the columns count, the faulting
    functions are its sites with their exact page counts (totals view), q quits."""
    import tempfile
    import shutil
    import test_tui
    tmp = tempfile.mkdtemp(prefix="alloctop-growth-tui-")
    w = pane = None
    try:
        w = harness.Workload("growth")
        w.wait_ready()
        pane = test_tui.Pane(140, 40, tmp)
        pane.type("clear; cd %s && %s --growth -d 0.5 -p %d; echo EXIT=$?" % (harness.ROOT, harness.ALLOCTOP, w.pid))
        pane.wait_for("alloctop --growth (allocs = pages faulted in", 30)
        w.send("go")
        w.read_truth()

        def shown(s):
            if "totals since attach" not in s:
                return False
            head = next((l for l in s.splitlines() if "SITE" in l), None)
            rows = {l.split()[0]: l for l in s.splitlines() if l.split() and l.split()[0] in TOUCH}
            return head and all(fn in rows and test_tui.cell(head, rows[fn], "ALLOCS") ==
                                str(w.truth["fault_pages"][fn]) for fn in TOUCH)
        pane.press("c", shown, 20)
        pane.keys("q")
        rc, s = pane.wait_exit()
        if rc != 0:
            fail("alloctop --growth dashboard exit status %d:\n%s" % (rc, s))
        w.finish()
    finally:
        if pane:
            pane.close()
        if w:
            harness.kill(w.proc)
        shutil.rmtree(tmp, ignore_errors=True)
