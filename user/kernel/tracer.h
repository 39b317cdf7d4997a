/* The BPF side's lifecycle: open -> size maps -> load -> attach per process -> free. */
#ifndef AT_TRACER_H
#define AT_TRACER_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
#include "probe/attach.h"

struct at_unwind_pre;

struct at_tracer_opts {
	size_t sz;		/* sizeof(struct at_tracer_opts), for compatibility */
	__u32 max_live;		/* slots of the live-block table, grown to at most */
	__u32 live_initial;	/* its slots at attach (0: max_live) */
	__u32 max_stacks;	/* preallocated */
	__u32 max_stacks_more;	/* room past them, allocated as used (0: none, a hard cap) */
	__u32 max_procs;
	const char *lib;	/* force this allocator file */
	bool global;		/* probe whole files (census, --follow) instead of PIDs */
	bool follow;		/* with global: only tgids in the followed set */
	const char *comm;	/* with global: only processes of this name */
	const int *exclude;	/* with global: never these tgids */
	int nr_exclude;
	bool sampling;		/* --max-overhead: allocation-side probes come and go */
	bool unwind_fp;		/* frame pointers only: no CFI tables */
	__u32 stack_depth;	/* frames per stack, 1..AT_MAX_FRAMES */
	__u32 unwind_rows;	/* capacity of the CFI row map */
	bool bpf_stats;		/* turn on the kernel's BPF run-time statistics while loaded */
	bool growth;		/* --growth: page faults, brk, mmap; no allocator probe at all */
	bool growth_calls;	/* --growth-calls: brk and mmap calls by stack (syscall tracepoints) */
	bool launch;		/* the targets are launched: --growth waits for their allocator */
	struct at_unwind_pre *pre;	/* the targets' unwind tables compiled ahead (app/targets.c),
					 * or NULL; the tracer frees it, on failure too */
	const char *const *per;	/* --per: user functions whose calls scope allocations */
	int nr_per;
};

struct at_tracer;

/* Checks privileges and kernel support, then loads the programs. NULL after a
 * one-line error. */
struct at_tracer *at_tracer__new(const struct at_tracer_opts *opts);
/* Attaches every probe for one process. 0, -EAGAIN (launch mode: no allocator mapped
 * yet), or another -errno after a one-line error; nothing stays attached on failure. */
int at_tracer__attach_pid(struct at_tracer *t, int pid);
void at_tracer__detach_pid(struct at_tracer *t, int pid);
/* A per-PID target exec'd: plans its new program and moves the probes over, keeping the
 * links on files it maps the same way. 0, -EAGAIN (no allocator mapped yet: try again
 * later), or another -errno (quietly; nothing stays attached to pid then). */
int at_tracer__replan_pid(struct at_tracer *t, int pid);
/* Traced processes that exec'd since the last call (up to max); returns how many. */
int at_tracer__drain_execs(struct at_tracer *t, int *pids, struct at_exec_rec *info, int max);
/* Takes the live blocks and mappings of the images those execs replaced out of the maps
 * and the live figures (cumulative counters stay). 0 or -errno. */
int at_tracer__drop_old_images(struct at_tracer *t, const int *pids, const struct at_exec_rec *info, int n);
/* Global mode: makes sure pid's allocator files are probed (once per file, for every
 * process) and records pid's allocator text and alias slots. 0, -EAGAIN (no allocator
 * mapped yet), or another -errno (quietly: a census skips what it cannot trace). */
int at_tracer__attach_global(struct at_tracer *t, int pid, bool quiet);
/* --max-overhead: attaches (on) or detaches (off) every uprobe, per-PID and file-wide. */
int at_tracer__sample(struct at_tracer *t, bool on, double *exposed_s);
void at_tracer__gate(struct at_tracer *t, bool open);	/* see at_links__gate */
size_t at_tracer__nr_links(const struct at_tracer *t);	/* uprobe links attached now */
/* --max-overhead's own-work sampler (kernel/ticks.h); NULL in exact mode. */
struct at_ticks_set *at_tracer__ticks(const struct at_tracer *t);
/* Gives an explicit target its (zeroed) per-process entry now, so reports list it even
 * before, or without, its first allocator call. */
void at_tracer__seed_proc(struct at_tracer *t, int pid);
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
/* At each report. Unwinding: re-reads the mappings of processes whose stacks left every
 * known one. --max-overhead: window timers on the targets' threads born since. */
void at_tracer__refresh(struct at_tracer *t);
/* --growth: the processes' break and mappings as of now, for the next report. */
void at_tracer__growth_refresh(struct at_tracer *t);
struct at_unwind_info;
/* The modules seen, with where their stacks come from (0 modules with --unwind fp). */
size_t at_tracer__unwind_modules(const struct at_tracer *t, const struct at_unwind_info **mods);

/* The probes on pid's functions (its own plan; for file probes, every probed file's):
 * their entry kinds and return probes, for the cost model. false if none. */
bool at_tracer__func_probes(const struct at_tracer *t, int pid, struct at_func_probe fp[AT_NR_FUNCS]);

/* Map fds for the model's reader. */
struct at_map_fds {
	int procs, sites, stacks, live, drops;
	int sites_more, stacks_more;	/* their overflow (bpf/common.bpf.h), -1 if none */
	int peaks;			/* per-process peaks (struct at_peak) */
	int per_calls;			/* --per's counters (struct at_per_stats) */
	int site_dirty, site_news;	/* changed sites (see at_site_slot), new sites' keys */
	__u32 site_slots;
	const volatile __u64 *site_news_lost;	/* new sites site_news had no room for */
	int gaps;			/* --max-overhead's gap events (ring buffer) */
	const volatile __u64 *gaps_lost;
	int growth_procs, growth_sites;	/* --growth's counters (kernel/growth.h), else -1 */
};
void at_tracer__map_fds(const struct at_tracer *t, struct at_map_fds *fds);
struct at_elfcache *at_tracer__elfcache(struct at_tracer *t);
/* Total run time and run count of the tracer's BPF programs (kernel BPF statistics);
 * -ENODATA unless the tracer turned those on (opts.bpf_stats). */
int at_tracer__prog_stats(const struct at_tracer *t, __u64 *run_ns, __u64 *run_cnt);

#endif
