/* The model's state, for model*.c only: everyone else uses model.h's functions. */
#ifndef AT_MODEL_INT_H
#define AT_MODEL_INT_H

#include "model/model.h"
#include "kernel/tracer.h"

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
	struct at_probe_cost cost;	/* what one probe hit costs here */
	struct at_hash ov_marks;	/* pid -> where its probe cost stood (model_overhead.c) */
	__u64 ov_gen;			/* overhead updates so far */
	struct at_hash peaks;		/* pid -> struct at_peak_info (model_peak.c) */
	void *peak_val;			/* one site's per-CPU values, read buffer */
	struct at_hash history;		/* pid -> its points over time (model_history.c) */
};

/* Sets .ov of every process of cur from its hits since the last refresh. */
void at_model_overhead_update(struct at_model *m);
void at_model_overhead_fini(struct at_model *m);
/* Reads every process's peak, and the sites live at it when it moved (model_peak.c);
 * final: tries harder to read them while the peak stays put. */
void at_model_peak_update(struct at_model *m, bool final);
void at_model_peak_forget(struct at_model *m, const int *pids, int n);
void at_model_peak_fini(struct at_model *m);
/* Adds each process's point of this refresh to its history (model_history.c). */
void at_model_history_update(struct at_model *m);
void at_model_history_forget(struct at_model *m, const int *pids, int n);
void at_model_history_fini(struct at_model *m);

#endif
