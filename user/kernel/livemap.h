/* The kernel's live-block table (map "live", struct at_live_bucket) from userspace,
 * through mmap windows. */
#ifndef AT_LIVEMAP_H
#define AT_LIVEMAP_H

#include "kernel/bpfmap.h"

#include <stddef.h>
#include <linux/types.h>

/* Buckets for a table of at most max_live blocks. */
__u32 at_live_buckets_for(__u32 max_live);

/* Hands every block of the table to fn, up to `chunk` at a time, as arrays of struct
 * at_block_key (pad: the image generation) and struct at_block, like at_map_read_chunks.
 * 0, -errno, or what fn returned. */
int at_live_read_chunks(int fd, size_t chunk, at_map_chunk_fn fn, void *ctx);

/* Removes the blocks of the processes in pids (sorted ascending). */
void at_live_forget(int fd, const int *pids, int n);

#endif
