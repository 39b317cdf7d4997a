"""What heaptrack and memray users expect (issue 18): the peak and the sites live at it,
allocations per call of a function, comparing two runs, recording and replaying."""
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

