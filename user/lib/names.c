#include "lib/names.h"

static const char *const func_names[AT_NR_FUNCS] = {
	[AT_MALLOC] = "malloc", [AT_CALLOC] = "calloc", [AT_REALLOC] = "realloc",
	[AT_REALLOCARRAY] = "reallocarray", [AT_FREE] = "free",
	[AT_POSIX_MEMALIGN] = "posix_memalign", [AT_ALIGNED_ALLOC] = "aligned_alloc",
	[AT_MEMALIGN] = "memalign", [AT_VALLOC] = "valloc", [AT_PVALLOC] = "pvalloc",
	[AT_MMAP] = "mmap", [AT_MUNMAP] = "munmap",
	[AT_NEW] = "new", [AT_NEW_ARRAY] = "new_array", [AT_DELETE] = "delete", [AT_DELETE_ARRAY] = "delete_array",
};

const char *at_func_name(enum at_func f)
{
	return f < AT_NR_FUNCS ? func_names[f] : "?";
}

static const char *const drop_names[AT_NR_DROPS] = {
	[AT_DROP_LIVE_FULL] = "live_map_full",
	[AT_DROP_STACK_FAILED] = "stack_failed",
	[AT_DROP_STACKS_FULL] = "stack_map_full",
	[AT_DROP_MISSED_RETURN] = "missed_returns",
	[AT_DROP_PROCS_FULL] = "proc_map_full",
	[AT_DROP_MMAP_FULL] = "mmap_map_full",
	[AT_DROP_STACK_TRUNCATED] = "stack_truncated",
};

bool at_drop_is_loss(enum at_drop d)
{
	return d != AT_DROP_STACK_TRUNCATED;	/* a cut stack loses frames, not events */
}

const char *at_drop_name(enum at_drop d)
{
	return d < AT_NR_DROPS ? drop_names[d] : "?";
}
