#include "lib/names.h"
#include "lib/family.h"

const char *at_func_name(enum at_func f)
{
	const struct at_entry *e = at_entry_of(f);

	return e && e->name ? e->name : "?";
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
