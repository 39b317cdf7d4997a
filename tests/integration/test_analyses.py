"""What heaptrack and memray users expect (issue 18): the peak and the sites live at it,
allocations per call of a function, comparing two runs, recording and replaying."""
import json
import os
import shutil
import tempfile

import harness
from harness import check, fail

NEEDS_ROOT = True


def peak_sites(peak):
    """[blocks, bytes] at the peak per direct caller (a loop the compiler unrolled calls
    from several addresses: several sites of one name)"""
    out = {}
    for s in peak["sites"]:
        name = s["frames"][0]["symbol"] if s["frames"] else "?"
        a, b = out.get(name, [0, 0])
        out[name] = [a + s["live_allocs"], b + s["live_bytes"]]
    return out


def check_peak(wl, rep, label):
    truth = wl.truth
    p = harness.find_process(rep, wl.pid)
    pk = p.get("peak")
    if not pk:
        fail("%s: no peak in the report: %r" % (label, p.get("peak")))
    check(pk["live_bytes"] == truth["peak_bytes"], "%s: peak %d bytes, expected %d"
          % (label, pk["live_bytes"], truth["peak_bytes"]))
    check(pk["live_allocs"] == truth["peak_allocs"], "%s: peak %d blocks, expected %d"
          % (label, pk["live_allocs"], truth["peak_allocs"]))
    check(pk["exact"] is True, "%s: peak sites not read exactly" % label)
    check(pk["t"] >= 0 and pk["t"] <= rep["elapsed_s"], "%s: peak time %r outside the run" % (label, pk["t"]))
    got = peak_sites(pk)
    if label.endswith("nofp"):
        # -O2 makes the site_* wrappers tail calls: the sites are measured's call sites
        total = [sum(v[0] for v in got.values()), sum(v[1] for v in got.values())]
        want = [sum(v[0] for v in truth["sites"].values()), sum(v[1] for v in truth["sites"].values())]
        check(total == want, "%s: sites at the peak hold %r, expected %r (%r)" % (label, total, want, got))
    else:
        check(got == truth["sites"], "%s: sites at the peak %r, expected %r" % (label, got, truth["sites"]))
    check(p["live_bytes"] == truth["live_bytes"], "%s: live %d now, expected %d"
          % (label, p["live_bytes"], truth["live_bytes"]))


def test_peak_json():
    at, wls = harness.run_attached([("peak", False)])
    check_peak(wls[0], at.final_report(), "peak")


def test_peak_json_nofp():
    at, wls = harness.run_attached([("peak", True)])
    check_peak(wls[0], at.final_report(), "peak-nofp")


def test_peak_text():
    at, wls = harness.run_attached([("peak", False)], fmt="text")
    text = at.out.text()
    truth = wls[0].truth
    want = "(%d blocks)" % truth["peak_allocs"]
    line = [l for l in text.splitlines() if l.strip().startswith("peak live")]
    check(line and want in line[-1], "no peak line with %s in the text report:\n%s" % (want, text[-2000:]))
    check(any("site_big" in l for l in text.splitlines()), "site_big not listed under the peak")



def check_per_call(wl, rep, label, funcs=("handle_request", "helper_b")):
    truth = wl.truth
    rows = {r["func"]: r for r in rep.get("per_call", []) if r["pid"] == wl.pid}
    check(set(rows) == set(funcs), "%s: per_call rows %r" % (label, sorted(rows)))
    for func in funcs:
        r, t = rows[func], truth[func]
        for k in ("calls", "allocs", "alloc_bytes", "live_bytes", "live_allocs"):
            check(r[k] == t[k], "%s: %s %s = %r, expected %d" % (label, func, k, r[k], t[k]))
        check(r["allocs_per_call"] == t["allocs"] / t["calls"], "%s: %s allocs_per_call %r"
              % (label, func, r["allocs_per_call"]))
        check(r["bytes_per_call"] == t["alloc_bytes"] / t["calls"], "%s: %s bytes_per_call %r"
              % (label, func, r["bytes_per_call"]))
    # -O2 makes helper_b's call of site_req_b a tail call: helper_b is on no stack, so
    # its sites (found by stack) are empty there; its counts (by scope) stay exact
    for func in ("handle_request",) if label.endswith("nofp") else ("handle_request", "helper_b"):
        got = sum(s["allocs"] for s in rows[func]["sites"])
        check(got == truth[func]["allocs"], "%s: the sites inside %s hold %d allocs, expected %d"
              % (label, func, got, truth[func]["allocs"]))
    if not label.endswith("nofp"):      # -O2 turns the site_* wrappers into tail calls too
        sites = {s["frames"][0]["symbol"] for s in rows["handle_request"]["sites"]}
        check(sites == {"site_req_a", "site_req_b", "site_req_keep"}, "%s: sites inside handle_request %r"
              % (label, sites))
    p = harness.find_process(rep, wl.pid)
    want = truth["handle_request"]["allocs"] + truth["outside"]
    check(p["allocs"] == want, "%s: process allocs %d, expected %d" % (label, p["allocs"], want))


def test_per_call():
    at, wls = harness.run_attached([("percall", False)], extra=["--per", "handle_request,helper_b"])
    check_per_call(wls[0], at.final_report(), "percall")


def test_per_call_library_function():
    """strdup is libc's: found in the process's libraries; its allocations are the copies"""
    at, wls = harness.run_attached([("percall", False)], extra=["--per", "handle_request,helper_b,strdup"])
    check_per_call(wls[0], at.final_report(), "percall+strdup", ("handle_request", "helper_b", "strdup"))


def test_per_call_nofp():
    at, wls = harness.run_attached([("percall", True)], extra=["--per", "handle_request", "--per", "helper_b"])
    check_per_call(wls[0], at.final_report(), "percall-nofp")


def test_per_call_unknown_function():
    wl = harness.Workload("percall")
    try:
        wl.wait_ready()
        rc, out, err = harness.run_cmd([harness.ALLOCTOP, "-b", "-p", str(wl.pid), "--per", "no_such_fn"])
        check(rc == 1, "--per no_such_fn: exit status %d" % rc)
        check("--per no_such_fn: no such function" in err, "no one-line cause:\n" + err)
    finally:
        harness.kill(wl.proc)


def run_variant(variant, tmp):
    """Runs the clone workload's variant under alloctop; its -o json output and pprof
    profile go to files in tmp. Returns (json path, pprof path, truth)."""
    wl = harness.Workload("clone", args=[variant])
    try:
        wl.wait_ready()
        pb = os.path.join(tmp, variant + ".pb.gz")
        at = harness.Alloctop(harness.base_args([wl.pid]) + ["--pprof-out", pb])
        at.wait_attached()
        wl.send("go")
        truth = wl.read_truth()
        at.expect_ok(at.stop())
        at.final_report()
        js = os.path.join(tmp, variant + ".json")
        with open(js, "w") as f:
            f.write(at.out.text() + "\n")
        wl.finish()
        return js, pb, truth
    finally:
        harness.kill(wl.proc)


def check_diff(a, b, ta, tb, label):
    rc, out, err = harness.run_cmd([harness.ALLOCTOP, "diff", "-o", "json", "--top", "0", a, b])
    check(rc == 0, "%s: alloctop diff exited %d: %s" % (label, rc, err))
    d = json.loads(out)
    by_leaf = {}
    for s in d["sites"]:
        by_leaf.setdefault(s["frames"][0] if s["frames"] else "?", []).append(s)
    clone = by_leaf.get("clone_name", [])
    check(len(clone) == 1, "%s: clone_name sites in the diff: %r" % (label, clone))
    want_allocs = tb["clone_name"][0] - ta["clone_name"][0]
    want_bytes = tb["clone_name"][1] - ta["clone_name"][1]
    check(clone[0]["delta_allocs"] == want_allocs, "%s: delta_allocs %d, expected %d"
          % (label, clone[0]["delta_allocs"], want_allocs))
    check(clone[0]["delta_bytes"] == want_bytes, "%s: delta_bytes %d, expected %d"
          % (label, clone[0]["delta_bytes"], want_bytes))
    check(clone[0]["delta_live_bytes"] == 0, "%s: delta_live_bytes %d" % (label, clone[0]["delta_live_bytes"]))
    check("site_common" not in by_leaf, "%s: the unchanged site_common is listed: %r"
          % (label, by_leaf.get("site_common")))
    check(d["totals"]["delta_allocs"] == want_allocs, "%s: total delta_allocs %d, expected %d"
          % (label, d["totals"]["delta_allocs"], want_allocs))
    rc, out, err = harness.run_cmd([harness.ALLOCTOP, "diff", a, b])
    check(rc == 0 and "clone_name" in out and "%+d" % want_allocs in out, "%s: text diff:\n%s%s" % (label, out, err))


def test_diff_clone_against_borrow():
    tmp = tempfile.mkdtemp(prefix="alloctop-diff-", dir=str(harness.SCRATCH) if harness.SCRATCH.exists() else None)
    try:
        ja, pa, ta = run_variant("clone", tmp)
        jb, pb, tb = run_variant("borrow", tmp)
        check_diff(ja, jb, ta, tb, "json")
        check_diff(pa, pb, ta, tb, "pprof")
    finally:
        harness.kill_started()
        shutil.rmtree(tmp, ignore_errors=True)


@harness.no_root
def test_diff_bad_input():
    rc, out, err = harness.run_cmd([harness.ALLOCTOP, "diff", "/nonexistent/a", "/nonexistent/b"])
    check(rc == 1 and "cannot read '/nonexistent/a'" in err, "missing file: %d %s" % (rc, err))
    rc, out, err = harness.run_cmd([harness.ALLOCTOP, "diff", "only-one"])
    check(rc == 2 and "give two runs" in err, "one argument: %d %s" % (rc, err))


def test_record_replay():
    tmp = tempfile.mkdtemp(prefix="alloctop-rec-", dir=str(harness.SCRATCH) if harness.SCRATCH.exists() else None)
    rec = os.path.join(tmp, "run.gz")
    try:
        at, wls = harness.run_attached([("peak", False)], extra=["--record", rec])
        live = at.final_report()
        check_peak(wls[0], live, "live run")
        with open(rec, "rb") as f:
            check(f.read(2) == b"\x1f\x8b", "the recording is not gzipped")
        rc, out, err = harness.run_cmd([harness.ALLOCTOP, "--replay", rec, "-o", "json"])
        check(rc == 0, "--replay exited %d: %s" % (rc, err))
        docs = [json.loads(l) for l in out.splitlines() if l.strip()]
        check(len(docs) == len(at.reports()), "replayed %d reports, the run made %d" % (len(docs), len(at.reports())))
        last = docs[-1]
        check(last["final"] is True, "the last replayed report is not the final one")
        check(last["processes"] == live["processes"], "replayed processes differ from the live run's:\n%r\n%r"
              % (last["processes"], live["processes"]))
        site = lambda d: sorted((h["stack_id"], h["allocs"], h["live_bytes"]) for h in d["hotspots"])
        check(site(last) == site(live), "replayed sites differ from the live run's")
        check_peak(wls[0], last, "replayed")
        rc, out, err = harness.run_cmd([harness.ALLOCTOP, "--replay", rec, "-o", "text", "--top", "3"])
        p = harness.find_process(live, wls[0].pid)
        check(rc == 0 and "allocs %d " % p["allocs"] in out and "(final)" in out and "peak live" in out,
              "text replay (%d):\n%s%s" % (rc, out[-1500:], err))
        rc, out, err = harness.run_cmd([harness.ALLOCTOP, "diff", "-o", "json", rec, rec])
        check(rc == 0 and json.loads(out)["sites"] == [], "a recording against itself: %d %s %s" % (rc, out, err))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def test_demo_sites_whole_from_the_first_allocation():
    """make run's demo in launch mode: its threads allocate from their first moment; every
    stack reaches the thread's or the program's entry (clone3, _start) and the one call
    path of alloc_response is one site (issue 18 saw a second one cut at start_thread)."""
    demo = harness.ROOT / "build" / "demo"
    at = harness.Alloctop(["-b", "-o", "json", "-d", "0.5", "-n", "2", "--top", "100000", "--", demo])
    try:
        at.expect_ok(at.wait(120))
        rep = at.reports()[-1]
        roots = {}
        for h in rep["hotspots"]:
            names = [f["symbol"] for f in h["frames"]]
            check(names and names[-1] in ("clone3", "_start"), "a stack cut short: %r" % names)
            roots[names[0]] = roots.get(names[0], 0) + 1
        check(roots.get("alloc_response") == 1, "alloc_response sites: %r" % roots.get("alloc_response"))
        check("ended the command" in at.err.text(), "the demo was not ended:\n" + at.err.tail())
    finally:
        harness.kill_started()
