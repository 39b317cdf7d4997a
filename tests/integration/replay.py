"""Replays a malloc_log.so recording with alloctop's accounting rules.

The result has the workloads' truth format, so a workload's own truth can be checked
against an independent recording of the calls it really made (test_truth.py):

    MALLOC_LOG=/tmp/x.log LD_PRELOAD=build/test/malloc_log.so build/work/basic
    python3 tests/integration/replay.py /tmp/x.log            # window: ready .. truth
    python3 tests/integration/replay.py /tmp/x.log --launch   # the whole process

Sites are the symbols that contain each allocation's return address (the direct
caller), which is what alloctop must report as frames[0].symbol.
"""
import bisect
import json
import struct
import subprocess
import sys

FUNCS = ["malloc", "calloc", "realloc", "reallocarray", "free", "posix_memalign",
         "aligned_alloc", "memalign", "valloc", "pvalloc", "mmap", "munmap"]
(F_MALLOC, F_CALLOC, F_REALLOC, F_REALLOCARRAY, F_FREE, F_POSIX_MEMALIGN,
 F_ALIGNED_ALLOC, F_MEMALIGN, F_VALLOC, F_PVALLOC, F_MMAP, F_MUNMAP) = range(12)
F_REALLOC_NEW, F_READY, F_TRUTH = 30, 40, 41
UNFILLED = 0xFFFFFFFF
MAP_ANONYMOUS = 0x20
MAP_FAILED = (1 << 64) - 1
PAGE = 4096
REC = struct.Struct("<II5Q")


class ReplayError(Exception):
    pass


def parse(path):
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] != b"ALOG":
        raise ReplayError("%s: not a malloc_log recording" % path)
    total, n = struct.unpack_from("<QQ", data, 8)
    if total != n:
        raise ReplayError("recording overflowed: %d calls, %d kept" % (total, n))
    off = 24
    recs = [REC.unpack_from(data, off + i * REC.size) for i in range(n)]
    maps = data[off + n * REC.size:].decode(errors="replace")
    return recs, maps


class Symbolizer:
    """Address -> symbol, from /proc/PID/maps text plus nm and the ELF program headers."""

    def __init__(self, maps_text):
        self.maps = []
        self.uprobes = []
        for line in maps_text.splitlines():
            parts = line.split(None, 5)
            if len(parts) == 6 and parts[5] == "[uprobes]":
                # another tracer's return probe on the recorder's malloc: the return
                # address it replaced points here (a system-wide tracer run meanwhile)
                self.uprobes.append(tuple(int(x, 16) for x in parts[0].split("-")))
            if len(parts) < 6 or not parts[5].startswith("/"):
                continue
            lo, hi = (int(x, 16) for x in parts[0].split("-"))
            self.maps.append((lo, hi, int(parts[2], 16), parts[5]))
        self.maps.sort()
        self.starts = [m[0] for m in self.maps]
        self.files = {}
        self.cache = {}

    def _load(self, path):
        if path in self.files:
            return self.files[path]
        loads, syms = [], []
        try:
            with open(path, "rb") as f:
                hdr = f.read(64)
                phoff, = struct.unpack_from("<Q", hdr, 0x20)
                phentsize, phnum = struct.unpack_from("<HH", hdr, 0x36)
                f.seek(phoff)
                ph = f.read(phentsize * phnum)
            for i in range(phnum):
                p_type, _, p_offset, p_vaddr, _, p_filesz = struct.unpack_from("<IIQQQQ", ph, i * phentsize)
                if p_type == 1:
                    loads.append((p_offset, p_filesz, p_vaddr))
            out = subprocess.run(["nm", "-S", "--defined-only", path], capture_output=True, text=True).stdout
            if not out.strip():     # stripped: the dynamic symbols are better than nothing
                out = subprocess.run(["nm", "-D", "-S", "--defined-only", path],
                                     capture_output=True, text=True).stdout
            for line in out.splitlines():
                f = line.split()
                if len(f) == 4 and f[2] in "tTWwi":
                    syms.append((int(f[0], 16), int(f[1], 16), f[3]))
                elif len(f) == 3 and f[1] in "tTWwi":
                    syms.append((int(f[0], 16), 0, f[2]))
        except OSError:
            pass
        syms.sort()
        self.files[path] = (loads, syms, [s[0] for s in syms])
        return self.files[path]

    def symbol(self, addr):
        if addr in self.cache:
            return self.cache[addr]
        name = "[unknown]"
        if any(lo <= addr < hi for lo, hi in self.uprobes):
            name = "[uprobes trampoline: another tracer probed this run; run the suite alone]"
        i = bisect.bisect_right(self.starts, addr) - 1
        if i >= 0 and self.maps[i][0] <= addr < self.maps[i][1]:
            lo, _, moff, path = self.maps[i]
            name = "[%s]" % path
            loads, syms, starts = self._load(path)
            foff = addr - lo + moff
            for p_offset, p_filesz, p_vaddr in loads:
                if p_offset <= foff < p_offset + p_filesz:
                    v = p_vaddr + foff - p_offset
                    j = bisect.bisect_right(starts, v) - 1
                    if j >= 0:
                        s_addr, s_size, s_name = syms[j]
                        if v < s_addr + s_size or (s_size == 0 and (j + 1 == len(syms) or v < syms[j + 1][0])):
                            name = s_name
                    break
        self.cache[addr] = name
        return name


def bucket(size):
    return size.bit_length()


def replay(recs, maps, launch=False):
    sym = Symbolizer(maps)
    c = {k: 0 for k in ("allocs", "frees", "alloc_bytes", "free_bytes", "live_allocs", "live_bytes",
                        "untracked_frees", "temp_allocs")}
    calls = {f: 0 for f in FUNCS}
    mm = {"maps": 0, "unmaps": 0, "live_bytes": 0}
    sites, hist = {}, {}
    blocks = {}        # addr -> [size, tid, seq, site]
    last = {}          # tid -> seq of its last allocation
    seqs = {}
    mappings = {}      # start -> page-rounded length

    def alloc(addr, size, tid, ra):
        if addr in blocks:
            raise ReplayError("address %#x allocated while still live" % addr)
        site = sym.symbol(ra)
        seqs[tid] = seqs.get(tid, 0) + 1
        last[tid] = seqs[tid]
        blocks[addr] = [size, tid, seqs[tid], site]
        c["allocs"] += 1
        c["alloc_bytes"] += size
        c["live_allocs"] += 1
        c["live_bytes"] += size
        s = sites.setdefault(site, {"allocs": 0, "alloc_bytes": 0, "live_allocs": 0, "live_bytes": 0})
        s["allocs"] += 1
        s["alloc_bytes"] += size
        s["live_allocs"] += 1
        s["live_bytes"] += size
        h = hist.setdefault(str(bucket(size)), [0, 0])
        h[0] += 1
        h[1] += size

    def free(addr, tid):
        b = blocks.pop(addr, None)
        if b is None:
            c["untracked_frees"] += 1
            return
        size, btid, seq, site = b
        c["frees"] += 1
        c["free_bytes"] += size
        c["live_allocs"] -= 1
        c["live_bytes"] -= size
        sites[site]["live_allocs"] -= 1
        sites[site]["live_bytes"] -= size
        if btid == tid and last.get(tid) == seq:
            c["temp_allocs"] += 1

    def realloc_size(r):
        fn, _, old, a1, a2, ret, ra = r
        if fn == F_REALLOC:
            return a1, False
        prod = a1 * a2
        return prod & ((1 << 64) - 1), prod >= 1 << 64

    active = launch
    saw_ready = saw_truth = False
    for fn, tid, a0, a1, a2, ret, ra in recs:
        if fn == UNFILLED:
            raise ReplayError("a record was never filled in (a thread died inside a call?)")
        if fn == F_READY:
            saw_ready = True
            if not launch:
                active = True
            continue
        if fn == F_TRUTH:
            saw_truth = True
            if not launch:
                break
            continue
        if not active:
            continue
        if fn == F_REALLOC_NEW:
            first = recs[a0]
            size, _ = realloc_size(first)
            if ret:
                alloc(ret, size, tid, ra)
            continue
        calls[FUNCS[fn]] += 1
        if fn == F_MALLOC and ret:
            alloc(ret, a0, tid, ra)
        elif fn == F_CALLOC and ret:
            alloc(ret, a0 * a1, tid, ra)
        elif fn in (F_ALIGNED_ALLOC, F_MEMALIGN) and ret:
            alloc(ret, a1, tid, ra)
        elif fn in (F_VALLOC, F_PVALLOC) and ret:
            alloc(ret, a0, tid, ra)
        elif fn == F_POSIX_MEMALIGN and a2 == 0:
            alloc(ret, a1, tid, ra)
        elif fn in (F_REALLOC, F_REALLOCARRAY):
            size, overflow = realloc_size((fn, tid, a0, a1, a2, ret, ra))
            # success frees the old block; glibc's realloc(p, 0) frees p and returns NULL
            if a0 and (ret or (size == 0 and not overflow)):
                free(a0, tid)
        elif fn == F_FREE and a0:
            free(a0, tid)
        elif fn == F_MMAP:
            if ret != MAP_FAILED and a1 & MAP_ANONYMOUS:
                n = (a0 + PAGE - 1) & ~(PAGE - 1)
                mappings[ret] = n
                mm["maps"] += 1
                mm["live_bytes"] += n
        elif fn == F_MUNMAP:
            n = (a1 + PAGE - 1) & ~(PAGE - 1)
            if a0 in mappings and n:
                m = mappings.pop(a0)
                mm["unmaps"] += 1
                if n < m:
                    mappings[a0 + n] = m - n
                    mm["live_bytes"] -= n
                else:
                    mm["live_bytes"] -= m
    if not launch and not (saw_ready and saw_truth):
        raise ReplayError("the recording has no ready/truth markers")
    out = dict(c)
    out["calls"] = calls
    out["mmap"] = mm
    out["sites"] = sites
    out["size_hist"] = hist
    return out


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: replay.py LOG [--launch]")
    recs, maps = parse(sys.argv[1])
    print(json.dumps(replay(recs, maps, launch="--launch" in sys.argv[2:])))


if __name__ == "__main__":
    main()
