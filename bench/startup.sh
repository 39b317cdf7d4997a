#!/usr/bin/env bash
# Start-up and kernel memory (`make bench`; issue 18 item 7): for -p of a small process,
# -p of a process with a large heap, a launched command and a census, the time from
# exec to alloctop's `attached` line and the kernel memory of its BPF maps (the sum of
# `memlock:` over the map fds in /proc/PID/fdinfo, read right after `attached`).
# Medians of BENCH_REPS runs (default 5). Target: start to attached <= 150 ms with the
# defaults. The probe-cost calibration is cached per boot (/run/alloctop): the first
# run of a boot pays it, the median does not.
#
#   BENCH_REPS=5   BENCH_LARGE_MB=256 (the large heap's size)   BENCH_SETTLE_S=1 (a pause
#   before each start: the last run's maps are freed after its exit)
set -uo pipefail
cd "$(dirname "$0")/.."

log() { echo "bench-startup: $*" >&2; }
[[ -x ./alloctop ]] || { log "./alloctop is missing: run make first"; exit 1; }
[[ $(id -u) -eq 0 ]] || { log "needs root (eBPF)"; exit 1; }

exec python3 - "${BENCH_REPS:-5}" "${BENCH_LARGE_MB:-256}" <<'PY'
import os, signal, statistics, subprocess, sys, time

reps, large_mb = int(sys.argv[1]), int(sys.argv[2])
started = []


def spawn(argv, **kw):
    p = subprocess.Popen(argv, **kw)
    started.append(p)
    return p


def memlock(pid):
    total, seen = 0, set()
    d = "/proc/%d/fdinfo" % pid
    for fd in os.listdir(d):
        try:
            with open(os.path.join(d, fd)) as f:
                info = dict(l.split(":", 1) for l in f.read().splitlines() if ":" in l)
        except OSError:
            continue
        if "map_type" in info and info.get("map_id") not in seen:   # a map open twice counts once
            seen.add(info.get("map_id"))
            total += int(info.get("memlock", "0").strip() or 0)
    return total


def one(args):
    """ms from exec to the `attached` line, and the maps' bytes then."""
    t0 = time.monotonic()
    p = spawn(["./alloctop", "-b", "-o", "json", "-d", "10", *args], stdout=subprocess.DEVNULL,
              stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
    ms = None
    deadline = t0 + 30
    for line in p.stderr:
        if "attached" in line:
            ms = (time.monotonic() - t0) * 1e3
            break
        if time.monotonic() > deadline:
            break
    mem = memlock(p.pid) if ms is not None else None
    p.send_signal(signal.SIGINT)
    try:
        p.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
    return ms, mem


def target(code):
    """A python process that runs code, says ready, and sleeps until killed."""
    p = spawn([sys.executable, "-c", code + "\nimport sys,time\nprint('ready', flush=True)\ntime.sleep(3600)"],
              stdout=subprocess.PIPE, text=True)
    if p.stdout.readline().strip() != "ready":
        sys.exit("bench-startup: a target did not start")
    return p


try:
    small = target("")
    large = None

    def large_heap():
        # many small malloc'd blocks: a heap of about large_mb MB
        global large
        large = large or target("keep = [bytes(100) for _ in range(%d)]" % (large_mb * 1024 * 1024 // 140))
        return large

    # a census sizes its maps by every process's anonymous memory: measured before the
    # large heap exists and while it runs
    cases = [
        ("census", lambda: []),
        ("-p small process", lambda: ["-p", str(small.pid)]),
        ("-p %d MB heap" % large_mb, lambda: ["-p", str(large_heap().pid)]),
        ("launched command", lambda: ["--", "sleep", "3"]),
        ("census, the %d MB heap running" % large_mb, lambda: (large_heap(), [])[1]),
    ]
    one(["-p", str(small.pid)])   # the boot's calibration, if not cached yet
    print("| case | start to attached (ms, median of %d) | kernel memory (MB, median) |" % reps)
    print("|---|---|---|")
    for name, argf in cases:
        args = argf()
        runs = []
        for _ in range(reps):
            # the previous run's maps are freed by a kernel workqueue after its exit:
            # each start is timed on a quiet machine, as a user's would be
            time.sleep(float(os.environ.get("BENCH_SETTLE_S", "1")))
            runs.append(one(args))
        ms = [r[0] for r in runs if r[0] is not None]
        mem = [r[1] for r in runs if r[1] is not None]
        if not ms:
            print("| %s | no `attached` line | - |" % name)
            continue
        print("| %s | %.0f | %.1f |" % (name, statistics.median(ms), statistics.median(mem) / 1e6), flush=True)
finally:
    for p in started:
        if p.poll() is None:
            p.kill()
            p.wait()
PY
