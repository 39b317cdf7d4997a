/* Fragmentation math: a process's heap regions against its live blocks. Pure logic,
 * no I/O: the caller supplies regions (with residency) and blocks. */
#ifndef AT_FRAG_H
#define AT_FRAG_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#define AT_HOLE_BUCKETS 48
#define AT_PAGE_SIZE 4096ULL
#define AT_SPARSE_PCT 25	/* a resident page with less than this share live is sparse */

struct at_region {
	__u64 start, end;	/* page aligned */
	const __u8 *resident;	/* one byte per page, non-zero if resident; NULL = unknown */
	bool known;		/* the allocator's own: heap even without a live block */
};

/* A live block as the allocator lays it out: [start, end) including its header. */
struct at_span {
	__u64 start, end;
};

struct at_frag {
	__u64 heap_bytes;	/* regions holding live blocks */
	__u64 resident_bytes;
	__u64 used_bytes;	/* footprint of live blocks inside those regions */
	__u64 free_bytes;	/* heap_bytes - used_bytes */
	double ratio;		/* free_bytes / heap_bytes */
	__u64 hole_count[AT_HOLE_BUCKETS];	/* gaps between blocks, log2 buckets of bytes */
	__u64 hole_bytes[AT_HOLE_BUCKETS];
	__u64 sparse_pages;	/* resident pages less than AT_SPARSE_PCT% live */
	__u64 sparse_bytes;
	__u64 regions;
};

/* How an allocator lays out a block: the footprint of a request at addr. */
enum at_layout {
	AT_LAYOUT_EXACT,	/* unknown allocator: the requested bytes only */
	AT_LAYOUT_GLIBC,	/* ptmalloc: 16-byte header-aligned chunks, 32 bytes at least */
};
struct at_span at_block_span(enum at_layout l, __u64 addr, __u64 size);

/* spans sorted by start; regions sorted by start. Only regions containing at least one
 * span (or known ones) count as heap. */
void at_frag_compute(const struct at_region *regions, size_t nr_regions, const struct at_span *spans,
		     size_t nr_spans, struct at_frag *out);

#endif
