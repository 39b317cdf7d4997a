"""Bad input (issue 8): every bad target, file, flag value or missing privilege gives one
line on stderr naming the cause and the fix, exit status 2 (usage) or 1 (runtime),
nothing on stdout, no BPF program left loaded, and the target untouched.

Not tested: a kernel without BTF, uprobes or uprobe_multi links cannot be simulated
on the test machine (alloctop checks /sys/kernel/btf/vmlinux and reports a failed
BPF_LINK_CREATE with "uprobe_multi needs Linux 6.6 or later")."""
import os
import re
import subprocess
import time

import harness
from harness import fail
import test_reliability_lib as rl

NEEDS_ROOT = True

USAGE, RUNTIME = 2, 1


def _sleeper(secs=60):
    return harness.spawn(["sleep", str(secs)], stdin=subprocess.DEVNULL)


def expect_error(argv, want_rc, cause, fix=None, targets=(), label=None, env=None, timeout=20):
    """Runs alloctop (argv may start with a wrapper such as setpriv), requires status
    want_rc, exactly one line on stderr matching cause and fix (regexes, case-blind),
    nothing on stdout, no leftover BPF programs, and every target still alive."""
    label = label or " ".join(str(a) for a in argv[1:])
    before = rl.snapshot()
    p = harness.spawn([str(a) for a in argv], stdin=subprocess.DEVNULL, env=env)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        harness.kill(p)
        fail("%s: did not exit within %g s" % (label, timeout))
    out, err = out.decode(errors="replace"), err.decode(errors="replace")
    lines = [l for l in err.splitlines() if l.strip()]
    problems = []
    if p.returncode != want_rc:
        problems.append("exit status %d, want %d" % (p.returncode, want_rc))
    if len(lines) != 1:
        problems.append("%d lines on stderr, want 1" % len(lines))
    msg = lines[0] if lines else ""
    if lines and not msg.startswith("alloctop: "):
        problems.append("the message does not start with 'alloctop: '")
    if not re.search(cause, err, re.I):
        problems.append("the message does not name the cause (/%s/)" % cause)
    if fix and not re.search(fix, err, re.I):
        problems.append("the message does not say what to do (/%s/)" % fix)
    if out.strip():
        problems.append("printed on stdout: %r" % out[:200])
    for t in targets:
        if t.poll() is not None:
            problems.append("target %d died (status %s)" % (t.pid, t.returncode))
    if problems:
        fail("%s:\n    %s\n    stderr: %s" % (label, "\n    ".join(problems), err.strip()[:600] or "(empty)"))
    rl.assert_no_leftover(before, ours=[p.pid], what=label)
    return msg


def usage(args, cause, fix=r"alloctop --help"):
    """A flag error: alloctop -p LIVE -b ARGS must fail with status 2."""
    t = _sleeper()
    try:
        expect_error([harness.ALLOCTOP, "-p", t.pid, "-b", "-o", "json", *args], USAGE, cause, fix,
                     targets=[t], label="alloctop " + " ".join(map(str, args)))
    finally:
        harness.kill(t)


# ---------------------------------------------------------------- bad targets

def test_pid_does_not_exist():
    pid_max = int(open("/proc/sys/kernel/pid_max").read())
    expect_error([harness.ALLOCTOP, "-p", pid_max + 1, "-b", "-n", "1"], RUNTIME,
                 r"no process with PID %d" % (pid_max + 1), r"check the PID")
    # a free PID just below the kernel's allocation cursor (the next PIDs are above it)
    cursor = harness.spawn(["true"], stdin=subprocess.DEVNULL)
    cursor.wait(5)
    free = next((p for p in range(cursor.pid - 1, max(cursor.pid - 5000, 300), -1)
                 if not os.path.exists("/proc/%d" % p)), None)
    if free is not None:
        expect_error([harness.ALLOCTOP, "-p", free, "-b", "-n", "1"], RUNTIME, r"no process with PID %d" % free,
                     r"check the PID")


def _kthreads():
    kids = open("/proc/2/task/2/children").read().split()
    return [2] + [int(k) for k in kids[:1]]


def test_pid_kernel_thread():
    for pid in _kthreads():
        try:
            comm = open("/proc/%d/comm" % pid, "rb").read().decode(errors="replace").strip()
        except OSError:
            comm = "?"
        expect_error([harness.ALLOCTOP, "-p", pid, "-b", "-n", "1"], RUNTIME,
                     r"(kernel thread|no memory|no process)", r"(check|give|PID)",
                     label="alloctop -p %d (kernel thread %s)" % (pid, comm))


def test_pid_is_alloctop_itself():
    expect_error(["sh", "-c", 'exec "$0" -p $$ -b -n 1', harness.ALLOCTOP], RUNTIME, r"alloctop itself",
                 r"another process", label="sh -c 'exec alloctop -p $$'")


def _zombie():
    """A zombie: a child of this test process that exits and is not reaped (yet)."""
    z = os.fork()
    if z == 0:
        os._exit(0)
    deadline = time.monotonic() + 5
    state = "?"
    while time.monotonic() < deadline:
        try:
            state = open("/proc/%d/stat" % z).read().rsplit(")", 1)[1].split()[0]
        except OSError:
            state = "?"
        if state == "Z":
            return z
        time.sleep(0.02)
    os.waitpid(z, 0)
    fail("process %d did not become a zombie (state %s)" % (z, state))


def test_pid_zombie():
    z = _zombie()
    try:
        expect_error([harness.ALLOCTOP, "-p", z, "-b", "-n", "1"], RUNTIME, r"(zombie|no memory|exited)",
                     r"(check|PID)", label="alloctop -p %d (a zombie)" % z)
    finally:
        os.waitpid(z, 0)


def test_pid_without_allocator():
    """A static binary without malloc (no libc at all): exit 1, "use --lib"."""
    t = harness.spawn([rl.rel_path("nomalloc")], stdin=subprocess.DEVNULL)
    try:
        time.sleep(0.1)
        expect_error([harness.ALLOCTOP, "-p", t.pid, "-b", "-n", "1"], RUNTIME, r"no allocator", r"--lib",
                     targets=[t], label="alloctop -p %d (nomalloc)" % t.pid)
    finally:
        harness.kill(t)


def test_pid_is_a_thread():
    """-p of a thread ID (not the process's main thread): exit 1, and the message says it
    is a thread of process TGID (what to give instead), not that there is no process."""
    w = rl.RelWorkload("storm", ["2"])
    try:
        w.wait_ready()
        tid = next(int(t) for t in sorted(os.listdir("/proc/%d/task" % w.pid)) if int(t) != w.pid)
        expect_error([harness.ALLOCTOP, "-p", tid, "-b", "-n", "1"], RUNTIME, r"thread", r"\b%d\b" % w.pid,
                     targets=[w.proc], label="alloctop -p %d (a thread of process %d)" % (tid, w.pid))
    finally:
        harness.kill(w.proc)


def test_one_good_one_bad_pid():
    """-p GOOD,MISSING: nothing stays attached to GOOD after the failure."""
    w = harness.Workload("basic")
    try:
        w.wait_ready()
        pid_max = int(open("/proc/sys/kernel/pid_max").read())
        expect_error([harness.ALLOCTOP, "-p", "%d,%d" % (w.pid, pid_max + 5), "-b", "-n", "1"], RUNTIME,
                     r"no process with PID", r"check the PID", targets=[w.proc])
        w.send("go")
        w.read_truth()
        w.finish()
    finally:
        harness.kill(w.proc)


def test_launch_missing_command():
    expect_error([harness.ALLOCTOP, "-b", "-o", "json", "--", "/nonexistent/command"], RUNTIME,
                 r"cannot run '/nonexistent/command'", r"check the command")
    harness.SCRATCH.mkdir(parents=True, exist_ok=True)
    noexec = harness.SCRATCH / ("noexec-%d" % os.getpid())
    noexec.write_text("not a program\n")
    noexec.chmod(0o644)
    try:
        expect_error([harness.ALLOCTOP, "-b", "-o", "json", "--", noexec], RUNTIME,
                     r"cannot run '%s'.*Permission denied" % re.escape(str(noexec)), r"check the command")
    finally:
        noexec.unlink()


def test_launch_without_allocator():
    """alloctop -- nomalloc: the command runs to its end (under ptrace, untraced), then
    alloctop fails: exit 1, "use --lib"."""
    t0 = time.monotonic()
    expect_error([harness.ALLOCTOP, "-b", "-o", "json", "--", rl.rel_path("nomalloc"), "3"], RUNTIME,
                 r"mapped an allocator|no allocator", r"--lib")
    # one-sided: the command sleeps 0.3 s, so a sooner return means it did not wait for
    # it; a loaded machine can only make the run longer
    if time.monotonic() - t0 < 0.3:
        fail("alloctop returned before the 0.3 s command could have ended")


# ---------------------------------------------------------------- --lib

def _lib_target():
    t = _sleeper()
    time.sleep(0.05)
    return t


def test_lib_missing_file():
    t = _lib_target()
    try:
        expect_error([harness.ALLOCTOP, "-p", t.pid, "-b", "-n", "1", "--lib", "/nonexistent/libfoo.so"], USAGE,
                     r"cannot read '/nonexistent/libfoo.so'", r"(give the path|--help)", targets=[t])
    finally:
        harness.kill(t)


def test_lib_not_elf():
    """Checked when probing, not while parsing: a runtime error (1)."""
    harness.SCRATCH.mkdir(parents=True, exist_ok=True)
    junk = harness.SCRATCH / ("not-elf-%d.so" % os.getpid())
    junk.write_bytes(b"\x7fELF but not really an ELF file\n" * 4)
    t = _lib_target()
    try:
        expect_error([harness.ALLOCTOP, "-p", t.pid, "-b", "-n", "1", "--lib", junk], RUNTIME, r"not an ELF",
                     r"allocator library", targets=[t])
    finally:
        harness.kill(t)
        junk.unlink()


def test_lib_empty_file():
    harness.SCRATCH.mkdir(parents=True, exist_ok=True)
    empty = harness.SCRATCH / ("empty-%d.so" % os.getpid())
    empty.write_bytes(b"")
    t = _lib_target()
    try:
        expect_error([harness.ALLOCTOP, "-p", t.pid, "-b", "-n", "1", "--lib", empty], RUNTIME, r"not an ELF",
                     r"allocator library", targets=[t])
    finally:
        harness.kill(t)
        empty.unlink()


def test_lib_elf_without_allocator():
    t = _lib_target()
    try:
        expect_error([harness.ALLOCTOP, "-p", t.pid, "-b", "-n", "1", "--lib", rl.rel_path("nomalloc")], RUNTIME,
                     r"no malloc and free", r"allocator library", targets=[t])
    finally:
        harness.kill(t)


def test_lib_directory():
    t = _lib_target()
    try:
        expect_error([harness.ALLOCTOP, "-p", t.pid, "-b", "-n", "1", "--lib", "/tmp"], RUNTIME,
                     r"(not an ELF|cannot read|directory)", r"(allocator library|give)", targets=[t])
    finally:
        harness.kill(t)


# ---------------------------------------------------------------- flag values

def test_interval_values():
    for v in ("0", "-1", "-0", "nan", "NaN", "inf", "-inf", "1e999", "1e-9", "0.001", "86401", "", "1 ",
              "1s", "0x"):
        usage(["-d", v], r"-d: '%s' is not an interval" % re.escape(v))


def test_count_values():
    for v in ("0", "-1", "", "1.5", "1e3", "99999999999999999999999", "0x", "+"):
        usage(["-n", v], r"-n: '%s' is not a positive number" % re.escape(v))


def test_output_values():
    for v in ("xml", "JSON", "", "json,text"):
        usage(["-o", v], r"unknown output format '%s'" % re.escape(v), r"(text or json)")


def test_max_values():
    for flag in ("--max-live", "--max-stacks", "--max-procs"):
        for v in ("0", "15", "-16", "268435457", "1e6", "x"):
            usage([flag, v], r"'%s' is not a number between 16 and" % re.escape(v))


def test_top_and_sort_values():
    usage(["--top", "0"], r"--top: '0'")
    usage(["--top", "-5"], r"--top: '-5'")
    usage(["--sort", "size"], r"unknown key 'size'")


def test_conflicting_flags():
    t = _sleeper()
    try:
        pid = str(t.pid)
        for args, cause in (
                (["-p", pid, "-b", "--", "true"], r"-p and a command"),
                (["-p", pid, "-b", "--comm", "x"], r"--comm and --exclude"),
                (["-p", pid, "-b", "--exclude", "1"], r"--comm and --exclude"),
                (["-b", "--comm", "x", "--", "true"], r"--comm and --exclude"),
                (["-b", "--follow"], r"--follow needs targets"),
                (["-b", "-p", pid, "stray"], r"unexpected argument 'stray'"),
                (["-b", "-p", pid, "--bogus"], r"unknown option '--bogus'"),
                (["-b", "-p"], r"needs a value"),
                (["-b", "--comm", "a-name-longer-than-15"], r"not a process name")):
            expect_error([harness.ALLOCTOP, *args], USAGE, cause, r"(--help|drop|give)", targets=[t])
    finally:
        harness.kill(t)


def test_too_many_pids():
    """65 PIDs are refused before anything is attached, in one -p or over several."""
    pids = ",".join(str(300000 + i) for i in range(65))
    expect_error([harness.ALLOCTOP, "-b", "-p", pids], USAGE, r"too many PIDs", r"at most 64")
    half = ",".join(str(300000 + i) for i in range(33))
    half2 = ",".join(str(400000 + i) for i in range(32))
    expect_error([harness.ALLOCTOP, "-b", "-p", half, "-p", half2, "-p", "500000"], USAGE, r"too many PIDs",
                 r"at most 64")


def test_bad_pid_lists():
    for v in ("0", "-5", "abc", "1,,x", ",", "", "2147483648", "1.5"):
        expect_error([harness.ALLOCTOP, "-b", "-p", v], USAGE, r"(not a process ID|names no process ID)", r"--help",
                     label="alloctop -p %r" % v)


def test_64_pids_accepted():
    """The limit itself: 64 live targets attach, each is counted exactly and separately,
    and alloctop detaches (exit 0 after -n 1 ... a report after the targets allocated)."""
    ws = []
    before = rl.snapshot()
    at = None
    try:
        for _ in range(64):
            ws.append(rl.RelWorkload("burst", ["10"]))
        for w in ws:
            w.wait_ready()
        at = rl.start_alloctop(["-b", "-o", "json", "-d", "0.5", "--top", "1000",
                                "-p", ",".join(str(w.pid) for w in ws)])
        at.wait_attached(60)
        for w in ws:
            w.send("alloc")
        said = {}
        for w in ws:
            f = w.expect("allocated").split()      # "allocated COUNT BYTES": the truth
            said[w.pid] = (int(f[1]), int(f[2]), int(f[1]))
        at.expect_ok(at.stop())
        rep = at.final_report()
        got = sorted(p["pid"] for p in rep["processes"])
        if got != sorted(w.pid for w in ws):
            fail("want 64 process entries, got %d" % len(got))
        bad = [(p["pid"], p["allocs"], p["alloc_bytes"], p["live_allocs"], said[p["pid"]]) for p in rep["processes"]
               if (p["allocs"], p["alloc_bytes"], p["live_allocs"]) != said[p["pid"]]]
        if bad:
            fail("(pid, allocs, alloc_bytes, live_allocs, what burst said) wrong: %s" % bad[:8])
        for w in ws:
            w.finish()
        rl.assert_no_leftover(before, ours=[at.proc.pid])
    finally:
        for w in ws:
            harness.kill(w.proc)
        if at:
            harness.kill(at.proc)


# ---------------------------------------------------------------- privileges

def test_not_root():
    """uid 65534 without any capability: "permission denied ... run with sudo", exit 1."""
    t = _sleeper()
    try:
        expect_error(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all",
                      harness.ALLOCTOP, "-p", t.pid, "-b", "-n", "1"], RUNTIME, r"permission denied",
                     r"(sudo|root|CAP_BPF)", targets=[t], label="alloctop as uid 65534")
        # and tracing a process of its own needs the capabilities just the same
        own = harness.spawn(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all",
                             "sleep", "60"], stdin=subprocess.DEVNULL)
        try:
            time.sleep(0.1)
            expect_error(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all",
                          harness.ALLOCTOP, "-p", own.pid, "-b", "-n", "1"], RUNTIME, r"permission denied",
                         r"(sudo|root|CAP_BPF)", targets=[own], label="alloctop as uid 65534 on its own process")
        finally:
            harness.kill(own)
    finally:
        harness.kill(t)


def test_root_without_bpf_capabilities():
    """uid 0, but CAP_BPF, CAP_PERFMON and CAP_SYS_ADMIN dropped from the bounding set."""
    t = _sleeper()
    try:
        expect_error(["setpriv", "--bounding-set=-bpf,-perfmon,-sys_admin", "--inh-caps=-all",
                      harness.ALLOCTOP, "-p", t.pid, "-b", "-n", "1"], RUNTIME, r"permission denied",
                     r"(sudo|root|CAP_BPF)", targets=[t], label="alloctop without CAP_BPF/CAP_PERFMON/CAP_SYS_ADMIN")
        expect_error(["setpriv", "--bounding-set=-bpf,-sys_admin", "--inh-caps=-all",
                      harness.ALLOCTOP, "-p", t.pid, "-b", "-n", "1"], RUNTIME, r"permission denied",
                     r"(sudo|root|CAP_BPF)", targets=[t], label="alloctop with CAP_PERFMON only")
    finally:
        harness.kill(t)


def test_bpf_and_perfmon_without_sys_admin():
    """CAP_BPF + CAP_PERFMON (root, CAP_SYS_ADMIN dropped): tracing works, exact counts
    (without CAP_SYS_ADMIN /proc/PID/map_files cannot be opened; the fallback through
    /proc/PID/root finds the same files)."""
    w, at = harness.Workload("basic"), None
    before = rl.snapshot()
    try:
        w.wait_ready()
        at = rl.start_alloctop(["-p", w.pid, "-b", "-o", "json", "-d", "1", "--top", "100000"],
                               prefix=["setpriv", "--bounding-set=-sys_admin", "--inh-caps=-all"])
        at.wait_attached()
        w.send("go")
        w.read_truth()
        at.expect_ok(at.stop())
        harness.assert_exact(w.truth, at.final_report(), w.pid, "basic (no CAP_SYS_ADMIN)", exited=False)
        w.finish()
        rl.assert_no_leftover(before, ours=[at.proc.pid])
    finally:
        harness.kill(w.proc)
        if at:
            harness.kill(at.proc)
