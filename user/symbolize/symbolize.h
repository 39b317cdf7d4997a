/* Addresses of a process to functions, source lines and modules, each resolved once.
 *
 * Names come from the ELF symbol tables (.symtab, .dynsym) of the mapped file or of its
 * separate debug file (build-id or .gnu_debuglink), demangled (C++, Rust); source files,
 * lines and inlined calls from DWARF when there is debug information. What is learnt
 * about a file is cached by build-id (by device and inode without one) and shared by
 * every process mapping it; the model symbolizes the sites it will show when it refreshes
 * (model/model_names.c). */
#ifndef AT_SYMBOLIZE_H
#define AT_SYMBOLIZE_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
#include "binary/elfcache.h"
#include "lib/frame.h"

struct at_symbolizer;

struct at_symbolizer *at_symbolizer__new(struct at_elfcache *ec);
void at_symbolizer__free(struct at_symbolizer *s);
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
#endif
