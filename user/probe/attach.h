/* Where to probe a process: its allocator file, the functions in it and their offsets. */
#ifndef AT_ATTACH_H
#define AT_ATTACH_H

#include <limits.h>
#include <stdbool.h>
#include "alloctop.h"
#include "binary/allocator.h"
#include "binary/elfcache.h"
#include "probe/probekind.h"

#define AT_PLAN_FILES 6	/* allocators (an executable's and a library's), libc for mmap, C++ runtime */
#define AT_MAX_PROBES 128	/* functions probed per process, every family's included */
#define AT_MAX_ALIASES 128

struct at_probe {
	enum at_func func;
	__u64 cookie;		/* the attach cookie: func and its argument roles (alloctop.h) */
	int file;		/* index into at_plan.files */
	__u64 entry_off;	/* file offset of the entry probe (may be past the first instruction) */
	__u64 ret_off;		/* file offset of the function, for the return probe */
	bool has_ret;
	enum at_hit_kind entry_kind;	/* how the kernel handles a hit at entry_off */
};

struct at_plan_file {
	char path[PATH_MAX];	/* as the process sees it, for messages */
	int fd;			/* open file, -1 if unused */
	__u64 dev, ino;		/* the mapped file's, to probe each file once */
};

/* Another name of a probed function (tcmalloc's free is tc_free, tc_delete, _ZdlPv):
 * calls through a GOT slot of this symbol count as func. */
struct at_alias {
	char sym[AT_PREFIX_MAX + 48];
	enum at_func func;
	int probe;		/* index of the probe on the shared code */
};

struct at_plan {
	int pid;
	struct at_plan_file files[AT_PLAN_FILES];	/* allocators, libc (mmap), C++ runtime (new) */
	int nr_files;
	struct at_range text;		/* allocator text in the process; {0,0} if none */
	struct at_probe probes[AT_MAX_PROBES];
	int nr_probes;
	struct at_alias aliases[AT_MAX_ALIASES];
	int nr_aliases;
};

/* Calls add for every GOT slot in pid's modules through which an aliased function is
 * called, with the slot's runtime address, so the BPF side can tell the names apart. */
void at_plan_alias_slots(struct at_elfcache *ec, const struct at_plan *plan,
			 void (*add)(void *ctx, __u64 slot, enum at_func f), void *ctx);

/* Builds the plan for pid (lib forces the allocator file). Returns 0, -EAGAIN when no
 * allocator is mapped yet (launch mode waits for one), or another -errno after printing
 * a one-line error. */
int at_plan__make(struct at_elfcache *ec, int pid, const char *lib, struct at_plan *plan);
/* The same; quiet prints nothing (a census skips processes it cannot trace). */
int at_plan__make_quiet(struct at_elfcache *ec, int pid, const char *lib, struct at_plan *plan, bool quiet);
void at_plan__fini(struct at_plan *plan);

#endif
