#!/usr/bin/env bash
# make test-asan: runs the unit tests built with ASan + UBSan (DIR/tests/*) and the
# integration suite against DIR/alloctop (harness.py honours ALLOCTOP=path).
#   tests/reliability/test-asan.sh [DIR [run.py arguments, e.g. -k NAME]]
# Sanitizer reports are written to DIR/logs/; any report fails the run, as does any
# failed test. Ends with "N passed, N failed" like tests/run.sh.
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

passed=0
failed=0
echo "== unit tests (ASan + UBSan)"
for t in "$dir"/tests/*; do
	[[ -f $t && -x $t && $t != *.d && $t != *.o ]] || continue
	out=$(timeout -k 5 300 "$t" 2>&1)
	rc=$?
	printf '%s\n' "$out" | sed "s/^/[$(basename "$t")] /" | grep -vE '^\[[^]]*\] PASS ' || true
	line=$(printf '%s\n' "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed' | tail -n 1)
	if [[ -z $line ]]; then
		echo "FAIL $(basename "$t"): exit status $rc and no summary"
		failed=$((failed + 1))
		continue
	fi
	p=${line%% passed*}
	f=${line#*, }
	f=${f%% failed*}
	[[ $rc -ne 0 && $f -eq 0 ]] && f=1
	passed=$((passed + p))
	failed=$((failed + f))
done

echo "== integration tests against $bin"
out_file=$(mktemp)
trap 'rm -f "$out_file"' EXIT
# The dashboard tests run too: their alloctop runs in a tmux pane started from this
# environment, so its reports land in $logs like the others'.
timeout -k 10 1200 "${PYTHON:-python3}" tests/integration/run.py "$@" 2>&1 | tee "$out_file"
line=$(grep -E '^integration: [0-9]+ passed, [0-9]+ failed' "$out_file" | tail -n 1)
if [[ -z $line ]]; then
	echo "FAIL integration: no summary"
	failed=$((failed + 1))
else
	line=${line#integration: }
	p=${line%% passed*}
	f=${line#*, }
	f=${f%% failed*}
	passed=$((passed + p))
	failed=$((failed + f))
fi

reports=$(find "$logs" -type f | sort)
if [[ -n $reports ]]; then
	echo "== sanitizer reports ($(echo "$reports" | wc -l) files in $logs)"
	for r in $reports; do
		echo "--- $r"
		head -n 40 "$r"
	done
	failed=$((failed + 1))
fi
echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
