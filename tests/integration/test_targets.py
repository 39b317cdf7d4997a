"""Targets beyond one glibc process (issue 4): the system-wide census, a chroot with its
own libc and loader, jemalloc / tcmalloc / mimalloc, C++ new/delete, processes that
start and exit under a census."""
import json
import os
import re
import shutil
import subprocess
import tempfile
import time

import harness
import test_reliability_lib as rl
from harness import fail

NEEDS_ROOT = True
ROOT = harness.ROOT
LIBDIR = "/usr/lib/x86_64-linux-gnu"


class Prog:
    """A workload speaking ready / go / truth / exit, from any path."""

    def __init__(self, argv, env=None):
        self.proc = harness.spawn([str(a) for a in argv], env=env)
        self.pid = self.proc.pid
        self.out = harness.Lines(self.proc.stdout, "workload stdout")
        self.err = harness.Lines(self.proc.stderr, "workload stderr")
        i = self.out.wait_for(lambda l: l.startswith("ready "), 10, "'ready' line")
        self.ready_pid = int(self.out.lines[i].split()[1])

    def go(self):
        self.proc.stdin.write(b"go\n")
        self.proc.stdin.flush()
        i = self.out.wait_for(lambda l: l.startswith("{"), 30, "truth line")
        return json.loads(self.out.lines[i])

    def finish(self):
        self.proc.stdin.write(b"exit\n")
        self.proc.stdin.close()
        rc = harness.wait_exit(self.proc, 10, "workload")
        if rc != 0:
            fail("workload exited %d: %s" % (rc, self.err.tail()))


def sites(report, pid):
    """allocs per direct caller, by demangled function name where there is one"""
    out = {}
    for h in report["hotspots"]:
        if h["pid"] != pid or not h["frames"]:
            continue
        name = h["frames"][0].get("function") or h["frames"][0]["symbol"]
        if name:
            out[name] = out.get(name, 0) + h["allocs"]
    return out


def check_simple(truth, report, pid, label):
    p = harness.find_process(report, pid)
    for k in ("allocs", "frees", "live_allocs"):
        if k in truth and p[k] != truth[k]:
            fail("%s: %s = %d, expected %d" % (label, k, p[k], truth[k]))
    got = sites(report, pid)
    for name, n in truth["sites"].items():
        if got.get(name) != n:
            fail("%s: site %s has %r allocs, expected %d (sites: %s)" % (label, name, got.get(name), n, got))
    if report["dropped"]:
        fail("%s: dropped %r" % (label, report["drops"]))
    return p


def traced(progs, args):
    at = harness.Alloctop(args)
    try:
        at.wait_attached()
        truths = [p.go() for p in progs]
        at.expect_ok(at.stop())
        rep = at.final_report()
        for p in progs:
            p.finish()
        return truths, rep
    finally:
        harness.kill(at.proc)


def test_census_counts_each_process_exactly():
    progs = []
    try:
        progs = [Prog([ROOT / "build/allocators/mix"]), Prog([ROOT / "build/allocators/cxx"])]
        truths, rep = traced(progs, ["-b", "-o", "json", "-d", "0.5", "--top", "100000", "--exact"])
        check_simple(truths[0], rep, progs[0].pid, "mix under census")
        p = check_simple(truths[1], rep, progs[1].pid, "cxx under census")
        for k in ("new", "new_array", "delete", "delete_array"):
            if p["calls"][k] != truths[1][k]:
                fail("cxx: calls.%s = %d, expected %d" % (k, p["calls"][k], truths[1][k]))
    finally:
        for p in progs:
            harness.kill(p.proc)


def test_cxx_new_delete_by_pid():
    prog = None
    try:
        prog = Prog([ROOT / "build/allocators/cxx"])
        (truth,), rep = traced([prog], harness.base_args([prog.pid], 0.5))
        p = check_simple(truth, rep, prog.pid, "cxx")
        for k in ("new", "new_array", "delete", "delete_array"):
            if p["calls"][k] != truth[k]:
                fail("cxx: calls.%s = %d, expected %d" % (k, p["calls"][k], truth[k]))
        # operator new's own malloc is nested: no site may name operator new or malloc
        inner = [s for s in sites(rep, prog.pid) if s.startswith("_Zn") or s.startswith("operator new")
                 or s == "malloc"]
        if inner:
            fail("allocator-internal frames reported as sites: %s" % inner)
    finally:
        if prog:
            harness.kill(prog.proc)


def _with_allocator(lib):
    path = os.path.join(LIBDIR, lib)
    if not os.path.exists(path):
        fail("%s is missing (tools/install-deps.sh installs it)" % path)
    prog = None
    try:
        prog = Prog([ROOT / "build/allocators/mix"], env=dict(os.environ, LD_PRELOAD=path))
        (truth,), rep = traced([prog], harness.base_args([prog.pid], 0.5))
        check_simple(truth, rep, prog.pid, lib)
    finally:
        if prog:
            harness.kill(prog.proc)


def test_jemalloc_without_flags():
    _with_allocator("libjemalloc.so.2")


def test_tcmalloc_without_flags():
    _with_allocator("libtcmalloc_minimal.so.4")


def test_mimalloc_without_flags():
    _with_allocator("libmimalloc.so.2")


def test_static_binary_probes_the_executable():
    prog = None
    try:
        prog = Prog([ROOT / "build/allocators/mix-static"])
        (truth,), rep = traced([prog], harness.base_args([prog.pid], 0.5))
        check_simple(truth, rep, prog.pid, "static")
    finally:
        if prog:
            harness.kill(prog.proc)


def test_chroot_with_its_own_libc_under_census():
    """A copy of the loader and libc in a chroot is another inode: found and counted."""
    root = tempfile.mkdtemp(prefix="alloctop-chroot-")
    prog = None
    try:
        exe = ROOT / "build/allocators/mix"
        out = subprocess.run(["ldd", str(exe)], capture_output=True, text=True).stdout
        libs = [w for w in out.split() if w.startswith("/")]
        for src in libs + [str(exe)]:
            dst = root + src if src != str(exe) else os.path.join(root, "mix")
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            shutil.copy2(os.path.realpath(src), dst)
        prog = Prog(["chroot", root, "/mix"])
        maps = open("/proc/%d/maps" % prog.pid).read()
        if "libc" not in maps:
            fail("the chrooted workload maps no libc:\n" + maps)
        (truth,), rep = traced([prog], ["-b", "-o", "json", "-d", "0.5", "--top", "100000", "--comm", "mix", "--exact"])
        check_simple(truth, rep, prog.pid, "chroot")
    finally:
        if prog:
            harness.kill(prog.proc)
        shutil.rmtree(root, ignore_errors=True)


def test_census_forgets_processes_that_never_allocated():
    """A process found by a census that never allocates while traced (a sleep started
    before it) has no counters, so the kernel side reports no exit for it: the census
    sees it gone from /proc and forgets it (-v), as it does exits it is told of, so that
    a long census does not keep every short-lived process."""
    name = "at_idle_%d" % (os.getpid() % 100000)     # a name no other process has
    prog = os.path.join(tempfile.mkdtemp(prefix="alloctop-idle-"), name)
    shutil.copy("/bin/sleep", prog)
    w = harness.spawn([prog, "60"])
    at = harness.Alloctop(["-v", "-b", "-o", "json", "-d", "0.2", "--comm", name, "--exact"])
    try:
        at.wait_attached()
        time.sleep(0.6)     # a few scans with the sleep listed
        if any(re.search(r"forgot \d+ process", l) for l in at.err.lines):
            fail("forgot a process before any exited:\n%s" % "\n".join(at.err.lines[-20:]))
        harness.kill(w)
        at.err.wait_for(lambda l: re.search(r"forgot 1 process\(es\)", l), 30, "the sleep forgotten after it exited")
        at.expect_ok(at.stop())
    finally:
        harness.kill(w)
        harness.kill(at.proc)
        shutil.rmtree(os.path.dirname(prog), ignore_errors=True)


def test_census_sees_new_processes_and_forgets_exited_ones():
    # -v: the forgetting says how many stacks it deleted from the kernel's map
    at = harness.Alloctop(["-v", "-b", "-o", "json", "-d", "0.3", "--top", "100000", "--comm", "basic", "--exact"])
    try:
        at.wait_attached()
        truth_file = tempfile.mktemp(prefix="alloctop-truth-")
        rc, _, err = harness.run_cmd([harness.workload_path("basic"), "--nowait", "--truth", truth_file], 20)
        if rc != 0:
            fail("basic --nowait failed: %s" % err)
        truth = json.load(open(truth_file))
        os.unlink(truth_file)
        # it exited: seen once as exited, then gone from the listing
        end = time.time() + 60
        seen_exited = gone_after = False
        stacks = 0
        while time.time() < end and not gone_after:
            time.sleep(0.3)
            for rep in at.reports():
                procs = [p for p in rep["processes"] if p["comm"] == "basic"]
                if procs and procs[0]["exited"]:
                    seen_exited = procs[0]
                    # its call stacks (the unknown site has none): no other process uses them
                    stacks = sum(1 for st in rep["hotspots"] if st["pid"] == procs[0]["pid"] and st["frames"])
                elif seen_exited and not procs:
                    gone_after = True
        if not seen_exited:
            fail("the short-lived process never showed up as exited")
        if not gone_after:
            fail("the exited process was still listed afterwards")
        for k in ("allocs", "frees", "alloc_bytes", "free_bytes", "live_allocs", "live_bytes"):
            if seen_exited[k] != truth[k]:
                fail("census, new process: %s = %d, expected %d" % (k, seen_exited[k], truth[k]))
        # its stacks left the kernel's map with it (an agent's churn would fill the map)
        i = at.err.wait_for(lambda l: re.search(r"forgot \d+ process\(es\): [1-9]\d* stacks deleted", l), 30,
                            "the exited process's stacks deleted")
        freed = int(re.search(r"(\d+) stacks deleted", at.err.lines[i]).group(1))
        if stacks == 0 or freed != stacks:
            fail("census: %d stacks deleted as the process went, it used %d" % (freed, stacks))
        at.expect_ok(at.stop())
    finally:
        harness.kill(at.proc)
