#!/usr/bin/env bash
# Runs the test suite (`make test` builds everything first):
#   1. every unit-test binary UNIT_DIR/* (build/tests; each ends with "N passed, N failed,
#      N skipped"),
#   2. the integration tests (tests/integration/run.py; the eBPF ones need root).
#   tests/run.sh [--unit | --integration] [run.py arguments, e.g. -k NAME]
# Ends with one line "N passed, N failed, N skipped" and exits non-zero if anything
# failed, if no unit-test binary was found, or (ALLOCTOP_NO_SKIP=1, as .ci/run sets)
# if anything was skipped.
set -uo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
UNIT_DIR=${UNIT_DIR:-build/tests}
UNIT_TIMEOUT=${UNIT_TIMEOUT:-300}
INTEGRATION_TIMEOUT=${INTEGRATION_TIMEOUT:-1500}
parts=all
case ${1:-} in
--unit) parts=unit; shift ;;
--integration) parts=integration; shift ;;
esac
passed=0
failed=0
skipped=0

# "P F S" from the last "N passed, N failed[, N skipped]" line (optionally after "word: ")
counts() {
	grep -E '^([A-Za-z_-]+: )?[0-9]+ passed, [0-9]+ failed' | tail -n 1 |
		sed -E 's/^([A-Za-z_-]+: )?([0-9]+) passed, ([0-9]+) failed(, ([0-9]+) skipped)?.*/\2 \3 \5/'
}

add() { # NAME RC OUTPUT
	local p f s
	read -r p f s <<<"$(printf '%s\n' "$3" | counts)"
	if [[ -z ${p:-} ]]; then
		# no summary line: it crashed or timed out before it could print one
		echo "FAIL $1: exit status $2 and no 'N passed, N failed' line"
		p=0 f=1
	elif [[ $2 -ne 0 && $f -eq 0 ]]; then
		echo "FAIL $1: exit status $2 although it reported no failure"
		f=1
	fi
	passed=$((passed + p))
	failed=$((failed + f))
	skipped=$((skipped + ${s:-0}))
}

if [[ $parts != integration ]]; then
	echo "== unit tests ($UNIT_DIR)"
	units=0
	for t in "$UNIT_DIR"/*; do
		[[ -f $t && -x $t && $t != *.d && $t != *.o ]] || continue
		units=$((units + 1))
		out=$(timeout -k 5 "$UNIT_TIMEOUT" "$t" 2>&1)
		rc=$?
		printf '%s\n' "$out" | sed "s/^/[$(basename "$t")] /" | grep -vE '^\[[^]]*\] PASS ' || true
		add "$(basename "$t")" "$rc" "$out"
	done
	if [[ $units -eq 0 ]]; then
		echo "FAIL unit tests: no unit-test binaries in $UNIT_DIR (run 'make' first)"
		failed=$((failed + 1))
	fi

if [[ $parts != integration ]]; then
	echo "== layers (tools/layers.py: include direction, cycles, sizes)"
	if "$PY" tools/layers.py; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
fi
fi

if [[ $parts != unit ]]; then
	echo "== integration tests${ALLOCTOP:+ against $ALLOCTOP}"
	out_file=$(mktemp)
	trap 'rm -f "$out_file"' EXIT
	timeout -k 10 "$INTEGRATION_TIMEOUT" "$PY" tests/integration/run.py "$@" 2>&1 | tee "$out_file"
	add integration "${PIPESTATUS[0]}" "$(cat "$out_file")"
fi

if [[ $skipped -gt 0 && ${ALLOCTOP_NO_SKIP:-0} != 0 ]]; then
	echo "FAIL $skipped test(s) skipped under ALLOCTOP_NO_SKIP=1"
	failed=$((failed + 1))
fi
echo "$passed passed, $failed failed, $skipped skipped"
[[ $failed -eq 0 ]]
