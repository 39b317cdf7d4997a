#!/usr/bin/env bash
# Tracing overhead on malloc+free pairs: build/bench-pairs untraced vs traced by
# `alloctop -p PID -b -o json -d 1`, for 1 and 2 threads. Runs are interleaved
# (untraced, traced, untraced, ...) and the table shows medians. Bounded: about a
# minute or two; every wait has a time limit.
#   BENCH_REPS (default 5)   runs per cell
#   BENCH_PAIRS (default 200000)  pairs per thread in a traced run; untraced runs do 10x
#   BENCH_THREADS (default "1 2")
set -uo pipefail
cd "$(dirname "$0")/.."

REPS=${BENCH_REPS:-5}
PAIRS=${BENCH_PAIRS:-200000}
THREADS=${BENCH_THREADS:-1 2}
BP=build/bench-pairs
AT=./alloctop

[[ -x $BP ]] || { echo "bench: $BP is missing (make $BP)" >&2; exit 1; }
traced=1
if [[ $(id -u) -ne 0 ]]; then
	echo "bench: not root, so no traced runs (alloctop needs root for eBPF)" >&2
	traced=0
elif [[ ! -x $AT ]]; then
	echo "bench: $AT is missing (make), so no traced runs" >&2
	traced=0
fi

tmp=$(mktemp -d)
bp_pid='' at_pid=''
cleanup() {
	[[ -n $at_pid ]] && kill -KILL "$at_pid" 2>/dev/null
	[[ -n $bp_pid ]] && kill -KILL "$bp_pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

# wait_for FILE PATTERN SECONDS: poll until FILE has a line matching PATTERN
wait_for() {
	local i
	for ((i = 0; i < $3 * 20; i++)); do
		grep -q -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}

ns_of() { sed -n 's/.*ns_per_pair=\([0-9.]*\).*/\1/p' "$1" | tail -n 1; }

untraced_run() { # threads -> ns/pair
	timeout 60 "$BP" -t "$1" -n $((PAIRS * 10)) >"$tmp/u.out" && ns_of "$tmp/u.out"
}

traced_run() { # threads -> ns/pair in $tmp/t.ns (not in a subshell: cleanup must see the PIDs)
	local t=$1
	rm -f "$tmp/t.ns"
	rm -f "$tmp/in" "$tmp/b.out" "$tmp/a.err"
	mkfifo "$tmp/in"
	"$BP" -t "$t" -n "$PAIRS" --wait <"$tmp/in" >"$tmp/b.out" &
	bp_pid=$!
	exec 3>"$tmp/in"
	if ! wait_for "$tmp/b.out" '^ready ' 10; then
		echo "bench: bench-pairs did not get ready" >&2
		exec 3>&-
		return 1
	fi
	"$AT" -p "$bp_pid" -b -o json -d 1 >/dev/null 2>"$tmp/a.err" &
	at_pid=$!
	if ! wait_for "$tmp/a.err" attached 20; then
		echo "bench: alloctop did not attach: $(head -c 300 "$tmp/a.err")" >&2
		exec 3>&-
		return 1
	fi
	echo go >&3
	exec 3>&-
	local i
	for ((i = 0; i < 1200; i++)); do	# 120 s
		kill -0 "$bp_pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$bp_pid" 2>/dev/null && { echo "bench: traced run took too long" >&2; return 1; }
	wait "$bp_pid"
	bp_pid=''
	kill -INT "$at_pid" 2>/dev/null
	for ((i = 0; i < 200; i++)); do
		kill -0 "$at_pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$at_pid" 2>/dev/null
	wait "$at_pid" 2>/dev/null
	at_pid=''
	ns_of "$tmp/b.out" >"$tmp/t.ns"
}

median() { sort -g | awk '{v[NR]=$1} END {if (NR==0) print "-"; else if (NR%2) print v[(NR+1)/2]; else printf "%.1f\n", (v[NR/2]+v[NR/2+1])/2}'; }

declare -A U T
u='' v=''
for t in $THREADS; do
	U[$t]='' T[$t]=''
	for ((r = 1; r <= REPS; r++)); do
		u=$(untraced_run "$t") && U[$t]+="$u "
		if ((traced)); then
			traced_run "$t" && v=$(cat "$tmp/t.ns") && [[ -n $v ]] && T[$t]+="$v "
		fi
		echo "bench: threads=$t run $r/$REPS untraced=${u:-?} traced=${v:--}" >&2
		v=''
	done
done

echo
echo "malloc+free pairs, sizes 16..512; median of $REPS interleaved runs; traced runs: $PAIRS pairs/thread"
echo
echo "| threads | untraced ns/pair | traced ns/pair | overhead ns/pair | slowdown |"
echo "|--------:|-----------------:|---------------:|-----------------:|---------:|"
for t in $THREADS; do
	u=$(printf '%s\n' ${U[$t]} | median)
	v=$(printf '%s\n' ${T[$t]} | median)
	if [[ $u != - && $v != - ]]; then
		d=$(awk -v a="$u" -v b="$v" 'BEGIN {printf "%.1f", b - a}')
		x=$(awk -v a="$u" -v b="$v" 'BEGIN {printf "%.1fx", b / a}')
	else
		d=- x=-
	fi
	echo "| $t | $u | $v | $d | $x |"
done
