"""Full stacks without frame pointers: the BPF unwinder follows .eh_frame tables.

The workload (tests/unwind, built into build/unwind by `make stacks`) allocates 8 calls
deep from main, through a shared library in the middle and a frame with a realigned
stack, built as C and C++, with and without frame pointers; it also recurses 200 deep
before allocating, and can dlopen a library after alloctop attached.
"""
import re

import harness
from harness import fail

NEEDS_ROOT = True

ROOT = harness.ROOT
UNWIND = ROOT / "build" / "unwind"

CHAIN = ["uw_leaf", "uw_7", "uw_6", "uw_mid_2", "uw_mid_1", "uw_2", "uw_1", "uw_run", "main",
         "__libc_start_call_main", "__libc_start_main", "_start"]

build = harness.build_stacks


def names(h):
    """Function names of a hotspot's frames, C++ parameter lists dropped."""
    return [re.sub(r"\(.*\)$", "", f["symbol"] or "?") for f in h["frames"]]


def truth_from(lines, what):
    """The workload's stderr line "truth chain=N rec=N dl=N": allocations per path."""
    for l in lines:
        if l.startswith("truth "):
            return {k: int(v) for k, v in (kv.split("=", 1) for kv in l.split()[1:])}
    fail("%s: no 'truth' line on the workload's stderr" % what)


def launch(variant, extra=()):
    """The final report of a launched uw-VARIANT, with the workload's truth as
    rep["_truth"]."""
    build()
    at = harness.Alloctop(["-b", "-o", "json", "--top", "1000", *extra, "--", UNWIND / ("uw-" + variant),
                           "--nowait"])
    at.expect_ok(at.wait(90))
    rep = at.final_report()
    rep["_truth"] = truth_from(at.err.lines, "uw-" + variant)
    return rep


def hotspot(rep, what, allocs):
    hs = [h for h in rep["hotspots"] if h["allocs"] == allocs]
    if len(hs) != 1:
        fail("%s: want one hotspot with %d allocs, got %s" % (what, allocs, [(h["allocs"], names(h)[:4])
                                                                           for h in rep["hotspots"]]))
    return hs[0]


def check_chain(rep, variant):
    h = hotspot(rep, variant, rep["_truth"]["chain"])
    if names(h) != CHAIN:
        fail("%s: chain frames\n    %s\nwant\n    %s" % (variant, names(h), CHAIN))
    if h["truncated"]:
        fail("%s: a complete stack marked truncated" % variant)
    for f, n in zip(h["frames"], CHAIN):
        if n.startswith("uw_mid") and not re.search(r"/libuwmid-[a-z]+-n?o?fp\.so$", f["module"] or ""):
            fail("%s: %s should be in libuwmid: %r" % (variant, n, f))
    return h


def check_modules(rep, variant):
    mods = {m["path"]: m for m in rep["unwind"]["modules"]}
    if rep["unwind"]["mode"] != "cfi" or rep["unwind"]["stack_depth"] != 64:
        fail("unwind mode/depth: %r" % {k: rep["unwind"][k] for k in ("mode", "stack_depth")})
    for suffix in ("/uw-" + variant, "/libuwmid-%s.so" % variant, "/libc.so.6"):
        m = [m for p, m in mods.items() if p.endswith(suffix)]
        if len(m) != 1 or m[0]["source"] != "eh_frame" or not m[0]["rows"]:
            fail("%s: module *%s should unwind from eh_frame: %r" % (variant, suffix, m or sorted(mods)))


def test_chain_c_nofp():
    """-fomit-frame-pointer: every frame to _start, as a debugger shows it."""
    rep = launch("c-nofp")
    check_chain(rep, "c-nofp")
    check_modules(rep, "c-nofp")


def test_chain_c_fp():
    check_chain(launch("c-fp"), "c-fp")


def test_chain_cxx_nofp():
    rep = launch("cxx-nofp")
    h = check_chain(rep, "cxx-nofp")
    if h["frames"][3]["symbol"] != "uw_mid_2(int (*)(int), int)":
        fail("C++ frames are demangled with their parameters: %r" % h["frames"][3])


def test_chain_cxx_fp():
    check_chain(launch("cxx-fp"), "cxx-fp")


def test_fp_mode_is_what_falls_short():
    """--unwind fp on the same build stops at the first frame without a frame pointer:
    the complete stacks above come from the tables."""
    rep = launch("c-nofp", ("--unwind", "fp"))
    h = hotspot(rep, "--unwind fp", rep["_truth"]["chain"])
    if len(h["frames"]) >= 5 or names(h)[0] != "uw_leaf":
        fail("--unwind fp on -fomit-frame-pointer code: %s" % names(h))
    if rep["unwind"]["mode"] != "fp" or rep["unwind"]["modules"]:
        fail("--unwind fp reports %r" % rep["unwind"])


def test_recursion_truncated():
    """200 calls deep: cut at --stack-depth (64 by default), marked and counted."""
    rep = launch("c-nofp")
    n_rec = rep["_truth"]["rec"]
    h = hotspot(rep, "recursion", n_rec)
    if len(h["frames"]) != 64 or set(names(h)) != {"uw_rec"} or not h["truncated"]:
        fail("recursion: %d frames %s truncated=%s" % (len(h["frames"]), set(names(h)), h["truncated"]))
    if rep["drops"]["stack_truncated"] != n_rec or rep["dropped"] != 0:
        fail("stack_truncated %r, dropped %r (want %d, 0: a cut stack loses no event)"
             % (rep["drops"]["stack_truncated"], rep["dropped"], n_rec))
    rep = launch("c-nofp", ("--stack-depth", "16"))
    h = hotspot(rep, "recursion --stack-depth 16", n_rec)
    if len(h["frames"]) != 16 or not h["truncated"]:
        fail("--stack-depth 16: %d frames, truncated=%s" % (len(h["frames"]), h["truncated"]))
    h = hotspot(rep, "chain --stack-depth 16", rep["_truth"]["chain"])
    if names(h) != CHAIN:
        fail("--stack-depth 16 keeps the 12-frame chain whole: %s" % names(h))


def test_attach_and_dlopen():
    """-p PID on a running -fomit-frame-pointer process, then a library it dlopens after
    the attach: alloctop notices the new mapping and its stacks become complete too."""
    build()
    lib = UNWIND / "libuwdl-c-nofp.so"
    wl = harness.spawn([UNWIND / "uw-c-nofp", "--dlopen", lib])
    out = harness.Lines(wl.stdout, "uw stdout")
    err = harness.Lines(wl.stderr, "uw stderr")
    try:
        i = out.wait_for(lambda l: l.startswith("ready "), harness.READY_TIMEOUT, "'ready' line")
        pid = int(out.lines[i].split()[1])
        at = harness.Alloctop(["-p", pid, "-b", "-o", "json", "-d", "0.2", "--top", "1000"])
        at.wait_attached()
        wl.stdin.write(b"go\n")
        wl.stdin.flush()
        out.wait_for(lambda l: l == "dl-ready", 30, "'dl-ready' line")
        # the first allocation through the library flagged the process: wait until a
        # report lists the library's table before the measured allocations
        at.out.wait_for(lambda l: str(lib) in l, 60, "a report listing %s" % lib)
        wl.stdin.write(b"go\n")
        wl.stdin.flush()
        out.wait_for(lambda l: l == "done", 30, "'done' line")
        at.expect_ok(at.stop())
        rep = at.final_report()
        err.wait_for(lambda l: l.startswith("truth "), 30, "'truth' line")
        rep["_truth"] = truth_from(err.lines, "uw-c-nofp")
        check_chain(rep, "uw-c-nofp -p")
        want = ["uw_leaf", "uw_7", "uw_6", "uw_dl_2", "uw_dl_1", "uw_dl", "main", "__libc_start_call_main",
                "__libc_start_main", "_start"]
        h = hotspot(rep, "dlopen'ed chain", rep["_truth"]["dl"])
        if names(h) != want:
            fail("dlopen'ed library chain\n    %s\nwant\n    %s\nframes: %s"
                 % (names(h), want, [(f["symbol"], f["module"], f["offset"]) for f in h["frames"][3:5]]))
        wl.stdin.close()
        harness.wait_exit(wl, 10, "uw")
    finally:
        harness.kill(wl)
