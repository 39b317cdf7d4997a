/* The BPF side's lifecycle: open -> size maps -> load -> attach per process -> free. */
#ifndef AT_TRACER_H
#define AT_TRACER_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
#include "attach.h"

struct at_tracer_opts {
	size_t sz;		/* sizeof(struct at_tracer_opts), for compatibility */
	__u32 max_live;
	__u32 max_stacks;
	__u32 max_procs;
	const char *lib;	/* force this allocator file */
	bool global;		/* probe whole files (census, --follow) instead of PIDs */
	bool follow;		/* with global: only tgids in the followed set */
	const char *comm;	/* with global: only processes of this name */
	const int *exclude;	/* with global: never these tgids */
	int nr_exclude;
	bool sampling;		/* --max-overhead: allocation-side probes come and go */
};

struct at_tracer;

/* Checks privileges and kernel support, then loads the programs. NULL after a
 * one-line error. */
struct at_tracer *at_tracer__new(const struct at_tracer_opts *opts);
/* Attaches every probe for one process. 0, -EAGAIN (launch mode: no allocator mapped
 * yet), or another -errno after a one-line error; nothing stays attached on failure. */
int at_tracer__attach_pid(struct at_tracer *t, int pid);
void at_tracer__detach_pid(struct at_tracer *t, int pid);
/* Global mode: makes sure pid's allocator files are probed (once per file, for every
 * process) and records pid's allocator text and alias slots. 0, -EAGAIN (no allocator
 * mapped yet), or another -errno (quietly: a census skips what it cannot trace). */
int at_tracer__attach_global(struct at_tracer *t, int pid, bool quiet);
/* --max-overhead: attaches (on) or detaches (off) the allocation-side probes of every
 * per-PID target; frees, deletes and mmap/munmap stay attached. */
int at_tracer__sample(struct at_tracer *t, bool on);
/* --follow: adds a process (and, through the fork hook, its future children). */
int at_tracer__follow(struct at_tracer *t, int pid);
/* The followed processes (up to max); returns how many. */
int at_tracer__followed(struct at_tracer *t, int *pids, int max);
/* Processes that exited since the last call (up to max); returns how many. */
int at_tracer__drain_exited(struct at_tracer *t, int *pids, struct at_exit_rec *info, int max);
/* Frees exited processes' kernel state: live blocks, mappings, alias slots, and with
 * counters also their per-process and per-site counters. One pass over each map. */
void at_tracer__forget(struct at_tracer *t, const int *pids, int n, bool counters);
void at_tracer__free(struct at_tracer *t);

/* Map fds for the model's reader. */
struct at_map_fds {
	int procs, sites, stacks, live, drops;
	int site_dirty, site_news;	/* changed sites (see at_site_slot), new sites' keys */
	__u32 site_slots;
	const volatile __u64 *site_news_lost;	/* new sites site_news had no room for */
};
void at_tracer__map_fds(const struct at_tracer *t, struct at_map_fds *fds);
struct at_elfcache *at_tracer__elfcache(struct at_tracer *t);
/* Total run time and run count of the tracer's BPF programs (kernel BPF statistics). */
int at_tracer__prog_stats(const struct at_tracer *t, __u64 *run_ns, __u64 *run_cnt);

#endif
