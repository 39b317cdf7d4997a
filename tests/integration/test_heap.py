"""Fragmentation against glibc's own mallinfo2(), lifetimes in the right buckets, and
leak suspects found after their age (issue 6)."""
import json
import os
import signal
import subprocess
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ALLOCTOP = os.environ.get("ALLOCTOP") or os.path.join(ROOT, "alloctop")  # make test-asan sets it
NEEDS_ROOT = True


def _readline(proc, timeout=10):
    end = time.time() + timeout
    while time.time() < end:
        line = proc.stdout.readline()
        if line:
            return line.decode()
        if proc.poll() is not None:
            break
        time.sleep(0.01)
    raise AssertionError("no line from workload within %ss" % timeout)


def _trace(workload_args, alloctop_args, between):
    """Starts the workload, attaches, sends go, waits for its reply line, then runs
    between(), stops alloctop with SIGINT and returns (reply, last JSON report)."""
    wl = subprocess.Popen(workload_args, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    at = None
    try:
        pid = int(_readline(wl).split()[1])
        at = subprocess.Popen([ALLOCTOP, "-p", str(pid), "-b", "-o", "json", "-d", "0.2", "--top", "1000"]
                              + alloctop_args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        end = time.time() + 20
        err = b""
        while b"attached" not in err:
            assert time.time() < end and at.poll() is None, "alloctop did not attach: %r" % err
            err += at.stderr.read1(4096) if hasattr(at.stderr, "read1") else at.stderr.readline()
        wl.stdin.write(b"go\n")
        wl.stdin.flush()
        reply = _readline(wl, 30)
        between()
        at.send_signal(signal.SIGINT)
        out, _ = at.communicate(timeout=20)
        assert at.returncode == 0, "alloctop exited %d" % at.returncode
        reports = [json.loads(l) for l in out.decode().splitlines() if l.strip()]
        wl.stdin.write(b"exit\n")
        wl.stdin.flush()
        assert wl.wait(timeout=10) == 0, "the workload did not exit normally"
        return reply, reports[-1]
    finally:
        for p in (at, wl):
            if p and p.poll() is None:
                p.kill()
                p.wait()


def _frag_case(mode):
    reply, rep = _trace([os.path.join(ROOT, "build/frag/fragheap"), mode], [], lambda: time.sleep(0.5))
    mi = json.loads(reply)
    proc = rep["processes"][0]
    f = proc["fragmentation"]
    assert f, "no fragmentation object"
    glibc_total = mi["arena"] + mi["hblkhd"]
    glibc_ratio = mi["fordblks"] / glibc_total
    assert abs(f["heap_bytes"] - glibc_total) <= 0.10 * glibc_total, \
        "heap_bytes %d vs mallinfo2 arena+hblkhd %d" % (f["heap_bytes"], glibc_total)
    assert abs(f["ratio"] - glibc_ratio) <= 0.05, "ratio %.3f vs mallinfo2 %.3f" % (f["ratio"], glibc_ratio)
    assert f["free_bytes"] == f["heap_bytes"] - f["used_bytes"]
    assert 0 < f["resident_bytes"] <= f["heap_bytes"]
    return f


def test_fragmented_heap_matches_mallinfo2():
    f = _frag_case("fragmented")
    small = sum(h["count"] for h in f["hole_hist"] if h["hi"] < 256)
    assert small >= 9000, "expected ~10000 small holes, got %d" % small   # every other of 20000 freed
    assert f["ratio"] > 0.2


def test_compact_heap_matches_mallinfo2():
    f = _frag_case("compact")
    small = sum(h["count"] for h in f["hole_hist"] if h["hi"] < 256)
    assert small < 100, "a compact heap has no small holes, got %d" % small
    assert f["ratio"] < 0.1


def _site(rep, name):
    hs = [h for h in rep["hotspots"] if h["frames"] and h["frames"][0]["symbol"] == name]
    assert hs, "no hotspot for %s" % name
    return hs


def _lifetimes(hs):
    out = {}
    for h in hs:
        for b in h["lifetime_hist"]:
            out[(b["lo_ns"], b["hi_ns"])] = out.get((b["lo_ns"], b["hi_ns"]), 0) + b["count"]
    return out


def test_lifetimes_and_leak_suspects():
    reply, rep = _trace([os.path.join(ROOT, "build/frag/lifetimes")], ["--min-age", "0.5"], lambda: time.sleep(1.0))
    assert reply.startswith("done")
    imm = _lifetimes(_site(rep, "site_immediate"))
    assert sum(imm.values()) == 200
    assert all(hi < 1000000 for (lo, hi) in imm), "immediate frees live under 1 ms: %r" % imm
    ms = _lifetimes(_site(rep, "site_ms"))
    assert sum(ms.values()) == 20
    assert all(lo >= 4000000 and hi < 33554432 for (lo, hi) in ms), "~5 ms blocks: %r" % ms
    slow = _lifetimes(_site(rep, "site_slow"))
    assert sum(slow.values()) == 4
    assert all(lo >= 268435456 and hi < 1073741824 for (lo, hi) in slow), "~300 ms blocks: %r" % slow
    leak = _site(rep, "site_leak")
    assert sum(h["live_allocs"] for h in leak) == 7
    assert sum(h["old_allocs"] for h in leak) == 7 and sum(h["old_bytes"] for h in leak) == 7000
    assert max(h["oldest_age_s"] for h in leak) >= 1.0
    sus = [h for h in rep["leak_suspects"] if h["frames"][0]["symbol"] == "site_leak"]
    assert sus and sum(h["old_allocs"] for h in sus) == 7
    others = [h for h in rep["leak_suspects"] if h["frames"][0]["symbol"] != "site_leak"]
    assert not others, "only site_leak holds old blocks: %r" % [h["frames"][0]["symbol"] for h in others]
    proc = rep["processes"][0]
    assert proc["temp_allocs"] >= 224, "each free follows its malloc on one thread: %r" % proc["temp_allocs"]
