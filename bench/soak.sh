#!/usr/bin/env bash
# Soak: alloctop against a high-rate workload for a long time, watching its own memory.
# A bench, not a test (the suite's load test is test_reliability_load.py, ~10 s).
#
#   SOAK_SECONDS=600   how long (default 10 minutes)
#   SOAK_THREADS=8     build/reliability/storm threads (malloc/free as fast as they can,
#                      every 8th block kept in a ring of 32 per thread: the live set is
#                      bounded by THREADS x 32 blocks)
#   SOAK_SAMPLE=10     seconds between samples (also alloctop's -d)
#   SOAK_WARMUP=60     samples before this time are warm-up, not judged
#
# Every SOAK_SAMPLE seconds it prints alloctop's RSS (VmRSS from /proc), the entries of
# its live-block map (distinct keys in a bpftool map dump of the map named "live" among
# alloctop's own descriptors: a dump of a hash map that changes under it repeats keys)
# and the last report's counters; at the end the workload's exact counts
# against alloctop's, and whether RSS stayed flat after warm-up (growth under
# max(2 MB, 10 %) between the first and the last judged sample, and no sample above the
# last one by more than that). Exit status 0 if flat and exact, 1 otherwise.
set -uo pipefail
cd "$(dirname "$0")/.."

SECS=${SOAK_SECONDS:-600}
THREADS=${SOAK_THREADS:-8}
SAMPLE=${SOAK_SAMPLE:-10}
WARMUP=${SOAK_WARMUP:-60}
PY=${PYTHON:-python3}

[[ -x ./alloctop && -x build/reliability/storm ]] || make -s alloctop build/reliability/storm >&2 || exit 1
[[ $(id -u) -eq 0 ]] || { echo "soak: needs root (eBPF)" >&2; exit 1; }

tmp=$(mktemp -d)
wl='' at=''
cleanup() {
	[[ -n $at ]] && kill -KILL "$at" 2>/dev/null
	[[ -n $wl ]] && kill -KILL "$wl" 2>/dev/null
	exec 3>&- 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

mkfifo "$tmp/in"
build/reliability/storm "$THREADS" <"$tmp/in" >"$tmp/storm.out" 2>&1 &
wl=$!
exec 3>"$tmp/in"
for _ in $(seq 100); do grep -q '^ready' "$tmp/storm.out" && break; sleep 0.1; done
grep -q '^ready' "$tmp/storm.out" || { echo "soak: the workload did not start" >&2; exit 1; }

./alloctop -p "$wl" -b -o json -d "$SAMPLE" --top 20 >"$tmp/at.out" 2>"$tmp/at.err" &
at=$!
for _ in $(seq 200); do grep -q attached "$tmp/at.err" && break; sleep 0.1; done
grep -q attached "$tmp/at.err" || { echo "soak: alloctop did not attach:" >&2; cat "$tmp/at.err" >&2; exit 1; }
echo go >&3

live_map_id() {
	local f id
	for f in /proc/"$at"/fdinfo/*; do
		id=$(awk '/^map_id:/{print $2}' "$f" 2>/dev/null)
		[[ -n $id ]] || continue
		if bpftool -j map show id "$id" 2>/dev/null | grep -q '"name":"live"'; then
			echo "$id"
			return
		fi
	done
}
map_id=$(live_map_id)

last_report() {
	tail -n 1 "$tmp/at.out" | "$PY" -c '
import json, sys
try:
    d = json.loads(sys.stdin.read())
    p = d["processes"][0] if d["processes"] else {}
    print("allocs=%s live_allocs=%s dropped=%s" % (p.get("allocs"), p.get("live_allocs"), d.get("dropped")))
except Exception as e:
    print("report=?")'
}

echo "soak: alloctop pid $at on storm pid $wl ($THREADS threads) for ${SECS}s, a sample every ${SAMPLE}s" >&2
printf '%8s %10s %10s  %s\n' "t(s)" "rss(kB)" "live_map" "last report"
samples=()
start=$(date +%s)
while :; do
	sleep "$SAMPLE"
	t=$(($(date +%s) - start))
	kill -0 "$at" 2>/dev/null || { echo "soak: alloctop died:" >&2; tail "$tmp/at.err" >&2; exit 1; }
	kill -0 "$wl" 2>/dev/null || { echo "soak: the workload died:" >&2; tail "$tmp/storm.out" >&2; exit 1; }
	rss=$(awk '/^VmRSS:/{print $2}' /proc/"$at"/status)
	live='?'
	[[ -n $map_id ]] && live=$(bpftool -j map dump id "$map_id" 2>/dev/null | "$PY" -c 'import json,sys; print(len({json.dumps(e["key"]) for e in json.load(sys.stdin)}))' 2>/dev/null || echo '?')
	printf '%8d %10s %10s  %s\n' "$t" "$rss" "$live" "$(last_report)"
	((t >= WARMUP)) && samples+=("$rss")
	((t >= SECS)) && break
done

echo stop >&3
truth=''
for _ in $(seq 300); do truth=$(grep '^{' "$tmp/storm.out" | tail -n 1); [[ -n $truth ]] && break; sleep 0.1; done
sleep "$SAMPLE"
sleep 1
kill -INT "$at"
wait "$at"
rc=$?
at=''
echo exit >&3
exec 3>&-
wait "$wl"
wrc=$?
wl=''

verdict=0
echo "soak: alloctop exit status $rc, workload exit status $wrc"
[[ $rc -eq 0 && $wrc -eq 0 ]] || verdict=1
"$PY" - "$truth" "$tmp/at.out" <<'EOF' || verdict=1
import json, sys
truth = json.loads(sys.argv[1])
rep = json.loads(open(sys.argv[2]).read().splitlines()[-1])
p = rep["processes"][0]
keys = ["allocs", "frees", "alloc_bytes", "free_bytes", "live_allocs", "live_bytes"]
bad = [(k, truth[k], p[k]) for k in keys if truth[k] != p[k]]
print("soak: %d allocations; drops %s" % (truth["allocs"], rep["drops"]))
if bad and not rep["dropped"]:
    print("soak: NOT EXACT: " + ", ".join("%s truth %s report %s" % b for b in bad))
    sys.exit(1)
print("soak: counts exact" if not bad else "soak: counts off, with drops reported")
EOF
if ((${#samples[@]} < 2)); then
	echo "soak: too short to judge RSS (need samples after ${WARMUP}s of warm-up)"
else
	first=${samples[0]} last=${samples[-1]} max=0
	for s in "${samples[@]}"; do ((s > max)) && max=$s; done
	tol=$((first / 10 > 2048 ? first / 10 : 2048))
	if ((last - first > tol || max - last > tol)); then
		echo "soak: RSS NOT FLAT after warm-up: ${first} kB -> ${last} kB (max ${max} kB, tolerance ${tol} kB)"
		verdict=1
	else
		echo "soak: RSS flat after warm-up: ${first} kB -> ${last} kB (max ${max} kB, tolerance ${tol} kB)"
	fi
fi
exit $verdict
