/* Feeds the BPF unwinder (bpf/unwind.bpf.c): compiles each mapped module's CFI once
 * (user/binary/cfi.c), loads its rows into the shared row map, and describes each traced
 * process's executable mappings. */
#ifndef AT_UNWIND_H
#define AT_UNWIND_H

#include <stddef.h>
#include <linux/types.h>

struct at_elfcache;
struct at_unwind_pre;
struct at_cfi_row;
struct at_unwind_row;

struct at_unwinder_opts {
	size_t sz;		/* sizeof(struct at_unwinder_opts) */
	int procs_fd, modules_fd, rows_fd, stale_fd;	/* the unwind_* maps */
	__u32 max_rows, max_modules;
	struct at_elfcache *ec;
	struct at_unwind_pre *pre;	/* tables compiled ahead, or NULL; the unwinder frees it */
	volatile __u32 *gen;	/* the BPF side's at_unwind_gen (NULL: none), set after each write */
};

/* One module as the reports show it: where its stacks come from. */
struct at_unwind_info {
	char *path;
	const char *source;	/* "eh_frame", "debug_frame" or "frame_pointer" */
	const char *why;	/* frame_pointer only: "no CFI", "row map full", ... */
	__u32 rows;
	double build_s;		/* time to compile the rows */
};

struct at_unwinder;

struct at_unwinder *at_unwinder__new(const struct at_unwinder_opts *opts);
/* (Re)describes pid's executable mappings, compiling new modules' rows. 0 or -errno. */
int at_unwinder__add_pid(struct at_unwinder *u, int pid);
/* Re-reads the mappings of processes the BPF side flagged (a pc in no known mapping:
 * dlopen, exec, JIT code); returns how many. */
int at_unwinder__refresh(struct at_unwinder *u);
/* Every module seen, in the order first seen. */
size_t at_unwinder__modules(const struct at_unwinder *u, const struct at_unwind_info **mods);
void at_unwinder__free(struct at_unwinder *u);

/* A compiled row packed for the BPF side (8 bytes, offsets in words); a row it cannot
 * hold exactly (an offset not a multiple of 8, or too large) becomes AT_CFA_NONE, so
 * that frame falls back to frame pointers rather than unwinding wrong. */
struct at_unwind_row at_unwind_pack_row(const struct at_cfi_row *r);

#endif
