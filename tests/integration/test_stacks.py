"""Readable stacks and profile outputs, end to end: function names, source files and
lines (inlined frames included) from DWARF in the binary, in a .gnu_debuglink file and
in a build-id debug file; demangled C++ and Rust names; folded stacks and pprof
profiles whose weights add up to the JSON totals.

The workloads live in tests/stacks (built into build/stacks by `make stacks`; the
tests run it first). Each takes --nowait to allocate and exit (launch mode), or waits
for a line on stdin ("ready PID" first), allocates, prints "done" and waits for EOF.
"""
import gzip
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import harness
from harness import fail

NEEDS_ROOT = True

ROOT = harness.ROOT
STACKS = ROOT / "build" / "stacks"
SRC = ROOT / "tests" / "stacks"
PROTO = ROOT / "user" / "report" / "pprof" / "profile.proto"

_json_cache = {}
build = harness.build_stacks


def marker(src, name):
    """Line number of the line carrying @name in a workload source."""
    for n, line in enumerate((SRC / src).read_text().splitlines(), 1):
        if "@" + name in line:
            return n
    fail("no @%s marker in %s" % (name, src))


def launch(binary, fmt="json", extra=(), timeout=90):
    """alloctop -b -o FMT [extra] -- build/stacks/BINARY --nowait; returns stdout lines."""
    build()
    at = harness.Alloctop(["-b", "-o", fmt, "--top", "100000", *extra, "--", STACKS / binary, "--nowait"])
    at.expect_ok(at.wait(timeout))
    return at


def truth_from(lines, what):
    """The workload's stderr line 'truth NAME=ALLOCS,ALLOC_BYTES,LIVE_BYTES ...' as
    {NAME: {"allocs", "alloc_bytes", "live_bytes"}}."""
    for l in lines:
        if l.startswith("truth "):
            return {k: dict(zip(("allocs", "alloc_bytes", "live_bytes"), map(int, v.split(","))))
                    for k, v in (kv.split("=", 1) for kv in l.split()[1:])}
    fail("%s: no 'truth' line on the workload's stderr" % what)


def final_json(binary):
    if binary not in _json_cache:
        at = launch(binary)
        _json_cache[binary] = (at.final_report(), truth_from(at.err.lines, binary))
    return _json_cache[binary][0]


def final_truth(binary):
    final_json(binary)
    return _json_cache[binary][1]


def hotspots(report, **want):
    """Hotspots whose counters equal every key=value given."""
    return [h for h in report["hotspots"] if all(h.get(k) == v for k, v in want.items())]


def one_hotspot(report, what, **want):
    hs = hotspots(report, **want)
    if len(hs) != 1:
        fail("%s: expected one hotspot with %s, found %d:\n%s"
             % (what, want, len(hs), json.dumps(report["hotspots"], indent=1)[:4000]))
    return hs[0]


def fmt_frames(frames):
    return "\n".join("    %s%s  %s:%s  (%s)" % (f.get("symbol"), " [inline]" if f.get("inline") else "",
                                               f.get("file"), f.get("line"), f.get("module"))
                     for f in frames)


def expect_frame(frames, i, what, function, inline, src=None, line=None):
    """frames[i] is the (demangled) function, inlined or not, at src:line."""
    if i >= len(frames):
        fail("%s: no frame %d; frames:\n%s" % (what, i, fmt_frames(frames)))
    f = frames[i]
    ok = f.get("symbol") == function and f.get("inline") is inline
    if src is not None:
        ok = ok and isinstance(f.get("file"), str) and f["file"].endswith("tests/stacks/" + src) \
            and f["file"].startswith("/") and f.get("line") == line
    if not ok:
        fail("%s: frame %d should be %s%s at %s:%s; frames:\n%s"
             % (what, i, function, " [inline]" if inline else "", src, line, fmt_frames(frames)))


def check_json_frame_keys(report):
    """Every frame has the documented keys; file/line are both null or both set."""
    for h in report["hotspots"]:
        for f in h["frames"]:
            for k in ("addr", "symbol", "raw_symbol", "offset", "module", "file", "line", "inline"):
                if k not in f:
                    fail("frame without %r: %r" % (k, f))
            if (f["file"] is None) != (f["line"] is None) or not isinstance(f["inline"], bool):
                fail("inconsistent frame: %r" % f)
            if (f["symbol"] is None) != (f["raw_symbol"] is None):
                fail("symbol and raw_symbol disagree: %r" % f)
            if f["inline"] and f["symbol"] is None:
                fail("an inline frame without a name: %r" % f)


def check_inl(report, binary, truth):
    """The C workload's two sites, with the inlined fill_node above build_chain."""
    check_json_frame_keys(report)
    chain = one_hotspot(report, binary + " chain site", **truth["chain"])
    fr = chain["frames"]
    expect_frame(fr, 0, binary, "fill_node", True, "inl.c", marker("inl.c", "malloc-line"))
    expect_frame(fr, 1, binary, "build_chain", False, "inl.c", marker("inl.c", "inline-call-line"))
    expect_frame(fr, 2, binary, "main", False)
    if fr[0]["addr"] != fr[1]["addr"] or fr[0]["offset"] != 0:
        fail("%s: an inline frame shares its caller's address and has offset 0:\n%r" % (binary, fr[:2]))
    scratch = one_hotspot(report, binary + " scratch site", **truth["scratch"])
    expect_frame(scratch["frames"], 0, binary, "scratch_buffer", False, "inl.c", marker("inl.c", "scratch-line"))
    expect_frame(scratch["frames"], 1, binary, "main", False)


def section_names(path):
    rc, out, err = harness.run_cmd(["readelf", "-SW", path])
    if rc:
        fail("readelf -S %s: %s" % (path, err))
    return set(re.findall(r"\]\s+(\.\S+)", out))


# ---------------------------------------------------------------- symbolization

def test_inline_frames_files_lines():
    """-O2 -g: the inlined allocation helper is its own frame, innermost first."""
    check_inl(final_json("inl"), "inl", final_truth("inl"))


def test_text_output_shows_inline_and_lines():
    out = launch("inl", fmt="text").out.text()
    for want in ("fill_node [inlined]", "inl.c:%d" % marker("inl.c", "malloc-line"),
                 "build_chain+0x", "inl.c:%d" % marker("inl.c", "inline-call-line")):
        if want not in out:
            fail("text report lacks %r:\n%s" % (want, out[-3000:]))


def test_debuglink():
    """Stripped of DWARF, with .gnu_debuglink naming a debug file next to it."""
    build()
    names = section_names(STACKS / "inl-dl")
    if ".debug_info" in names or ".gnu_debuglink" not in names:
        fail("build/stacks/inl-dl should have .gnu_debuglink and no .debug_info: %s" % sorted(names))
    check_inl(final_json("inl-dl"), "inl-dl", final_truth("inl-dl"))


def _build_id(path):
    rc, out, err = harness.run_cmd(["readelf", "-n", path])
    m = re.search(r"Build ID: ([0-9a-f]+)", out)
    if rc or not m:
        fail("no build-id in %s: %s" % (path, out + err))
    return m.group(1)


def test_build_id_debug_file():
    """Stripped of everything: named as module+0xoffset until its debug file is put
    under /usr/lib/debug/.build-id/xx/yyyy.debug, then fully symbolized."""
    build()
    exe, dbg = STACKS / "inl-bid", STACKS / "inl-bid.debug"
    if ".symtab" in section_names(exe) or ".gnu_debuglink" in section_names(exe):
        fail("build/stacks/inl-bid should have no .symtab and no .gnu_debuglink")
    bid = _build_id(exe)
    if _build_id(dbg) != bid:
        fail("inl-bid.debug does not carry inl-bid's build-id")
    top = Path("/usr/lib/debug/.build-id")
    target = top / bid[:2] / (bid[2:] + ".debug")
    if target.exists():
        target.unlink()     # ours, left over by an interrupted run
    at = launch("inl-bid")
    rep, truth = at.final_report(), truth_from(at.err.lines, "inl-bid")
    chain = one_hotspot(rep, "inl-bid without debug file", **truth["chain"])
    f0 = chain["frames"][0]
    if f0["symbol"] is not None or f0["file"] is not None or not f0["module"].endswith("/inl-bid"):
        fail("without its debug file the frame should be unnamed: %r" % f0)
    folded = launch("inl-bid", fmt="folded").out.lines
    if not any(re.search(r";inl-bid\+0x[0-9a-f]+ %d$" % truth["chain"]["live_bytes"], l) for l in folded):
        fail("folded: no 'inl-bid+0xOFFSET' leaf for the unnamed frame:\n%s" % "\n".join(folded))
    created = [d for d in (Path("/usr/lib/debug"), top, top / bid[:2]) if not d.exists()]
    try:
        (top / bid[:2]).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(dbg, target)
        at = launch("inl-bid")
        check_inl(at.final_report(), "inl-bid", truth_from(at.err.lines, "inl-bid"))
    finally:
        if target.exists():
            target.unlink()
        for d in reversed(created):
            try:
                d.rmdir()
            except OSError:
                pass


def test_build_id_inside_process_root():
    """A process in a chroot: its debug file is looked up by build-id inside
    /proc/PID/root (the host has none)."""
    build()
    bid = _build_id(STACKS / "inl-static")
    if Path("/usr/lib/debug/.build-id/%s/%s.debug" % (bid[:2], bid[2:])).exists():
        fail("the host has a debug file for inl-static: the test needs it only in the chroot")
    root = harness.SCRATCH / ("chroot-%d" % os.getpid())
    wl = None
    try:
        dbgdir = root / "usr/lib/debug/.build-id" / bid[:2]
        dbgdir.mkdir(parents=True)
        shutil.copy2(STACKS / "inl-static", root / "prog")
        shutil.copyfile(STACKS / "inl-static.debug", dbgdir / (bid[2:] + ".debug"))
        wl = harness.spawn(["chroot", root, "/prog"])
        out = harness.Lines(wl.stdout, "chroot prog stdout")
        err = harness.Lines(wl.stderr, "chroot prog stderr")
        i = out.wait_for(lambda l: l.startswith("ready "), harness.READY_TIMEOUT, "'ready' line")
        pid = int(out.lines[i].split()[1])
        at = harness.Alloctop(["-p", pid, "-b", "-o", "json", "-d", "0.2", "--top", "1000", "-v"])
        at.wait_attached()
        wl.stdin.write(b"go\n")
        wl.stdin.flush()
        out.wait_for(lambda l: l == "done", 30, "'done' line")
        at.expect_ok(at.stop())
        if "(process root)" not in at.err.text():
            fail("the debug file should come from the process root; stderr:\n%s" % at.err.tail())
        err.wait_for(lambda l: l.startswith("truth "), 30, "'truth' line")
        check_inl(at.final_report(), "inl-static in a chroot", truth_from(err.lines, "inl-static"))
        wl.stdin.close()
        harness.wait_exit(wl, 10, "chroot prog")
    finally:
        if wl:
            harness.kill(wl)
        shutil.rmtree(root, ignore_errors=True)


def test_cxx_demangled():
    rep, truth = final_json("cxx"), final_truth("cxx")
    check_json_frame_keys(rep)
    grab = one_hotspot(rep, "cxx Pool::grab", **truth["grab"])
    fr = grab["frames"]
    expect_frame(fr, 0, "cxx", "shapes::Pool<shapes::Point>::grab(unsigned long)", False,
                 "cxx.cc", marker("cxx.cc", "grab-line"))
    expect_frame(fr, 1, "cxx", "shapes::build(shapes::Pool<shapes::Point>&)", False,
                 "cxx.cc", marker("cxx.cc", "build-grab-line"))
    if not fr[0]["raw_symbol"].startswith("_ZN6shapes4Pool"):
        fail("raw_symbol should keep the mangled name: %r" % fr[0])
    lam = one_hotspot(rep, "cxx lambda", **truth["lambda"])
    fr = lam["frames"]
    expect_frame(fr, 0, "cxx", "shapes::build(shapes::Pool<shapes::Point>&)::{lambda(int)#1}::operator()(int) const",
                 False, "cxx.cc", marker("cxx.cc", "lambda-line"))
    expect_frame(fr, 1, "cxx", "int shapes::detail::apply_n<shapes::build(shapes::Pool<shapes::Point>&)::"
                 "{lambda(int)#1}>(int, shapes::build(shapes::Pool<shapes::Point>&)::{lambda(int)#1})",
                 False, "cxx.cc", marker("cxx.cc", "apply-line"))
    # std::vector's growth (operator new) through the library code inlined into ours
    grows = [h for h in rep["hotspots"]
             if any(f["inline"] and f["symbol"].startswith("std::") for f in h["frames"])
             and any(not f["inline"] and (f["symbol"] or "").startswith("shapes::") for f in h["frames"])]
    if not grows:
        fail("no stack with inlined std:: frames above shapes:: code:\n%s"
             % "\n\n".join(fmt_frames(h["frames"]) for h in rep["hotspots"]))


def _check_rust(binary, v0):
    rep, truth = final_json(binary), final_truth(binary)
    check_json_frame_keys(rep)
    src = "rust_alloc.rs"
    grab = one_hotspot(rep, binary + " Arena::grab", **truth["grab"])
    fr = grab["frames"]
    expect_frame(fr, 0, binary, "<rust_alloc::arena::Arena<u64>>::grab" if v0 else "rust_alloc::arena::Arena<T>::grab",
                 False, src, marker(src, "grab-line"))
    expect_frame(fr, 1, binary, "rust_alloc::run", False, src, marker(src, "run-grab-line"))
    if not fr[0]["raw_symbol"].startswith("_R" if v0 else "_ZN"):
        fail("%s: raw_symbol %r is not %s-mangled" % (binary, fr[0]["raw_symbol"], "v0" if v0 else "legacy"))
    # the closure: inlined into run (and its loop unrolled: a site per call) by the
    # rustc versions tried, but either way a frame of its own named after it
    closure = "rust_alloc::run::{closure#0}" if v0 else "rust_alloc::run::{{closure}}"
    cl = truth["closure"]
    size = cl["alloc_bytes"] // cl["allocs"]
    sites = [h for h in rep["hotspots"] if h["alloc_bytes"] == size * h["allocs"] and h["allocs"]]
    if sum(h["allocs"] for h in sites) != cl["allocs"] or sum(h["live_bytes"] for h in sites) != cl["live_bytes"]:
        fail("%s: expected the closure's %d allocations of %d bytes: %r" % (binary, cl["allocs"], size, sites))
    for h in sites:
        inlined = bool(h["frames"]) and h["frames"][0]["inline"]
        expect_frame(h["frames"], 0, binary, closure, inlined, src, marker(src, "closure-line"))
        expect_frame(h["frames"], 1, binary, "rust_alloc::run", False, src, marker(src, "closure-call-line"))
    for name in ("square10", "square20"):
        h = one_hotspot(rep, "%s Shape::build (%s)" % (binary, name), **truth[name])
        expect_frame(h["frames"], 0, binary, "<rust_alloc::Square as rust_alloc::Shape>::build", False,
                     src, marker(src, "build-line"))


def test_rust_demangled_legacy():
    """rustc's default mangling (legacy for a crate's own code before v0 became the
    default; std may be v0 already)."""
    build()
    rc, out, _ = harness.run_cmd(["nm", STACKS / "rust_alloc"])
    v0 = "_RNvCs" in out and "rust_alloc3run" in out and "_ZN10rust_alloc3run" not in out
    _check_rust("rust_alloc", v0)


def test_rust_demangled_v0():
    _check_rust("rust_alloc-v0", True)


# ---------------------------------------------------------------- folded stacks

LINE = re.compile(r"^(\S.*) (\d+)$")


def parse_folded(lines, what):
    stacks = {}
    for n, line in enumerate(lines, 1):
        m = LINE.match(line)
        if not m:
            fail("%s: line %d is not 'frames weight': %r" % (what, n, line))
        frames = m.group(1).split(";")
        if any(not f for f in frames):
            fail("%s: line %d has an empty frame: %r" % (what, n, line))
        if m.group(1) in stacks:
            fail("%s: stack repeated: %r" % (what, m.group(1)))
        w = int(m.group(2))
        if w <= 0:
            fail("%s: zero weight printed: %r" % (what, line))
        stacks[m.group(1)] = w
    if not stacks:
        fail("%s: no folded stacks" % what)
    return stacks


def test_folded_weights_match_json():
    for binary in ("inl", "cxx"):
        proc = final_json(binary)["processes"][0]
        for weight, key in (("live-bytes", "live_bytes"), ("alloc-bytes", "alloc_bytes"), ("allocs", "allocs")):
            stacks = parse_folded(launch(binary, fmt="folded", extra=["--weight", weight]).out.lines,
                                  "%s --weight %s" % (binary, weight))
            if sum(stacks.values()) != proc[key]:
                fail("%s --weight %s: folded weights sum to %d, JSON %s is %d:\n%s"
                     % (binary, weight, sum(stacks.values()), key, proc[key],
                        "\n".join("%s %d" % kv for kv in stacks.items())))
            for s in stacks:
                if not re.match(r"^%s-\d+;" % re.escape(binary), s):
                    fail("%s: a stack should start with the process ('comm-pid'): %r" % (binary, s))
            if binary == "inl" and weight == "alloc-bytes":
                t = final_truth("inl")
                want = {"main;build_chain;fill_node_[i]": t["chain"]["alloc_bytes"],
                        "main;scratch_buffer": t["scratch"]["alloc_bytes"]}
                for tail, w in want.items():
                    if not any(s.endswith(";" + tail) and stacks[s] == w for s in stacks):
                        fail("inl: no root-first stack ending in %r with weight %d:\n%s"
                             % (tail, w, "\n".join(stacks)))


def test_folded_attached_process():
    """-p PID: one folded profile at SIGINT, symbolized through the live process."""
    build()
    wl = harness.spawn([STACKS / "inl"])
    out = harness.Lines(wl.stdout, "inl stdout")
    err = harness.Lines(wl.stderr, "inl stderr")
    try:
        i = out.wait_for(lambda l: l.startswith("ready "), harness.READY_TIMEOUT, "'ready' line")
        pid = int(out.lines[i].split()[1])
        # -v: each refresh says "sites: ..." on stderr, the event to wait for
        at = harness.Alloctop(["-p", pid, "-b", "-o", "folded", "-d", "0.2", "-v"])
        at.wait_attached()
        wl.stdin.write(b"go\n")
        wl.stdin.flush()
        out.wait_for(lambda l: l == "done", 30, "'done' line")
        # three refreshes after the work: nothing may be printed before the end
        n = len(at.err.lines)
        for k in range(3):
            n = at.err.wait_for(lambda l: "sites: " in l, 60, "refresh %d after 'done'" % (k + 1), start=n) + 1
        if at.out.lines:
            fail("folded output before the final report: %r" % at.out.lines[:3])
        at.expect_ok(at.stop())
        stacks = parse_folded(at.out.lines, "inl -p")
        want = "inl-%d;" % pid
        if not all(s.startswith(want) for s in stacks):
            fail("stacks should start with %r:\n%s" % (want, "\n".join(stacks)))
        err.wait_for(lambda l: l.startswith("truth "), 30, "'truth' line")
        live = truth_from(err.lines, "inl")["chain"]["live_bytes"]
        if not any(s.endswith(";main;build_chain;fill_node_[i]") and w == live for s, w in stacks.items()):
            fail("no %d-byte live build_chain;fill_node_[i] stack:\n%s" % (live, "\n".join(stacks)))
        wl.stdin.close()
        harness.wait_exit(wl, 10, "inl")
    finally:
        harness.kill(wl)


# ---------------------------------------------------------------- pprof

def _varint(b, i):
    v = shift = 0
    while True:
        c = b[i]
        i += 1
        v |= (c & 0x7F) << shift
        shift += 7
        if not c & 0x80:
            return v, i


def _fields(b):
    """(field number, wire type, value) of a protobuf message."""
    out, i = [], 0
    while i < len(b):
        key, i = _varint(b, i)
        fn, wt = key >> 3, key & 7
        if wt == 0:
            v, i = _varint(b, i)
        elif wt == 2:
            n, i = _varint(b, i)
            v, i = b[i:i + n], i + n
        elif wt == 1:
            v, i = b[i:i + 8], i + 8
        elif wt == 5:
            v, i = b[i:i + 4], i + 4
        else:
            fail("pprof: bad wire type %d" % wt)
        out.append((fn, wt, v))
    return out


def _ints(wt, v, signed=True):
    """A repeated integer field occurrence, packed or not."""
    vals = []
    if wt == 2:
        i = 0
        while i < len(v):
            x, i = _varint(v, i)
            vals.append(x)
    else:
        vals.append(v)
    return [x - (1 << 64) if signed and x >= 1 << 63 else x for x in vals]


def _msg(b, spec):
    """Decodes b: spec maps field number -> (name, kind); kinds: int, uint, str, bytes,
    [int], [uint], [str], or a nested spec dict / [spec] for messages."""
    d = {name: ([] if isinstance(kind, list) else None) for name, kind in spec.values()}
    for fn, wt, v in _fields(b):
        if fn not in spec:
            continue
        name, kind = spec[fn]
        rep = isinstance(kind, list)
        k = kind[0] if rep else kind
        if k in ("int", "uint"):
            vals = _ints(wt, v, k == "int")
        elif k == "str":
            vals = [v.decode()]
        elif isinstance(k, dict):
            vals = [_msg(v, k)]
        else:
            vals = [v]
        if rep:
            d[name].extend(vals)
        else:
            d[name] = vals[-1]
    return d


VT = {1: ("type", "int"), 2: ("unit", "int")}
PROFILE = {
    1: ("sample_type", [VT]),
    2: ("sample", [{1: ("location_id", ["uint"]), 2: ("value", ["int"]),
                    3: ("label", [{1: ("key", "int"), 2: ("str", "int"), 3: ("num", "int")}])}]),
    3: ("mapping", [{1: ("id", "uint"), 2: ("memory_start", "uint"), 3: ("memory_limit", "uint"),
                     4: ("file_offset", "uint"), 5: ("filename", "int"), 6: ("build_id", "int"),
                     7: ("has_functions", "uint"), 8: ("has_filenames", "uint"),
                     9: ("has_line_numbers", "uint"), 10: ("has_inline_frames", "uint")}]),
    4: ("location", [{1: ("id", "uint"), 2: ("mapping_id", "uint"), 3: ("address", "uint"),
                      4: ("line", [{1: ("function_id", "int"), 2: ("line", "int")}])}]),
    5: ("function", [{1: ("id", "uint"), 2: ("name", "int"), 3: ("system_name", "int"),
                      4: ("filename", "int"), 5: ("start_line", "int")}]),
    6: ("string_table", ["str"]),
    9: ("time_nanos", "int"),
    10: ("duration_nanos", "int"),
    11: ("period_type", VT),
    12: ("period", "int"),
    14: ("default_sample_type", "int"),
}


def test_pprof_matches_json():
    """-o json --pprof-out FILE: the profile written at the final report carries the
    same totals as the JSON document, names, files, lines and inlined frames."""
    harness.SCRATCH.mkdir(parents=True, exist_ok=True)
    path = harness.SCRATCH / ("stacks-%d.pb.gz" % os.getpid())
    try:
        for binary in ("inl", "cxx"):
            at = launch(binary, extra=["--pprof-out", path])     # launch() builds
            rep, truth = at.final_report(), truth_from(at.err.lines, binary)
            if Path(str(path) + ".tmp").exists():
                fail("%s.tmp left behind" % path)
            raw = gzip.decompress(path.read_bytes())
            if shutil.which("protoc"):
                p = subprocess.run(["protoc", "--decode=perftools.profiles.Profile", "--proto_path", PROTO.parent,
                                    PROTO], input=raw, capture_output=True, timeout=30)
                if p.returncode:
                    fail("protoc --decode rejects the profile: %s" % p.stderr.decode(errors="replace"))
            prof = _msg(raw, PROFILE)
            st = prof["string_table"]
            if not st or st[0] != "":
                fail("string_table[0] must be empty: %r" % st[:3])
            types = [(st[t["type"]], st[t["unit"]]) for t in prof["sample_type"]]
            if types != [("alloc_objects", "count"), ("alloc_space", "bytes"),
                         ("inuse_objects", "count"), ("inuse_space", "bytes")]:
                fail("sample types: %r" % types)
            if st[prof["default_sample_type"]] != "inuse_space":
                fail("default sample type %r (--weight live-bytes)" % st[prof["default_sample_type"]])
            proc = rep["processes"][0]
            sums = [sum(s["value"][i] for s in prof["sample"]) for i in range(4)]
            want = [proc["allocs"], proc["alloc_bytes"], proc["live_allocs"], proc["live_bytes"]]
            if sums != want:
                fail("%s: pprof totals %r, JSON %r" % (binary, sums, want))
            for s in prof["sample"]:
                labels = {st[l["key"]]: l for l in s["label"]}
                if labels.get("pid", {}).get("num") != proc["pid"] or st[labels["comm"]["str"]] != proc["comm"]:
                    fail("sample labels: %r" % s["label"])
            funcs = {f["id"]: f for f in prof["function"]}
            locs = {l["id"]: l for l in prof["location"]}
            maps = {m["id"]: m for m in prof["mapping"]}
            for lid in (lid for s in prof["sample"] for lid in s["location_id"]):
                if lid not in locs:
                    fail("sample refers to missing location %d" % lid)
            for l in locs.values():
                for ln in l["line"]:
                    if ln["function_id"] not in funcs:
                        fail("location %d refers to missing function %d" % (l["id"], ln["function_id"]))
                if l["mapping_id"] and l["mapping_id"] not in maps:
                    fail("location %d refers to missing mapping %d" % (l["id"], l["mapping_id"]))

            def lines_of(lid):
                return [(st[funcs[ln["function_id"]]["name"]], st[funcs[ln["function_id"]]["filename"]], ln["line"])
                        for ln in locs[lid]["line"]]

            exe = [m for m in maps.values() if st[m["filename"]].endswith("/stacks/" + binary)]
            if not exe or not all(m["has_functions"] and m["has_filenames"] and m["has_line_numbers"] for m in exe):
                fail("%s: the executable's mapping should say it has functions, files and lines: %r" % (binary, exe))
            if binary == "inl":
                leaf = [lines_of(s["location_id"][0]) for s in prof["sample"]
                        if s["value"][3] == truth["chain"]["live_bytes"]]
                want_lines = [("fill_node", marker("inl.c", "malloc-line")),
                              ("build_chain", marker("inl.c", "inline-call-line"))]
                if len(leaf) != 1 or [(n, l) for n, _, l in leaf[0]] != want_lines or \
                        not all(f.endswith("tests/stacks/inl.c") for _, f, _ in leaf[0]):
                    fail("inl: the leaf location should hold fill_node (inlined) then build_chain: %r" % leaf)
                if not any(m["has_inline_frames"] for m in exe):
                    fail("inl: mapping should say it has inline frames")
            else:
                names = {st[f["name"]] for f in funcs.values()}
                if "shapes::Pool<shapes::Point>::grab(unsigned long)" not in names or \
                        not any(n.startswith("std::vector<shapes::Point*") for n in names):
                    fail("cxx: functions missing from the profile: %s" % sorted(names))
                if not any(m["has_inline_frames"] for m in exe):
                    fail("cxx: mapping should say it has inline frames (std::vector code)")
                systems = {st[f["system_name"]] for f in funcs.values()}
                if "_ZN6shapes4PoolINS_5PointEE4grabEm" not in systems:
                    fail("cxx: mangled system_name missing")
    finally:
        for p in (path, Path(str(path) + ".tmp")):
            if p.exists():
                p.unlink()


def test_pprof_cli_errors():
    build()
    for args, want in ((["-o", "pprof", "-p", "1"], "--pprof-out"),
                       (["--pprof-out", "/nonexistent-dir/x.pb.gz", "-p", "1"], "cannot write"),
                       (["-o", "folded", "--weight", "bogus", "-p", "1"], "--weight")):
        rc, out, err = harness.run_cmd([harness.ALLOCTOP, *args])
        if rc != 2 or want not in err:
            fail("alloctop %s: expected usage error (2) mentioning %r, got %d: %s" % (" ".join(args), want, rc, err))
