"""Integration-test helpers: start workloads and alloctop, drive the workload protocol,
and compare alloctop's JSON reports with the workloads' ground truth.

Everything that can block is bounded, and every process a helper starts is recorded
in STARTED; tests kill theirs by PID in a finally block (kill_started), and the runner
does it again after each test.
"""
import json
import math
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# ALLOCTOP=path runs the suite against another build (make test-asan)
ALLOCTOP = Path(os.environ["ALLOCTOP"]).resolve() if os.environ.get("ALLOCTOP") else ROOT / "alloctop"
WORK = ROOT / "build" / "work"
SCRATCH = ROOT / "build" / "itest"

READY_TIMEOUT = 30
ATTACH_TIMEOUT = 60
TRUTH_TIMEOUT = 120
STOP_TIMEOUT = 60
EXIT_TIMEOUT = 30

PROC_KEYS = ["allocs", "frees", "alloc_bytes", "free_bytes", "live_allocs", "live_bytes",
             "untracked_frees", "temp_allocs"]
CALLS = ["malloc", "calloc", "realloc", "reallocarray", "free", "posix_memalign",
         "aligned_alloc", "memalign", "valloc", "pvalloc", "mmap", "munmap"]
MMAP_KEYS = ["maps", "unmaps", "live_bytes"]
SITE_KEYS = ["allocs", "alloc_bytes", "live_allocs", "live_bytes"]

STARTED = []            # every Popen started by a helper


class Failure(AssertionError):
    pass


def fail(msg):
    raise Failure(msg)


def check(cond, msg="check failed"):
    """What a bare assert would do, but kept under python -O."""
    if not cond:
        fail(msg)


def needs_root(fn):
    """Marks one test as loading eBPF (run.py skips it when not root)."""
    fn.NEEDS_ROOT = True
    return fn


def no_root(fn):
    """Marks one test of a NEEDS_ROOT module as runnable without root."""
    fn.NEEDS_ROOT = False
    return fn


# ---------------------------------------------------------------- processes

class Lines:
    """Reads a pipe line by line on a daemon thread; lines are kept in .lines."""

    def __init__(self, stream, name):
        self.name = name
        self.lines = []
        self.eof = False
        self._cv = threading.Condition()
        self._t = threading.Thread(target=self._run, args=(stream,), daemon=True)
        self._t.start()

    def _run(self, stream):
        try:
            for raw in iter(stream.readline, b""):
                with self._cv:
                    self.lines.append(raw.decode(errors="replace").rstrip("\n"))
                    self._cv.notify_all()
        except (OSError, ValueError):
            pass
        with self._cv:
            self.eof = True
            self._cv.notify_all()

    def wait_for(self, pred, timeout, what, start=0):
        """Index of the first line at or after start satisfying pred; fails after timeout or at EOF."""
        deadline = time.monotonic() + timeout
        i = start
        with self._cv:
            while True:
                while i < len(self.lines):
                    if pred(self.lines[i]):
                        return i
                    i += 1
                if self.eof:
                    fail("%s: no %s before end of output; got:\n%s" % (self.name, what, self.tail()))
                left = deadline - time.monotonic()
                if left <= 0:
                    fail("%s: no %s within %g s; got:\n%s" % (self.name, what, timeout, self.tail()))
                self._cv.wait(min(left, 0.5))

    def join(self, timeout=5):
        self._t.join(timeout)

    def text(self):
        with self._cv:
            return "\n".join(self.lines)

    def tail(self, n=15):
        with self._cv:
            lines = self.lines[-n:]
        return "\n".join("    | " + l[:300] for l in lines) or "    (nothing)"


def spawn(argv, env=None, stdin=subprocess.PIPE):
    p = subprocess.Popen([str(a) for a in argv], stdin=stdin, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=env, cwd=str(ROOT))
    STARTED.append(p)
    return p


def kill(p):
    """Kill one process we started, by its PID, and reap it."""
    if p.poll() is None:
        try:
            os.kill(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            p.wait(5)
        except subprocess.TimeoutExpired:
            pass
    for f in (p.stdin, p.stdout, p.stderr):
        try:
            if f:
                f.close()
        except OSError:
            pass


def kill_started():
    while STARTED:
        kill(STARTED.pop())


def wait_exit(p, timeout, what):
    try:
        return p.wait(timeout)
    except subprocess.TimeoutExpired:
        fail("%s did not exit within %g s" % (what, timeout))


def run_cmd(argv, timeout=15):
    """Run a short command; returns (rc, stdout, stderr). Killed and failed after timeout."""
    p = spawn(argv, stdin=subprocess.DEVNULL)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        kill(p)
        fail("%s did not exit within %g s" % (" ".join(map(str, argv)), timeout))
    return p.returncode, out.decode(errors="replace"), err.decode(errors="replace")


def workload_path(name, nofp=False):
    exe = WORK / (name + ("-nofp" if nofp else ""))
    if not exe.exists():
        fail("%s is missing (make %s)" % (exe, exe.relative_to(ROOT)))
    return exe


class Workload:
    """A workload speaking the ready/go/truth/exit protocol."""

    def __init__(self, name, nofp=False, args=(), env=None):
        self.name = name + ("-nofp" if nofp else "")
        self.exe = workload_path(name, nofp)
        self.proc = spawn([self.exe, *args], env=env)
        self.pid = self.proc.pid
        self.out = Lines(self.proc.stdout, self.name + " stdout")
        self.err = Lines(self.proc.stderr, self.name + " stderr")
        self.truth = None

    def wait_ready(self, timeout=READY_TIMEOUT):
        i = self.out.wait_for(lambda l: l.startswith("ready "), timeout, "'ready' line")
        pid = int(self.out.lines[i].split()[1])
        if pid != self.pid:
            fail("%s: ready line says pid %d, process is %d" % (self.name, pid, self.pid))

    def send(self, line):
        try:
            self.proc.stdin.write((line + "\n").encode())
            self.proc.stdin.flush()
        except OSError as e:
            fail("%s: cannot write %r: %s (stderr:\n%s)" % (self.name, line, e, self.err.tail()))

    def read_truth(self, timeout=TRUTH_TIMEOUT):
        i = self.out.wait_for(lambda l: l.startswith("{"), timeout, "truth line")
        self.truth = json.loads(self.out.lines[i])
        return self.truth

    def finish(self, timeout=EXIT_TIMEOUT):
        """Send exit, close stdin, require exit status 0."""
        self.send("exit")
        self.proc.stdin.close()
        rc = wait_exit(self.proc, timeout, self.name)
        if rc != 0:
            self.err.join()
            fail("%s exited with status %d; stderr:\n%s" % (self.name, rc, self.err.tail()))


class Alloctop:
    def __init__(self, args, env=None):
        if not ALLOCTOP.exists():
            fail("%s is missing (make)" % ALLOCTOP)
        self.args = [str(a) for a in args]
        self.proc = spawn([ALLOCTOP, *self.args], env=env, stdin=subprocess.DEVNULL)
        self.out = Lines(self.proc.stdout, "alloctop stdout")
        self.err = Lines(self.proc.stderr, "alloctop stderr")

    def wait_attached(self, timeout=ATTACH_TIMEOUT):
        self.err.wait_for(lambda l: "attached" in l, timeout, "'attached' line")

    def stop(self, sig=signal.SIGINT, timeout=STOP_TIMEOUT):
        if self.proc.poll() is None:
            os.kill(self.proc.pid, sig)
        return self.wait(timeout)

    def wait(self, timeout):
        rc = wait_exit(self.proc, timeout, "alloctop " + " ".join(self.args))
        self.out.join()
        self.err.join()
        return rc

    def expect_ok(self, rc):
        if rc != 0:
            fail("alloctop exited with status %d; stderr:\n%s" % (rc, self.err.tail()))

    def reports(self):
        reps = []
        for n, line in enumerate(self.out.lines):
            if not line.strip():
                continue
            try:
                reps.append(json.loads(line))
            except ValueError as e:
                fail("alloctop stdout line %d is not JSON (%s): %s" % (n + 1, e, line[:300]))
        return reps

    def final_report(self):
        reps = self.reports()
        if not reps:
            fail("alloctop printed no report; stderr:\n%s" % self.err.tail())
        rep = reps[-1]
        if rep.get("final") is not True:
            fail("the last report is not final (\"final\": %r)" % rep.get("final"))
        return rep


def base_args(pids, interval=1):
    return ["-p", ",".join(str(p) for p in pids), "-b", "-o", "json", "-d", str(interval),
            "--top", "100000"]


def run_attached(specs, interval=1, fmt="json", extra=()):
    """Start the workloads (name, nofp), attach alloctop to all of them, run the measured
    phase, stop alloctop with SIGINT, let the workloads exit. Returns (alloctop, workloads)."""
    wls, at = [], None
    try:
        for name, nofp in specs:
            wls.append(Workload(name, nofp))
        for w in wls:
            w.wait_ready()
        args = base_args([w.pid for w in wls], interval)
        if fmt != "json":
            args[args.index("json")] = fmt
        at = Alloctop(args + list(extra))
        at.wait_attached()
        for w in wls:
            w.send("go")
        for w in wls:
            w.read_truth()
        if at.proc.poll() is not None:
            fail("alloctop exited (status %s) while its targets were running; stderr:\n%s"
                 % (at.proc.returncode, at.err.tail()))
        at.expect_ok(at.stop())
        for w in wls:
            w.finish()
        return at, wls
    finally:
        for w in wls:
            kill(w.proc)
        if at:
            kill(at.proc)


# ---------------------------------------------------------------- comparisons

def _get(d, path):
    for k in path.split("."):
        if not isinstance(d, dict) or k not in d:
            return None
        d = d[k]
    return d


def find_process(report, pid):
    for p in report.get("processes", []):
        if p.get("pid") == pid:
            return p
    fail("no process entry for pid %d in the report (pids: %s)"
         % (pid, [p.get("pid") for p in report.get("processes", [])]))


def site_totals(report, pid):
    """Hotspots of pid summed by frames[0].symbol (one site may have several stacks)."""
    tot = {}
    for h in report.get("hotspots", []):
        if h.get("pid") != pid:
            continue
        frames = h.get("frames") or []
        sym = frames[0].get("symbol") if frames else None
        if not sym:
            sym = "(no symbol: %s %s)" % ((frames[0].get("addr"), frames[0].get("module")) if frames
                                          else ("no frames", ""))
        t = tot.setdefault(sym, {k: 0 for k in SITE_KEYS + ["frees", "free_bytes", "temp_allocs", "stacks"]})
        for k in SITE_KEYS + ["frees", "free_bytes", "temp_allocs"]:
            t[k] += h.get(k, 0) or 0
        t["stacks"] += 1
    return tot


def diff_process(truth, proc):
    """Mismatches between the truth and a report's process entry, as (key, truth, report)."""
    out = []
    for k in PROC_KEYS:
        out.append((k, truth[k], proc.get(k)))
    for k in CALLS:
        out.append(("calls." + k, truth["calls"][k], _get(proc, "calls." + k)))
    for k in MMAP_KEYS:
        out.append(("mmap." + k, truth["mmap"][k], _get(proc, "mmap." + k)))
    return [d for d in out if d[1] != d[2]]


def diff_sites(truth, report, pid):
    out = []
    tot = site_totals(report, pid)
    for name, want in sorted(truth["sites"].items()):
        got = tot.get(name)
        if got is None:
            out.append(("sites." + name, "present", "missing"))
            continue
        for k in SITE_KEYS:
            if want[k] != got[k]:
                out.append(("sites.%s.%s" % (name, k), want[k], got[k]))
    for name, got in sorted(tot.items()):
        if name not in truth["sites"] and (got["allocs"] or got["live_allocs"] or got["frees"]):
            out.append(("sites." + name, "absent", "allocs %d, frees %d" % (got["allocs"], got["frees"])))
    return out


def _hist_ranges(hist, lo_key, hi_key):
    """[(lo, hi_exclusive, entry)] from a report histogram; hi inclusive or exclusive is
    worked out from adjacent buckets (next.lo == hi + 1 means inclusive)."""
    rows = sorted(hist, key=lambda b: b[lo_key])
    inclusive = any(b2[lo_key] == b1[hi_key] + 1 for b1, b2 in zip(rows, rows[1:]))
    return [(b[lo_key], b[hi_key] + 1 if inclusive else b[hi_key], b) for b in rows]


def diff_size_hist(truth, proc):
    """The truth's sizes, by bit length, put into the report's size buckets."""
    if "size_hist" not in truth or not isinstance(proc.get("size_hist"), list):
        return [("size_hist", "list", type(proc.get("size_hist")).__name__)] if "size_hist" in truth else []
    ranges = _hist_ranges(proc["size_hist"], "lo", "hi")
    want = {}
    for k, (count, nbytes) in truth["size_hist"].items():
        k = int(k)
        lo, hi = (0, 0) if k == 0 else (1 << (k - 1), (1 << k) - 1)
        idx = [i for i, (a, b, _) in enumerate(ranges) if a <= lo < b]
        if not idx or not (ranges[idx[0]][0] <= hi < ranges[idx[0]][1]):
            return [("size_hist", "log2 buckets", "a bucket boundary inside [%d, %d]" % (lo, hi))]
        w = want.setdefault(idx[0], [0, 0])
        w[0] += count
        w[1] += nbytes
    out = []
    for i, (a, b, e) in enumerate(ranges):
        w = want.get(i, [0, 0])
        if (e.get("count", 0), e.get("bytes", 0)) != tuple(w):
            out.append(("size_hist[%d..%d)" % (a, b), "count %d bytes %d" % tuple(w),
                        "count %s bytes %s" % (e.get("count"), e.get("bytes"))))
    return out


def diff_consistency(report, proc, pid):
    """Report-internal sums that must hold whatever the truth."""
    out = []
    if isinstance(proc.get("size_hist"), list):
        for k, hk in (("allocs", "count"), ("alloc_bytes", "bytes")):
            s = sum(b.get(hk, 0) for b in proc["size_hist"])
            if s != proc.get(k):
                out.append(("sum(size_hist.%s) vs %s" % (hk, k), proc.get(k), s))
    else:
        out.append(("size_hist", "list", repr(proc.get("size_hist"))[:40]))
    if isinstance(proc.get("lifetime_hist"), list):
        s = sum(b.get("count", 0) for b in proc["lifetime_hist"])
        if s != proc.get("frees"):
            out.append(("sum(lifetime_hist.count) vs frees", proc.get("frees"), s))
    else:
        out.append(("lifetime_hist", "list", repr(proc.get("lifetime_hist"))[:40]))
    hs = [h for h in report.get("hotspots", []) if h.get("pid") == pid]
    for k in ("allocs", "alloc_bytes", "frees", "free_bytes", "live_allocs", "live_bytes", "temp_allocs"):
        s = sum(h.get(k, 0) or 0 for h in hs)
        if s != proc.get(k):
            out.append(("sum(hotspots.%s) vs process" % k, proc.get(k), s))
    for h in hs:
        fr = h.get("frames")
        if not fr or any(not isinstance(f, dict) for f in fr):
            out.append(("hotspot %s frames" % h.get("stack_id"), "non-empty list", repr(fr)[:60]))
    return out


def format_diffs(label, diffs):
    w = max([len(d[0]) for d in diffs] + [10])
    lines = ["%s: %d mismatch(es)" % (label, len(diffs)),
             "    %-*s  %-22s %s" % (w, "field", "truth", "report")]
    for k, want, got in diffs:
        lines.append("    %-*s  %-22s %s" % (w, k, want, got))
    return "\n".join(lines)


def check_report_basics(report):
    diffs = []
    for k in ("timestamp", "elapsed_s", "interval_s"):
        if not isinstance(report.get(k), (int, float)) or isinstance(report.get(k), bool) \
                or not math.isfinite(report.get(k)):
            diffs.append((k, "number", repr(report.get(k))))
    if report.get("dropped") != 0:
        diffs.append(("dropped (whole report)", 0, "%r (drops %r)" % (report.get("dropped"), report.get("drops"))))
    if not isinstance(report.get("drops"), dict):
        diffs.append(("drops", "object", repr(report.get("drops"))))
    return diffs


def assert_exact(truth, report, pid, label, exited=None):
    """Every counter of truth against the report's entry for pid, sites summed by
    frames[0].symbol, and the report's own sums. One readable failure listing all."""
    proc = find_process(report, pid)
    diffs = check_report_basics(report)
    diffs += diff_process(truth, proc)
    diffs += diff_sites(truth, report, pid)
    diffs += diff_size_hist(truth, proc)
    diffs += diff_consistency(report, proc, pid)
    if exited is not None and proc.get("exited") is not exited:
        diffs.append(("exited", exited, proc.get("exited")))
    if diffs:
        fail(format_diffs("%s (pid %d)" % (label, pid), diffs))


def check_reports_monotonic(reports, pid):
    """Counters are cumulative: they never go down from one report to the next."""
    prev = None
    for i, r in enumerate(reports):
        p = next((x for x in r.get("processes", []) if x.get("pid") == pid), None)
        if p is None:
            continue
        if prev is not None:
            for k in ("allocs", "frees", "alloc_bytes", "free_bytes", "untracked_frees", "temp_allocs"):
                if (p.get(k) or 0) < (prev.get(k) or 0):
                    fail("report %d: %s went down from %s to %s" % (i + 1, k, prev.get(k), p.get(k)))
        prev = p


# ---------------------------------------------------------------- truth check without alloctop

SHIM_SRC = ROOT / "tests" / "integration" / "malloc_log.c"
SHIM = SCRATCH / "malloc_log.so"


_stacks_built = False


def build_stacks():
    """make alloctop stacks (the stack and unwind workloads), once per test run."""
    global _stacks_built
    if not _stacks_built:
        rc, out, err = run_cmd(["make", "-s", "-C", ROOT, "alloctop", "stacks"], timeout=600)
        if rc:
            fail("make stacks failed:\n" + out + err)
        _stacks_built = True


def build_shim():
    SCRATCH.mkdir(parents=True, exist_ok=True)
    if SHIM.exists() and SHIM.stat().st_mtime >= SHIM_SRC.stat().st_mtime:
        return SHIM
    tmp = SHIM.with_suffix(".tmp.so")
    rc, out, err = run_cmd([os.environ.get("CC", "cc"), "-O2", "-g", "-fPIC", "-shared", "-Wall",
                            "-Werror", SHIM_SRC, "-o", tmp, "-ldl"], timeout=60)
    if rc:
        fail("cannot build the recorder:\n" + out + err)
    os.replace(tmp, SHIM)
    return SHIM


def recorded_truth(name, nofp=False, launch=False):
    """Run a workload under malloc_log.so and replay the recording with alloctop's rules.
    Returns (the workload's truth, the replay's truth)."""
    sys.path.insert(0, str(Path(__file__).parent))
    import replay

    shim = build_shim()
    log = SCRATCH / ("%s%s-%d.log" % (name, "-nofp" if nofp else "", os.getpid()))
    env = dict(os.environ, LD_PRELOAD=str(shim), MALLOC_LOG=str(log))
    try:
        if launch:
            tf = SCRATCH / ("%s-truth-%d.json" % (name, os.getpid()))
            p = spawn([workload_path(name, nofp), "--nowait", "--truth", tf], env=env, stdin=subprocess.DEVNULL)
            try:
                _, err = p.communicate(timeout=TRUTH_TIMEOUT)
            except subprocess.TimeoutExpired:
                fail("%s --nowait did not finish" % name)
            finally:
                kill(p)
            if p.returncode != 0:
                fail("%s --nowait exited with %d: %s" % (name, p.returncode, err.decode(errors="replace")))
            truth = json.loads(tf.read_text())
            tf.unlink()
        else:
            w = Workload(name, nofp, env=env)
            try:
                w.wait_ready()
                w.send("go")
                truth = w.read_truth()
                w.finish()
            finally:
                kill(w.proc)
        recs, maps = replay.parse(log)
        return truth, replay.replay(recs, maps, launch=launch)
    finally:
        if log.exists():
            log.unlink()


def assert_truth_matches_recording(name, nofp=False, launch=False):
    truth, rec = recorded_truth(name, nofp, launch)
    diffs = []
    for k in PROC_KEYS:
        if truth[k] != rec[k]:
            diffs.append((k, truth[k], rec[k]))
    for grp in ("calls", "mmap", "size_hist"):
        for k in sorted(set(truth[grp]) | set(rec[grp])):
            if truth[grp].get(k) != rec[grp].get(k):
                diffs.append(("%s.%s" % (grp, k), truth[grp].get(k), rec[grp].get(k)))
    for s in sorted(set(truth["sites"]) | set(rec["sites"])):
        if truth["sites"].get(s) != rec["sites"].get(s):
            diffs.append(("sites." + s, truth["sites"].get(s), rec["sites"].get(s)))
    if diffs:
        fail(format_diffs("%s%s: workload truth vs recorded calls (report column = recording)"
                          % (name, "-nofp" if nofp else ""), diffs))
    return truth
