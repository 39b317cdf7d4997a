/* A heap pass's per-site tallies of live blocks: how many and how many bytes are older
 * than min_age, and the oldest. An open-addressing table with the tallies inline (one
 * cache miss a block), probed a chunk at a time with prefetches: a million blocks in
 * random order cost tens of ms instead of hundreds. Pure logic. */
#ifndef AT_HEAPSITES_H
#define AT_HEAPSITES_H

#include <stddef.h>
#include "alloctop.h"

/* One site's tally, as the heap pass reports it. */
struct at_heap_site {
	int pid;
	__u64 stack_id;
	__u64 old_allocs;	/* live blocks older than min_age */
	__u64 old_bytes;
	__u64 oldest_ns;	/* age of the oldest live block */
};

struct at_heap_tally {
	struct at_heap_site *slots;	/* pid 0 = empty (pid 0 is never traced) */
	size_t cap, len;
	__u32 *idx;			/* the chunk's home slots */
	size_t cap_idx;
};

/* Tallies n blocks (keys and values as the live-block map holds them), aged at now. */
void at_tally_blocks(struct at_heap_tally *t, const struct at_block_key *k, const struct at_block *b, size_t n,
		     __u64 now, __u64 min_age);
/* The tallies as a new array sorted by (pid, stack_id); t is emptied. */
struct at_heap_site *at_tally_finish(struct at_heap_tally *t, size_t *n);
int at_heap_site_cmp(const void *a, const void *b);	/* by (pid, stack_id) */

#endif
