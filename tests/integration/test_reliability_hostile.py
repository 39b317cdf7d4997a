"""Hostile input (issue 8): strings a target controls (its comm, its symbol names) must
not break the JSON output, and paths from /proc/PID/maps must lead alloctop to the very
file the target maps, also from a chroot or another mount namespace where the same
path names another file (or a symlink points out of the target's root).

The ELF parser itself is fuzzed by tests/fuzz (make fuzz)."""
import json
import os
import shutil
import subprocess
import threading
import time

import harness
from harness import fail
import test_reliability_lib as rl

NEEDS_ROOT = True


class RawAlloctop(harness.Alloctop):
    """alloctop whose stdout is kept as raw bytes, to be checked undecoded."""

    def __init__(self, args, prefix=()):
        self.args = [str(a) for a in args]
        self.proc = harness.spawn([str(a) for a in prefix] + [str(harness.ALLOCTOP)] + self.args,
                                  stdin=subprocess.DEVNULL)
        self.raw = bytearray()
        self.out = None
        self.err = harness.Lines(self.proc.stderr, "alloctop stderr")
        self._pump = threading.Thread(target=self._read, daemon=True)
        self._pump.start()

    def _read(self):
        try:
            for chunk in iter(lambda: self.proc.stdout.read1(65536), b""):
                self.raw.extend(chunk)
        except (OSError, ValueError):
            pass

    def wait(self, timeout):
        rc = harness.wait_exit(self.proc, timeout, "alloctop " + " ".join(self.args))
        self._pump.join(5)
        self.err.join()
        return rc

    def nlines(self):
        return bytes(self.raw).count(b"\n")


def _strings(x):
    if isinstance(x, str):
        yield x
    elif isinstance(x, dict):
        for k, v in x.items():
            yield k
            yield from _strings(v)
    elif isinstance(x, list):
        for v in x:
            yield from _strings(v)


WEIRD_COMM = b"q\"\\\x01\n\t\xff\xfe\xc3(\x7f\xc3\xa9Z"[:15]


def test_json_hostile_comm_and_symbols():
    """Every output line is strict UTF-8 and parses as JSON; the comm and the symbol
    names come out with invalid bytes as U+FFFD and everything else intact."""
    w, at = rl.RelWorkload("weird"), None
    try:
        w.wait_ready()
        at = RawAlloctop(["-p", w.pid, "-b", "-o", "json", "-d", "0.2", "--top", "1000"])
        at.wait_attached()
        said = rl.fields(w.ask("go", "done"))
        # two reports after the work (the final one covers it in any case)
        n = at.nlines()
        deadline = time.monotonic() + 60
        while at.nlines() < n + 2:
            if time.monotonic() > deadline:
                fail("alloctop printed %d report(s) in 60 s after the work" % (at.nlines() - n))
            time.sleep(0.05)
        at.expect_ok(at.stop())
        w.finish()
        raw = bytes(at.raw)
        docs = []
        for i, line in enumerate(raw.split(b"\n")):
            if not line:
                continue
            try:
                text = line.decode("utf-8", errors="strict")
            except UnicodeDecodeError as e:
                fail("output line %d is not UTF-8 (%s): %r" % (i + 1, e, line[max(0, e.start - 40):e.end + 40]))
            try:
                doc = json.loads(text)
            except ValueError as e:
                fail("output line %d is not JSON (%s): %r" % (i + 1, e, text[:300]))
            for s in _strings(doc):
                try:
                    s.encode("utf-8", errors="strict")
                except UnicodeEncodeError:
                    fail("output line %d holds a string with a lone surrogate: %r" % (i + 1, s[:200]))
            docs.append(doc)
        if not docs:
            fail("no report; stderr:\n%s" % at.err.tail())
        rep = docs[-1]
        p = rl.proc_entry(rep, w.pid)
        want_comm = WEIRD_COMM.decode("utf-8", errors="replace")
        problems = []
        if p["comm"] != want_comm:
            problems.append("comm %r, want %r" % (p["comm"], want_comm))
        if p["allocs"] != said["allocs"] or p["alloc_bytes"] != said["bytes"]:
            problems.append("allocs %s bytes %s, want %d and %d" % (p["allocs"], p["alloc_bytes"],
                                                                    said["allocs"], said["bytes"]))
        syms = {}
        for h in rep["hotspots"]:
            if h["pid"] == w.pid and h["frames"]:
                sym = h["frames"][0].get("symbol")
                syms[sym] = syms.get(sym, 0) + h["allocs"]     # the compiler may unroll a loop
        weird = [s for s in syms if s and s.startswith('weird"name\\x\x01\t\x1b[31m')]
        if len(weird) != 1 or not weird[0].endswith("{}\u20acend") or syms[weird[0]] != said["weird"]:
            problems.append("no site 'weird\"name\\\\x...' with %d allocs (invalid bytes as U+FFFD); sites: %r"
                            % (said["weird"], {k[:60] if k else k: v for k, v in syms.items()}))
        longs = [s for s in syms if s and s.startswith("L\u00e9L\u00e9")]
        if len(longs) != 1 or syms[longs[0]] != said["long"]:
            problems.append("no long site 'LéLé...' with %d allocs; sites: %r"
                            % (said["long"], {k[:20] if k else k: v for k, v in syms.items()}))
        if problems:
            fail("hostile strings:\n    " + "\n    ".join(problems))
    finally:
        harness.kill(w.proc)
        if at:
            harness.kill(at.proc)


def test_text_hostile_comm_and_symbols():
    """-o text with the same names: exits 0 and names the sites; control bytes from the
    target must not reach the terminal raw (an ESC could rewrite the screen)."""
    w, at = rl.RelWorkload("weird"), None
    try:
        w.wait_ready()
        at = RawAlloctop(["-p", w.pid, "-b", "-o", "text", "-d", "0.2", "--top", "1000"])
        at.wait_attached()
        w.ask("go", "done")
        # a report after the work names the sites: wait for it (the final one would too)
        deadline = time.monotonic() + 60
        while b'weird"name' not in bytes(at.raw):
            if time.monotonic() > deadline:
                fail("no text report named the weird site within 60 s")
            time.sleep(0.05)
        at.expect_ok(at.stop())
        w.finish()
        raw = bytes(at.raw)
        if b'weird"name' not in raw:
            fail("the text output does not name the weird site")
        ctl = sorted({c for c in raw if (c < 0x20 and c not in (0x09, 0x0a)) or c == 0x7f})
        if ctl:
            i = min(raw.find(bytes([c])) for c in ctl)
            fail("the text output passes control bytes from the target through: %s, e.g. %r"
                 % (["0x%02x" % c for c in ctl], raw[max(0, i - 40):i + 40]))
    finally:
        harness.kill(w.proc)
        if at:
            harness.kill(at.proc)


# ---------------------------------------------------------------- paths

# the calibration runs afresh there too: it must not need map_files either
NO_MAP_FILES = ["env", "ALLOCTOP_RECALIBRATE=1", "setpriv", "--bounding-set=-sys_admin,-checkpoint_restore", "--inh-caps=-all"]


def _burst_exact(w, prefix=(), label="", want_path=None):
    """Attaches to a burst workload (maybe through a wrapper), has it allocate, and checks
    the counts are exact: only probes in the file the target really maps can see them."""
    before = rl.snapshot()
    at = rl.start_alloctop(["-v", "-p", w.pid, "-b", "-o", "json", "-d", "0.2", "--top", "1000"], prefix)
    try:
        at.wait_attached()
        line = w.ask("alloc", "allocated")
        n, nbytes = int(line.split()[1]), int(line.split()[2])
        at.expect_ok(at.stop())
        rep = at.final_report()
        p = next((x for x in rep["processes"] if x["pid"] == w.pid), None)
        if not p or p["allocs"] != n or p["alloc_bytes"] != nbytes:
            fail("%s: want allocs %d, alloc_bytes %d, got %s; alloctop stderr:\n%s"
                 % (label, n, nbytes, p and (p["allocs"], p["alloc_bytes"]), at.err.tail()))
        if want_path:
            probed = [l for l in at.err.lines if " malloc at " in l]
            if not probed or want_path not in probed[0]:
                fail("%s: malloc probed in %s, want %s" % (label, probed, want_path))
        rl.assert_no_leftover(before, ours=[at.proc.pid])
    finally:
        harness.kill(at.proc)


def _ns_copy():
    """A copy of libc (another inode) bind-mounted over the real path in a private mount
    namespace: /proc/PID/maps shows /usr/lib/x86_64-linux-gnu/libc.so.6, which on the
    host is the other file."""
    d = rl.REL / ("ns-%d" % os.getpid())
    d.mkdir(parents=True, exist_ok=True)
    libc = os.path.realpath("/lib/x86_64-linux-gnu/libc.so.6")
    copy = d / "libc.so.6"
    shutil.copy2(libc, copy)
    w = rl.RelWorkload("burst", argv=["unshare", "-m", "--propagation", "private", "sh", "-c",
                                      'mount --bind "$0" "$1" && exec "$2" 1000', copy, libc,
                                      rl.rel_path("burst")])
    return d, w, libc


def _mount_ns(prefix, label):
    d, w, libc = _ns_copy()
    try:
        w.wait_ready()
        _burst_exact(w, prefix, label)
        w.finish()
    finally:
        harness.kill(w.proc)
        shutil.rmtree(d, ignore_errors=True)


def test_mount_namespace_same_path_other_file():
    _mount_ns((), "mount namespace, libc path bound to a copy")


def test_mount_namespace_without_map_files():
    """The same without /proc/PID/map_files (no CAP_SYS_ADMIN, no CAP_CHECKPOINT_RESTORE):
    the fallback opens the path inside /proc/PID/root."""
    _mount_ns(NO_MAP_FILES, "mount namespace, no map_files")


def _jail():
    """build/reliability/jail-PID: burst, ld.so and a libc copy, with lib -> usr/lib and
    usr/lib -> / (an absolute symlink: the jail's root inside, the host's root outside).
    The dynamic loader finds libc as /lib/x86_64-linux-gnu/libc.so.6 through both."""
    j = rl.REL / ("jail-%d" % os.getpid())
    _rm_jail(j)
    for sub in ("bin", "lib64", "x86_64-linux-gnu", "usr"):
        (j / sub).mkdir(parents=True)
    shutil.copy2(os.path.realpath("/lib64/ld-linux-x86-64.so.2"), j / "lib64" / "ld-linux-x86-64.so.2")
    shutil.copy2(os.path.realpath("/lib/x86_64-linux-gnu/libc.so.6"), j / "x86_64-linux-gnu" / "libc.so.6")
    shutil.copy2(rl.rel_path("burst"), j / "bin" / "burst")
    os.symlink("usr/lib", j / "lib")
    os.symlink("/", j / "usr" / "lib")
    return j


def _rm_jail(j):
    for link in (j / "lib", j / "usr" / "lib"):
        if os.path.islink(link):
            os.unlink(link)
    shutil.rmtree(j, ignore_errors=True)


def _chroot(prefix, label, decoy=False):
    j = _jail()
    if decoy:
        # inside the jail, at the host path of the jail's libc: another file
        d = j / str(j).lstrip("/") / "x86_64-linux-gnu"
        d.mkdir(parents=True)
        shutil.copy2(os.path.realpath("/lib/x86_64-linux-gnu/libc.so.6"), d / "libc.so.6")
    w = rl.RelWorkload("burst", argv=["chroot", j, "/bin/burst", "1000"])
    try:
        w.wait_ready()
        maps = open("/proc/%d/maps" % w.pid).read()
        want = str(j / "x86_64-linux-gnu" / "libc.so.6")
        if want not in maps:
            fail("the jailed workload does not map %s:\n%s" % (want, maps))
        _burst_exact(w, prefix, label, want_path=want)
        w.finish()
    finally:
        harness.kill(w.proc)
        _rm_jail(j)


def test_chroot_with_symlink_out():
    _chroot((), "chroot with usr/lib -> /")


def test_chroot_without_map_files():
    """Without /proc/PID/map_files, a chrooted target: /proc/PID/maps shows paths from
    alloctop's root (the jail's directory), not from the target's root, so the fallback
    must not resolve them inside /proc/PID/root."""
    _chroot(NO_MAP_FILES, "chroot, no map_files")


def test_chroot_decoy_without_map_files():
    """The same, with a decoy: the jail holds another libc at the path that
    /proc/PID/maps prints (the host path of the jail's libc). Opened inside the target's
    root that path is the wrong inode; alloctop must still find the mapped file (the
    host path) rather than give up, and never probe the decoy."""
    _chroot(NO_MAP_FILES, "chroot with a decoy, no map_files", decoy=True)
