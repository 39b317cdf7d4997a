"""The cost model (user/kernel/probecost.c) and the cost imposed on each target (user/model/model_overhead.c):
the calibration is sane and cached per boot, and each process's probe time is exactly
its calls times the measured cost of its probes' kinds (entry kinds as -v prints them).
Behaviour only: no figure here depends on the machine's speed."""
import json
import os
import re
import shutil
import subprocess

import harness
from harness import fail

NEEDS_ROOT = True

COST_RE = re.compile(r"probe cost \((measured in [0-9]+ ms|cached in (\S+))\): entry ([0-9]+) ns, "
                     r"entry_stepped ([0-9]+) ns, return ([0-9]+) ns, a window timer sample ([0-9]+) ns")
SITE_RE = re.compile(r"pid ([0-9]+): (\S+) at \S+, probe at \+[0-9]+ \((emulated|stepped)\)")
ALIAS_RE = re.compile(r"pid ([0-9]+): (\S+) is an alias of (\S+)")
ENTRY_ONLY = {"free", "munmap", "delete", "delete[]"}


def cache_dir(name):
    d = harness.SCRATCH / name
    shutil.rmtree(d, ignore_errors=True)
    d.mkdir(parents=True)
    return d


def run_short(cache, extra_env=None):
    """alloctop -v on a command that exits at once; returns (stderr, the JSON report)."""
    env = dict(os.environ, ALLOCTOP_CACHE_DIR=str(cache))
    env.pop("ALLOCTOP_RECALIBRATE", None)
    env.update(extra_env or {})
    rc, out, err = _run_env(env)
    if rc != 0:
        fail("alloctop -v -- /bin/true: status %d; stderr:\n%s" % (rc, err[-2000:]))
    reps = [l for l in out.splitlines() if l.strip()]
    if not reps:
        fail("no report; stderr:\n%s" % err[-2000:])
    return err, json.loads(reps[-1])


def _run_env(env):
    p = subprocess.Popen([str(harness.ALLOCTOP), "-v", "-b", "-o", "json", "-d", "0.2", "--", "/bin/true"],
                                 stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, env=env)
    harness.STARTED.append(p)
    try:
        out, err = p.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        harness.kill(p)
        fail("alloctop -v -- /bin/true did not end within 60 s")
    return p.returncode, out.decode(errors="replace"), err.decode(errors="replace")


def cost_line(err):
    m = COST_RE.search(err)
    if not m:
        fail("-v printed no probe cost line; stderr:\n%s" % err[-2000:])
    return m.group(1).startswith("cached"), [int(m.group(i)) for i in (3, 4, 5, 6)]


def test_calibration_sane_and_cached():
    cache = cache_dir("probecost")
    err, rep = run_short(cache)
    cached, (entry, stepped, ret, sample) = cost_line(err)
    if cached:
        fail("first run in an empty cache directory says it read the cache:\n%s" % err[-1000:])
    # a timer interrupt costs the thread it hits something: 0 means no perf event opened
    if sample <= 0:
        fail("a window timer sample measured at %d ns" % sample)
    if not (entry > 0 and ret > 0 and stepped > 0):
        fail("probe costs must be positive: entry %d, entry_stepped %d, return %d ns" % (entry, stepped, ret))
    # a single-step is a second trap: never much cheaper than an emulated entry
    if stepped < 0.8 * entry:
        fail("entry_stepped %d ns is below the emulated entry's %d ns" % (stepped, entry))
    jc = rep.get("probe_cost_ns")
    if not isinstance(jc, dict) or sorted(jc) != ["entry", "entry_stepped", "return", "window_timer_sample"]:
        fail("JSON probe_cost_ns is %r" % (jc,))
    if [round(jc[k]) for k in ("entry", "entry_stepped", "return", "window_timer_sample")] != [entry, stepped, ret,
                                                                                          sample]:
        fail("JSON probe_cost_ns %r disagrees with -v (%d, %d, %d, %d)" % (jc, entry, stepped, ret, sample))
    if not (cache / "probe-cost").exists():
        fail("nothing cached in %s" % cache)

    err2, rep2 = run_short(cache)
    cached2, vals2 = cost_line(err2)
    if not cached2 or vals2 != [entry, stepped, ret, sample]:
        fail("second run: want the cached (%d, %d, %d, %d), got %s %r" % (entry, stepped, ret, sample,
                                                                        "cached" if cached2 else "measured", vals2))
    if rep2["probe_cost_ns"] != jc:
        fail("second run's JSON probe_cost_ns %r, first %r" % (rep2["probe_cost_ns"], jc))

    err3, _ = run_short(cache, {"ALLOCTOP_RECALIBRATE": "1"})
    if cost_line(err3)[0]:
        fail("ALLOCTOP_RECALIBRATE=1 read the cache instead of measuring:\n%s" % err3[-1000:])


def test_calibration_cache_of_another_boot_is_ignored():
    cache = cache_dir("probecost-stale")
    (cache / "probe-cost").write_text("key another-boot 0.0 /nowhere:0:0.0\nentry 1.0\nentry_stepped 2.0\n"
                                      "return 3.0\n")
    err, rep = run_short(cache)
    if cost_line(err)[0]:
        fail("a cache written under another key was used:\n%s" % err[-1000:])
    if rep["probe_cost_ns"]["entry_stepped"] == 2.0:
        fail("the stale cache's figures were reported: %r" % rep["probe_cost_ns"])
    if "another-boot" in (cache / "probe-cost").read_text():
        fail("the stale cache was not replaced")


def site_kinds(err, pid):
    """func -> (entry kind, has return probe), from alloctop -v's plan lines for pid."""
    kinds = {}
    for m in SITE_RE.finditer(err):
        if int(m.group(1)) == pid:
            kinds[m.group(2)] = m.group(3)
    for m in ALIAS_RE.finditer(err):
        if int(m.group(1)) == pid and m.group(3) in kinds:
            kinds.setdefault(m.group(2), kinds[m.group(3)])
    return kinds


def check_overhead(rep, pid, kinds, label):
    """processes[].overhead of pid: present, probe_ns = calls x costs of the sites' kinds,
    and slowdown = 1 / (1 - cpu_share). Returns the overhead object."""
    cost = rep["probe_cost_ns"]
    proc = harness.find_process(rep, pid)
    ov = proc.get("overhead")
    if not isinstance(ov, dict) or sorted(ov) != ["cpu_share", "probe_ns", "probe_ns_per_s", "slowdown"]:
        fail("%s: processes[].overhead is %r" % (label, ov))
    want = 0.0
    for f, c in proc["calls"].items():
        if not c:
            continue
        if f not in kinds:
            fail("%s: %d calls of %s, which -v never said it probed" % (label, c, f))
        per = cost["entry"] if kinds[f] == "emulated" else cost["entry_stepped"]
        want += c * (per + (0 if f in ENTRY_ONLY else cost["return"]))
    if abs(ov["probe_ns"] - want) > 1e-6 * max(want, 1):
        fail("%s: probe_ns %r, calls x costs %r (calls %r, kinds %r)" % (label, ov["probe_ns"], want,
                                                                        proc["calls"], kinds))
    if ov["probe_ns_per_s"] is None or ov["probe_ns_per_s"] < 0:
        fail("%s: probe_ns_per_s %r" % (label, ov["probe_ns_per_s"]))
    if ov["cpu_share"] is not None:
        if not 0 <= ov["cpu_share"] <= 1:
            fail("%s: cpu_share %r outside 0..1" % (label, ov["cpu_share"]))
        want_x = 1 / (1 - ov["cpu_share"]) if ov["cpu_share"] < 1 else None
        if (want_x is None) != (ov["slowdown"] is None) or \
                (want_x is not None and abs(ov["slowdown"] - want_x) > 1e-9 * want_x):
            fail("%s: slowdown %r, want cpu/(cpu - probe) = %r" % (label, ov["slowdown"], want_x))
    elif ov["slowdown"] is not None:
        fail("%s: slowdown %r without a cpu_share" % (label, ov["slowdown"]))
    return ov


def test_overhead_is_calls_times_costs():
    at, wls = harness.run_attached([("basic", False)], interval=0.5, extra=("-v",))
    w = wls[0]
    err = "\n".join(at.err.lines)
    reps = at.reports()
    final = at.final_report()
    harness.assert_exact(w.truth, final, w.pid, "basic under -v")
    kinds = site_kinds(err, w.pid)
    if "malloc" not in kinds or "free" not in kinds:
        fail("-v named no probe kinds for malloc and free of pid %d:\n%s" % (w.pid, err[-3000:]))
    for n, rep in enumerate(reps):
        # -p targets are booked from attach: every report has the interval's figures
        check_overhead(rep, w.pid, kinds, "report %d" % n)
    if final["processes"] and harness.find_process(final, w.pid)["overhead"]["probe_ns"] <= 0:
        fail("the workload allocated, yet its probe time is 0")
    if err.count("slowed") > 1:
        fail("the slowdown was said more than once on stderr:\n%s" % err[-2000:])


def test_overhead_of_launched_command():
    """alloctop -- churn: 200k allocations take far more than a clock tick of CPU time on
    any machine, and the command's CPU time is read at its exit stop, so its final report
    has a CPU share even though the process is gone by then."""
    at = harness.Alloctop(["-v", "-b", "-o", "json", "-d", "60", "--", harness.workload_path("churn"), "--nowait"])
    try:
        at.expect_ok(at.wait(120))
        rep = at.final_report()
        procs = rep["processes"]
        if len(procs) != 1 or not procs[0]["exited"]:
            fail("want the one exited command, got %r" % [(p["pid"], p["comm"], p["exited"]) for p in procs])
        pid = procs[0]["pid"]
        ov = check_overhead(rep, pid, site_kinds("\n".join(at.err.lines), pid), "launched churn")
        if ov["probe_ns"] <= 0 or ov["cpu_share"] is None or ov["cpu_share"] <= 0:
            fail("launched churn: want a positive probe time and CPU share, got %r" % ov)
    finally:
        harness.kill(at.proc)


def test_overhead_line_in_text_report():
    at, wls = harness.run_attached([("basic", False)], interval=0.5, fmt="text")
    out = "\n".join(at.out.lines)
    if "probes cost" not in out:
        fail("the text report has no probe cost line:\n%s" % out[-2000:])
