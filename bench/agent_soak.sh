#!/usr/bin/env bash
# Agent soak: alloctop --agent over ~100 processes for a long time, with --listen
# scraped and a Parca push received, reporting its own CPU and RSS (make bench).
#
#   AGENT_SOAK_SECONDS=600   how long (default 10 minutes)
#   AGENT_SOAK_PROCS=100     bench-live processes (2000 live blocks from 200 paths each,
#                            trickling 20 replacements a second)
#   AGENT_SOAK_CHURN=10      of them replaced by new ones each minute (pids come and go,
#                            as on a fleet machine)
#   AGENT_SOAK_SAMPLE=30     seconds between samples; alloctop's -d is 15 (the agent's default)
#   AGENT_SOAK_WARMUP=120    samples before this time are warm-up, not judged
#   AGENT_SOAK_CONTROL=10    untraced bench-live copies (comm "ctlwork"), the budget's control
#
# The agent runs as a census restricted with --comm live (build/bench/live) (other processes of the
# machine stay untraced). Every sample scrapes /metrics (counting the processes listed)
# and prints alloctop's RSS; bench-cpumon measures its CPU over the whole run. At the end:
# a markdown table, and whether RSS stayed flat after warm-up (growth under max(4 MB,
# 10 %) between the first and the last judged sample). The budget (bench/soak_budget.py):
# each process's CPU time (/proc/PID/schedstat) between samples, traced against the
# untraced control copies, and the probes' CPU that alloctop itself reports
# (alloctop_probe_cpu_seconds_total) against the traced processes' CPU; held when the
# traced processes' excess over the control is within the census's default budget (1%)
# plus two standard errors. Exit status 0 if flat and held.
set -uo pipefail
cd "$(dirname "$0")/.."

SECS=${AGENT_SOAK_SECONDS:-600}
PROCS=${AGENT_SOAK_PROCS:-100}
CHURN=${AGENT_SOAK_CHURN:-10}
SAMPLE=${AGENT_SOAK_SAMPLE:-30}
WARMUP=${AGENT_SOAK_WARMUP:-120}
CONTROL=${AGENT_SOAK_CONTROL:-10}
BUDGET=1	# percent: a census's default --max-overhead
OUT=${BENCH_OUT:-build/bench/results.md}
PY=${PYTHON:-python3}

[[ -x ./alloctop && -x build/bench/live && -x build/bench/cpumon ]] ||
	make -s alloctop build/bench/live build/bench/cpumon >&2 || exit 1
[[ $(id -u) -eq 0 ]] || { echo "agent-soak: needs root (eBPF)" >&2; exit 1; }

tmp=$(mktemp -d)
at='' mon='' rcv=''
declare -A wl=() ctl=()
cleanup() {
	[[ -n $at ]] && kill -KILL "$at" 2>/dev/null
	[[ -n $mon ]] && kill -KILL "$mon" 2>/dev/null
	[[ -n $rcv ]] && kill -KILL "$rcv" 2>/dev/null
	for p in "${!wl[@]}" "${!ctl[@]}"; do kill -KILL "$p" 2>/dev/null; done
	wait 2>/dev/null	# reaped quietly (no "Killed" lines)
	rm -rf "$tmp"
}
trap cleanup EXIT

# bench-live runs until its stdin ends: a FIFO opened read-write never ends (each holds
# a writer), and no helper process is left behind (a `sleep | live` pipeline left its
# sleep running after live was killed)
mkfifo "$tmp/hold"
exec 3<>"$tmp/hold"
start_one() {	# a bench-live that runs until killed
	build/bench/live -b 2000 -k 200 -r 20 <&3 >/dev/null 2>&1 &
	wl[$!]=1
}

start_control() {	# the same program under a name the census leaves out (--comm live)
	"$tmp/ctlwork" -b 2000 -k 200 -r 20 <&3 >/dev/null 2>&1 &
	ctl[$!]=1
}

# "t class pid ns" for every workload process now (class T traced, C control)
cpu_sample() {
	local p
	for p in "${!wl[@]}"; do echo "$1 T $p $(cut -d' ' -f1 /proc/"$p"/schedstat 2>/dev/null)"; done
	for p in "${!ctl[@]}"; do echo "$1 C $p $(cut -d' ' -f1 /proc/"$p"/schedstat 2>/dev/null)"; done
}

free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# a Parca WriteRaw receiver (gRPC-web) that accepts and counts (the content is the tests' business)
rport=$(free_port)
"$PY" - "$rport" >"$tmp/rcv.out" 2>&1 <<'EOF' &
import http.server, sys
n = 0
OK = b"\0\0\0\0\0" + b"\x80" + (30).to_bytes(4, "big") + b"grpc-status:0\r\ngrpc-message:\r\n"
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        global n
        self.rfile.read(int(self.headers["Content-Length"]))
        n += 1
        self.send_response(200)
        self.send_header("Content-Type", "application/grpc-web+proto")
        self.send_header("Content-Length", str(len(OK)))
        self.end_headers()
        self.wfile.write(OK)
        print("received", n, flush=True)
    def log_message(self, *a): pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
EOF
rcv=$!

cp build/bench/live "$tmp/ctlwork"
for _ in $(seq "$PROCS"); do start_one; done
for _ in $(seq "$CONTROL"); do start_control; done
lport=$(free_port)
./alloctop --agent --comm live --listen "127.0.0.1:$lport" --push-parca "http://127.0.0.1:$rport" \
	>"$tmp/at.out" 2>"$tmp/at.err" &
at=$!
for _ in $(seq 600); do grep -q attached "$tmp/at.err" && break; sleep 0.1; done
grep -q attached "$tmp/at.err" || { echo "agent-soak: alloctop did not attach:" >&2; cat "$tmp/at.err" >&2; exit 1; }
build/bench/cpumon "$at" "$SECS" 100 >"$tmp/cpumon.out" 2>&1 &
mon=$!

echo "agent-soak: alloctop --agent pid $at over $PROCS bench-live for ${SECS}s, churn $CHURN/min" >&2
printf '%8s %10s %10s %10s\n' "t(s)" "rss(kB)" "procs" "pushes" >&2
samples=() start=$(date +%s) last_churn=$start
while :; do
	sleep "$SAMPLE"
	now=$(date +%s) t=$((now - start))
	kill -0 "$at" 2>/dev/null || { echo "agent-soak: alloctop died:" >&2; tail "$tmp/at.err" >&2; exit 1; }
	if ((now - last_churn >= 60)); then	# replace CHURN of them
		i=0
		for p in "${!wl[@]}"; do
			((i++ >= CHURN)) && break
			kill -KILL "$p" 2>/dev/null
			wait "$p" 2>/dev/null	# reaped quietly
			unset "wl[$p]"
			start_one
		done
		last_churn=$now
	fi
	rss=$(awk '/^VmRSS:/{print $2}' /proc/"$at"/status)
	curl -s "http://127.0.0.1:$lport/metrics" >"$tmp/metrics"
	cpu_sample "$t" >>"$tmp/cpu.log"
	# "t pid seconds": the probes' CPU by alloctop's own cost model
	sed -n 's/^alloctop_probe_cpu_seconds_total{.*pid="\([0-9]*\)".*} \(.*\)$/\1 \2/p' "$tmp/metrics" |
		awk -v t="$t" '{print t, $1, $2}' >>"$tmp/probe.log"
	procs=$(awk '/^alloctop_processes /{print $2}' "$tmp/metrics")
	pushes=$(tail -n 1 "$tmp/rcv.out" | awk '{print $2}')
	printf '%8d %10s %10s %10s\n' "$t" "$rss" "${procs:-?}" "${pushes:-0}" >&2
	((t >= WARMUP)) && samples+=("$rss")
	((t >= SECS)) && break
done
wait "$mon"
mon=''
cpu=$(tr ' ' '\n' <"$tmp/cpumon.out" | awk -F= '/^cpu_pct=/{print $2}')
hwm=$(tr ' ' '\n' <"$tmp/cpumon.out" | awk -F= '/^hwm_kb=/{print $2}')
kill -INT "$at"
wait "$at"
rc=$?
at=''
logs=$(wc -l <"$tmp/at.err")

verdict=0 flat='?'
if ((${#samples[@]} >= 2)); then
	first=${samples[0]} last=${samples[-1]}
	tol=$((first / 10 > 4096 ? first / 10 : 4096))
	if ((last - first > tol)); then flat="no: ${first} -> ${last} kB"; verdict=1
	else flat="yes: ${first} -> ${last} kB (tolerance ${tol})"; fi
fi
((rc == 0)) || verdict=1
# stacks the kernel's map had no room for (its processes come and go): must stay 0
full=$(awk -F' ' '/^alloctop_dropped_events_total\{reason="stack_map_full"\}/ {print $2}' "$tmp/metrics")
[[ ${full:-0} == 0 ]] || verdict=1
budget=$("$PY" bench/soak_budget.py "$tmp/cpu.log" "$tmp/probe.log" "$WARMUP" "$BUDGET")
[[ $budget == *"**yes**"* ]] || verdict=1
mkdir -p "$(dirname "$OUT")"
{
	echo
	echo "### Agent soak (alloctop --agent, census of $PROCS bench-live, ${SECS}s, churn $CHURN/min, -d 15, --listen + --push-parca)"
	echo
	echo "| CPU (% of one core) | peak RSS (kB) | RSS flat after ${WARMUP}s | log lines | stack map full (drops) | exit |"
	echo "|---|---|---|---|---|---|"
	echo "| ${cpu:-?} | ${hwm:-?} | $flat | $logs | ${full:-?} | $rc |"
	echo
	echo "The budget after ${WARMUP}s (CPU a second of a workload process, mean over processes,"
	echo "+- one standard error; alloctop's figure: its cost model's probe time over the traced"
	echo "processes' CPU):"
	echo
	echo "| traced (ms/s) | $CONTROL untraced (ms/s) | traced / untraced | alloctop's figure | within ${BUDGET}% + 2 SE |"
	echo "|---|---|---|---|---|"
	echo "| $budget |"
} | tee -a "$OUT"
exit $verdict
