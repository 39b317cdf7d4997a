/* Heap analysis: one pass over the live blocks gives each process's fragmentation
 * (from glibc's own heap when it can be read, else against its heap regions in /proc)
 * and each site's old blocks (leak suspects).
 * The blocks stream through in chunks and only their (address, size) pairs are kept,
 * sorted per process by a radix sort, in mappings freed after the pass. */
#ifndef AT_HEAP_H
#define AT_HEAP_H

#include <stdbool.h>
#include "binary/elfcache.h"
#include "model/frag.h"
#include "lib/hash.h"
#include "model/heapsites.h"
#include "model/heapglibc.h"

struct at_heap {
	struct at_hash procs;		/* pid -> struct at_heap_proc */
	struct at_heap_site *sites;	/* sites holding live blocks, sorted by (pid, stack_id) */
	size_t nr_sites;
	const struct at_heap_site **suspects;	/* sites with old blocks, most old bytes first */
	size_t nr_suspects;
	double analyzed_at;	/* CLOCK_MONOTONIC seconds, 0 = never */
	double took_s;		/* how long the last pass took */
	__u64 blocks;		/* live blocks seen */
	struct at_glibc_cache glibc;	/* libc layouts, kept across passes */
	struct at_hash last_good;	/* pid -> struct at_heap_proc: its last allocator read */
};

/* Reads the live-block map (fd) and /proc; min_age_ns sets what is a leak suspect.
 * pids: the targets, measured even with no block allocated since attach (their
 * allocator's state may be readable). from_start: the targets were traced from their
 * start, so blocks since attach are all blocks (else, without the allocator's state,
 * the figures are partial). */
int at_heap_analyze(struct at_heap *h, int live_fd, struct at_elfcache *ec, __u64 min_age_ns, const int *pids,
		    size_t nr_pids, bool from_start);
const struct at_heap_proc *at_heap_proc(const struct at_heap *h, int pid);
const struct at_heap_site *at_heap_site(const struct at_heap *h, int pid, __u64 stack_id);
void at_heap__fini(struct at_heap *h);

#endif
