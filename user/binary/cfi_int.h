/* Internal to cfi.c and cfi_scan.c: the FDEs of one CFI section. */
#ifndef AT_CFI_INT_H
#define AT_CFI_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

struct at_cfi_fde {
	__u64 lo, hi;	/* the code it describes: [lo, hi), within 32 bits, lo > 0 */
	size_t cost;	/* instruction bytes libdw runs for one of its rows (its own and its CIE's) */
};

/* Walks the entries of a CFI section (.eh_frame when eh, else .debug_frame; buf: a
 * private copy, size bytes, at link-time address sh_addr; ident: the file's e_ident) and
 * returns its FDEs in section order in *out (malloc'd), or how many there are. Entries
 * libdw could not run in bounded time and memory are neutralized in buf first (see
 * cfi_scan.c) and left out, so buf must be what libdw reads afterwards. */
size_t at_cfi_scan(const unsigned char *ident, unsigned char *buf, size_t size, __u64 sh_addr, bool eh,
		   struct at_cfi_fde **out);

#endif
