/* Addresses of a process to functions, source lines and modules, each resolved once.
 *
 * Names come from the ELF symbol tables (.symtab, .dynsym) of the mapped file or of its
 * separate debug file (build-id or .gnu_debuglink), demangled (C++, Rust); source files,
 * lines and inlined calls from DWARF when there is debug information. What is learnt
 * about a file is cached by build-id (by device and inode without one) and shared by
 * every process mapping it; symbolization runs at report time only. */
#ifndef AT_SYMBOLIZE_H
#define AT_SYMBOLIZE_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
#include "binary/elfcache.h"

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

struct at_symbolizer;

struct at_symbolizer *at_symbolizer_new(struct at_elfcache *ec);
void at_symbolizer_free(struct at_symbolizer *s);
/* Records the process's current mappings and loads the files it executes (symbols,
 * debug file), so its stacks can be symbolized after it exits. */
void at_symbolizer_note_pid(struct at_symbolizer *s, int pid);
/* The two halves of at_symbolizer_note_pid: the mappings now (cheap, before a -p
 * target can exec), their files later. */
void at_symbolizer_note_maps(struct at_symbolizer *s, int pid);
void at_symbolizer_load_files(struct at_symbolizer *s, int pid);
/* The process exec'd: what was seen of its mappings is kept for its old stacks (looked
 * up after the new program's), and the new program's are recorded. */
void at_symbolizer_exec(struct at_symbolizer *s, int pid);
/* Forgets a process: its mappings and the addresses resolved for it, as its pid may
 * come back as another process. What was learnt about its files stays. */
void at_symbolizer_forget_pid(struct at_symbolizer *s, int pid);
/* addr is a return address (the frames alloctop captures are): the function holding
 * the call, with the source line of the call in it. Inlined callees are not shown. */
void at_symbolize(struct at_symbolizer *s, int pid, __u64 addr, struct at_frame *out);
/* The same address as one or more frames: the innermost inlined function first, then
 * the functions it was inlined into, then the real function (the frame at_symbolize
 * gives). Writes at most max (>= 1) frames, dropping the outermost inline frames when
 * there are more; returns how many. */
int at_symbolize_full(struct at_symbolizer *s, int pid, __u64 addr, struct at_frame *out, int max);
/* "name+0x1f", "name [inlined]", "module+0x1234" or "[anon]+0x..." into buf. */
const char *at_frame_str(const struct at_frame *f, char *buf, unsigned int sz);
/* A frame's name without offsets, as profiles show it: the function name, else
 * "module+0xoffset" (module's base name) for a file, or "[anon]", "[vdso]", ... */
const char *at_frame_name(const struct at_frame *f, char *buf, unsigned int sz);

#endif
