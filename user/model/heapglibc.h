/* The heap pass's glibc view: finds a process's libc, its debug file and layout (once
 * per libc file), reads the heap (glibcheap.h) and sets the allocator's figures of a
 * process: mallinfo2's, every live chunk whatever its age, and the chunks older than
 * the attach (those the live-block map does not hold). */
#ifndef AT_HEAPGLIBC_H
#define AT_HEAPGLIBC_H

#include <stdbool.h>
#include "binary/elfcache.h"
#include "binary/procmaps.h"
#include "lib/hash.h"
#include "lib/radix.h"
#include "model/glibcheap.h"

#define AT_WHY_LEN 512

/* What the heap pass knows of one process. */
struct at_heap_proc {
	struct at_frag frag;
	bool glibc;		/* chunk headers counted in the footprint */
	bool allocator;		/* frag and the figures below come from the allocator's state */
	bool partial;		/* neither: blocks from before the attach are unknown */
	bool read_failed;	/* the layout is known but this read failed (a heap changing) */
	bool stale;		/* the figures are the last read that succeeded */
	char why[AT_WHY_LEN];	/* why the allocator's state is not read; "" if it is */
	struct at_mallinfo mi;	/* with allocator */
	__u64 live_allocs_all, live_bytes_all;	/* live chunks of every age (chunk bytes) */
	__u64 preattach_allocs, preattach_bytes;	/* those from before the attach */
	__u64 live_hist[AT_HOLE_BUCKETS];	/* live chunks by chunk size, log2 buckets */
	__u64 mmapped_found;	/* mmapped chunks located in the maps */
};

/* Layouts by libc file, kept across passes. */
struct at_glibc_cache {
	struct at_hash by_file;	/* (dev, ino) -> struct layout_ent */
};

/* Reads pid's glibc heap into g and sets hp's allocator figures; blocks are the
 * tracked live blocks (address, requested size) sorted by address. False with hp->why
 * set when it cannot be read. */
bool at_heap_glibc(struct at_glibc_cache *c, struct at_elfcache *ec, int pid, const struct at_maps *m,
		   const struct at_kv *blocks, size_t n, struct at_heap_proc *hp, struct at_gheap *g);
void at_glibc_cache_fini(struct at_glibc_cache *c);

#endif
