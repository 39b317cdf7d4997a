"""--listen, the pushes and --agent (user/export), against the workloads' exact truth:

- /metrics: a real Prometheus (Debian's prometheus package) started on loopback with a
  generated config scrapes alloctop; its HTTP API's alloctop_allocs_total and
  alloctop_alloc_bytes_total equal the workload's truth; the body passes `promtool check
  metrics`; its counters equal the last JSON report of the same run; the OpenMetrics
  variant ends with "# EOF" and carries the same numbers.
- /debug/pprof/heap: decoded with protoc against profile.proto, its sums equal the JSON.
- pushes: loopback receivers speaking Pyroscope's HTTP ingest API (POST /ingest, the
  profile as the multipart field "profile") and Parca's WriteRaw RPC in gRPC-web decode
  what arrives; the deltas add up to the truth. A push to a port nobody listens on, or
  one Parca refuses (grpc-status 3), is counted as failed in /metrics and logged.
- --agent: no report on stdout, a log line per traced process, the same /metrics.
Every wait is bounded and waits for an event; every process is killed by PID."""
import base64
import gzip
import http.server
import json
import os
import shutil
import socket
import subprocess
import threading
import time
import urllib.parse
import urllib.request

import harness
from harness import check, fail
import test_reliability_lib as rl
import test_stacks as ts

NEEDS_ROOT = True
TIMEOUT = 240
WAIT = 90           # seconds for an event (a scrape, a push) on a loaded machine


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url, headers=None, timeout=10):
    """(status, body bytes, content type) of a GET."""
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read(), r.headers.get("Content-Type", "")
    except urllib.error.HTTPError as e:
        return e.code, e.read(), e.headers.get("Content-Type", "")


def parse_metrics(body):
    """{(name, frozenset(labels.items())): value} of a text exposition."""
    out = {}
    for line in body.decode().splitlines():
        if not line or line.startswith("#"):
            continue
        name_labels, value = line.rsplit(" ", 1)
        labels = {}
        if "{" in name_labels:
            name, rest = name_labels.split("{", 1)
            for part in rest.rstrip("}").split('",'):
                if part:
                    k, v = part.split('="', 1)
                    labels[k] = v.rstrip('"')
        else:
            name = name_labels
        out[(name, frozenset(labels.items()))] = float(value)
    return out


def proc_value(metrics, name, pid):
    vals = [v for (n, labels), v in metrics.items() if n == name and ("pid", str(pid)) in labels]
    if len(vals) != 1:
        fail("%s for pid %d: %d series" % (name, pid, len(vals)))
    return vals[0]


def wait_metrics(port, pred, what, at):
    """Polls /metrics until pred(parsed) holds; returns (body, parsed)."""
    deadline = time.monotonic() + WAIT
    while True:
        if at.proc.poll() is not None:
            fail("alloctop exited (status %s) while waiting for %s; stderr:\n%s"
                 % (at.proc.returncode, what, at.err.tail()))
        status, body, _ = get("http://127.0.0.1:%d/metrics" % port)
        if status == 200:
            m = parse_metrics(body)
            if pred(m):
                return body, m
        if time.monotonic() > deadline:
            fail("no %s in /metrics within %d s; last (status %d):\n%s" % (what, WAIT, status, body[-1500:]))
        time.sleep(0.1)


TRUTH_METRICS = {"alloctop_allocs_total": "allocs", "alloctop_frees_total": "frees",
                 "alloctop_alloc_bytes_total": "alloc_bytes", "alloctop_free_bytes_total": "free_bytes",
                 "alloctop_live_allocs": "live_allocs", "alloctop_live_bytes": "live_bytes"}


def at_truth(pid, truth):
    """Whether a parsed /metrics shows the truth's allocations for pid."""
    return lambda m: any(n == "alloctop_allocs_total" and ("pid", str(pid)) in l and v == truth["allocs"]
                         for (n, l), v in m.items())


class Run:
    """basic attached with -p, alloctop -b -o json with extra args, measured phase done."""

    def __init__(self, extra, agent=False):
        self.port = free_port()
        self.w = harness.Workload("basic")
        self.w.wait_ready()
        args = ["-p", str(self.w.pid), "-d", "0.2", "--listen", "127.0.0.1:%d" % self.port, *extra]
        if not agent:
            args += ["-b", "-o", "json", "--top", "100000"]
        self.at = harness.Alloctop(args)
        self.at.wait_attached()
        self.w.send("go")
        self.truth = self.w.read_truth()
        self.body, self.m = wait_metrics(self.port, at_truth(self.w.pid, self.truth), "the truth's allocs", self.at)

    def close(self):
        harness.kill(self.w.proc)
        harness.kill(self.at.proc)


def check_counters(m, pid, want, label):
    diffs = ["%s=%s want %s" % (n, proc_value(m, n, pid), want[k]) for n, k in TRUTH_METRICS.items()
             if proc_value(m, n, pid) != want[k]]
    if diffs:
        fail("%s: %s" % (label, ", ".join(diffs)))


def check_promtool(body):
    p = subprocess.run(["promtool", "check", "metrics"], input=body, capture_output=True, timeout=60)
    if p.returncode:
        fail("promtool check metrics: status %d\n%s%s" % (p.returncode, p.stdout.decode(), p.stderr.decode()))


def test_metrics_match_truth_and_json():
    """/metrics after the measured phase: the process's counters are the truth and the
    last JSON report's; promtool accepts the body; the OpenMetrics variant says the same
    and ends with # EOF; histograms are cumulative and end at +Inf = _count."""
    r = Run([])
    try:
        pid = r.w.pid
        check_counters(r.m, pid, r.truth, "/metrics vs the truth")
        rep = rl.reports_after(r.at, len(r.at.reports()), 1)
        _, m = wait_metrics(r.port, lambda m: True, "a body", r.at)
        proc = harness.find_process(rep, pid)
        check_counters(m, pid, proc, "/metrics vs the JSON report")
        check_promtool(r.body)
        status, om, ctype = get("http://127.0.0.1:%d/metrics" % r.port,
                                {"Accept": "application/openmetrics-text; version=1.0.0"})
        check(status == 200 and ctype.startswith("application/openmetrics-text"), "OpenMetrics: %d %s" % (status, ctype))
        check(om.decode().endswith("# EOF\n"), "OpenMetrics body does not end with # EOF")
        check("# TYPE alloctop_allocs counter" in om.decode(), "OpenMetrics counter family not named without _total")
        check_counters(parse_metrics(om.replace(b"# EOF\n", b"")), pid, r.truth, "OpenMetrics vs the truth")
        # the size histogram: cumulative, +Inf equals _count, and its count is the JSON's size_hist
        buckets = sorted(((float(dict(l)["le"]), v) for (n, l), v in m.items()
                          if n == "alloctop_allocation_size_bytes_bucket" and ("pid", str(pid)) in l))
        check(buckets and buckets[-1][0] == float("inf"), "no +Inf bucket")
        check(all(a[1] <= b[1] for a, b in zip(buckets, buckets[1:])), "buckets not cumulative: %r" % buckets)
        count = proc_value(m, "alloctop_allocation_size_bytes_count", pid)
        check(buckets[-1][1] == count == sum(b["count"] for b in proc["size_hist"]),
              "size histogram +Inf %s, _count %s, JSON %s" % (buckets[-1][1], count,
                                                              sum(b["count"] for b in proc["size_hist"])))
        lt = proc_value(m, "alloctop_allocation_lifetime_seconds_count", pid)
        check(lt == sum(b["count"] for b in proc["lifetime_hist"]),
              "lifetime histogram _count %s, JSON %s" % (lt, proc["lifetime_hist"]))
        # the sites: caller series sum to the process's allocations (one process here)
        sites = {dict(l)["caller"]: v for (n, l), v in m.items() if n == "alloctop_site_allocs_total"}
        check(sum(sites.values()) == r.truth["allocs"], "site series sum %s, truth %s" % (sites, r.truth["allocs"]))
        for name, s in r.truth["sites"].items():
            if sites.get(name) != s["allocs"]:
                fail("site %s: /metrics %s, truth %s" % (name, sites.get(name), s["allocs"]))
        r.at.expect_ok(r.at.stop())
        r.w.finish()
    finally:
        r.close()


def test_metrics_are_a_refresh_of_json():
    """While churn allocates (counters move at every refresh), every /metrics body read
    equals one of the run's JSON reports: the same refresh's figures, never a mix."""
    port, w, at = free_port(), harness.Workload("churn"), None
    try:
        w.wait_ready()
        at = harness.Alloctop(harness.base_args([w.pid], 0.05) + ["--listen", "127.0.0.1:%d" % port])
        at.wait_attached()
        w.send("go")
        seen = set()
        while not any(l.startswith("{") for l in w.out.lines):
            status, body, _ = get("http://127.0.0.1:%d/metrics" % port)
            if status == 200:
                m = parse_metrics(body)
                seen.add(tuple(proc_value(m, n, w.pid) for n in TRUTH_METRICS))
            if at.proc.poll() is not None:
                fail("alloctop exited (status %s); stderr:\n%s" % (at.proc.returncode, at.err.tail()))
            check(w.proc.poll() is None, "churn exited before its truth")
        w.read_truth()
        rl.reports_after(at, len(at.reports()), 2)    # the JSON of every refresh read so far
        at.expect_ok(at.stop())
        reports = {tuple(harness.find_process(r, w.pid)[k] for k in TRUTH_METRICS.values())
                   for r in at.reports() if any(p["pid"] == w.pid for p in r["processes"])}
        missing = sorted(seen - reports)
        check(not missing, "/metrics figures no JSON report has: %r (of %d read)" % (missing[:3], len(seen)))
        w.finish()
    finally:
        harness.kill(w.proc)
        if at:
            harness.kill(at.proc)


def test_site_series_bounded():
    """--site-series 2: two named callers, every other site summed as other."""
    r = Run(["--site-series", "2"])
    try:
        sites = {dict(l)["caller"]: v for (n, l), v in r.m.items() if n == "alloctop_site_allocs_total"}
        check(len(sites) == 3 and "other" in sites, "want 2 callers and other: %r" % sites)
        check(sum(sites.values()) == r.truth["allocs"], "site series sum %r, truth %d" % (sites, r.truth["allocs"]))
        r.at.expect_ok(r.at.stop())
    finally:
        r.close()


def test_pprof_endpoint():
    """/debug/pprof/heap: gzip, protoc decodes it, Go's heap sample types, sums = JSON."""
    r = Run([])
    try:
        status, gz, _ = get("http://127.0.0.1:%d/debug/pprof/heap" % r.port)
        check(status == 200, "status %d" % status)
        # a report printed after the request: /metrics can show the truth before the
        # refresh's JSON line has reached us (under ASan there was none yet)
        rep = rl.reports_after(r.at, len(r.at.reports()), 1)
        raw = gzip.decompress(gz)
        if not shutil.which("protoc"):
            fail("protoc is missing (tools/install-deps.sh installs protobuf-compiler)")
        p = subprocess.run(["protoc", "--decode=perftools.profiles.Profile", "--proto_path", ts.PROTO.parent,
                            ts.PROTO], input=raw, capture_output=True, timeout=30)
        if p.returncode:
            fail("protoc --decode rejects the profile: %s" % p.stderr.decode(errors="replace"))
        prof = ts._msg(raw, ts.PROFILE)
        st = prof["string_table"]
        types = [(st[t["type"]], st[t["unit"]]) for t in prof["sample_type"]]
        check(types == [("alloc_objects", "count"), ("alloc_space", "bytes"),
                        ("inuse_objects", "count"), ("inuse_space", "bytes")], "sample types %r" % types)
        sums = [sum(s["value"][i] for s in prof["sample"]) for i in range(4)]
        want = [r.truth["allocs"], r.truth["alloc_bytes"], r.truth["live_allocs"], r.truth["live_bytes"]]
        check(sums == want, "pprof totals %r, truth %r" % (sums, want))
        proc = harness.find_process(rep, r.w.pid)
        check(sums == [proc["allocs"], proc["alloc_bytes"], proc["live_allocs"], proc["live_bytes"]],
              "pprof totals %r, JSON %r" % (sums, proc))
        r.at.expect_ok(r.at.stop())
    finally:
        r.close()


def test_prometheus_scrapes():
    """Debian's Prometheus scrapes alloctop on loopback; PromQL returns the truth.
    Prometheus 2.42 asks for OpenMetrics first (its Accept header), so this scrape reads
    the OpenMetrics exposition; promtool (above) checks the text one."""
    if not shutil.which("prometheus"):
        fail("prometheus is missing (tools/install-deps.sh installs Debian's prometheus)")
    r = Run([])
    harness.SCRATCH.mkdir(parents=True, exist_ok=True)
    d = harness.SCRATCH / ("prom-%d" % os.getpid())
    shutil.rmtree(d, ignore_errors=True)
    d.mkdir()
    prom = None
    try:
        (d / "prometheus.yml").write_text(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
            "scrape_configs:\n  - job_name: alloctop\n    static_configs:\n"
            "      - targets: ['127.0.0.1:%d']\n" % r.port)
        pport = free_port()
        prom = harness.spawn(["prometheus", "--config.file", d / "prometheus.yml", "--storage.tsdb.path", d / "data",
                              "--web.listen-address", "127.0.0.1:%d" % pport], stdin=subprocess.DEVNULL)
        perr = harness.Lines(prom.stderr, "prometheus stderr")
        harness.Lines(prom.stdout, "prometheus stdout")
        want = {"alloctop_allocs_total": r.truth["allocs"], "alloctop_alloc_bytes_total": r.truth["alloc_bytes"],
                "alloctop_live_bytes": r.truth["live_bytes"]}
        got, deadline = {}, time.monotonic() + WAIT
        while set(got) != set(want):
            if prom.poll() is not None:
                fail("prometheus exited with status %s:\n%s" % (prom.returncode, perr.tail()))
            if time.monotonic() > deadline:
                fail("Prometheus had no alloctop series within %d s (got %r):\n%s" % (WAIT, got, perr.tail()))
            for name in want:
                q = urllib.parse.quote('%s{pid="%d"}' % (name, r.w.pid))
                try:
                    status, body, _ = get("http://127.0.0.1:%d/api/v1/query?query=%s" % (pport, q))
                except OSError:
                    continue        # not listening yet
                res = json.loads(body)["data"]["result"] if status == 200 else []
                if res:
                    got[name] = float(res[0]["value"][1])
            time.sleep(0.2)
        check(got == want, "PromQL %r, truth %r" % (got, want))
        status, body, _ = get("http://127.0.0.1:%d/api/v1/targets" % pport)
        t = json.loads(body)["data"]["activeTargets"]
        check(len(t) == 1 and t[0]["health"] == "up" and not t[0]["lastError"], "target %r" % t)
        r.at.expect_ok(r.at.stop())
    finally:
        if prom:
            harness.kill(prom)
        r.close()
        shutil.rmtree(d, ignore_errors=True)


# ---------------------------------------------------------------- push receivers

class Receiver:
    """A loopback HTTP server in its own thread; handle(rcv, path, headers, body) returns
    a status or (status, headers, body). Keeps what it decoded in .got."""

    def __init__(self, handle):
        self.got, self.lock = [], threading.Lock()
        outer = self

        class H(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                try:
                    res = handle(outer, self.path, self.headers, body)
                except Exception as e:      # the test reads the error from .got
                    with outer.lock:
                        outer.got.append({"error": repr(e)})
                    res = 400
                status, hdrs, out = res if isinstance(res, tuple) else (res, {}, b"{}")
                self.send_response(status)
                for k, v in hdrs.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            def log_message(self, *a):
                pass

        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.port = self.srv.server_address[1]
        self.t = threading.Thread(target=self.srv.serve_forever, daemon=True)
        self.t.start()

    def wait(self, pred, what):
        """Waits until pred(every push so far) holds; returns the pushes."""
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            with self.lock:
                got = list(self.got)
            for g in got:
                if "error" in g:
                    fail("%s receiver: %s" % (what, g["error"]))
            if got and pred(got):
                return got
            time.sleep(0.1)
        fail("the %s pushes never added up to the truth within %d s; got %r" % (what, WAIT, self.got[-3:]))

    def close(self):
        self.srv.shutdown()
        self.srv.server_close()


def profile_sums(gz):
    raw = gzip.decompress(gz)
    prof = ts._msg(raw, ts.PROFILE)
    return [sum(s["value"][i] for s in prof["sample"]) for i in range(4)]


def pyroscope_ingest(rcv, path, headers, body):
    """Pyroscope's POST /ingest: name, from, until, format=pprof, spyName in the query;
    the profile as the multipart/form-data field "profile"."""
    u = urllib.parse.urlsplit(path)
    q = dict(urllib.parse.parse_qsl(u.query))
    if u.path != "/ingest" or q.get("format") != "pprof" or not q.get("spyName"):
        raise ValueError("bad ingest request %r" % path)
    if not (int(q["from"]) <= int(q["until"])):
        raise ValueError("from %s after until %s" % (q["from"], q["until"]))
    ctype = headers["Content-Type"]
    if not ctype.startswith("multipart/form-data; boundary="):
        raise ValueError("content type %r" % ctype)
    boundary = ctype.split("boundary=", 1)[1].encode()
    parts = body.split(b"--" + boundary)
    if parts[-1].strip() != b"--":
        raise ValueError("multipart not closed")
    prof = None
    for p in parts[1:-1]:
        head, data = p.split(b"\r\n\r\n", 1)
        if b'name="profile"' in head:
            prof = data[:-2]    # the CRLF before the next boundary
    if prof is None:
        raise ValueError("no profile field")
    with rcv.lock:
        rcv.got.append({"name": q["name"], "from": int(q["from"]), "until": int(q["until"]),
                        "sums": profile_sums(prof)})
    return 200


PARCA_PATH = "/parca.profilestore.v1alpha1.ProfileStoreService/WriteRaw"
GRPC_OK = b"\x00\x00\x00\x00\x00" + b"\x80" + (30).to_bytes(4, "big") + b"grpc-status:0\r\ngrpc-message:\r\n"
WRITE_RAW = {2: ("series", [{1: ("labels", {1: ("labels", [{1: ("name", "str"), 2: ("value", "str")}])}),
                             2: ("samples", [{1: ("raw_profile", "bytes")}])}]),
             3: ("normalized", "uint")}


def parca_writeraw(rcv, path, headers, body):
    """Parca's ProfileStoreService/WriteRaw in gRPC-web: one frame (flag 0, big-endian
    length) holding a WriteRawRequest; answered with an empty WriteRawResponse frame and
    a trailer frame saying grpc-status 0."""
    if path != PARCA_PATH or headers["Content-Type"] != "application/grpc-web+proto":
        raise ValueError("bad WriteRaw request %r %r" % (path, headers["Content-Type"]))
    if body[0] != 0 or int.from_bytes(body[1:5], "big") != len(body) - 5:
        raise ValueError("bad gRPC-web frame: flag %d, length %d of %d" % (body[0], int.from_bytes(body[1:5], "big"),
                                                                           len(body) - 5))
    req = ts._msg(body[5:], WRITE_RAW)
    if req["normalized"]:
        raise ValueError("normalized should be false")
    for s in req["series"]:
        labels = {l["name"]: l["value"] for l in s["labels"]["labels"]}
        for smp in s["samples"]:
            with rcv.lock:
                rcv.got.append({"labels": labels, "sums": profile_sums(smp["raw_profile"])})
    return 200, {"Content-Type": "application/grpc-web+proto"}, GRPC_OK


def parca_rejects(rcv, path, headers, body):
    """A WriteRaw that fails: gRPC-web trailers-only, grpc-status 3 in the headers."""
    return 200, {"Content-Type": "application/grpc-web+proto", "grpc-status": "3", "grpc-message": "bad"}, b""


def adds_up(want):
    """Pushes are deltas: alloc_* summed over every push so far are the truth's, the
    last push's inuse_* are the truth's live figures."""
    return lambda got: ([sum(g["sums"][i] for g in got) for i in (0, 1)] == want[:2]
                        and got[-1]["sums"][2:] == want[2:])


def test_push_pyroscope_and_parca():
    """Both engines receive the profiles with the app name and labels; what was
    allocated adds up to the truth over the pushes, the last one holds the live blocks;
    Pyroscope's from/until follow one another."""
    pyro, parca = Receiver(pyroscope_ingest), Receiver(parca_writeraw)
    r = None
    try:
        r = Run(["--push-pyroscope", "http://127.0.0.1:%d" % pyro.port,
                 "--push-parca", "http://127.0.0.1:%d/" % parca.port, "--app", "shop", "--labels", "env=test,dc=a1"])
        want = [r.truth["allocs"], r.truth["alloc_bytes"], r.truth["live_allocs"], r.truth["live_bytes"]]
        got = pyro.wait(adds_up(want), "pyroscope")
        check(all(g["name"] == "shop{env=test,dc=a1}" for g in got), "pyroscope names %r" % got)
        check(all(a["until"] <= b["from"] + 1 and a["from"] <= a["until"] for a, b in zip(got, got[1:])),
              "pyroscope from/until do not follow one another: %r" % [(g["from"], g["until"]) for g in got])
        got = parca.wait(adds_up(want), "parca")
        check(all(g["labels"] == {"__name__": "shop", "env": "test", "dc": "a1"} for g in got),
              "parca labels %r" % got[-1]["labels"])
        _, m = wait_metrics(r.port, lambda m: m.get(("alloctop_pushes_total", frozenset(
            {("engine", "parca"), ("result", "sent")}))), "a sent parca push", r.at)
        r.at.expect_ok(r.at.stop())
    finally:
        if r:
            r.close()
        pyro.close()
        parca.close()


def test_push_failures_counted():
    """A Pyroscope URL where nothing listens, a Parca that answers grpc-status 3: failed
    attempts show in /metrics and on stderr (one line each); alloctop goes on reporting
    (the tracer is never blocked)."""
    dead, parca = free_port(), Receiver(parca_rejects)
    r = Run(["--push-pyroscope", "http://127.0.0.1:%d" % dead, "--push-parca", "http://127.0.0.1:%d" % parca.port])
    try:
        for engine in ("pyroscope", "parca"):
            key = ("alloctop_pushes_total", frozenset({("engine", engine), ("result", "failed")}))
            wait_metrics(r.port, lambda m: m.get(key, 0) >= 1, "a failed %s push" % engine, r.at)
        r.at.err.wait_for(lambda l: "push to pyroscope failing: connect 127.0.0.1:%d" % dead in l, WAIT,
                          "a log line saying the Pyroscope push fails")
        r.at.err.wait_for(lambda l: "push to parca failing: WriteRaw answered grpc-status 3" in l, WAIT,
                          "a log line saying the Parca push fails")
        n = len(r.at.reports())
        rl.reports_after(r.at, n, 2)
        r.at.expect_ok(r.at.stop())
    finally:
        r.close()
        parca.close()


def test_agent():
    """--agent -p PID --listen: nothing on stdout, one log line for the traced process,
    /metrics holds the truth."""
    r = Run(["--agent"], agent=True)
    try:
        check_counters(r.m, r.w.pid, r.truth, "agent /metrics")
        r.at.err.wait_for(lambda l: ("tracing pid %d (basic)" % r.w.pid) in l, WAIT, "tracing log line")
        rc = r.at.stop()
        r.at.expect_ok(rc)
        check(not r.at.out.text().strip(), "--agent printed on stdout: %r" % r.at.out.text()[:300])
        r.w.finish()
    finally:
        r.close()


@harness.no_root
def test_export_usage_errors():
    """Bad --listen, URLs, labels, --agent without an export: status 2, one line."""
    cases = [["--listen", "9464"], ["--listen", "127.0.0.1:99999"], ["--push-parca", "https://x:7070"],
             ["--push-pyroscope", "localhost:4040"], ["--labels", "env"], ["--labels", "__name__=x"],
             ["--app", "a b"], ["--agent"], ["--agent", "--listen", "127.0.0.1:1", "-o", "json"]]
    for args in cases:
        rc, out, err = harness.run_cmd([harness.ALLOCTOP, *args])
        lines = err.strip().splitlines()
        if rc != 2 or len(lines) != 1 or "alloctop" not in lines[0]:
            fail("%s: status %d, stderr %r (want 2 and one line)" % (args, rc, err))


def test_listen_port_in_use():
    """--listen on a port taken: status 1 and one line naming the cause, before attaching."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        rc, out, err = harness.run_cmd([harness.ALLOCTOP, "-b", "--listen", "127.0.0.1:%d" % s.getsockname()[1],
                                        "-p", str(os.getpid())])
    lines = err.strip().splitlines()
    if rc != 1 or len(lines) != 1 or "--listen" not in lines[0]:
        fail("status %d, stderr %r (want 1 and one line about --listen)" % (rc, err))


def test_agent_census():
    """--agent as a census (--comm basic, as a fleet runs it without targets), --exact:
    both workloads' /metrics are their truth, each gets a "tracing" log line; when one
    exits its series go away and a "gone" line is logged; nothing on stdout."""
    a, b, at = harness.Workload("basic"), harness.Workload("basic"), None
    port = free_port()
    try:
        a.wait_ready()
        b.wait_ready()
        at = harness.Alloctop(["--agent", "--exact", "--comm", "basic", "-d", "0.3", "--listen",
                               "127.0.0.1:%d" % port])
        at.wait_attached()
        for w in (a, b):
            w.send("go")
        for w in (a, b):
            w.read_truth()
        _, m = wait_metrics(port, lambda m: at_truth(a.pid, a.truth)(m) and at_truth(b.pid, b.truth)(m),
                            "both workloads' truth", at)
        for w in (a, b):
            check_counters(m, w.pid, w.truth, "census agent, pid %d" % w.pid)
            at.err.wait_for(lambda l, w=w: ("tracing pid %d (basic)" % w.pid) in l, WAIT, "tracing line of %d" % w.pid)
        a.finish()
        at.err.wait_for(lambda l: ("pid %d (basic) is gone" % a.pid) in l, WAIT, "gone line of %d" % a.pid)
        wait_metrics(port, lambda m: not any(("pid", str(a.pid)) in l for (n, l), v in m.items())
                     and at_truth(b.pid, b.truth)(m), "the exited process's series gone", at)
        at.expect_ok(at.stop())
        check(not at.out.text().strip(), "--agent printed on stdout: %r" % at.out.text()[:300])
        b.finish()
    finally:
        for w in (a, b):
            harness.kill(w.proc)
        if at:
            harness.kill(at.proc)


def test_agent_census_estimates_by_default():
    """--agent as a census without --exact runs under the census's default budget: it
    says so on stderr, and /metrics flags its counts as estimates (alloctop_estimated 1)
    with the duty cycle below 1."""
    w, at = harness.Workload("basic"), None
    port = free_port()
    try:
        w.wait_ready()
        at = harness.Alloctop(["--agent", "--comm", "basic", "-d", "0.3", "--listen", "127.0.0.1:%d" % port])
        at.wait_attached()
        at.err.wait_for(lambda l: "--max-overhead 1" in l and "estimates" in l, WAIT, "the estimates line")
        _, m = wait_metrics(port, lambda m: ("alloctop_estimated", frozenset()) in m, "alloctop_estimated", at)
        check(m[("alloctop_estimated", frozenset())] == 1, "a default census agent does not flag estimates: %r"
              % m[("alloctop_estimated", frozenset())])
        # the first window is on from the attach; a census's start can hold the loop past
        # the first report, whose duty is then 1: the windows must bring it below 1
        duty = ("alloctop_duty_cycle_ratio", frozenset())
        _, m = wait_metrics(port, lambda m: m.get(duty, 1) < 1, "a duty cycle below 1 under --max-overhead 1", at)
        w.send("go")
        w.read_truth()
        at.expect_ok(at.stop())
        w.finish()
    finally:
        harness.kill(w.proc)
        if at:
            harness.kill(at.proc)
