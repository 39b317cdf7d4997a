#!/usr/bin/env bash
# What alloctop costs real servers (issue 16, "Measure"; `make bench-server`, and `make
# bench` after the other tables). Debian's redis-server (it allocates through jemalloc)
# under redis-benchmark -t set,get,lpush,lpop -c 50, and nginx (one process serving a
# static file) under wrk -t1 -c20, both on 127.0.0.1 only. Throughput untraced and under
# each tracer row, interleaved: every traced run follows an untraced run of its own
# (U T1 U T2 ...), each row's ratio is the median over the rounds of traced / the untraced
# run just before it. Then alloctop's estimates (--max-overhead 5) against exact mode on
# the same benchmark (bench/server_stats.py, from alloctop's JSON).
# Markdown on stdout (also in SERVER_OUT), progress on stderr. Every process is started
# and stopped by its PID, every wait is bounded.
#
#   SERVER_RUNS=5          rounds (runs per row)
#   SERVER_REDIS_N=150000  redis-benchmark -n (requests per test, 4 tests a run: each test
#                          a phase of several seconds, many --max-overhead windows long)
#   SERVER_WRK_SECS=6      wrk -d
#   SERVER_SERVERS="redis nginx"
#   SERVER_ROWS="exact mo5 mo1 growth census memleak"   traced rows to run
#   SERVER_CENSUS_D=       the census's -d (default: 5 reports span 12x an untraced run)
#   SERVER_OUT=build/bench/server.md
#   SERVER_KEEP=1          keep the temporary directory (logs, reports)
# Rows whose tool or flag is missing are printed with the reason: --growth only when
# `alloctop --help` lists it; memleak-bpfcc when installed (ALLOCTOP_BENCH_DEPS=1).
set -uo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

RUNS=${SERVER_RUNS:-5}
REDIS_N=${SERVER_REDIS_N:-150000}
WRK_SECS=${SERVER_WRK_SECS:-6}
SERVERS=(${SERVER_SERVERS:-redis nginx})
ROWS=(${SERVER_ROWS:-exact mo5 mo1 growth census memleak})
OUT=${SERVER_OUT:-build/bench/server.md}
AT=${SERVER_AT:-$PWD/alloctop}
PY=(python3 "$PWD/bench/server_stats.py")
export REDIS_N

log() { echo "bench-server: $*" >&2; }

[[ -x $AT ]] || { log "./alloctop is missing: run make first"; exit 1; }
[[ $(id -u) -eq 0 ]] || { log "needs root (alloctop loads eBPF programs); skipped"; exit 0; }
missing=()
for t in redis-server redis-cli redis-benchmark nginx wrk; do
	command -v "$t" >/dev/null || missing+=("$t")
done
if ((${#missing[@]})); then
	log "skipped: ${missing[*]} not installed (ALLOCTOP_BENCH_DEPS=1 make deps installs redis-server, redis-tools, nginx, wrk)"
	exit 0
fi

tmp=$(mktemp -d /tmp/alloctop-srvbench.XXXXXX)
mkdir -p "$(dirname "$OUT")"
# The servers run on private copies of libc and jemalloc (LD_LIBRARY_PATH, checked in
# /proc/PID/maps). uprobes belong to a file: on this shared machine other alloctop runs
# probe the system libc, and bcc cannot put its uprobe where one with another
# ref_ctr_offset already is ("cannot attach uprobe, Invalid argument"; dmesg says
# "ref_ctr_offset mismatch"), so memleak-bpfcc could not attach at all.
LIBDIR=$tmp/lib
mkdir -p "$LIBDIR"
PRIVLIBS=()
for f in libc.so.6 libjemalloc.so.2; do
	src=$(ldconfig -p | awk -v n="$f" '$1 == n && /x86-64|AArch64|64bit/ {print $NF; exit}')
	[[ -n $src ]] || src=$(ldconfig -p | awk -v n="$f" '$1 == n {print $NF; exit}')
	[[ -r $src ]] && cp "$src" "$LIBDIR/$f" && PRIVLIBS+=("$f")
done
STARTED=()	# every background PID, ended on exit
cleanup() {
	local p
	for p in "${STARTED[@]}"; do kill -0 "$p" 2>/dev/null && kill -INT "$p" 2>/dev/null; done
	for p in "${STARTED[@]}"; do wait_exit "$p" 5 || kill -KILL "$p" 2>/dev/null; done
	if [[ ${SERVER_KEEP:-0} == 1 ]]; then log "kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# stop PID: SIGINT (alloctop's clean stop: detach, final report), SIGTERM after 20 s,
# SIGKILL after 10 more. STOP_HOW says which ended it.
stop() {
	STOP_HOW=gone
	[[ -n ${1:-} ]] && kill -0 "$1" 2>/dev/null || { wait "${1:-}" 2>/dev/null; return 0; }
	STOP_HOW=SIGINT
	kill -INT "$1" 2>/dev/null
	wait_exit "$1" 20 && return 0
	STOP_HOW=SIGTERM
	kill -TERM "$1" 2>/dev/null
	wait_exit "$1" 10 && return 0
	STOP_HOW=SIGKILL
	kill -KILL "$1" 2>/dev/null
	wait "$1" 2>/dev/null
}
# bg CMD...: start CMD in the background with SIGINT at its default; sets BG
bg() {
	"${PY[@]}" sigint-exec "$@" &
	BG=$!
	STARTED+=("$BG")
}

# cpu_ns PID: CPU time of all the process's threads now (schedstat, ns), empty if gone
cpu_ns() { [[ -n ${1:-} ]] && cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{s += $1} END {if (NR) print s}'; }

# --- statistics ------------------------------------------------------------------------
fmt_rps() { awk -v v="$1" 'BEGIN {if (v == "-" || v == "") print "-"; else printf "%\047.0f", v}'; }

# --- servers ---------------------------------------------------------------------------
# start_redis / start_nginx: the server in its own directory on a free port; sets SRV_PID,
# SRV_PORT. Persistence off, no daemonizing, so SRV_PID is the server itself.
start_redis() {
	local d=$tmp/redis
	mkdir -p "$d"
	SRV_PORT=$("${PY[@]}" port)
	LD_LIBRARY_PATH=$LIBDIR bg redis-server --port "$SRV_PORT" --bind 127.0.0.1 --protected-mode yes --save '' \
		--appendonly no --daemonize no --dir "$d" --logfile "$d/redis.log" --databases 1
	SRV_PID=$BG
	"${PY[@]}" wait-port "$SRV_PORT" 20 && redis-cli -p "$SRV_PORT" ping 2>/dev/null | grep -q PONG
}
start_nginx() {
	local d=$tmp/nginx
	mkdir -p "$d/www"
	SRV_PORT=$("${PY[@]}" port)
	# a 4 KiB static page
	head -c 3072 /dev/urandom | base64 -w 76 >"$d/www/index.html"
	# master_process off: one process that accepts and serves (the worker), stoppable by
	# PID; no access log (disk writes on a shared machine are noise, not allocations)
	cat >"$d/nginx.conf" <<-EOF
		daemon off;
		master_process off;
		worker_processes 1;
		pid $d/nginx.pid;
		error_log $d/error.log warn;
		events { worker_connections 1024; }
		http {
		  access_log off;
		  default_type text/html;
		  client_body_temp_path $d/body;
		  proxy_temp_path $d/proxy;
		  fastcgi_temp_path $d/fastcgi;
		  uwsgi_temp_path $d/uwsgi;
		  scgi_temp_path $d/scgi;
		  server { listen 127.0.0.1:$SRV_PORT; root $d/www; }
		}
	EOF
	LD_LIBRARY_PATH=$LIBDIR bg nginx -p "$d" -c "$d/nginx.conf" -e "$d/error.log"
	SRV_PID=$BG
	"${PY[@]}" wait-port "$SRV_PORT" 20
}
# private_libs: the server maps the private copies of the libraries it uses, no others
private_libs() {
	local f bad=''
	for f in "${PRIVLIBS[@]}"; do
		grep -q "/${f}\$" "/proc/$SRV_PID/maps" || continue
		grep -q " $LIBDIR/$f\$" "/proc/$SRV_PID/maps" && ! grep -v " $LIBDIR/$f\$" "/proc/$SRV_PID/maps" | grep -q "/$f\$" ||
			bad+=" $f"
	done
	[[ -z $bad ]] || { log "the server does not run on the private copies of:$bad"; return 1; }
}
stop_server() {
	kill -TERM "$1" 2>/dev/null
	wait_exit "$1" 10 || { kill -KILL "$1" 2>/dev/null; wait "$1" 2>/dev/null; }
}

# load SERVER OUTFILE: one benchmark run against the server; sets LOAD_RPS, LOAD_REQ
# (empty on failure, the reason in LOAD_ERR)
load() {
	local lp r
	LOAD_RPS='' LOAD_REQ='' LOAD_ERR=''
	if [[ $1 == redis ]]; then
		redis-cli -p "$SRV_PORT" flushall >/dev/null 2>&1
		bg timeout -k 5 600 redis-benchmark -h 127.0.0.1 -p "$SRV_PORT" -t set,get,lpush,lpop -c 50 \
			-n "$REDIS_N" --csv
	else
		bg timeout -k 5 $((WRK_SECS + 120)) wrk -t1 -c20 -d"${WRK_SECS}s" "http://127.0.0.1:$SRV_PORT/index.html"
	fi >"$2" 2>&1
	lp=$BG
	wait "$lp"
	if [[ $1 == redis ]]; then
		r=$("${PY[@]}" redis "$2") && read -r LOAD_RPS LOAD_REQ <<<"$r"
	else
		r=$("${PY[@]}" wrk "$2") && read -r LOAD_RPS LOAD_REQ e <<<"$r"
		[[ -n $r && $e != 0 ]] && { LOAD_ERR="wrk saw $e errors"; LOAD_RPS=''; }
	fi
	[[ -n $LOAD_RPS || -n $LOAD_ERR ]] || LOAD_ERR="no result: $(tail -n 1 "$2")"
}

# --- tracers ---------------------------------------------------------------------------
declare -A LABEL=(
	[untraced]="untraced"
	[exact]="\`alloctop -p PID -b\` (exact)"
	[mo5]="\`alloctop -p PID -b --max-overhead 5\`"
	[mo1]="\`alloctop -p PID -b --max-overhead 1\`"
	[growth]="\`alloctop -p PID -b --growth\`"
	[census]="\`alloctop -b -n 5\` census (no \`-p\`: its default, --max-overhead 1) while the benchmark runs"
	[memleak]="memleak-bpfcc \`-p PID -O ALLOCATOR\`"
)
declare -A SKIP=() NOTE=() MLARGS=()
ATJSON=(-o json --top 1000)	# every site in the JSON, for the estimate comparison

# start_tracer MODE SERVER OUT: sets TR_PID once its probes are live; 1 with TR_ERR if not
start_tracer() {
	local mode=$1 srv=$2 out=$3 i n d
	TR_PID='' TR_ERR=''
	case $mode in
	untraced) return 0 ;;
	exact | mo5 | mo1 | growth)
		local extra=()
		case $mode in
		mo5) extra=(--max-overhead 5) ;;
		mo1) extra=(--max-overhead 1) ;;
		growth) extra=(--growth) ;;
		esac
		bg "$AT" -p "$SRV_PID" -b "${ATJSON[@]}" "${extra[@]}" >"$out" 2>"$out.err"
		;;
	census)
		d=${SERVER_CENSUS_D:-$(awk -v u="$(med "${USECS[$srv]:-1}" '%.4g')" 'BEGIN {d = int(12 * u / 5 + 0.999); print (d < 1) ? 1 : d}')}
		CENSUS_D=$d
		bg "$AT" -b -n 5 -d "$d" >"$out" 2>"$out.err"
		;;
	memleak)
		# bcc's uprobes are perf events: attached once it holds one per probe (20)
		( [[ -n ${KH:-} ]] && export BCC_KERNEL_SOURCE=$KH
		  exec "${PY[@]}" sigint-exec memleak-bpfcc -p "$SRV_PID" ${MLARGS[$srv]} 3600 ) >"$out" 2>"$out.err" &
		TR_PID=$!
		STARTED+=("$TR_PID")
		for ((i = 0; i < 1200; i++)); do
			kill -0 "$TR_PID" 2>/dev/null || break
			n=$(find "/proc/$TR_PID/fd" -lname 'anon_inode:\[perf_event\]' 2>/dev/null | wc -l)
			((n >= 20)) && { sleep 0.2; kill -0 "$TR_PID" 2>/dev/null && return 0; break; }
			sleep 0.05
		done
		TR_ERR=$(cat "$out" "$out.err" | grep -v '^\s*$' | tail -n 1)
		stop "$TR_PID"
		TR_PID=''
		return 1
		;;
	esac
	TR_PID=$BG
	wait_for "$out.err" 'attached' 60 "$TR_PID" && return 0
	TR_ERR=$(tail -n 1 "$out.err")
	stop "$TR_PID"
	TR_PID=''
	return 1
}

# alloctop's probe sites in the server (alloctop -v: "NAME at PATH+OFF, probe at +K"), to
# see that untraced runs are untraced: another tracer on the machine (a system-wide
# alloctop elsewhere probes every process's allocator) puts a breakpoint (0xcc) at
# PATH+OFF+K. Sets SITE (malloc's "PATH OFF") and SITES ("PATH:OFF ..." for malloc and
# free, the calls a server makes per request: a windowed tracer may have detached one of
# them at one moment; a probe on munmap alone costs a server next to nothing).
probe_sites() {
	local name path off k
	SITE[$1]='' SITES[$1]=''
	while read -r name path off k; do
		off=$(printf '0x%x' $((off + k)))
		[[ $name == malloc && -z ${SITE[$1]} ]] && SITE[$1]="$path $off"
		SITES[$1]+="$path:$off "
	done < <(timeout 60 "$AT" -v -p "$SRV_PID" -b -n 1 -d 0.1 2>&1 >/dev/null |
		sed -n 's/.*pid [0-9]*: \(malloc\|free\) at \(.*\)+\(0x[0-9a-f]*\), probe at +\([0-9]*\).*/\1 \2 \3 \4/p')
}
# site_bytes SERVER: the bytes at those sites now
site_bytes() { [[ -n ${SITES[$1]:-} ]] && "${PY[@]}" textbyte "$SRV_PID" ${SITES[$1]} 2>/dev/null; }

# --- one run: sets RUN_RES to its rps (empty if it failed or was left out) ---------------------------------------------------------------------------
declare -A RPS=() RATIO=() CPUREQ=() CRATIO=() ATCPU=() FAILS=() NFAIL=() USECS=() SITE=() SITES=() STOPS=() ESTLIST=()
DISCARDED=()
LAST_U='' LAST_UC=''	# the untraced rps and server CPU a request just before, for the paired ratios

run_one() {
	local srv=$1 mode=$2 r=$3 out=$tmp/$1-$2-$3 b0='' b1='' t0 how s0 s1 a0 a1 cr=''
	RUN_RES=''
	start_tracer "$mode" "$srv" "$out.tr" || {
		FAILS[$srv $mode]=$TR_ERR
		NFAIL[$srv $mode]=$((${NFAIL[$srv $mode]:-0} + 1))
		log "$srv $mode: tracer did not start: $TR_ERR"
		return 1
	}
	[[ $mode == untraced ]] && b0=$(site_bytes "$srv")
	t0=$EPOCHREALTIME s0=$(cpu_ns "$SRV_PID") a0=$(cpu_ns "$TR_PID")
	load "$srv" "$out.load"
	s1=$(cpu_ns "$SRV_PID") a1=$(cpu_ns "$TR_PID")
	# the server's CPU a request (us, the probes' time included: what a budget bounds) and
	# the tracer's own CPU (% of one core over the load: it competes for the same cores)
	[[ -n $s0 && -n $s1 && -n $LOAD_REQ ]] && cr=$(awk -v a="$s0" -v b="$s1" -v n="$LOAD_REQ" 'BEGIN {printf "%.4f", (b - a) / 1e3 / n}')
	[[ -n $a0 && -n $a1 ]] && ATCPU[$srv $mode]+="$(awk -v a="$a0" -v b="$a1" -v t0="$t0" -v t1="$EPOCHREALTIME" 'BEGIN {printf "%.2f", (b - a) / 1e7 / (t1 - t0)}') "
	[[ $mode == untraced ]] && b1=$(site_bytes "$srv")
	[[ $mode == untraced ]] && USECS[$srv]+="$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN {print b - a}') "
	if [[ -n $TR_PID ]]; then
		[[ $mode == census ]] && ! kill -0 "$TR_PID" 2>/dev/null && NOTE[census]="the census ended before the benchmark in some runs (its -n 5 -d $CENSUS_D window was too short)"
		stop "$TR_PID"
		how=$STOP_HOW
		STOPS[$mode]+="$how "
		if [[ $mode != memleak && $mode != census ]] && ! "${PY[@]}" final "$out.tr"; then
			NOTE[$mode]="alloctop printed no final report in a run (stopped by $how; $(tail -n 1 "$out.tr.err"))"
		fi
		[[ $mode == exact || $mode == mo5 ]] && [[ -n $LOAD_REQ ]] && ESTLIST[$srv $mode]+="$out.tr $LOAD_REQ"$'\n'
	fi
	kill -0 "$SRV_PID" 2>/dev/null || { log "$srv died during the $mode run"; exit 1; }
	if [[ -z $LOAD_RPS ]]; then
		[[ $mode == untraced ]] && LAST_UC=''
		FAILS[$srv $mode]=$LOAD_ERR
		NFAIL[$srv $mode]=$((${NFAIL[$srv $mode]:-0} + 1))
		log "$srv $mode: $LOAD_ERR"
		return 1
	fi
	if [[ " $b0 $b1 " == *" cc "* ]]; then
		DISCARDED+=("$srv untraced, before row ${r#*.} of round ${r%%.*}: an allocator probe site held a breakpoint (another tracer on the machine; bytes before: $b0, after: $b1): $LOAD_RPS rps left out")
		LAST_U=''
		return 1
	fi
	RPS[$srv $mode]+="$LOAD_RPS "
	[[ -n $cr ]] && CPUREQ[$srv $mode]+="$cr "
	if [[ $mode == untraced ]]; then
		LAST_U=$LOAD_RPS LAST_UC=$cr
	elif [[ -n $LAST_U ]]; then
		RATIO[$srv $mode]+="$(awk -v a="$LOAD_RPS" -v b="$LAST_U" 'BEGIN {printf "%.4f", a / b}') "
		[[ -n $cr && -n $LAST_UC ]] && CRATIO[$srv $mode]+="$(awk -v a="$cr" -v b="$LAST_UC" 'BEGIN {printf "%.4f", a / b}') "
	fi
	RUN_RES=$LOAD_RPS
}

# --- setup -----------------------------------------------------------------------------
# the help read whole first: grep -q stops reading at its match, and under pipefail the
# writer's SIGPIPE then failed the test at random (mo5 and mo1 went skipped)
AT_HELP=$("$AT" --help 2>&1)
grep -q -- '--growth' <<<"$AT_HELP" || SKIP[growth]="skipped: \`alloctop --help\` has no --growth"
grep -q -- '--max-overhead' <<<"$AT_HELP" || SKIP[mo5]="skipped: no --max-overhead" SKIP[mo1]="skipped: no --max-overhead"
command -v memleak-bpfcc >/dev/null || SKIP[memleak]="not available: memleak-bpfcc is not installed (ALLOCTOP_BENCH_DEPS=1 installs bpfcc-tools)"
KH=''
if [[ -z ${SKIP[memleak]:-} && ! -e /lib/modules/$(uname -r)/build/include/linux/kconfig.h && ! -e /sys/kernel/kheaders.tar.xz ]]; then
	# no headers for this kernel: Debian's generic ones do for user-space probes
	# (bench/README.md, "memleak-bpfcc on this kernel")
	hdr=$(ls -d /usr/src/linux-headers-*-"$(dpkg --print-architecture)" 2>/dev/null | sort -V | tail -n 1)
	if [[ -n $hdr ]]; then
		# a tree of symlinks, made once (tens of seconds on a loaded machine) and kept
		KH=$PWD/build/bench/bcc-$(basename "$hdr")
		if [[ ! -e $KH/.done ]]; then
			rm -rf "$KH" && mkdir -p "$KH"
			[[ -d ${hdr%-*}-common ]] && { bg cp -rs "${hdr%-*}-common/." "$KH/"; wait "$BG"; }
			bg cp -rsf "$hdr/." "$KH/" && wait "$BG" && touch "$KH/.done"
		fi
	else
		SKIP[memleak]="not available: no kernel headers for bcc (ALLOCTOP_BENCH_DEPS=1 installs linux-headers)"
	fi
fi

# memleak_args SERVER: memleak-bpfcc's -O for the server: the allocator file alloctop
# probes (memleak's default, libc by name, is the system file, not the server's private
# copy). memleak cannot probe jemalloc (it finds no mmap there): then the private libc,
# with a note. Sets MLARGS and MLNOTE, or MLSKIP with what memleak said.
declare -A MLSKIP=() MLNOTE=()
memleak_args() {
	local srv=$1 lib=${SITE[$1]%% *} out=$tmp/ml-probe-$1
	MLARGS[$srv]="-O $lib"
	[[ -n $lib ]] || { MLSKIP[$srv]="not run: alloctop -v named no malloc probe site"; return; }
	[[ $lib == */libc.so.6 ]] && return 0
	start_tracer memleak "$srv" "$out" && { stop "$TR_PID"; return 0; }
	MLNOTE[$srv]="with \`-O $lib\` (its allocator) memleak-bpfcc stops with \"$TR_ERR\"; this row probes the libc it maps (\`-O $LIBDIR/libc.so.6\`, memleak's default library), which $srv does not allocate from"
	MLARGS[$srv]="-O $LIBDIR/libc.so.6"
}

START=$EPOCHREALTIME
for srv in "${SERVERS[@]}"; do
	log "$srv: starting"
	if ! "start_$srv" || ! private_libs; then
		log "$srv did not start: $(tail -n 2 "$tmp/$srv"/*.log 2>/dev/null)"
		exit 1
	fi
	probe_sites "$srv"
	log "$srv: pid $SRV_PID, port $SRV_PORT, probe sites checked in untraced runs: ${SITES[$srv]:-none found}"
	[[ -z ${SKIP[memleak]:-} && " ${ROWS[*]} " == *" memleak "* ]] && memleak_args "$srv"
	for ((r = 1; r <= RUNS; r++)); do
		line="$srv round $r/$RUNS (rps):"
		for m in "${ROWS[@]}"; do
			[[ -n ${SKIP[$m]:-} || -n ${MLSKIP[$srv]:-} && $m == memleak ]] && continue
			[[ $m == census && $srv != redis ]] && continue
			run_one "$srv" untraced "$r.$m"
			line+=" U=${RUN_RES:-?}"
			run_one "$srv" "$m" "$r"
			line+=" $m=${RUN_RES:-?}"
		done
		log "$line"
	done
	stop_server "$SRV_PID"
	eval "PID_$srv=$SRV_PID"
done
TOTAL_S=$(awk -v a="$START" -v b="$EPOCHREALTIME" 'BEGIN {printf "%.0f", b - a}')

# --- report ----------------------------------------------------------------------------
# cell SERVER MODE: "rps (min–max)" and "ratio" cells
cells() {
	local srv=$1 m=$2 md mn mx n rmd
	if [[ $m == census && $srv != redis ]]; then echo "— | —"; return; fi
	if [[ -n ${SKIP[$m]:-} ]]; then echo "${SKIP[$m]} | "; return; fi
	if [[ $m == memleak && -n ${MLSKIP[$srv]:-} ]]; then echo "${MLSKIP[$srv]} | "; return; fi
	read -r md mn mx n <<<"$(stat_of "${RPS[$srv $m]:-}")"
	if ((n == 0)); then echo "no run succeeded: ${FAILS[$srv $m]:-?} | "; return; fi
	local s='' np
	np=$(wc -w <<<"${RATIO[$srv $m]:-}")
	[[ $m != untraced ]] && ((n < RUNS)) && s=" ($n runs)"
	[[ $m != untraced ]] && ((np < RUNS)) && s+=" ($np pairs)"
	[[ $m == memleak && -n ${MLNOTE[$srv]:-} ]] && s+=" (see below)"
	if [[ $m == untraced ]]; then rmd=1.00; else rmd=$(awk -v v="$(med "${RATIO[$srv $m]:-}" '%.4g')" 'BEGIN {if (v == "-") print "-"; else printf "%.2f", v}'); fi
	echo "$(fmt_rps "$md") ($(fmt_rps "$mn")–$(fmt_rps "$mx"))$s | **${rmd}x**"
}
# ratio_of SERVER MODE: the median paired ratio, or "-"
ratio_of() { [[ -n ${RATIO[$1 $2]:-} ]] && printf '%.2f' "$(med "${RATIO[$1 $2]}" '%.4g')" || echo -; }
verdict() {
	awk -v v="$1" -v t="$2" 'BEGIN {if (v == "-" || v == "") print "not measured"; else if (v >= t) print "met"; else print "**NOT met**"}'
}

report() {
	local m srv hdr='| run |' sep='|---|'
	echo "## Servers: throughput untraced and traced"
	echo
	echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(uname -r), $(nproc) cores, load average at the end $(cut -d' ' -f1-3 /proc/loadavg)."
	echo "$(redis-server --version | grep -o 'v=[0-9.]*' | sed 's/v=/redis-server /') under \`redis-benchmark -t set,get,lpush,lpop -c 50 -n $REDIS_N\` (4 × $REDIS_N requests a run);"
	echo "$(nginx -v 2>&1 | sed 's/.*: //') (\`master_process off\`: one process serving a 4 KiB static file) under \`wrk -t1 -c20 -d${WRK_SECS}s\`;"
	echo "both on 127.0.0.1. $RUNS rounds; in each, every traced run right after an untraced run of its"
	echo "own. Requests per second: median (min–max) of the runs; ×: median over the rounds of traced"
	echo "/ the untraced run just before it (\"(k pairs)\": fewer, where that untraced run was left out or"
	echo "failed). alloctop rows also print \`-o json --top 1000\` each second."
	echo
	for srv in "${SERVERS[@]}"; do hdr+=" $srv rps | $srv × |"; sep+='--:|--:|'; done
	echo "$hdr"
	echo "$sep"
	for m in untraced "${ROWS[@]}"; do
		local row="| ${LABEL[$m]} |"
		for srv in "${SERVERS[@]}"; do row+=" $(cells "$srv" "$m") |"; done
		echo "$row"
	done
	echo
	echo "The server's CPU time a request (all its threads, from /proc/PID/task/*/schedstat; the"
	echo "probes' time is charged to it: this is what \`--max-overhead\` bounds), median of the runs,"
	echo "and ×: median over the rounds of traced / the untraced run just before it; the tracer's own"
	echo "CPU over the load, median % of one core (on 2 cores it competes with the server and the"
	echo "load generator, so it lowers throughput without costing the server's CPU):"
	echo
	hdr='| run |' sep='|---|'
	for srv in "${SERVERS[@]}"; do hdr+=" $srv CPU/req (us) | × | tracer CPU |"; sep+='--:|--:|--:|'; done
	echo "$hdr"
	echo "$sep"
	for m in untraced "${ROWS[@]}"; do
		local row="| ${LABEL[$m]} |"
		for srv in "${SERVERS[@]}"; do
			if [[ $m == census && $srv != redis || -z ${CPUREQ[$srv $m]:-} ]]; then row+=" — | — | — |"; continue; fi
			row+=" $(med "${CPUREQ[$srv $m]}" '%.2f') |"
			if [[ $m == untraced ]]; then row+=" 1.00x |"; else row+=" $(med "${CRATIO[$srv $m]:-}" '%.3f')x |"; fi
			row+=" ${ATCPU[$srv $m]:+$(med "${ATCPU[$srv $m]}" '%.1f')%} |"
		done
		echo "$row"
	done
	echo
	for m in "${!NOTE[@]}"; do echo "- ${LABEL[$m]}: ${NOTE[$m]}"; done
	for m in "${ROWS[@]}"; do
		[[ -n ${STOPS[$m]:-} ]] || continue
		echo "- ${LABEL[$m]}: stopped by $(tr ' ' '\n' <<<"${STOPS[$m]}" | grep . | sort | uniq -c | awk '{printf "%s%s ×%s", (NR > 1) ? ", " : "", $2, $1}')."
	done
	for srv in "${SERVERS[@]}"; do
		for m in untraced "${ROWS[@]}"; do
			[[ -n ${NFAIL[$srv $m]:-} ]] && echo "- $srv, ${LABEL[$m]}: ${NFAIL[$srv $m]} of its runs failed, the last with \"${FAILS[$srv $m]}\"."
		done
	done
	((${#DISCARDED[@]})) && printf -- '- Left out: %s\n' "${DISCARDED[@]}"
	[[ -n $KH ]] && echo "- memleak-bpfcc ran with BCC_KERNEL_SOURCE at Debian's $(basename "$KH") headers."
	for srv in "${SERVERS[@]}"; do
		[[ -n ${MLNOTE[$srv]:-} ]] && echo "- memleak-bpfcc on $srv: ${MLNOTE[$srv]}."
	done
	echo
	for srv in "${SERVERS[@]}"; do
		[[ -n ${ESTLIST[$srv exact]:-} && -n ${ESTLIST[$srv mo5]:-} ]] || continue
		echo "### $srv: estimates of --max-overhead 5 against exact mode, same benchmark"
		echo
		printf '%s' "${ESTLIST[$srv exact]}" >"$tmp/est-$srv-exact"
		printf '%s' "${ESTLIST[$srv mo5]}" >"$tmp/est-$srv-mo5"
		local pv="PID_$srv"
		"${PY[@]}" estimate "${!pv}" "$tmp/est-$srv-exact" "$tmp/est-$srv-mo5" "--max-overhead 5"
		echo
	done
	echo "### Targets (issue 16)"
	echo
	echo "| target | measured | verdict |"
	echo "|---|--:|---|"
	for srv in "${SERVERS[@]}"; do
		echo "| $srv: --max-overhead 5 >= 0.95x untraced | $(ratio_of "$srv" mo5) | $(verdict "$(ratio_of "$srv" mo5)" 0.95) |"
		echo "| $srv: --max-overhead 1 >= 0.99x | $(ratio_of "$srv" mo1) | $(verdict "$(ratio_of "$srv" mo1)" 0.99) |"
		echo "| $srv: --growth >= 0.99x | $(ratio_of "$srv" growth) | $(verdict "$(ratio_of "$srv" growth)" 0.99) |"
	done
	[[ " ${SERVERS[*]} " == *" redis "* ]] &&
		echo "| redis: default census >= 0.98x | $(ratio_of redis census) | $(verdict "$(ratio_of redis census)" 0.98) |"
	echo
	echo "Whole run: ${TOTAL_S} s. Command: \`$(env | grep -E '^SERVER_' | sort | sed "s/=\(.*\)/='\1'/" | tr '\n' ' ')make bench-server\`."
	echo "PRIVATE/: the servers' private copies of libc and jemalloc (bench/README.md, Servers)."
}

# the private copies' directory changes every run: PRIVATE/ in the tables
report | sed "s#$LIBDIR/#PRIVATE/#g" | tee "$OUT"
log "saved in $OUT"
