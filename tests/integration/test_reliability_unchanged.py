"""The target never changes (issue 8): a deterministic workload (checksum: 4 threads,
every allocator function, memory contents, errno, alignment checked) prints
byte-identical output untraced, traced to the end, detached mid-run and with alloctop
SIGKILLed mid-run. Mid-run is an event, not a time: the workload says "halfway" and
waits at three quarters until told to resume (CHECKSUM_HOLD)."""
import os
import signal

import harness
from harness import fail
import test_reliability_lib as rl

NEEDS_ROOT = True


def _json_args(pids, interval=0.2):
    return ["-p", ",".join(str(p) for p in pids), "-b", "-o", "json", "-d", str(interval), "--top", "100000"]


CHECKSUM_ARGS = ["4242", "100000", "4"]


def _untraced_result():
    w = rl.RelWorkload("checksum", CHECKSUM_ARGS)
    try:
        w.wait_ready()
        w.send("go")
        line = w.expect("result", timeout=120)
        w.finish()
        return line
    finally:
        harness.kill(w.proc)


def _traced_result(stop, hold=False):
    """Runs checksum traced; stop(at, w) ends alloctop while the workload runs (or not).
    hold: the workload stops at three quarters until "resume" (CHECKSUM_HOLD).
    Returns (result line, alloctop)."""
    env = dict(os.environ, CHECKSUM_HOLD="1") if hold else None
    w, at = rl.RelWorkload("checksum", CHECKSUM_ARGS, env=env), None
    try:
        w.wait_ready()
        at = harness.Alloctop(_json_args([w.pid], 0.2))
        at.wait_attached()
        w.send("go")
        stop(at, w)
        if hold:
            w.send("resume")
        line = w.expect("result", timeout=180)
        w.finish()
        if w.err.text().strip():
            fail("checksum stderr: %s" % w.err.text())
        return line, at
    finally:
        harness.kill(w.proc)
        if at:
            harness.kill(at.proc)


def _compare(label, traced, untraced):
    if traced != untraced:
        fail("%s: the workload's output changed:\n    untraced: %s\n    traced:   %s" % (label, untraced, traced))
    if "errors=0" not in traced:
        fail("%s: the workload found errors in its memory: %s" % (label, traced))


def test_target_unchanged_while_traced():
    """Byte-identical output traced (alloctop stops after it) and untraced, exit 0."""
    untraced = _untraced_result()

    def after(at, w):
        w.out.wait_for(lambda l: l.startswith("result"), 180, "result line")
        at.expect_ok(at.stop())

    traced, _ = _traced_result(after)
    _compare("traced to the end", traced, untraced)


def test_target_unchanged_detach_midrun():
    """SIGINT to alloctop while 4 threads are inside the allocator: the probes come out
    under them; the output is still byte-identical."""
    untraced = _untraced_result()

    def midrun(at, w):
        # half way (threads still allocating, held at three quarters): stop alloctop
        w.expect("halfway", timeout=180)
        at.expect_ok(at.stop(signal.SIGINT))

    traced, _ = _traced_result(midrun, hold=True)
    _compare("detached mid-run", traced, untraced)


def test_target_unchanged_sigkill_midrun():
    """SIGKILL to alloctop mid-run: the kernel removes the probes with its descriptors;
    the target finishes with the same output, and nothing stays loaded."""
    untraced = _untraced_result()
    before = rl.snapshot()
    pid = []

    def kill9(at, w):
        w.expect("halfway", timeout=180)
        pid.append(at.proc.pid)
        os.kill(at.proc.pid, signal.SIGKILL)
        at.wait(60)

    traced, _ = _traced_result(kill9, hold=True)
    _compare("alloctop SIGKILLed mid-run", traced, untraced)
    rl.assert_no_leftover(before, ours=pid, what="alloctop (SIGKILL)")
