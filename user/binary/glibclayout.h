/* Where glibc's malloc keeps its state and how its structures are laid out, read from
 * libc's debug information (DWARF), never assumed: the heap walk reads the target's
 * memory with these offsets. */
#ifndef AT_GLIBCLAYOUT_H
#define AT_GLIBCLAYOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
#include "binary/elf.h"

/* A member's place in its structure. */
struct at_field {
	__u32 off, size;
};

struct at_glibc_layout {
	/* link-time addresses of malloc's static variables */
	__u64 main_arena, mp, tcache_key;
	/* struct malloc_state */
	struct at_field ms_fastbins, ms_top, ms_next, ms_system_mem;
	__u32 ms_size;
	/* struct malloc_chunk: the size field and the first user word */
	struct at_field mc_prev_size, mc_size, mc_fd;
	/* struct _heap_info (heap_info) */
	struct at_field hi_ar_ptr, hi_prev, hi_size;
	__u32 hi_sizeof;
	/* struct malloc_par (mp_) */
	struct at_field mp_sbrk_base, mp_n_mmaps, mp_mmapped_mem;
	/* struct tcache_entry: the key marking a chunk free in a tcache */
	struct at_field te_key;
};

/* Reads the layout from debug (the separate debug file of libc, or libc itself when it
 * carries DWARF). Returns 0, or -1 with what is missing in why. */
int at_glibc_layout_read(const struct at_elf *debug, struct at_glibc_layout *out, char *why, size_t why_len);

#endif
