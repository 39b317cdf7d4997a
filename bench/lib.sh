# Shell helpers the bench scripts share (bench/run.sh, bench/server.sh): bounded waits and
# medians. Sourced, not run.

# wait_for FILE PATTERN SECONDS [PID]: poll until FILE has a line matching PATTERN; 1 after
# SECONDS, or as soon as PID (when given) has exited
wait_for() {
	local i
	for ((i = 0; i < $3 * 20; i++)); do
		grep -q -- "$2" "$1" 2>/dev/null && return 0
		[[ -n ${4:-} ]] && ! kill -0 "$4" 2>/dev/null && return 1
		sleep 0.05
	done
	return 1
}

# wait_exit PID SECONDS: wait for a child to exit; 1 if it has not in time
wait_exit() {
	local i
	for ((i = 0; i < $2 * 20; i++)); do
		kill -0 "$1" 2>/dev/null || { wait "$1" 2>/dev/null; return 0; }
		sleep 0.05
	done
	return 1
}

# stat_of "v1 v2 ..." [FORMAT]: "median min max n" ("- - - 0" when empty), each value
# printed with FORMAT (default %.1f)
stat_of() {
	printf '%s\n' $1 | grep . | sort -g | awk -v f="${2:-%.1f}" '{v[NR] = $1}
		END {
			if (NR == 0) { print "- - - 0"; exit }
			m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
			printf f " " f " " f " %d\n", m, v[1], v[NR], NR
		}'
}
# med "v1 v2 ..." [FORMAT]: the median
med() { set -- $(stat_of "$1" "${2:-}"); echo "$1"; }
