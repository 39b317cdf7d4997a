"""Launch mode like perf (issue 18): the command starts with the signal state alloctop
was started with, and ends when alloctop stops first (unless --keep)."""
import os
import signal
import subprocess
import time

import harness
from harness import check, fail

NEEDS_ROOT = True
SLEEP = "/bin/sleep"


def status_fields(pid):
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k] = v.strip()
    return out


def launched_child(at, timeout=30):
    """The PID of the command alloctop started (its only child), once it runs sleep."""
    path = "/proc/%d/task/%d/children" % (at.proc.pid, at.proc.pid)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            kids = open(path).read().split()
            if kids and open("/proc/%s/comm" % kids[0]).read().strip() == "sleep":
                return int(kids[0])
        except OSError:
            pass
        time.sleep(0.05)
    fail("alloctop started no sleep within %g s; stderr:\n%s" % (timeout, at.err.tail()))


def gone(pid, timeout):
    """Waits until pid no longer exists (a zombie counts as gone); True if so."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if status_fields(pid)["State"].startswith("Z"):
                return True
        except (OSError, KeyError):
            return True
        time.sleep(0.05)
    return False


def start(extra=(), cmd=(SLEEP, "600")):
    at = harness.Alloctop(["-b", "-o", "json", "-d", "100", *extra, "--", *cmd])
    at.wait_attached()
    return at, launched_child(at)


def test_launch_signal_state():
    """No blocked signal, and the same ignored ones as sleep started directly."""
    direct = harness.spawn([SLEEP, "600"])
    try:
        want = status_fields(direct.pid)
        at, pid = start()
        got = status_fields(pid)
        check(int(got["SigBlk"], 16) == 0, "launched command has blocked signals: SigBlk %s" % got["SigBlk"])
        check(got["SigIgn"] == want["SigIgn"], "launched command ignores %s, started directly %s"
              % (got["SigIgn"], want["SigIgn"]))
        at.expect_ok(at.stop())
        check(gone(pid, 10), "the command outlived alloctop")
    finally:
        harness.kill(direct)
        harness.kill_started()


def test_launch_sigint_ends_command():
    at, pid = start()
    try:
        at.expect_ok(at.stop(signal.SIGINT))
        check(gone(pid, 10), "after SIGINT to alloctop alone, the command %d still runs" % pid)
        check("ended the command" in at.err.text(), "no word that the command was ended:\n" + at.err.tail())
    finally:
        harness.kill_started()


def test_launch_sigterm_ends_command():
    at, pid = start()
    try:
        at.expect_ok(at.stop(signal.SIGTERM))
        check(gone(pid, 10), "after SIGTERM to alloctop, the command %d still runs" % pid)
    finally:
        harness.kill_started()


def test_launch_keep():
    # its output elsewhere: a kept command holding alloctop's pipes would delay their EOF
    at, pid = start(["--keep"], ["/bin/sh", "-c", "exec %s 600 >/dev/null 2>&1" % SLEEP])
    try:
        at.expect_ok(at.stop(signal.SIGINT))
        check(not gone(pid, 0.2), "--keep: the command %d is gone" % pid)
        check("--keep" in at.err.text(), "no word that the command was kept:\n" + at.err.tail())
    finally:
        try:
            os.kill(pid, signal.SIGKILL)	# started by alloctop, ours to end
        except ProcessLookupError:
            pass
        harness.kill_started()


def test_launch_ctrl_c_reaches_the_group():
    """A Ctrl-C at a terminal signals the whole foreground process group: alloctop and
    the command share it (alloctop runs in a session of its own here, so that the
    signal to its group reaches nothing else), and the command dies of it."""
    at = harness.Alloctop.__new__(harness.Alloctop)
    at.args = ["setsid", "-b", "-o", "json", "-d", "100", "--", SLEEP, "600"]
    at.proc = harness.spawn(["setsid", harness.ALLOCTOP, "-b", "-o", "json", "-d", "100", "--", SLEEP, "600"],
                            stdin=subprocess.DEVNULL)
    at.out = harness.Lines(at.proc.stdout, "alloctop stdout")
    at.err = harness.Lines(at.proc.stderr, "alloctop stderr")
    try:
        at.wait_attached()
        pid = launched_child(at)
        check(os.getpgid(pid) == os.getpgid(at.proc.pid), "the command is not in alloctop's process group")
        os.killpg(os.getpgid(at.proc.pid), signal.SIGINT)
        at.expect_ok(at.wait(60))
        check(gone(pid, 10), "after a Ctrl-C to the group, the command %d still runs" % pid)
    finally:
        harness.kill_started()
