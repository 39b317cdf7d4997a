/* glibc's heap read from outside: the arenas, their heaps and chunks, the fastbins and
 * the tcache entries, and the mmapped chunks of a running process, through
 * process_vm_readv with the layout libc's debug info gives (binary/glibclayout.h).
 * No probe, no stop: the target pays nothing; a heap changing during the read is
 * detected by its inconsistency and read again. */
#ifndef AT_GLIBCHEAP_H
#define AT_GLIBCHEAP_H

#include <stddef.h>
#include <linux/types.h>
#include "binary/glibclayout.h"
#include "model/frag.h"

/* What mallinfo2() would report, plus what it does not show: the tcache. */
struct at_mallinfo {
	__u64 arena, ordblks, smblks, hblks, hblkhd, uordblks, fordblks, fsmblks, keepcost;
	__u64 tcache_count, tcache_bytes;	/* free chunks in tcaches (mallinfo counts them used) */
	__u64 arenas;
};

struct at_gheap {
	struct at_mallinfo mi;
	struct at_span *live;		/* in-use chunks the program holds, sorted by start */
	size_t nr_live, cap_live;
	struct at_span *meta;		/* libc's own: heap headers, fenceposts */
	size_t nr_meta, cap_meta;
	struct at_region *regions;	/* arena heaps and mmapped chunks, sorted by start */
	size_t nr_regions, cap_regions;
	__u64 mmapped_found;		/* mmapped chunks found in the maps (mp_.n_mmaps counts them) */
};

/* Reads pid's heap; bias is libc's load bias. 0, or -1 with the reason in why. */
int at_gheap_read(int pid, const struct at_glibc_layout *l, __u64 bias, struct at_gheap *out, char *why,
		  size_t why_len);
void at_gheap_free(struct at_gheap *g);

#endif
