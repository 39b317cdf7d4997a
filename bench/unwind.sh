#!/usr/bin/env bash
# What unwinding costs the traced process (make bench runs it after bench/run.sh): CPU ns
# per malloc+free pair with every malloc DEPTH calls deeper than usual (bench-pairs
# --depth), untraced, traced by alloctop walking frame pointers (--unwind fp) and
# following the CFI tables (--unwind cfi, the default). bench-pairs keeps frame pointers,
# so both modes see the same frames; the table checks that. Runs are interleaved, medians
# quoted; the workload runs on a private copy of libc (uprobes are per file).
#   BENCH_REPS=5  BENCH_SECS=0.5  BENCH_UNWIND_DEPTH=16  BENCH_UNWIND_OUT=build/bench/unwind.md
set -uo pipefail
cd "$(dirname "$0")/.."
AT=$PWD/alloctop BP=$PWD/build/bench-pairs
REPS=${BENCH_REPS:-5} SECS=${BENCH_SECS:-0.5} DEPTH=${BENCH_UNWIND_DEPTH:-16}
OUT=${BENCH_UNWIND_OUT:-build/bench/unwind.md}
MODES=(untraced fp cfi)
log() { echo "bench-unwind: $*" >&2; }

[[ $(id -u) == 0 ]] || { log "needs root"; exit 1; }
[[ -x $AT && -x $BP ]] || { log "build first (make)"; exit 1; }
tmp=$(mktemp -d)
PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
LIBC=$(ldd "$BP" | awk '/libc\.so/ {print $3}')
cp "$LIBC" "$tmp/libc.so.6"

# wait_line FILE REGEX SECONDS
wait_line() {
	local i
	for ((i = 0; i < $3 * 20; i++)); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}

# one_run MODE: prints "cpu_ns frames" (frames: of alloctop's top hotspot; - untraced)
one_run() {
	local mode=$1 wl at='' fd cpu frames=-
	rm -f "$tmp/in" "$tmp/wl.out" "$tmp/at.out" "$tmp/at.err"
	mkfifo "$tmp/in"
	LD_LIBRARY_PATH=$tmp "$BP" --depth "$DEPTH" -s "$SECS" --wait <"$tmp/in" >"$tmp/wl.out" 2>&1 &
	wl=$!
	PIDS+=("$wl")
	exec {fd}>"$tmp/in"
	wait_line "$tmp/wl.out" '^ready' 10 || { log "workload did not start"; kill -KILL "$wl"; exec {fd}>&-; return 1; }
	if [[ $mode != untraced ]]; then
		"$AT" -p "$wl" -b -o json -d 60 --top 1 --unwind "$mode" >"$tmp/at.out" 2>"$tmp/at.err" {fd}>&- &
		at=$!
		PIDS+=("$at")
		wait_line "$tmp/at.err" 'attached' 30 || { log "alloctop did not attach: $(tail -n 1 "$tmp/at.err")"; }
	fi
	echo go >&"$fd"
	wait_line "$tmp/wl.out" 'ns_per_pair=' 120 || log "workload did not finish"
	exec {fd}>&-
	cpu=$(sed -n 's/.*cpu_ns_per_pair=\([0-9.]*\).*/\1/p' "$tmp/wl.out")
	if [[ -n $at ]]; then
		kill -INT "$at" 2>/dev/null
		for ((i = 0; i < 200; i++)); do kill -0 "$at" 2>/dev/null || break; sleep 0.05; done
		kill -KILL "$at" 2>/dev/null
		frames=$(tail -n 1 "$tmp/at.out" | python3 -c 'import json,sys; h=json.load(sys.stdin)["hotspots"]; print(max(len(x["frames"]) for x in h) if h else 0)' 2>/dev/null)
	fi
	wait "$wl" 2>/dev/null
	echo "${cpu:--} ${frames:--}"
}

declare -A R=() F=()
for ((r = 1; r <= REPS; r++)); do
	for m in "${MODES[@]}"; do
		read -r c f < <(one_run "$m")
		R[$m]+="$c "
		F[$m]=$f
		log "round $r $m: $c ns/pair, $f frames"
	done
done

stat() { tr ' ' '\n' <<<"$1" | grep -v '^-\?$' | sort -g | awk '{a[NR]=$1} END {if (!NR) print "- - -"; else printf "%s %s %s\n", (NR % 2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2), a[1], a[NR]}'; }
read -r u _ _ < <(stat "${R[untraced]}")
{
	echo "### Unwinding cost at depth $DEPTH ($(date -u +%Y-%m-%d), $(uname -r), $REPS rounds of ${SECS}s)"
	echo
	echo "| row | ns/pair median | min | max | over untraced | frames in the stack |"
	echo "|---|--:|--:|--:|--:|--:|"
	for m in "${MODES[@]}"; do
		read -r med lo hi < <(stat "${R[$m]}")
		over=$(awk -v a="$med" -v b="$u" 'BEGIN {if (a == "-" || b == "-") print "-"; else printf "%.0f", a - b}')
		declare "OVER_$m=$over"
		label=$m
		[[ $m == fp ]] && label="alloctop --unwind fp (frame pointers)"
		[[ $m == cfi ]] && label="alloctop --unwind cfi (.eh_frame tables, default)"
		echo "| $label | $med | $lo | $hi | $over | ${F[$m]} |"
	done
	echo
	awk -v c="$OVER_cfi" -v f="$OVER_fp" 'BEGIN {if (c == "-" || f == "-" || f <= 0) print "cfi/fp overhead ratio: not measured"; else printf "cfi/fp overhead ratio: %.2fx (target <= 1.5x: %s)\n", c / f, c / f <= 1.5 ? "met" : "NOT met"}'
} | tee "$OUT"
