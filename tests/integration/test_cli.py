"""alloctop's command line: help, version, usage errors (status 2), runtime errors (1)."""
import subprocess

import harness
from harness import fail

NEEDS_ROOT = False       # option errors come before anything that needs root


def _target():
    """A live process to point -p at, so that only the flag under test is wrong."""
    return harness.spawn(["sleep", "60"], stdin=subprocess.DEVNULL)


def usage_error(*args):
    t = _target()
    try:
        argv = [harness.ALLOCTOP, "-p", t.pid, "-b", "-o", "json", *args]
        rc, out, err = harness.run_cmd([a.replace("PID", str(t.pid)) if isinstance(a, str) else a
                                        for a in argv], timeout=10)
    finally:
        harness.kill(t)
    if rc != 2:
        fail("alloctop %s: status %d, want 2 (usage error); stderr: %s"
             % (" ".join(args), rc, err.strip()[:300]))
    if not err.strip():
        fail("alloctop %s: no message on stderr" % " ".join(args))
    if out.strip():
        fail("alloctop %s: printed on stdout: %s" % (" ".join(args), out[:200]))


def test_help():
    for flag in ("-h", "--help"):
        rc, out, err = harness.run_cmd([harness.ALLOCTOP, flag])
        if rc != 0 or "-p" not in out:
            fail("alloctop %s: status %d, stdout %r" % (flag, rc, out[:200]))


def test_version():
    rc, out, err = harness.run_cmd([harness.ALLOCTOP, "--version"])
    if rc != 0 or not out.strip():
        fail("alloctop --version: status %d, stdout %r, stderr %r" % (rc, out, err))


@harness.needs_root
def test_no_such_pid():
    rc, out, err = harness.run_cmd([harness.ALLOCTOP, "-p", "999999999", "-b", "-o", "json", "-d", "1"])
    lines = [l for l in err.splitlines() if l.strip()]
    if rc == 0:
        fail("status 0 for a PID that does not exist")
    if len(lines) != 1:
        fail("want a one-line message on stderr, got %d lines:\n%s" % (len(lines), err))
    if out.strip():
        fail("printed on stdout: %s" % out[:200])


def test_bad_interval_zero():
    usage_error("-d", "0")


def test_bad_interval_nan():
    usage_error("-d", "nan")


def test_bad_interval_negative():
    usage_error("-d", "-1")


def test_bad_interval_junk():
    usage_error("-d", "1x")


def test_bad_output_format():
    usage_error("-o", "xml")


def test_bad_count_zero():
    usage_error("-n", "0")


def test_bad_pid_list():
    usage_error("-p", "PID,abc")


def test_unknown_flag():
    usage_error("--bogus")


def test_missing_argument():
    usage_error("-d")
