"""The dashboard with issue 18's additions: the peak of live bytes on the totals line,
and q ending the command alloctop started (make run's build/demo used to outlive it)."""
import shutil
import tempfile

import harness
import test_launch
import test_tui
from harness import check

NEEDS_ROOT = True


def fmt_bytes(v):
    """user/lib/hist.c's at_fmt_bytes"""
    d, u = float(v), 0
    while d >= 1024 and u < 6:
        d /= 1024
        u += 1
    if not u:
        return "%dB" % v
    return ("%.1f%s" if d < 10 else "%.0f%s") % (d, "BKMGTPE"[u])


def test_tui_peak_graph_and_quit_ends_command():
    tmp = tempfile.mkdtemp(prefix="alloctop-tui-")
    pane = wl = None
    try:
        wl = harness.Workload("peak")
        wl.wait_ready()
        pane = test_tui.Pane(120, 30, tmp)
        pane.type("clear; cd %s && %s -d 0.5 -p %d; echo EXIT=$?" % (test_tui.ROOT, test_tui.ALLOCTOP, wl.pid))
        pane.wait_for("Targets:", 30)
        wl.send("go")
        truth = wl.read_truth()
        want = "Peak: %s @" % fmt_bytes(truth["peak_bytes"])
        pane.wait_for(lambda s: want in s and "pid %d" % wl.pid in s, 60)
        # the process view: the time graph of the selected (only) process, its live bytes now
        graph = "Memory over time: %d peak  live %s" % (wl.pid, fmt_bytes(truth["live_bytes"]))
        pane.press("2", lambda s: graph in s and "alloc/s" in s and "ago" in s, 60)
        # the histogram view ends with the sites live at the peak (End scrolls there)
        pane.press("3", "Request sizes", 60)
        peak = "Live at the peak, process %d: %s in %d blocks" % (wl.pid, fmt_bytes(truth["peak_bytes"]),
                                                                 truth["peak_allocs"])
        pane.press("End", lambda s: peak in s and "site_big" in s and "site_keep" in s, 60)
        pane.keys("q")
        rc, s = pane.wait_exit(60)
        check(rc == 0, "alloctop exit status:\n" + s)
        wl.finish()

        # launch mode: q ends the command alloctop started
        pane.type("clear; %s -d 0.5 -- /bin/sleep 600; echo EXIT=$?" % test_tui.ALLOCTOP)
        pane.wait_for("Targets:", 30)
        kids = [p for p in test_tui.children(pane.pid)]
        check(len(kids) == 1, "alloctop not found under the pane's shell: %r" % kids)
        sleeper = test_tui.children(kids[0])
        check(len(sleeper) == 1, "alloctop's command not found: %r" % sleeper)
        pane.keys("q")
        rc, s = pane.wait_exit(60)
        check(rc == 0, "alloctop exit status:\n" + s)
        check(test_launch.gone(sleeper[0], 10), "after q the command %d still runs" % sleeper[0])
    finally:
        if pane:
            pane.close()
        if wl:
            harness.kill(wl.proc)
        shutil.rmtree(tmp, ignore_errors=True)
