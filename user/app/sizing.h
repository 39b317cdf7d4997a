/* The kernel tables sized to the targets at attach, instead of to the most any target
 * could need: the live-block table starts from what the -p targets hold (it grows from
 * there, up to --max-live), the stack and site maps from the kind of run. */
#ifndef AT_SIZING_H
#define AT_SIZING_H

#include "kernel/tracer.h"
#include "lib/opts.h"

#define AT_LIVE_START_MIN	(1U << 16)	/* slots: a launched command, a small -p target */
#define AT_LIVE_START_CENSUS	(1U << 18)	/* slots: every process's allocations */
#define AT_STACKS_SMALL		(1U << 15)	/* preallocated; and one program's (-p, a command) */
#define AT_STACKS_LARGE		(1U << 17)	/* targets of 256 MB anonymous memory (a census: all processes'), --follow */
#define AT_STACKS_MORE		4	/* times a size past the preallocated ones, allocated as
					 * used (the kernel memory follows the targets; 16 bytes a
					 * slot of buckets up front) */

/* Sets t->live_initial, and t->max_stacks and t->max_stacks_more unless --max-stacks
 * gave a cap. */
void at_size_for_targets(const struct at_opts *o, struct at_tracer_opts *t);
/* Slots for live blocks at attach for -p targets holding rss_anon_kb of anonymous
 * memory: one a 512 bytes, within [AT_LIVE_START_MIN, max_live]. */
__u32 at_live_start_for(__u64 rss_anon_kb, __u32 max_live);

#endif
