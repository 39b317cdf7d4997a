/* One frame of a symbolized stack, as the symbolizer fills it and the model keeps it for
 * the printers, and the two ways printers name it. */
#ifndef AT_FRAME_H
#define AT_FRAME_H

#include <stdbool.h>
#include <linux/types.h>

struct at_frame {
	__u64 addr;
	const char *symbol;	/* function name, demangled; NULL when nothing names the address */
	const char *raw_symbol;	/* the name as in the file (mangled); NULL when symbol is */
	__u64 offset;		/* from the function's start; the file offset when there is no
				 * symbol (the offset in the mapping for [anon]); 0 for inlined frames */
	const char *module;	/* path, "[vdso]", "[anon]", "[unknown]" */
	const char *file;	/* source file, NULL when unknown */
	unsigned int line;	/* source line, 0 when unknown */
	bool inlined;		/* an inlined call: the next frame (same addr) is its caller */
	/* the mapping holding addr (all 0 for "[unknown]"), for profiles */
	__u64 map_start, map_end, map_offset;
	const char *build_id;	/* of the module, lowercase hex; NULL when none */
};

/* Most inline frames one address expands into, with its function (a good max for
 * at_symbolize_full). */
#define AT_MAX_INLINE 16

/* "name+0x1f", "name [inlined]", "module+0x1234" or "[anon]+0x..." into buf. */
const char *at_frame_str(const struct at_frame *f, char *buf, unsigned int sz);
/* A frame's name without offsets, as profiles show it: the function name, else
 * "module+0xoffset" (module's base name) for a file, or "[anon]", "[vdso]", ... */
const char *at_frame_name(const struct at_frame *f, char *buf, unsigned int sz);

#endif
