/* Addresses of a process to function names and modules, each resolved once. */
#ifndef AT_SYMBOLIZE_H
#define AT_SYMBOLIZE_H

#include <linux/types.h>
#include "elfcache.h"

struct at_frame {
	__u64 addr;
	const char *symbol;	/* NULL when no symbol covers the address */
	__u64 offset;		/* from the symbol, or the file offset when there is none */
	const char *module;	/* path, "[vdso]", "[anon]", "[unknown]" */
};

struct at_symbolizer;

struct at_symbolizer *at_symbolizer_new(struct at_elfcache *ec);
void at_symbolizer_free(struct at_symbolizer *s);
/* Records the process's current mappings, so it can be symbolized after it exits. */
void at_symbolizer_note_pid(struct at_symbolizer *s, int pid);
/* addr is a return address (the frames alloctop captures are). */
void at_symbolize(struct at_symbolizer *s, int pid, __u64 addr, struct at_frame *out);
/* "name+0x1f", "module+0x1234" or "[anon]+0x..." into buf. */
const char *at_frame_str(const struct at_frame *f, char *buf, unsigned int sz);

#endif
