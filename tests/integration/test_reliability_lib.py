"""Helpers for the reliability tests (test_reliability_*.py, issue 8); no tests here.

- the workloads of tests/reliability (build/reliability/NAME) and their line protocol;
- leftover checks: after alloctop exits, none of its BPF programs may stay loaded. Other
  alloctop processes (other test runs) may be running on the same machine, so the check
  is: every program with one of alloctop's names that appeared since the snapshot is
  either gone or still held by a live process named alloctop that is not ours
  (holders come from /proc/PID/fdinfo: prog_id of prog and link descriptors);
- report helpers.
"""
import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import harness
from harness import fail

ROOT = harness.ROOT
REL = ROOT / "build" / "reliability"


def rel_path(name):
    exe = REL / name
    if not exe.exists():
        fail("%s is missing (make)" % exe)
    return exe


# ---------------------------------------------------------------- BPF leftovers

def _prog_names():
    """alloctop's BPF program names, from the sources (the kernel keeps 15 characters)."""
    names = set()
    # bpf/reader/ too (the sites reader, a syscall program): rglob, not glob
    for src in (ROOT / "bpf").rglob("*.bpf.c"):
        for m in re.finditer(r"\bint\s+BPF_\w+\(\s*(\w+)", src.read_text()):
            names.add(m.group(1)[:15])
        for m in re.finditer(r"SEC\(\"syscall\"\)\s*int\s+(\w+)\s*\(", src.read_text()):
            names.add(m.group(1)[:15])
    if not names:
        fail("found no BPF program names in bpf/*.bpf.c")
    return names


PROG_NAMES = _prog_names()


def alloctop_progs():
    """{prog id: name} of the loaded BPF programs that carry one of alloctop's names."""
    try:
        p = subprocess.run(["bpftool", "-j", "prog", "show"], capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as e:
        fail("bpftool prog show: %s" % e)
    if p.returncode != 0:
        fail("bpftool prog show failed: %s" % p.stderr.decode(errors="replace")[:300])
    try:
        progs = json.loads(p.stdout or b"[]")
    except ValueError as e:
        fail("bpftool prog show printed no JSON: %s" % e)
    return {x["id"]: x.get("name", "") for x in progs if x.get("name", "") in PROG_NAMES}


def prog_holders():
    """{prog id: [(pid, comm)]}: processes holding a descriptor of the program or of a
    link to it."""
    out = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        pid = int(d)
        try:
            fds = os.listdir("/proc/%d/fdinfo" % pid)
        except OSError:
            continue
        comm = None
        for fd in fds:
            try:
                with open("/proc/%d/fdinfo/%s" % (pid, fd)) as f:
                    info = f.read()
            except OSError:
                continue
            m = re.search(r"^prog_id:\s*(\d+)", info, re.M)
            if not m:
                continue
            if comm is None:
                try:
                    comm = Path("/proc/%d/comm" % pid).read_bytes().decode(errors="replace").strip()
                except OSError:
                    comm = "?"
            out.setdefault(int(m.group(1)), []).append((pid, comm))
    return out


def snapshot():
    return set(alloctop_progs())


def assert_no_leftover(before, ours=(), timeout=30.0, what="alloctop"):
    """Fails if a program with an alloctop name loaded since `before` stays loaded without
    another live alloctop holding it. `ours`: PIDs of alloctop processes this test ran."""
    ours = set(ours)
    deadline = time.monotonic() + timeout
    while True:
        new = {i: n for i, n in alloctop_progs().items() if i not in before}
        if not new:
            return
        holders = prog_holders()
        leaked = {}
        for i, n in new.items():
            hs = holders.get(i, [])
            if not any(c == "alloctop" and p not in ours for p, c in hs):
                leaked[i] = (n, hs)
        if not leaked:
            return
        if time.monotonic() > deadline:
            fail("%s left BPF programs loaded after it exited: %s" % (what, ", ".join(
                "id %d %s (held by %s)" % (i, n, ", ".join("%s[%d]" % (c, p) for p, c in hs) or "nobody")
                for i, (n, hs) in sorted(leaked.items()))))
        time.sleep(0.2)


# ---------------------------------------------------------------- workloads

class RelWorkload:
    """A tests/reliability workload: "ready <pid>", then command lines on stdin."""

    def __init__(self, name, args=(), env=None, argv=None):
        self.name = name
        self.proc = harness.spawn(argv or [rel_path(name), *args], env=env)
        self.pid = self.proc.pid
        self.out = harness.Lines(self.proc.stdout, name + " stdout")
        self.err = harness.Lines(self.proc.stderr, name + " stderr")
        self.pos = 0

    def wait_ready(self, timeout=harness.READY_TIMEOUT):
        i = self.out.wait_for(lambda l: l.startswith("ready "), timeout, "'ready' line")
        self.pos = i + 1
        pid = int(self.out.lines[i].split()[1])
        if pid != self.pid:
            fail("%s: ready line says pid %d, process is %d" % (self.name, pid, self.pid))
        return self

    def send(self, line):
        try:
            self.proc.stdin.write((line + "\n").encode())
            self.proc.stdin.flush()
        except OSError as e:
            fail("%s: cannot write %r: %s (stderr:\n%s)" % (self.name, line, e, self.err.tail()))

    def expect(self, prefix, timeout=60):
        """The next line starting with prefix (after the last one read), split in fields."""
        i = self.out.wait_for(lambda l: l.startswith(prefix), timeout, "%r line" % prefix, start=self.pos)
        self.pos = i + 1
        return self.out.lines[i]

    def ask(self, cmd, prefix, timeout=60):
        self.send(cmd)
        return self.expect(prefix, timeout)

    def finish(self, timeout=harness.EXIT_TIMEOUT, cmd="exit"):
        if cmd:
            self.send(cmd)
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        rc = harness.wait_exit(self.proc, timeout, self.name)
        if rc != 0:
            self.err.join()
            fail("%s exited with status %d; stderr:\n%s" % (self.name, rc, self.err.tail()))


def fields(line):
    """'word k=v k=v' -> {k: int(v)}"""
    out = {}
    for tok in line.split()[1:]:
        if "=" in tok:
            k, v = tok.split("=", 1)
            try:
                out[k] = int(v)
            except ValueError:
                out[k] = v
    return out


# ---------------------------------------------------------------- alloctop runs

class AlloctopAs(harness.Alloctop):
    """harness.Alloctop started through a wrapper that execs it (setpriv ...)."""

    def __init__(self, args, prefix=()):
        self.args = [str(a) for a in args]
        self.proc = harness.spawn([str(a) for a in prefix] + [str(harness.ALLOCTOP)] + self.args,
                                  stdin=subprocess.DEVNULL)
        self.out = harness.Lines(self.proc.stdout, "alloctop stdout")
        self.err = harness.Lines(self.proc.stderr, "alloctop stderr")


def start_alloctop(args, prefix=()):
    return AlloctopAs(args, prefix)


def reports_after(at, n_before, count=2, timeout=60):
    """Waits until `count` more JSON reports than n_before have been printed; returns the
    last one (its numbers were read after everything before the call happened)."""
    deadline = time.monotonic() + timeout
    while True:
        reps = at.reports()
        if len(reps) >= n_before + count:
            return reps[-1]
        if at.proc.poll() is not None:
            fail("alloctop exited (status %s) while reports were expected; stderr:\n%s"
                 % (at.proc.returncode, at.err.tail()))
        if time.monotonic() > deadline:
            fail("alloctop printed %d report(s) in %g s, wanted %d more than %d"
                 % (len(reps), timeout, count, n_before))
        time.sleep(0.05)


def proc_entry(report, pid):
    return harness.find_process(report, pid)


def check_fields(label, got, want):
    """want: {path: value}; got: a report dict (paths like 'calls.malloc')."""
    diffs = []
    for k, v in want.items():
        g = harness._get(got, k)
        if callable(v):
            if not v(g):
                diffs.append((k, getattr(v, "__doc__", None) or "predicate", g))
        elif g != v:
            diffs.append((k, v, g))
    if diffs:
        fail(harness.format_diffs(label, diffs))


def kill_pid(pid, sig=signal.SIGKILL):
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass
