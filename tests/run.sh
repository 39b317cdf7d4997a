#!/usr/bin/env bash
# Runs the whole test suite (`make test` builds everything first):
#   1. every unit-test binary build/tests/* (each ends with "N passed, N failed"),
#   2. the integration tests (tests/integration/run.py; the alloctop ones need root).
# Ends with one line "N passed, N failed" and exits non-zero if anything failed.
set -uo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
UNIT_TIMEOUT=${UNIT_TIMEOUT:-120}
passed=0
failed=0

# "N passed, N failed" (optionally after "word:"), the last such line of a run's output
counts() {
	grep -E '^([A-Za-z_-]+: )?[0-9]+ passed, [0-9]+ failed' | tail -n 1 |
		sed -E 's/^([A-Za-z_-]+: )?([0-9]+) passed, ([0-9]+) failed.*/\2 \3/'
}

echo "== unit tests"
shopt -s nullglob
units=0
for t in build/tests/*; do
	[[ -f $t && -x $t && $t != *.d && $t != *.o ]] || continue
	units=$((units + 1))
	name=$(basename "$t")
	out=$(timeout -k 5 "$UNIT_TIMEOUT" "$t" 2>&1)
	rc=$?
	printf '%s\n' "$out" | sed "s/^/[$name] /"
	read -r p f <<<"$(printf '%s\n' "$out" | counts)"
	if [[ -z ${p:-} ]]; then
		# no summary line: the binary crashed or timed out before it could print one
		echo "FAIL $name: exit status $rc and no 'N passed, N failed' line"
		p=0 f=1
	elif [[ $rc -ne 0 && $f -eq 0 ]]; then
		echo "FAIL $name: exit status $rc although it reported no failure"
		f=1
	fi
	passed=$((passed + p))
	failed=$((failed + f))
	p='' f=''
done
[[ $units -eq 0 ]] && echo "(no unit-test binaries in build/tests; run 'make' first)"

echo "== layers (tools/layers.py: include direction, cycles, sizes)"
if "$PY" tools/layers.py; then passed=$((passed + 1)); else failed=$((failed + 1)); fi

echo "== integration tests"
if [[ $(id -u) -ne 0 ]]; then
	echo "SKIP the alloctop integration tests: they load eBPF programs and need root (run 'sudo make test');"
	echo "     running only the ones that need no root"
fi
out_file=$(mktemp)
trap 'rm -f "$out_file"' EXIT
timeout -k 10 600 "$PY" tests/integration/run.py "$@" 2>&1 | tee "$out_file"
rc=${PIPESTATUS[0]}
read -r p f <<<"$(counts <"$out_file")"
skipped=$(grep -E '^integration: ' "$out_file" | tail -n 1 | sed -nE 's/.*, ([0-9]+) skipped.*/\1/p')
if [[ -z ${p:-} ]]; then
	echo "FAIL integration: the runner exited with status $rc without a summary"
	p=0 f=1
elif [[ $rc -ne 0 && $f -eq 0 ]]; then
	echo "FAIL integration: the runner exited with status $rc"
	f=1
fi
passed=$((passed + p))
failed=$((failed + f))

if [[ -n ${skipped:-} && $skipped -gt 0 ]]; then
	echo "$passed passed, $failed failed, $skipped skipped"
else
	echo "$passed passed, $failed failed"
fi
[[ $failed -eq 0 ]]
