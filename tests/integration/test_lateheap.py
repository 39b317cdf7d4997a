"""Heap truth for a process attached after its heap was built (issue 20): alloctop reads
glibc's own state (arenas, chunks, fastbins, tcaches, mmapped chunks) and must report
what mallinfo2() reports, exactly, at a quiescent point; without libc's debug file it
says so in one line and falls back to "tracked"."""
import json
import os

import harness
from harness import check

import test_reliability_lib as rl

NEEDS_ROOT = True
MI_KEYS = ("arena", "ordblks", "smblks", "hblks", "hblkhd", "fsmblks", "uordblks", "fordblks", "keepcost")
TCACHE_FILL = 7     # glibc's default tcache_count: the pre-attach frees fill one bin per thread
CHUNK_64 = 80       # request2size(64)
LIBC_OWN = 16       # libc's own live chunks at most: tcache structs, thread DTVs


def _late(args, env=None):
    """Builds the heap, attaches, sends go, stops alloctop once the workload has printed
    mallinfo2 (it then waits, so the final report's fresh heap pass sees the same heap).
    Returns (built mallinfo, truth after go, final fragmentation, alloctop stderr)."""
    wl = rl.RelWorkload("lateheap", argv=[str(harness.workload_path("lateheap")), *args])
    wl.wait_ready()
    built = json.loads(wl.out.lines[wl.pos - 2].split(" ", 1)[1])
    at = harness.Alloctop(["-p", wl.pid, "-b", "-o", "json", "-d", "0.5"], env=env)
    try:
        at.wait_attached()
        truth = json.loads(wl.ask("go", "{", timeout=harness.TRUTH_TIMEOUT))
        at.expect_ok(at.stop())
        rep = at.final_report()
    finally:
        if at.proc.poll() is None:
            at.stop()
        wl.finish()
    procs = [p for p in rep["processes"] if p["pid"] == wl.pid]
    check(procs and procs[0]["fragmentation"], "no fragmentation for the workload: %s" % rep["processes"])
    return built, truth, procs[0]["fragmentation"], at.err.lines


def _check_exact(truth, f):
    check(f["source"] == "allocator", "source %r (%s)" % (f["source"], f.get("unknown_reason")))
    mi = f["mallinfo"]
    for k in MI_KEYS:
        check(mi[k] == truth[k], "%s: alloctop %s, mallinfo2 %s" % (k, mi[k], truth[k]))
    total = truth["arena"] + truth["hblkhd"]
    # the heap: the allocator's own regions, arena + hblkhd to the byte
    check(f["heap_bytes"] == total, "heap_bytes %d vs arena + hblkhd %d" % (f["heap_bytes"], total))
    # free space: glibc's fordblks plus the tcache chunks it counts as used
    check(f["free_bytes"] == truth["fordblks"] + mi["tcache_bytes"],
          "free_bytes %d vs fordblks %d + tcache %d" % (f["free_bytes"], truth["fordblks"], mi["tcache_bytes"]))
    ratio = truth["fordblks"] / total
    check(abs(f["ratio"] - ratio) <= 0.03, "ratio %.4f vs mallinfo2 %.4f" % (f["ratio"], ratio))
    threads = truth["threads"]
    # each thread's pre-attach frees fill its 64 B tcache bin; the main thread's 100 mallocs
    # after go empty it (and refill it from the fastbin), --free-half fills it again
    want = TCACHE_FILL * (threads + (1 if truth["free_half"] else 0))
    check(mi["tcache_count"] == want, "tcache entries %d, expected %d" % (mi["tcache_count"], want))
    check(mi["tcache_bytes"] == mi["tcache_count"] * CHUNK_64, "tcache bytes %d" % mi["tcache_bytes"])
    check(mi["arenas"] == 1 + threads, "arenas %d, expected %d" % (mi["arenas"], 1 + threads))
    # every live block, whatever its age: the workload's own exactly, plus libc's few
    new = f["live_allocs_all"] - f["preattach_allocs"]
    check(new == truth["new_held"], "blocks since attach %d, workload %d" % (new, truth["new_held"]))
    extra = f["preattach_allocs"] - truth["preattach_held"]
    check(0 < extra <= LIBC_OWN, "pre-attach blocks %d, workload holds %d" % (f["preattach_allocs"],
                                                                             truth["preattach_held"]))
    check(f["mmapped_found"] == truth["hblks"], "mmapped chunks found %d of %d" % (f["mmapped_found"],
                                                                                 truth["hblks"]))
    check(f["live_bytes_all"] + f["free_bytes"] <= f["heap_bytes"])


def test_compact_heap_attached_late():
    built, truth, f, _ = _late([])
    check(built["uordblks"] > 20_000_000, "the workload built %d bytes before the attach" % built["uordblks"])
    _check_exact(truth, f)
    check(f["ratio"] < 0.01, "compact heap: ratio %.4f" % f["ratio"])


def test_half_freed_after_attach():
    _, truth, f, _ = _late(["--free-half"])
    _check_exact(truth, f)
    check(truth["fsmblks"] > 0, "fastbin chunks present")
    small = sum(h["count"] for h in f["hole_hist"] if h["hi"] < 256)
    check(small > 90_000, "every other 64 B block freed: %d small holes" % small)
    check(f["ratio"] > 0.4, "half freed: ratio %.4f" % f["ratio"])


def test_threads_several_arenas():
    _, truth, f, _ = _late(["--threads", "--free-half"])
    _check_exact(truth, f)


def test_missing_debug_file_says_so():
    env = dict(os.environ, ALLOCTOP_DEBUG_DIR="/nonexistent/alloctop-test-debug")
    _, _, f, err = _late([], env=env)
    lines = [l for l in err if "libc6-dbg" in l]
    check(len(lines) == 1, "one line naming the package, got:\n%s" % "\n".join(err))
    check("no debug info" in lines[0] and "/nonexistent/alloctop-test-debug/.build-id/" in lines[0],
          "the line names what is missing: %s" % lines[0])
    check(f["source"] == "tracked", "source %r" % f["source"])
    check(f["partial"] is True, "attached late without the allocator's state: partial")
    check("libc6-dbg" in f["unknown_reason"], "reason %r" % f["unknown_reason"])
    check(all(v is None for v in f["mallinfo"].values()), "unknown figures are null: %s" % f["mallinfo"])
    check(f["live_allocs_all"] is None and f["preattach_allocs"] is None)


def test_text_report_uses_allocator_state():
    wl = rl.RelWorkload("lateheap", argv=[str(harness.workload_path("lateheap")), "--free-half"])
    wl.wait_ready()
    at = harness.Alloctop(["-p", wl.pid, "-b", "-o", "text", "-d", "0.5"])
    try:
        at.wait_attached()
        truth = json.loads(wl.ask("go", "{", timeout=harness.TRUTH_TIMEOUT))
        at.expect_ok(at.stop())
    finally:
        if at.proc.poll() is None:
            at.stop()
        wl.finish()
    final = "\n".join(at.out.lines).split("(final)")[-1]
    heap = [l for l in final.splitlines() if l.strip().startswith("heap ") and "[glibc's state]" in l]
    check(heap, "no allocator-read heap line in the final text report:\n%s" % final[:2000])
    pct = float(heap[0].split("(")[2].split("%")[0])
    want = 100.0 * truth["fordblks"] / (truth["arena"] + truth["hblkhd"])
    check(abs(pct - want) <= 3, "text FRAG %.1f%% vs mallinfo2 %.1f%%" % (pct, want))
    live = [l for l in final.splitlines() if l.strip().startswith("live chunks")]
    check(live, "no live-chunks line")
    n_all, n_pre = int(live[0].split()[2]), int(live[0].split("before attach ")[1].split()[0])
    check(n_all - n_pre == truth["new_held"], "text: %d live, %d before attach" % (n_all, n_pre))


def test_other_allocator_is_honestly_unknown():
    """jemalloc's state is not read: the figures are "tracked", marked partial under -p,
    and the text report prints the reason instead of a percentage."""
    jemalloc = "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2"
    check(os.path.exists(jemalloc), "%s missing (tools/install-deps.sh installs libjemalloc2)" % jemalloc)
    env = dict(os.environ, LD_PRELOAD=jemalloc)
    wl = rl.RelWorkload("lateheap", argv=[str(harness.workload_path("lateheap"))], env=env)
    wl.wait_ready()
    at = harness.Alloctop(["-p", wl.pid, "-b", "-o", "json", "-d", "0.5"])
    try:
        at.wait_attached()
        wl.ask("go", "{", timeout=harness.TRUTH_TIMEOUT)
        at.expect_ok(at.stop())
        rep = at.final_report()
    finally:
        if at.proc.poll() is None:
            at.stop()
        wl.finish()
    f = [p for p in rep["processes"] if p["pid"] == wl.pid][0]["fragmentation"]
    check(f["source"] == "tracked" and f["partial"] is True, "source %r partial %r" % (f["source"], f["partial"]))
    check("libjemalloc" in f["unknown_reason"] and "not glibc" in f["unknown_reason"], f["unknown_reason"])
    check(f["mallinfo"]["arena"] is None and f["preattach_allocs"] is None)


def _dashboard(env, want):
    """The dashboard's process view for a lateheap attached late: FRAG% as want(truth)
    says, and the fragmentation view's line; q ends it."""
    import tempfile
    import shutil
    import test_tui as tui
    tmp = tempfile.mkdtemp(prefix="alloctop-lateheap-tui-")
    wl = rl.RelWorkload("lateheap", argv=[str(harness.workload_path("lateheap")), "--free-half"], env=env)
    pane = None
    try:
        wl.wait_ready()
        pane = tui.Pane(120, 40, tmp)
        tui.start_alloctop(pane, wl)
        truth = json.loads(wl.ask("go", "{", timeout=harness.TRUTH_TIMEOUT))
        frag, line = want(truth)

        def shown(s):
            try:
                head, rows = tui.table(s)
                return tui.cell(head, rows[str(wl.pid)], "FRAG%") == frag
            except (AssertionError, KeyError, IndexError):
                return False
        pane.press("2", shown, 60)
        pane.press("3", line, 60)
        pane.keys("q")
        rc, s = pane.wait_exit(60)
        check(rc == 0, "alloctop exit status:\n" + s)
    finally:
        if pane:
            pane.close()
        wl.finish()
        shutil.rmtree(tmp, ignore_errors=True)


def test_dashboard_frag_from_allocator():
    def want(truth):
        return "%.0f%%" % (100.0 * truth["fordblks"] / (truth["arena"] + truth["hblkhd"])), \
            "from glibc's own heap state"
    _dashboard(None, want)


def test_dashboard_frag_unknown_for_other_allocator():
    env = dict(os.environ, LD_PRELOAD="/usr/lib/x86_64-linux-gnu/libjemalloc.so.2")
    _dashboard(env, lambda truth: ("-", "attached after the heap was built"))
