#!/usr/bin/env bash
# The cost model against the empty-program floor (`make bench`; bench/README.md). What
# alloctop's calibration predicts for one malloc+free pair of bench-pairs (the entry
# cost of malloc's and free's probe sites by kind, plus malloc's return) is set against
# what the empty programs of bench/floor.bpf.c measurably cost there (floor ns/pair -
# untraced ns/pair, by the thread's CPU time). Target: within 25%.
#
# Rounds interleave an untraced run, a floor run and a fresh calibration
# (ALLOCTOP_RECALIBRATE=1); the figures are medians over the rounds.
#
#   BENCH_REPS=5  BENCH_SECS=0.5   rounds, length of each timed run
set -uo pipefail
cd "$(dirname "$0")/.."

REPS=${BENCH_REPS:-5}
SECS=${BENCH_SECS:-0.5}
BP=build/bench-pairs
FLOOR=build/bench/floor
AT=./alloctop

log() { echo "bench-calib: $*" >&2; }

for f in "$BP" "$FLOOR" "$AT"; do
	[[ -x $f ]] || { log "$f is missing: run make first"; exit 1; }
done
[[ $(id -u) -eq 0 ]] || { log "needs root (eBPF)"; exit 1; }

tmp=$(mktemp -d /tmp/alloctop-calib.XXXXXX)
STARTED=()
cleanup() {
	local p
	for p in "${STARTED[@]}"; do kill -KILL "$p" 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# a private libc: nothing else on the machine hits the floor's probes (uprobes are per file)
SYSLIBC=$(ldd "$BP" | awk '$1 == "libc.so.6" {print $3}')
mkdir -p "$tmp/lib"
cp "$SYSLIBC" "$tmp/lib/libc.so.6"
export ALLOCTOP_CACHE_DIR=$tmp/cache

. bench/lib.sh	# wait_for, wait_exit, med

# stop_pid PID SECONDS: wait for it to exit, SIGKILL after SECONDS
stop_pid() {
	wait_exit "$1" "$2" && return 0
	kill -KILL "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	return 1
}

# start_wl ARGS...: bench-pairs --wait on the private libc; sets WL_PID, WL_FD
start_wl() {
	rm -f "$tmp/wl.in" "$tmp/wl.out"
	mkfifo "$tmp/wl.in"
	LD_LIBRARY_PATH=$tmp/lib "$BP" "$@" --wait <"$tmp/wl.in" >"$tmp/wl.out" 2>&1 &
	WL_PID=$!
	STARTED+=("$WL_PID")
	exec {WL_FD}>"$tmp/wl.in"
	wait_for "$tmp/wl.out" '^ready ' 10 || { log "bench-pairs did not get ready"; exit 1; }
}

# go: starts the run, waits for its end; prints its CPU ns/pair
go() {
	echo go >&"$WL_FD"
	exec {WL_FD}>&-
	stop_pid "$WL_PID" 120
	sed -n 's/^ns_per_pair=.* cpu_ns_per_pair=\([0-9.]*\).*/\1/p' "$tmp/wl.out" | tail -n 1
}

# The probe sites (with kinds) alloctop plans for bench-pairs, and the floor's spec.
start_wl -s 0.01
timeout 60 "$AT" -v -p "$WL_PID" -b -n 1 -d 0.1 >/dev/null 2>"$tmp/sites.err"
go >/dev/null
declare -A ENT=() RET=() KIND=()
while read -r name path off k kind; do
	e=$(printf '0x%x' $((off + k)))
	ENT[$path]+="${ENT[$path]:+,}$e"
	case $name in
	free | munmap | _Zdl* | _Zda*) ;;
	*) RET[$path]+="${RET[$path]:+,}$e" ;;
	esac
	[[ $path == "$tmp/lib/libc.so.6" ]] && KIND[$name]=$kind
done < <(sed -n 's/.*pid [0-9]*: \([^ ]*\) at \(.*\)+\(0x[0-9a-f]*\), probe at +\([0-9]*\) (\([a-z]*\)).*/\1 \2 \3 \4 \5/p' \
	"$tmp/sites.err")
[[ -n ${KIND[malloc]:-} && -n ${KIND[free]:-} ]] || { log "alloctop -v named no malloc/free sites in the private libc"; exit 1; }
SPEC=()
for p in "${!ENT[@]}"; do SPEC+=("$p:${ENT[$p]}:${RET[$p]:-}"); done
log "malloc's probe site is ${KIND[malloc]}, free's ${KIND[free]}"

# predict: the pair's cost by a fresh calibration
predict() {
	local line e s r
	line=$(ALLOCTOP_RECALIBRATE=1 timeout 60 "$AT" -v -b -n 1 -d 0.1 -- /bin/true 2>&1 >/dev/null |
		grep -o 'entry [0-9]* ns, entry_stepped [0-9]* ns, return [0-9]* ns' | head -n 1)
	read -r e s r < <(echo "$line" | sed 's/entry \([0-9]*\) ns, entry_stepped \([0-9]*\) ns, return \([0-9]*\) ns/\1 \2 \3/')
	[[ -n ${r:-} ]] || { log "no calibration line from alloctop -v"; exit 1; }
	echo "$e $s $r" >>"$tmp/costs"
	local cm cf
	[[ ${KIND[malloc]} == emulated ]] && cm=$e || cm=$s
	[[ ${KIND[free]} == emulated ]] && cf=$e || cf=$s
	echo $((cm + r + cf))
}

U=() F=() P=()
for ((i = 1; i <= REPS; i++)); do
	start_wl -s "$SECS"
	U+=("$(go)")
	start_wl -s "$SECS"
	"$FLOOR" "$WL_PID" "${SPEC[@]}" 2>"$tmp/floor.err" &
	fp=$!
	STARTED+=("$fp")
	wait_for "$tmp/floor.err" 'bench-floor: attached' 20 || { log "bench-floor did not attach: $(tail -n 1 "$tmp/floor.err")"; exit 1; }
	F+=("$(go)")
	stop_pid "$fp" 20
	P+=("$(predict)")
	log "round $i: untraced ${U[-1]} ns/pair, floor ${F[-1]} ns/pair, calibration predicts ${P[-1]} ns/pair of probes"
done

u=$(med "${U[*]}")
f=$(med "${F[*]}")
p=$(med "${P[*]}" %.0f)
read -r ce cs cr < <(awk '{e[NR] = $1; s[NR] = $2; r[NR] = $3} END {print e[int((NR + 1) / 2)], s[int((NR + 1) / 2)], r[int((NR + 1) / 2)]}' "$tmp/costs")
awk -v u="$u" -v f="$f" -v p="$p" -v n="$REPS" -v km="${KIND[malloc]}" -v kf="${KIND[free]}" 'BEGIN {
	floor = f - u
	ratio = p / floor
	printf "| calibration vs floor (%d rounds, medians) | ns/pair |\n|---|--:|\n", n
	printf "| untraced | %.1f |\n| empty-program floor | %.1f |\n| floor cost (floor - untraced) | %.1f |\n", u, f, floor
	printf "| predicted by the calibration (malloc entry %s + return + free entry %s) | %.0f |\n", km, kf, p
	printf "\nratio predicted / floor cost: %.2f (target 0.75 to 1.25): %s\n", ratio,
	       (ratio >= 0.75 && ratio <= 1.25) ? "met" : "NOT met"
}'
