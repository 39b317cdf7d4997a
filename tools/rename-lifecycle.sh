#!/usr/bin/env bash
# One naming convention for lifecycle verbs (README: Architecture): object__verb, with
#   __new / __free     an object the module allocates (returns a pointer),
#   __init / __fini    one embedded in its owner's memory (a zeroed one needs no init),
#   __open / __close   one that reads a file or a map,
# and other verbs on an object (build, read, make, start) the same way. This script
# renames the old mixed names (_init/_free, _fini without init, _start/_free) across the
# tree. It is idempotent: re-run it after merging a branch written with the old names.
#   tools/rename-lifecycle.sh [FILE...]   (default: every C source, header and Markdown file)
set -euo pipefail
cd "$(dirname "$0")/.."

EXPRS=(
	# allocated objects
	-e 's/\bat_elfcache_new\b/at_elfcache__new/g'
	-e 's/\bat_elfcache_free\b/at_elfcache__free/g'
	-e 's/\bat_symbolizer_new\b/at_symbolizer__new/g'
	-e 's/\bat_symbolizer_free\b/at_symbolizer__free/g'
	-e 's/\bat_ui_new\b/at_ui__new/g'
	-e 's/\bat_ui_free\b/at_ui__free/g'
	-e 's/\bat_model_new\b/at_model__new/g'
	-e 's/\bat_model_free\b/at_model__free/g'
	-e 's/\bat_unwind_pre_start\b/at_unwind_pre__new/g'
	-e 's/\bat_unwind_pre_free\b/at_unwind_pre__free/g'
	-e 's/\bat_unwind_pre_wait\b/at_unwind_pre__wait/g'
	-e 's/\bat_unwind_pre_take\b/at_unwind_pre__take/g'
	# readers of files and maps
	-e 's/\bat_elf_open_path\b/at_elf__open_path/g'
	-e 's/\bat_elf_open\b/at_elf__open/g'
	-e 's/\bat_elf_free\b/at_elf__close/g'
	-e 's/\bat_dwarf_open\b/at_dwarf__open/g'
	-e 's/\bat_dwarf_free\b/at_dwarf__close/g'
	-e 's/\bat_sitereader_open\b/at_sitereader__open/g'
	-e 's/\bat_sitereader_close\b/at_sitereader__close/g'
	# embedded objects
	-e 's/\bat_sitetab_init\b/at_sitetab__init/g'
	-e 's/\bat_sitetab_fini\b/at_sitetab__fini/g'
	-e 's/\bat_topn_init\b/at_topn__init/g'
	-e 's/\bat_topn_free\b/at_topn__fini/g'
	-e 's/\bat_heap_fini\b/at_heap__fini/g'
	-e 's/\bat_census_fini\b/at_census__fini/g'
	-e 's/\bat_bigbuf_free\b/at_bigbuf__fini/g'
	-e 's/\bat_maps_read\b/at_maps__read/g'
	-e 's/\bat_maps_free\b/at_maps__fini/g'
	-e 's/\bat_plan_make_quiet\b/at_plan__make_quiet/g'
	-e 's/\bat_plan_make\b/at_plan__make/g'
	-e 's/\bat_plan_free\b/at_plan__fini/g'
	-e 's/\bat_cfi_build\b/at_cfi__build/g'
	-e 's/\bat_cfi_free\b/at_cfi__fini/g'
	-e 's/\bat_launch_start\b/at_launch__start/g'
	# the model's parts (model_int.h)
	-e 's/\bat_model_overhead_fini\b/at_model_overhead__fini/g'
	-e 's/\bat_model_names_fini\b/at_model_names__fini/g'
	-e 's/\bat_model_growth_fini\b/at_model_growth__fini/g'
	-e 's/\bat_model_window_fini\b/at_model_window__fini/g'
	-e 's/\bat_model_peak_fini\b/at_model_peak__fini/g'
	-e 's/\bat_model_history_fini\b/at_model_history__fini/g'
)

if [[ $# -gt 0 ]]; then
	files=("$@")
else
	mapfile -t files < <(git ls-files -- '*.c' '*.h' '*.md' '*.py' '*.sh' ':!tools/rename-lifecycle.sh')
fi
sed -i "${EXPRS[@]}" "${files[@]}"
