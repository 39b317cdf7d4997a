/* The kernel's live-block table (map "live": its tiers of struct at_live_bucket) from
 * userspace, through mmap windows. fd is the outer map's. */
#ifndef AT_LIVEMAP_H
#define AT_LIVEMAP_H

#include "kernel/bpfmap.h"

#include <stddef.h>
#include <linux/types.h>

/* Hands every block of the table to fn, up to `chunk` at a time, as arrays of struct
 * at_block_key (pad: the image generation) and struct at_block, like at_map_read_chunks.
 * 0, -errno, or what fn returned. */
int at_live_read_chunks(int fd, size_t chunk, at_map_chunk_fn fn, void *ctx);

/* Removes the blocks of the processes in pids (sorted ascending). */
void at_live_forget(int fd, const int *pids, int n);

#endif
