"""Kernel memory sized to the targets (README: alloctop's own cost): the live-block table
starts small and grows in tiers up to --max-live, with every block counted; a small -p
target costs far less kernel memory than the old fixed 295 MB."""
import os

import harness
from harness import fail
import test_reliability_lib as rl

NEEDS_ROOT = True

OLD_DEFAULT_BYTES = 295 * 10**6   # every map at its old fixed size


def _json_args(pids, extra=()):
    return ["-p", ",".join(str(p) for p in pids), "-b", "-o", "json", "-d", "0.2", "--top", "100000", "-v",
            *extra]


def _map_memlock(pid):
    """Bytes of kernel memory charged to the BPF maps pid holds open (fdinfo memlock)."""
    seen, total = set(), 0
    fddir = "/proc/%d/fdinfo" % pid
    for fd in os.listdir(fddir):
        try:
            with open(os.path.join(fddir, fd)) as f:
                info = dict(l.split(":", 1) for l in f.read().splitlines() if ":" in l)
        except OSError:
            continue   # closed meanwhile
        # a map open twice (the site reader reuses the site map's fd) counts once
        if "map_type" in info and "memlock" in info and info.get("map_id") not in seen:
            seen.add(info.get("map_id"))
            total += int(info["memlock"].strip())
    return total, len(seen)


def test_live_table_grows_exact():
    """300000 blocks live at once in a process that held almost nothing at attach (the
    table starts at 65536 slots): the table grows, every block is tracked, no drop; the
    frees find the blocks in whichever tier holds them."""
    n = 300000
    w, at = rl.RelWorkload("burst", [str(n)]), None
    try:
        w.wait_ready()
        at = harness.Alloctop(_json_args([w.pid]))
        at.wait_attached()
        alloc_bytes = int(w.ask("alloc", "allocated").split()[2])
        rep = rl.reports_after(at, len(at.reports()), 2)
        p = rl.proc_entry(rep, w.pid)
        rl.check_fields("grown table, blocks live", p, {
            "allocs": n, "alloc_bytes": alloc_bytes, "live_allocs": n, "live_bytes": alloc_bytes,
            "calls.malloc": n})
        if rep["dropped"] != 0:
            fail("drops with a table that could grow: %s" % rep["drops"])
        tiers = [l for l in at.err.lines if "live-block table: tier" in l]
        if len(tiers) < 2:
            fail("the live-block table did not grow past its first tier: %s" % tiers)
        w.ask("free", "freed")
        rep = rl.reports_after(at, len(at.reports()), 2)
        p = rl.proc_entry(rep, w.pid)
        rl.check_fields("grown table, blocks freed", p, {
            "allocs": n, "frees": n, "live_allocs": 0, "live_bytes": 0, "untracked_frees": 0, "calls.free": n})
        if rep["dropped"] != 0:
            fail("drops after the frees: %s" % rep["drops"])
        at.expect_ok(at.stop())
        w.finish()
    finally:
        harness.kill(w.proc)
        if at:
            harness.kill(at.proc)


def test_small_target_memory():
    """-p of a small process with the defaults: the maps' memlock adds up to well under
    the old fixed 295 MB (half of it at most; about 87 MB when measured)."""
    w, at = rl.RelWorkload("burst", ["10"]), None
    try:
        w.wait_ready()
        at = harness.Alloctop(_json_args([w.pid]))
        at.wait_attached()
        total, maps = _map_memlock(at.proc.pid)
        if maps < 10:
            fail("only %d BPF map fds found in /proc/%d/fdinfo" % (maps, at.proc.pid))
        if total > OLD_DEFAULT_BYTES // 2:
            fail("kernel memory for a small -p target: %d bytes in %d maps, want at most %d"
                 % (total, maps, OLD_DEFAULT_BYTES // 2))
        at.expect_ok(at.stop())
        w.finish()
    finally:
        harness.kill(w.proc)
        if at:
            harness.kill(at.proc)
