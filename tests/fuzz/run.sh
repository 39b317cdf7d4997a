#!/usr/bin/env bash
# Runs a fuzz target for a bounded time (make fuzz FUZZ_SECONDS=N runs each).
#   tests/fuzz/run.sh BUILD_DIR SECONDS [fuzz_elf|fuzz_cfi]
# The seed corpus is a few small real ELF files (an executable, a PIE, a shared library,
# a relocatable object, a static binary) copied into BUILD_DIR/seed at run time; for
# fuzz_cfi (BUILD_DIR/seed-cfi) each is prefixed with its shape byte (fuzz_cfi.h), plus
# the CFI sections of some of them cut out as synthetic-ELF inputs. What the fuzzer
# learns is kept in BUILD_DIR/corpus (corpus-cfi) between runs. Crashing inputs land in
# BUILD_DIR/crashes/ (cfi-* for fuzz_cfi); the script then exits 1 and names them.
set -uo pipefail
cd "$(dirname "$0")/../.."
dir=${1:-build/fuzz}
secs=${2:-60}
target=${3:-fuzz_elf}
bin=$dir/$target
[[ -x $bin ]] || { echo "fuzz: $bin is missing (make fuzz builds it)" >&2; exit 1; }
case $target in
fuzz_elf) seed=$dir/seed corpus=$dir/corpus prefix=$dir/crashes/ ;;
fuzz_cfi) seed=$dir/seed-cfi corpus=$dir/corpus-cfi prefix=$dir/crashes/cfi- ;;
*) echo "fuzz: unknown target $target" >&2; exit 2 ;;
esac
mkdir -p "$seed" "$corpus" "$dir/crashes"

seeds=(
  /usr/bin/true                                  # PIE executable
  /lib/x86_64-linux-gnu/libdl.so.2               # small shared library (.dynsym, relocations)
  build/work/basic                               # executable with .symtab, PLT, debug info
  build/user/lib/util.o                           # relocatable object (RELA sections)
  build/reliability/nomalloc                     # static binary without an allocator
  build/reliability/weird                        # symbol names with quotes, control bytes, >0x7f
)
[[ $target == fuzz_cfi ]] && seeds+=(build/cfi/nounwind)  # .debug_frame for its own code

# fuzz_cfi's synthetic shape: 1 or 3 (with .eh_frame_hdr), then each section but the
# last after a 2-byte little-endian length
cfi_synth() { # FILE OUT
  local t
  t=$(mktemp -d)
  for s in eh_frame_hdr eh_frame debug_frame; do
    objcopy -O binary --only-section=.$s "$1" "$t/$s" 2>/dev/null || : >"$t/$s"
  done
  python3 - "$t" "$2" <<'PY'
import os, struct, sys
t, out = sys.argv[1], sys.argv[2]
part = lambda n: open(os.path.join(t, n), "rb").read()[:0xffff]
hdr, eh, df = part("eh_frame_hdr"), part("eh_frame"), part("debug_frame")
open(out + "-synth", "wb").write(b"\x01" + struct.pack("<H", len(eh)) + eh + df)
open(out + "-synth-hdr", "wb").write(b"\x03" + struct.pack("<H", len(hdr)) + hdr + struct.pack("<H", len(eh)) + eh + df)
PY
  rm -rf "$t"
}

n=0
for f in "${seeds[@]}"; do
  [[ -f $f ]] || continue
  out=$seed/$(echo "$f" | tr / _)
  if [[ $target == fuzz_cfi ]]; then
    { printf '\0'; cat "$f"; } >"$out"
    [[ $f == *.o ]] || cfi_synth "$f" "$out"
  else
    cp -f "$f" "$out"
  fi
  n=$((n + 1))
done
# a truncated and a header-only copy: the parser's early exits
[[ $target == fuzz_cfi ]] && pre='\0' || pre=''
{ printf "$pre"; head -c 64 /usr/bin/true; } >"$seed/header-only"
{ printf "$pre"; head -c 3000 /usr/bin/true; } >"$seed/truncated"
echo "fuzz: $n seed files, running $bin for ${secs}s" >&2

before=$(ls "$dir/crashes" | wc -l)
log=$dir/$target.log
"$bin" -max_total_time="$secs" -max_len=131072 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
  -artifact_prefix="$prefix" "$corpus" "$seed" >"$log" 2>&1
rc=$?
grep -E '^(stat::|Done|#[0-9]+.*DONE)' "$log" | sed 's/^/fuzz: /'
after=$(ls "$dir/crashes" | wc -l)
if [[ $rc -ne 0 || $after -gt $before ]]; then
  echo "fuzz: FAILED (exit $rc); new crashing inputs in $dir/crashes/:" >&2
  ls -l "$dir/crashes" >&2
  grep -E 'ERROR|SUMMARY|runtime error' "$log" | head -20 >&2
  exit 1
fi
echo "fuzz: $target: no crash in ${secs}s ($(ls "$corpus" | wc -l) corpus entries)"
