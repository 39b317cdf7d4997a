/* What is measured: snapshots of the kernel maps, summed over CPUs, and the targets.
 * The same model feeds the dashboard and the batch writers. */
#ifndef AT_MODEL_H
#define AT_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include "alloctop.h"
#include "lib/hash.h"
#include "lib/names.h"
#include "model/heap.h"
#include "lib/opts.h"
#include "kernel/probecost.h"
#include "kernel/sitetab.h"
#include "kernel/growth.h"
#include "lib/frame.h"

struct at_target {
	int pid;
	char comm[16];
	bool exited;
	bool gone;		/* exited and reported: no longer listed */
	__u64 gone_gen;		/* the model's refreshes when it went (freed two later) */
};

/* What the probes cost one process (model_overhead.c). Its probe time in an interval is
 * its calls x the measured cost of its probes' kinds; the kernel charges that time to it,
 * so it is part of its CPU time over the interval. */
struct at_overhead {
	bool known;		/* measured over an interval */
	bool cpu_known;		/* its CPU time too (cpu_share and slowdown are set) */
	double probe_ns;	/* probe time since its probes were attached */
	double probe_ns_per_s;	/* probe time per second of the interval */
	double cpu_share;	/* probe time / its CPU time, 0..1 */
	double slowdown;	/* cpu / (cpu - probe time): how much longer its work takes; 0
				 * when the probes took (nearly) all of it */
};

/* --max-overhead: what is known of the lifetimes of its blocks (samples: blocks seen). */
struct at_life_est {
	__u64 exact;		/* freed in the window they were born in */
	__u64 interval;		/* freed in a later window: within [end of their window, free] */
	__u64 reused;		/* address handed out again: freed in a gap between */
	__u64 open;		/* not seen freed: alive at least until their window ended */
	double lo_ns_sum, hi_ns_sum;	/* bounds summed over interval and reused */
};

struct at_proc_view {
	struct at_target *target;	/* NULL for a process not in the target list */
	int pid;
	struct at_proc_stats s;
	double scale;			/* --max-overhead: what its estimates were scaled by; 1 exact */
	__u64 hits[AT_NR_FUNCS];	/* calls the probes saw, before any scaling */
	struct at_overhead ov;		/* what its probes cost it */
	struct at_life_est life;	/* --max-overhead only */
	const char *share_from;		/* what set scale: "reads", "samples", "cpu-time", "time" */
	__u64 share_samples[2];		/* own-work samples in windows, out of them */
	__u64 share_reads[2];		/* read system calls in windows, out of them */
	/* each estimator's share of work seen (0: not enough to say), the one used aside:
	 * read calls, own-work samples, CPU time less the modelled probe cost, time */
	double share_by_reads, share_by_samples, share_by_cpu, share_by_time;
};

struct at_snapshot {
	double mono;			/* when read */
	struct at_proc_view *procs;	/* sorted by pid */
	size_t nr_procs;
	const struct at_site_view *sites;	/* sorted by (pid, stack_id); owned by the model */
	size_t nr_sites;
	__u64 drops[AT_NR_DROPS];
	__u64 bpf_run_ns;		/* cumulative run time of the BPF programs */
};

/* What the outputs need beyond the counters, set by the session (and the dashboard as
 * its views change). */
struct at_model_needs {
	bool prev_sites;		/* the previous snapshot's sites (dashboard rates) */
	bool heap;			/* the heap pass (fragmentation, leak suspects) */
	/* The sites whose stacks are symbolized (and lifetimes read) at each refresh:
	 * every site (dashboard, folded stacks, pprof), else the top `top` by `sort` and as
	 * many leak suspects (text, JSON). */
	bool all_sites;
	bool lives;			/* every site's lifetimes (the dashboard) */
	size_t top;
	enum at_sort sort;
	bool growth;			/* --growth: read its counters of the processes and those sites */
	bool growth_calls;		/* --growth-calls: read every brk/mmap calling stack, symbolized */
	bool from_start;		/* targets traced from their start (launch mode): the blocks
					 * seen since attach are all of them */
	bool peak;			/* the sites at each process's peak (model_peak.c) */
	const char *const *per;		/* --per's functions: their calls' figures and sites */
	int nr_per;
};

/* A stack as symbolized at the last refresh. Each return address expands into one or
 * more frames: its inlined calls, innermost first, then the function holding the call
 * (the one frame at_site_frame_at gives). */
struct at_site_frames {
	bool truncated;			/* more frames than --stack-depth kept */
	__u32 nr_ips;
	const __u64 *ips;		/* return addresses, leaf first, as captured */
	const __u32 *ip_end;		/* ip i's frames end at f[ip_end[i]] (from ip_end[i-1], or 0) */
	__u32 nr;
	const struct at_frame *f;	/* every frame, leaf first */
};

/* A process's highest live bytes since attach (after an allocation), and the sites live
 * then with their live blocks and bytes. Exact in exact mode when the sites were read
 * while the peak stayed put (exact); as probed (not scaled) with --max-overhead. */
struct at_peak_site {
	__u64 stack_id;
	__s64 live_allocs;
	__s64 live_bytes;
};

struct at_peak_info {
	bool known;
	bool exact;		/* sites read while no new peak came */
	__u64 epoch;		/* which peak (the kernel's count) */
	__u64 live_bytes, live_allocs;
	double t;		/* seconds since tracing started */
	struct at_peak_site *sites;	/* most live bytes first */
	size_t nr_sites, cap_sites;
};

/* --per: what calls of one function of one process allocated. */
struct at_per_call {
	int pid;
	int func;			/* index in --per */
	struct at_per_stats s;		/* calls, allocations and bytes inside them */
	__s64 live_bytes, live_allocs;	/* still live, from the sites inside its calls */
	const struct at_site_view **sites;	/* whose stack holds the function, most bytes first */
	size_t nr_sites;
};

struct at_model;		/* opaque: read through the functions below */
struct at_tracer;
struct at_symbolizer;
struct at_unwind_info;


/* A model of what t measures in *out; 0 or -errno. */
int at_model__new(struct at_tracer *t, struct at_model **out);
void at_model__free(struct at_model *m);	/* NULL is fine */
/* What names addresses (the session's; the model symbolizes when it refreshes). */
void at_model_set_symbolizer(struct at_model *m, struct at_symbolizer *sym);
/* Set by the session (and the dashboard's needs through it). */
struct at_model_needs *at_model_needs(struct at_model *m);
void at_model_set_min_age(struct at_model *m, double seconds);
void at_model_set_start(struct at_model *m, double mono);	/* when tracing started */
void at_model_set_duty(struct at_model *m, double duty);	/* share of time probed; 1 exact */
/* --max-overhead (model_window.c): PCT (0: exact), its windows as they open (attaching
 * begins), are on (every probe in) and go off (detaching begins), in CLOCK_MONOTONIC
 * ns, and each target's CPU time (seconds) and read system calls (/proc/PID/io's syscr;
 * reads_known false where unreadable) in and out of windows. */
void at_model_set_max_overhead(struct at_model *m, double pct);
double at_model_max_overhead(const struct at_model *m);
void at_model_window_open(struct at_model *m, __u64 ns);
void at_model_window_on(struct at_model *m, __u64 ns);
void at_model_window_off(struct at_model *m, __u64 ns);
#define AT_READS_PER_CPU_S 1000	/* a process reading this often a CPU second is a server */
struct at_work_split {
	double cpu_on, cpu_off;
	__u64 reads_on, reads_off;
	bool reads_known;
};
void at_model_set_work_split(struct at_model *m, int pid, const struct at_work_split *w);
/* What the outputs read. */
const struct at_snapshot *at_model_cur(const struct at_model *m);
const struct at_snapshot *at_model_prev(const struct at_model *m);	/* sites only with needs.prev_sites */
double at_model_start(const struct at_model *m);
double at_model_duty(const struct at_model *m);
double at_model_min_age(const struct at_model *m);		/* seconds */
int at_model_nr_targets(const struct at_model *m);
const struct at_target *at_model_target_at(const struct at_model *m, int i);	/* in order of arrival */
/* Sums over processes before scaling by 1/duty. */
void at_model_raw_counts(const struct at_model *m, __u64 *allocs, __u64 *frees);
/* The last heap pass's results (NULL if it did not see the process or site). */
const struct at_heap_proc *at_model_heap_proc(const struct at_model *m, int pid);
const struct at_heap_site *at_model_heap_site(const struct at_model *m, int pid, __u64 stack_id);
/* --per's figures (needs.per), sorted by (pid, func), as read at the last refresh: valid
 * until the next one. */
size_t at_model_per_calls(const struct at_model *m, const struct at_per_call **out);
/* Memory over time: a process at one refresh. */
#define AT_HISTORY 512		/* refreshes kept per process */
struct at_hist_point {
	double t;			/* seconds since tracing started */
	__s64 live_bytes;
	__u64 allocs, alloc_bytes;	/* cumulative: rates are differences */
	__u64 heap_bytes, resident_bytes;	/* from the last heap pass, 0 before one */
};
/* pid's points, oldest first (at most AT_HISTORY); valid until the next refresh. */
size_t at_model_history(const struct at_model *m, int pid, const struct at_hist_point **pts);
/* pid's peak, NULL before its first one. */
const struct at_peak_info *at_model_peak(const struct at_model *m, int pid);
/* The modules unwound so far and where their stacks come from. */
size_t at_model_unwind_modules(const struct at_model *m, const struct at_unwind_info **mods);
/* --growth (kernel/growth.h), as read at the last refresh (needs.growth and
 * needs.growth_calls): a process's counters, a site's brk/mmap bytes, and every brk/mmap
 * calling stack (a new array the caller frees). false / 0 when there are none. */
bool at_model_growth_proc(const struct at_model *m, int pid, struct at_growth_proc *g);
bool at_model_growth_site(const struct at_model *m, int pid, __u64 stack_id, struct at_growth_site *g);
size_t at_model_growth_calls(const struct at_model *m, struct at_growth_call **out);
/* Adds a process (reading its comm) or returns the one known. */
struct at_target *at_model_add_target(struct at_model *m, int pid);
/* Forgets an exited process: it is no longer listed; its pid may come back as new. */
void at_model_drop_target(struct at_model *m, int pid);
/* The kernel deleted these processes' counters (pids sorted): drop their sites. */
void at_model_forget_sites(struct at_model *m, const int *pids, int n);
struct at_target *at_model_target(struct at_model *m, int pid);
/* Reads the maps into cur (the old cur becomes prev). The heap pass runs when
 * needs.heap is set: always for a final refresh, else when due (it reads every live
 * block, so when it is expensive it runs at most every AT_HEAP_PERIOD_FACTOR times
 * its own duration). 0 or -errno. */
int at_model_refresh(struct at_model *m, bool final);
/* A site's stack, symbolized at the last refresh (needs.all_sites / top, growth calls);
 * NULL for the unknown stack, one gone, or one the refresh was not asked for. Valid
 * until the next refresh. */
const struct at_site_frames *at_model_frames(const struct at_model *m, int pid, __u64 stack_id);
/* Return address i's own frame: the function holding the call. */
const struct at_frame *at_site_frame_at(const struct at_site_frames *sf, __u32 i);
/* The n best sites of cur by key (n = 0: every site), optionally of one pid (0 = all),
 * best first: a new array of pointers into cur.sites that the caller frees. *n is set
 * to how many. */
const struct at_site_view **at_model_top_sites(const struct at_model *m, enum at_sort key, int pid, size_t *n);
/* Up to max sites holding live blocks older than min_age, most old bytes first (from
 * the last heap pass): a new array of pointers into cur.sites that the caller frees. */
const struct at_site_view **at_model_leak_suspects(const struct at_model *m, size_t max, size_t *n);
__u64 at_site_sort_value(const struct at_model *m, const struct at_site_view *s, enum at_sort key);
/* A site's lifetime histogram (freed blocks, log2 ns buckets) as of cur, scaled like
 * its counters; kept by the refresh (model_lives.c): every site's with needs.lives,
 * else those of the sites needs names. false if not kept. */
bool at_model_site_life(const struct at_model *m, int pid, __u64 stack_id, __u32 lt[AT_LT_BUCKETS]);
/* ... as of prev (needs.lives), when known: the site was kept at prev too, is new
 * since, or freed nothing since. */
bool at_model_site_life_prev(const struct at_model *m, int pid, __u64 stack_id, __u32 lt[AT_LT_BUCKETS]);
/* Every kept site's lifetimes as of cur, unscaled (a baseline): fn per site. */
void at_model_each_life(const struct at_model *m, void (*fn)(void *ctx, int pid, __u64 stack_id, const __u32 *lt),
			void *ctx);
/* The cost model (model_overhead.c): what one probe hit costs here, set once by the
 * session; each refresh then sets every process's .ov. */
void at_model_set_probe_cost(struct at_model *m, const struct at_probe_cost *c);
const struct at_probe_cost *at_model_probe_cost(const struct at_model *m);
/* pid's probes were just attached (no hits yet): its books start now. */
void at_model_overhead_seed(struct at_model *m, int pid);
/* pid is about to exit (a launched command's exit stop): its CPU time is read now. */
void at_model_overhead_exiting(struct at_model *m, int pid);
double at_model_exit_cpu(const struct at_model *m, int pid);	/* that CPU time (s), or -1 */
/* Unless warned already, says on stderr, once, that a process is slowed 1.5x or more;
 * returns whether it did. */
bool at_model_overhead_warn(const struct at_model *m, bool warned);
/* The dearest call of the allocation side and of the free side over the targets (mmap
 * and munmap aside), for --max-overhead's duty cycle. */
void at_model_call_costs(const struct at_model *m, double *alloc_ns, double *free_ns);
const struct at_site_view *at_snapshot_site(const struct at_snapshot *s, int pid, __u64 stack_id);
const struct at_proc_view *at_snapshot_proc(const struct at_snapshot *s, int pid);
int at_proc_cmp(const void *a, const void *b);	/* at_proc_views by pid */
__u64 at_drops_total(const struct at_snapshot *s);

#endif
