#!/usr/bin/env bash
# make test-asan: runs the unit tests built with ASan + UBSan (DIR/tests/*) and the
# integration suite against DIR/alloctop (harness.py honours ALLOCTOP=path), through
# tests/run.sh.
#   tests/reliability/test-asan.sh [DIR [run.py arguments, e.g. -k NAME]]
# Sanitizer reports are written to DIR/logs/; any report fails the run, as does any
# failed test. Ends with "N passed, N failed, N skipped" like tests/run.sh.
set -uo pipefail
cd "$(dirname "$0")/../.."
dir=${1:-build-asan}
[[ $# -gt 0 ]] && shift   # the rest goes to run.py (-k NAME ...)
bin=$PWD/$dir/alloctop
[[ -x $bin ]] || { echo "test-asan: $bin is missing" >&2; exit 1; }
logs=$PWD/$dir/logs
rm -rf "$logs"
mkdir -p "$logs"
export ASAN_OPTIONS="log_path=$logs/asan:detect_leaks=1:abort_on_error=0:strict_string_checks=1:detect_stack_use_after_return=1"
export UBSAN_OPTIONS="log_path=$logs/ubsan:print_stacktrace=1:halt_on_error=1"
export LSAN_OPTIONS="log_path=$logs/lsan"
export ALLOCTOP=$bin

# The dashboard tests run too: their alloctop runs in a tmux pane started from this
# environment, so its reports land in $logs like the others'.
out_file=$(mktemp)
trap 'rm -f "$out_file"' EXIT
UNIT_DIR=$dir/tests bash tests/run.sh "$@" 2>&1 | tee "$out_file"
rc=${PIPESTATUS[0]}
line=$(grep -E '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' "$out_file" | tail -n 1)
read -r p f s <<<"$(sed -E 's/^([0-9]+) passed, ([0-9]+) failed, ([0-9]+) skipped$/\1 \2 \3/' <<<"$line")"
[[ -z ${p:-} ]] && p=0 f=1 s=0
[[ $rc -ne 0 && $f -eq 0 ]] && f=1

reports=$(find "$logs" -type f | sort)
if [[ -n $reports ]]; then
	echo "== sanitizer reports ($(echo "$reports" | wc -l) files in $logs)"
	for r in $reports; do
		echo "--- $r"
		head -n 40 "$r"
	done
	f=$((f + 1))
fi
echo "== with the sanitizer reports"
echo "$p passed, $f failed, $s skipped"
[[ $f -eq 0 ]]
