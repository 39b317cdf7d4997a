/* What is measured: snapshots of the kernel maps, summed over CPUs, and the targets.
 * The same model feeds the dashboard and the batch writers. */
#ifndef AT_MODEL_H
#define AT_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include "alloctop.h"
#include "hash.h"
#include "heap.h"
#include "opts.h"
#include "overhead.h"
#include "probecost.h"
#include "sitetab.h"
#include "tracer.h"

struct at_target {
	int pid;
	char comm[16];
	bool exited;
	bool gone;		/* exited and reported: no longer listed */
};

struct at_proc_view {
	struct at_target *target;	/* NULL for a process not in the target list */
	int pid;
	struct at_proc_stats s;
	double scale;			/* --max-overhead: what its estimates were scaled by; 1 exact */
	__u64 hits[AT_NR_FUNCS];	/* calls the probes saw, before any scaling */
	struct at_overhead ov;		/* what its probes cost it (set by the session) */
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
};

struct at_model {
	struct at_map_fds fds;
	struct at_tracer *tracer;
	double start_mono;
	struct at_hash by_pid;		/* pid -> struct at_target (stable; freed at fini) */
	struct at_target **targets;	/* in order of arrival, gone ones included */
	int nr_targets, cap_targets;
	struct at_snapshot cur, prev;	/* prev has sites only with needs.prev_sites */
	struct at_sitetab tab;		/* the kernel's sites, read incrementally */
	struct at_site_view *site_buf[2];	/* [0] prev's copy, [1] cur's scaled copy */
	size_t site_cap[2];
	struct at_hash stacks;		/* stack_id -> struct at_stack, bounded */
	struct at_hash lives;		/* (pid, stack_id) -> lifetimes read (see .c) */
	__u64 gen;			/* refreshes so far */
	struct at_model_needs needs;
	int ncpus;
	struct at_heap heap;		/* fragmentation and leak suspects, see heap.h */
	__u64 min_age_ns;		/* live blocks older than this are leak suspects */
	double duty;			/* share of time allocations were probed; 1 = exact */
	__u64 raw_allocs, raw_frees;	/* sums over processes before scaling by 1/duty */
	struct at_probe_cost cost;	/* what one probe hit costs here (set by the session) */
};

/* 0 or -errno. */
int at_model_init(struct at_model *m, struct at_tracer *t);
void at_model_fini(struct at_model *m);
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
/* Bounds the stack and lifetime caches (the refresh calls it). */
void at_model_trim_caches(struct at_model *m);
/* The frames of a stack (cached, a bounded number); NULL for the unknown stack or if
 * gone. Valid until the next call. */
const struct at_stack *at_model_stack(struct at_model *m, __u64 stack_id);
/* The stack had more frames than --stack-depth kept. */
bool at_model_stack_truncated(struct at_model *m, __u64 stack_id);
/* The n best sites of cur by key (n = 0: every site), optionally of one pid (0 = all),
 * best first: a new array of pointers into cur.sites that the caller frees. *n is set
 * to how many. */
const struct at_site_view **at_model_top_sites(const struct at_model *m, enum at_sort key, int pid, size_t *n);
/* Up to max sites holding live blocks older than min_age, most old bytes first (from
 * the last heap pass): a new array of pointers into cur.sites that the caller frees. */
const struct at_site_view **at_model_leak_suspects(const struct at_model *m, size_t max, size_t *n);
__u64 at_site_sort_value(const struct at_model *m, const struct at_site_view *s, enum at_sort key);
/* A site's lifetime histogram (freed blocks, log2 ns buckets) as of cur, scaled like
 * its counters. Read from the kernel the first time it is asked for after a refresh:
 * only the sites shown cost a read. false if the site is gone. */
bool at_model_site_life(struct at_model *m, int pid, __u64 stack_id, __u32 lt[AT_LT_BUCKETS]);
/* ... as of prev, when known: the site was read at the previous refresh too, or freed
 * nothing since prev. */
bool at_model_site_life_prev(struct at_model *m, int pid, __u64 stack_id, __u32 lt[AT_LT_BUCKETS]);
/* Every site's lifetimes in one read of the whole map (a baseline): fn per site. */
int at_model_all_lifetimes(struct at_model *m, void (*fn)(void *ctx, int pid, __u64 stack_id, const __u32 *lt),
			   void *ctx);
const struct at_site_view *at_snapshot_site(const struct at_snapshot *s, int pid, __u64 stack_id);
const struct at_proc_view *at_snapshot_proc(const struct at_snapshot *s, int pid);
int at_proc_cmp(const void *a, const void *b);	/* at_proc_views by pid */
__u64 at_drops_total(const struct at_snapshot *s);
const char *at_drop_name(enum at_drop d);
/* Whether the counter counts events lost (in "dropped"); stack_truncated does not. */
bool at_drop_is_loss(enum at_drop d);

#endif
