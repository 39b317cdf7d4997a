"""Allocator families (issue 17): jemalloc's own API (shared, and static with the _rjem_
prefix as Rust links it, and a fully static program holding glibc's malloc beside it),
mimalloc's and tcmalloc's APIs, and C++ new/delete (sized deletes included) served by
each. Every workload prints its exact truth (tests/families/fam.h): counts, bytes,
allocations per site and calls per entry point must match exactly."""
import os

import harness
from harness import fail
from test_targets import Prog, sites, traced

NEEDS_ROOT = True
ROOT = harness.ROOT


def run_family(name, extra=(), calls=True):
    """Attach to build/families/NAME, run its measured phase, check the truth exactly
    (calls too unless calls=False); returns (truth, process, alloctop's stderr)."""
    path = ROOT / "build/families" / name
    if not os.path.exists(path):
        fail("%s is missing: make builds it (tools/install-deps.sh installs the allocators)" % path)
    prog = None
    try:
        prog = Prog([path])
        at = harness.Alloctop(harness.base_args([prog.pid], 0.5) + list(extra))
        try:
            at.wait_attached()
            truth = prog.go()
            at.expect_ok(at.stop())
            rep = at.final_report()
            prog.finish()
            err = at.err.text()
        finally:
            harness.kill(at.proc)
        p = harness.find_process(rep, prog.pid)
        bad = []
        for k in ("allocs", "frees", "live_allocs", "alloc_bytes"):
            if p[k] != truth[k]:
                bad.append("%s = %d, expected %d" % (k, p[k], truth[k]))
        got = sites(rep, prog.pid)
        for site, n in truth["sites"].items():
            if got.get(site) != n:
                bad.append("site %s has %r allocs, expected %d" % (site, got.get(site), n))
        for site in got:
            if site not in truth["sites"]:
                bad.append("unexpected site %s (%d allocs)" % (site, got[site]))
        for key, n in truth["calls"].items() if calls else ():
            if p["calls"].get(key) != n:
                bad.append("calls.%s = %r, expected %d" % (key, p["calls"].get(key), n))
        for key, n in p["calls"].items() if calls else ():
            if n and key not in truth["calls"] and key not in ("mmap", "munmap"):
                bad.append("calls.%s = %d, not made by the workload" % (key, n))
        if rep["dropped"]:
            bad.append("dropped %r" % rep["drops"])
        if bad:
            fail("%s: %s\n(sites: %s; calls: %s)" % (name, "; ".join(bad), got,
                                                        {k: v for k, v in p["calls"].items() if v}))
        return truth, p, err
    finally:
        if prog:
            harness.kill(prog.proc)


def test_jemalloc_api_shared():
    """mallocx, rallocx, xallocx (in place: shrink, maybe grow, fail), dallocx, sdallocx,
    sallocx and nallocx (queries), and the C names, all from libjemalloc.so.2."""
    run_family("jemalloc")


def test_jemalloc_static_unprefixed_in_executable():
    """jemalloc linked into the executable with its own names: it serves malloc there."""
    run_family("jemalloc-static")


def test_jemalloc_rjem_prefix_static_in_executable():
    """tikv-jemallocator's shape: jemalloc linked into the executable with _rjem_ names,
    glibc's malloc beside it in libc.so.6: both probed, each call counted once."""
    run_family("rjem")


def _rust_global(name, merged=None):
    """merged: {key: [names]}: names one code answers to, called through a register (no
    call instruction before the return address names the GOT slot): counted under the
    first name, so compared summed"""
    path = ROOT / "build/rust" / name
    if not os.path.exists(path):
        fail("%s is missing: make builds it" % path)
    prog = None
    try:
        prog = Prog([path])
        (truth,), rep = traced([prog], harness.base_args([prog.pid], 0.5))
        p = harness.find_process(rep, prog.pid)
        for key, names in (merged or {}).items():
            p["calls"][key] = sum(p["calls"].pop(n, 0) for n in names)
        bad = ["%s = %d, expected %d" % (k, p[k], truth[k])
               for k in ("allocs", "frees", "live_allocs", "alloc_bytes") if p[k] != truth[k]]
        bad += ["calls.%s = %r, expected %d" % (k, p["calls"].get(k), n)
                for k, n in truth["calls"].items() if p["calls"].get(k) != n]
        bad += ["calls.%s = %d, not made" % (k, n) for k, n in p["calls"].items()
                if n and k not in truth["calls"] and k not in ("mmap", "munmap")]
        if rep["dropped"]:
            bad.append("dropped %r" % rep["drops"])
        if bad:
            fail("%s: %s" % (name, "; ".join(bad)))
    finally:
        if prog:
            harness.kill(prog.proc)


def test_rust_global_allocator_on_rjem():
    """A Rust program whose #[global_allocator] is the _rjem_ jemalloc linked in, called
    as tikv-jemallocator does (malloc/calloc/realloc at default alignment, mallocx and
    rallocx beyond it, sdallocx for every free): counts, bytes and calls exact."""
    _rust_global("rjem_alloc")


def test_rust_global_allocator_on_mimalloc():
    """A Rust program whose #[global_allocator] is libmimalloc, called as the mimalloc
    crate does (mi_malloc_aligned, mi_zalloc_aligned, mi_realloc_aligned, mi_free).
    Counts and bytes exact; mi_free is libmimalloc's free too, and in a loop rustc loads
    its GOT slot into a register once and calls *%r13, which names no slot: those frees
    count under free, so mi_free and free are compared summed."""
    _rust_global("mi_alloc", merged={"mi_free": ["mi_free", "free"]})


def test_two_allocators_in_one_static_file():
    """A -static program: glibc's malloc and _rjem_* jemalloc in the one executable."""
    run_family("rjem-static")


def test_mimalloc_api():
    """mi_malloc and its zero, count, aligned and aligned_at forms, reallocs (reallocf,
    expand, aligned), mi_new forms, mi_free, mi_free_size, mi_free_aligned."""
    run_family("mimalloc")


def test_tcmalloc_api():
    """tc_malloc, tc_calloc, tc_realloc, tc_memalign, tc_posix_memalign, tc_free,
    tc_free_sized, tc_cfree: aliases of the C names, told apart by the caller's GOT slot."""
    run_family("tcmalloc")


def test_tcmalloc_static_in_executable():
    """tcmalloc linked into the executable: its malloc serves the program (and glibc's
    sits unused in libc). Counts, bytes and sites exact; calls are not compared, since
    tc_malloc and malloc are one address there and a direct call carries no name (no GOT
    slot): they count under the first name, malloc."""
    truth, p, _ = run_family("tcmalloc-static", calls=False)
    want = truth["calls"]["tc_malloc"] + truth["calls"]["malloc"]
    if p["calls"].get("tc_malloc", 0) or p["calls"]["malloc"] != want:
        fail("tcmalloc-static: calls.malloc = %d (tc_malloc %r), expected %d under malloc"
             % (p["calls"]["malloc"], p["calls"].get("tc_malloc"), want))


def test_cxx_on_jemalloc():
    """operator new and sized delete served by libjemalloc (5.3 inlines its fast path into
    operator new: the operators themselves are probed)."""
    run_family("cxx-jemalloc")


def test_cxx_on_tcmalloc():
    run_family("cxx-tcmalloc")


def test_cxx_on_mimalloc():
    run_family("cxx-mimalloc")


def test_verbose_names_family_and_prefix():
    """-v says which family and prefix each allocator has, and where."""
    path = ROOT / "build/families/rjem"
    prog = None
    try:
        prog = Prog([path])
        at = harness.Alloctop(harness.base_args([prog.pid], 0.5) + ["-v"])
        try:
            at.wait_attached()
            prog.go()
            at.expect_ok(at.stop())
            at.final_report()
            text = at.err.text()
        finally:
            harness.kill(at.proc)
        prog.finish()
        want = ["allocator jemalloc (prefix _rjem_) in %s" % path, "allocator libc in /"]
        for w in want:
            if w not in text:
                fail("-v does not say %r:\n%s" % (w, "\n".join(l for l in text.splitlines() if "allocator" in l)))
    finally:
        if prog:
            harness.kill(prog.proc)


def test_unknown_allocator_is_named():
    """A program with an allocator no family describes (dlmalloc's names): one warning
    line names it, and the glibc calls beside it are still exact."""
    _, _, err = run_family("unknown")
    lines = [l for l in err.splitlines() if "does not know" in l]
    if len(lines) != 1 or "dlmalloc" not in lines[0] or "build/families/unknown" not in lines[0]:
        fail("expected one line naming dlmalloc as an allocator alloctop does not know, got:\n%s" % err)


def test_no_allocator_is_an_error():
    """A static program without symbols has no allocator alloctop can find: one line
    saying so, a non-zero exit, no silent fallback."""
    prog = None
    try:
        prog = Prog([ROOT / "build/families/stripped-static"])
        rc, out, err = harness.run_cmd([harness.ALLOCTOP] + harness.base_args([prog.pid], 0.5), 30)
        if rc == 0:
            fail("alloctop exited 0 on a process without a known allocator:\n%s" % err)
        lines = [l for l in err.splitlines() if l.strip()]
        if len(lines) != 1 or "no allocator alloctop can probe" not in lines[0] or str(prog.pid) not in lines[0]:
            fail("expected one line naming the cause, got:\n%s" % err)
    finally:
        if prog:
            harness.kill(prog.proc)


def _strategy(frames):
    """the strat_NAME function a hotspot's stack passes through, or None"""
    for f in frames:
        name = f.get("function") or f.get("symbol") or ""
        i = name.find("strat_")
        if i >= 0:
            j = i + len("strat_")
            while j < len(name) and (name[j].isalnum() or name[j] == "_"):
                j += 1
            return name[i + len("strat_"):j]
    return None


def test_rust_strategies_side_by_side():
    """Rust (Debian's smallvec, bumpalo, arrayvec crates) under a counting GlobalAlloc:
    each strategy's allocations, frees and bytes, found by its function in the stacks,
    match the allocator's own count exactly; so do the process totals."""
    path = ROOT / "build/rust/strategies"
    if not os.path.exists(path):
        fail("%s is missing: make builds it (tools/install-deps.sh installs cargo and the crates)" % path)
    prog = None
    try:
        prog = Prog([path])
        # frame pointers (the workload is built with them): the CFI walk loses bumpalo's
        # chunk allocation after Bump::alloc_layout_slow (a return address of 0x8 read
        # there; the .eh_frame rows are plain rbp+16), an unwinder bug to chase apart
        (truth,), rep = traced([prog], harness.base_args([prog.pid], 0.5) + ["--unwind", "fp"])
        p = harness.find_process(rep, prog.pid)
        bad = []
        for k in ("allocs", "frees", "alloc_bytes"):
            if p[k] != truth[k]:
                bad.append("%s = %d, expected %d" % (k, p[k], truth[k]))
        got = {}
        for h in rep["hotspots"]:
            if h["pid"] != prog.pid:
                continue
            s = _strategy(h["frames"]) or "(none)"
            g = got.setdefault(s, {"allocs": 0, "frees": 0, "alloc_bytes": 0})
            for k in g:
                g[k] += h[k]
        for s, t in truth["strategies"].items():
            g = got.get(s, {"allocs": 0, "frees": 0, "alloc_bytes": 0})
            if g != t:
                bad.append("%s: %s, expected %s" % (s, g, t))
        extra = set(got) - set(truth["strategies"])
        if extra:
            bad.append("allocations outside the strategies: %s" % {s: got[s] for s in extra})
        if rep["dropped"]:
            bad.append("dropped %r" % rep["drops"])
        if bad:
            fail("rust strategies: " + "; ".join(bad))
        # the comparisons the workload exists for
        st = truth["strategies"]
        harness.check(st["vec_with_capacity"]["allocs"] == 1 < st["vec_push"]["allocs"], "Vec strategies")
        harness.check(st["smallvec_under"]["allocs"] == 0 < st["smallvec_over"]["allocs"], "SmallVec")
        harness.check(st["arrayvec"]["allocs"] == 0 and st["cow_borrowed"]["allocs"] == 0, "ArrayVec, Cow")
        harness.check(st["bumpalo"]["allocs"] < st["boxes"]["allocs"], "bumpalo")
    finally:
        if prog:
            harness.kill(prog.proc)
