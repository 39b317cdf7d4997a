#!/usr/bin/env bash
# Runs the ELF fuzz target for a bounded time (make fuzz FUZZ_SECONDS=N).
#   tests/fuzz/run.sh BUILD_DIR SECONDS
# The seed corpus is a few small real ELF files (an executable, a PIE, a shared library,
# a relocatable object, a static binary) copied into BUILD_DIR/seed at run time; what
# the fuzzer learns is kept in BUILD_DIR/corpus between runs. Crashing inputs land in
# BUILD_DIR/crashes/; the script then exits 1 and names them.
set -uo pipefail
cd "$(dirname "$0")/../.."
dir=${1:-build/fuzz}
secs=${2:-60}
bin=$dir/fuzz_elf
[[ -x $bin ]] || { echo "fuzz: $bin is missing (make fuzz builds it)" >&2; exit 1; }
mkdir -p "$dir/seed" "$dir/corpus" "$dir/crashes"

seeds=(
  /usr/bin/true                                  # PIE executable
  /lib/x86_64-linux-gnu/libdl.so.2               # small shared library (.dynsym, relocations)
  build/work/basic                               # executable with .symtab, PLT, debug info
  build/user/util.o                              # relocatable object (RELA sections)
  build/reliability/nomalloc                     # static binary without an allocator
  build/reliability/weird                        # symbol names with quotes, control bytes, >0x7f
)
n=0
for f in "${seeds[@]}"; do
  if [[ -f $f ]]; then
    cp -f "$f" "$dir/seed/$(echo "$f" | tr / _)"
    n=$((n + 1))
  fi
done
# a truncated and a header-only copy: the parser's early exits
head -c 64 /usr/bin/true >"$dir/seed/header-only"
head -c 3000 /usr/bin/true >"$dir/seed/truncated"
echo "fuzz: $n seed files, running $bin for ${secs}s" >&2

before=$(ls "$dir/crashes" | wc -l)
log=$dir/fuzz.log
"$bin" -max_total_time="$secs" -max_len=131072 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
  -artifact_prefix="$dir/crashes/" "$dir/corpus" "$dir/seed" >"$log" 2>&1
rc=$?
grep -E '^(stat::|Done|#[0-9]+.*DONE)' "$log" | sed 's/^/fuzz: /'
after=$(ls "$dir/crashes" | wc -l)
if [[ $rc -ne 0 || $after -gt $before ]]; then
  echo "fuzz: FAILED (exit $rc); new crashing inputs in $dir/crashes/:" >&2
  ls -l "$dir/crashes" >&2
  grep -E 'ERROR|SUMMARY|runtime error' "$log" | head -20 >&2
  exit 1
fi
echo "fuzz: no crash in ${secs}s ($(ls "$dir/corpus" | wc -l) corpus entries)"
