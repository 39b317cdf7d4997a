/* Where inside a function to put its entry probe. */
#ifndef AT_PROBESITE_H
#define AT_PROBESITE_H

#include "alloctop.h"
#include "binary/elf.h"

/* Byte offset from the function's start for the entry probe: past a leading
 * instruction the kernel would single-step, when the next one is emulated, runs on
 * every call, and leaves the arguments and the stack pointer as they were. */
__u64 at_probe_site(const struct at_elf *e, const struct at_sym *s, enum at_func f);

#endif
