/* The model's state, for model*.c only: everyone else uses model.h's functions. */
#ifndef AT_MODEL_INT_H
#define AT_MODEL_INT_H

#include "model/model.h"
#include "kernel/tracer.h"
#include "model/censor.h"

struct ring_buffer;

struct at_model {
	struct at_map_fds fds;
	struct at_tracer *tracer;
	double start_mono;
	struct at_hash by_pid;		/* pid -> struct at_target (stable; freed at fini) */
	struct at_target **targets;	/* in order of arrival; gone ones until no snapshot has them */
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
	struct at_probe_cost cost;	/* what one probe hit costs here */
	struct at_symbolizer *sym;
	struct at_hash names;		/* (pid, stack_id) -> symbolized stack (model_names.c) */
	struct at_hash modules;		/* module path -> its copy: frames outlive the symbolizer's */
	char **extra_mods;		/* paths whose hash another path had */
	size_t nr_extra_mods;
	struct at_hash gprocs;		/* pid -> struct at_growth_proc, read at the refresh */
	struct at_hash gsites;		/* (pid, stack_id) -> struct at_growth_site */
	struct at_growth_call *gcalls;	/* every brk/mmap calling stack */
	size_t nr_gcalls;
	struct at_hash ov_marks;	/* pid -> where its probe cost stood (model_overhead.c) */
	__u64 ov_gen;			/* overhead updates so far */
	double max_overhead;		/* --max-overhead PCT; 0 exact */
	struct at_windows wins;		/* --max-overhead's windows (model_window.c) */
	struct ring_buffer *gap_rb;	/* blocks followed across gaps */
	struct at_hash win_procs;	/* pid -> CPU split and lifetime figures */
	struct at_hash win_sites;	/* (pid, stack_id) -> struct at_win_weight */
	__u64 gaps_lost;
	struct at_hash peaks;		/* pid -> struct at_peak_info (model_peak.c) */
	struct at_per_call *per_v;	/* --per, as read at the last refresh (model_percall.c) */
	size_t per_n;
	void *peak_val;			/* one site's per-CPU values, read buffer */
	struct at_hash history;		/* pid -> its points over time (model_history.c) */
};

/* The stack cache (model_query.c): NULL for the unknown stack or if gone. */
const struct at_stack *at_model_stack(struct at_model *m, __u64 stack_id);
/* Bounds the stack cache (the refresh calls it). */
void at_model_trim_caches(struct at_model *m);
/* Lifetimes (model_lives.c): the sites the refresh read (needs.lives); one site's
 * now, if not kept already; bounds the store; a process gone. */
void at_model_take_lives(struct at_model *m);
void at_model_fetch_life(struct at_model *m, int pid, __u64 stack_id);
void at_model_trim_lives(struct at_model *m);
void at_model_lives_forget(struct at_model *m, int pid);
/* At the end of a refresh: symbolizes the sites needs names, reads their lifetimes and
 * growth counters (model_names.c). */
void at_model_resolve(struct at_model *m);
void at_model_names_forget(struct at_model *m, int pid);
void at_model_names__fini(struct at_model *m);
/* The site's frames, symbolized at this refresh if not yet (model_names.c). */
const struct at_site_frames *at_model_want(struct at_model *m, int pid, __u64 stack_id);
/* --per's figures read from the kernel, their sites symbolized (model_percall.c). */
void at_model_percall_update(struct at_model *m);
void at_model_percall__fini(struct at_model *m);
/* --growth's counters of cur's processes and of these sites (model_growth.c). */
void at_model_growth_read(struct at_model *m, const struct at_site_view **sites, size_t n);
void at_model_growth__fini(struct at_model *m);
/* Sets .ov of every process of cur from its hits since the last refresh. */
void at_model_overhead_update(struct at_model *m);
void at_model_overhead__fini(struct at_model *m);
double at_model_probe_ns_of(const struct at_model *m, int pid);	/* probe time so far */
/* --max-overhead (model_window.c). */
void at_model_window_refresh(struct at_model *m, struct at_snapshot *s);
double at_model_window_share(struct at_model *m, struct at_proc_view *p, double duty);
/* The effective scale of what (pid, key) saw: each block of intervals' sightings
 * weighed by 1 / the share of work its windows saw (the open block's at k, the
 * process's scale, until samples say its own). at_model_window_share must have run for
 * pid at this refresh. key 0 is the process; a site's is its stack_id + 1. */
double at_model_window_weight(struct at_model *m, int pid, __u64 key, __u64 seen, double k);
void at_model_window_forget(struct at_model *m, const int *pids, int n);	/* gone processes */
void at_model_window__fini(struct at_model *m);
void at_model_overhead__fini(struct at_model *m);
/* Reads every process's peak, and the sites live at it when it moved (model_peak.c);
 * final: tries harder to read them while the peak stays put. */
void at_model_peak_update(struct at_model *m, bool final);
void at_model_peak_forget(struct at_model *m, const int *pids, int n);
void at_model_peak__fini(struct at_model *m);
/* Adds each process's point of this refresh to its history (model_history.c). */
void at_model_history_update(struct at_model *m);
void at_model_history_forget(struct at_model *m, const int *pids, int n);
void at_model_history__fini(struct at_model *m);

#endif
