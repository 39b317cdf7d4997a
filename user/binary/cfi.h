/* Compact unwind tables for the BPF unwinder (struct at_cfi_row, include/alloctop.h),
 * compiled from a module's DWARF CFI through libdw: .eh_frame, and .debug_frame for the
 * ranges .eh_frame does not cover. at_cfi_step is the BPF side's unwind step in C. */
#ifndef AT_CFI_H
#define AT_CFI_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
#include "alloctop.h"
#include "binary/elf.h"

/* Where a table's rows came from (bits: both when .debug_frame filled gaps). */
enum at_cfi_source {
	AT_CFI_SRC_NONE = 0,
	AT_CFI_SRC_EH_FRAME = 1,
	AT_CFI_SRC_DEBUG_FRAME = 2,
};

struct at_cfi {
	struct at_cfi_row *rows;	/* sorted by pc; consecutive rows differ in their rules */
	size_t nr;
	int source;			/* enum at_cfi_source bits */
	size_t nr_fdes;			/* statistics: FDEs compiled, and the rows libdw */
	size_t nr_raw;			/* gave for them (before merging, without gaps) */
};

/* Compiles the CFI of a module: its .eh_frame, then the .debug_frame of the file and of
 * its separate debug file (debug, may be NULL) for ranges no earlier FDE covers. Rules
 * the BPF unwinder cannot follow become AT_CFA_NONE rows, as do the gaps between FDEs.
 * A file without CFI (or not x86-64, or above 4 GiB) gives an empty table, source NONE.
 * 0 or -errno; on success *out is to be released with at_cfi__fini. */
int at_cfi__build(const struct at_elf *elf, const struct at_elf *debug, struct at_cfi *out);
void at_cfi__fini(struct at_cfi *c);

/* The last row with row.pc <= pc (pc: link-time address), NULL if none: the binary
 * search the BPF side does. The row may be AT_CFA_NONE. */
const struct at_cfi_row *at_cfi_find(const struct at_cfi *c, __u32 pc);

struct at_regs {
	__u64 pc;	/* exact in the first frame; a return address in callers */
	__u64 rsp;
	__u64 rbp;
	bool caller;	/* pc is a return address: the row of pc - 1 applies */
};

/* Reads 8 bytes of the target's memory at addr: 0, or < 0 when it cannot. */
typedef int (*at_cfi_read_fn)(void *ctx, __u64 addr, __u64 *val);

/* One unwind step through the module mapped with load bias bias (runtime address -
 * link-time address), as the BPF side does it: r becomes the caller's frame (pc the
 * return address, caller set). 1 stepped, 0 outermost frame (AT_CFA_END or a return
 * address of 0, where libgcc stops too), -ENOENT no usable row (fall back to frame
 * pointers), -EFAULT a read failed. */
int at_cfi_step(const struct at_cfi *c, __u64 bias, struct at_regs *r, at_cfi_read_fn read, void *ctx);

#endif
