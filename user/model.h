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
};

struct at_site_view {
	int pid;
	__u64 stack_id;
	struct at_site_stats s;
};

struct at_snapshot {
	double mono;			/* when read */
	struct at_proc_view *procs;
	size_t nr_procs;
	struct at_site_view *sites;
	size_t nr_sites;
	__u64 drops[AT_NR_DROPS];
	__u64 bpf_run_ns;		/* cumulative run time of the BPF programs */
};

struct at_model {
	struct at_map_fds fds;
	struct at_tracer *tracer;
	double start_mono;
	struct at_hash by_pid;		/* pid -> struct at_target (stable; freed at fini) */
	struct at_target **targets;	/* in order of arrival, gone ones included */
	int nr_targets, cap_targets;
	struct at_snapshot cur, prev;
	struct at_hash stacks;		/* stack_id -> struct at_stack, read once */
	int ncpus;
	struct at_heap heap;		/* fragmentation and leak suspects, see heap.h */
	__u64 min_age_ns;		/* live blocks older than this are leak suspects */
	double duty;			/* share of time allocations were probed; 1 = exact */
	__u64 raw_allocs, raw_frees;	/* sums over processes before scaling by 1/duty */
};

void at_model_init(struct at_model *m, struct at_tracer *t);
void at_model_fini(struct at_model *m);
/* Adds a process (reading its comm) or returns the one known. */
struct at_target *at_model_add_target(struct at_model *m, int pid);
/* Forgets an exited process: it is no longer listed; its pid may come back as new. */
void at_model_drop_target(struct at_model *m, int pid);
struct at_target *at_model_target(struct at_model *m, int pid);
/* Reads every map into cur (the old cur becomes prev). A final refresh always runs
 * a fresh heap pass; others may reuse a recent one. 0 or -errno. */
int at_model_refresh(struct at_model *m, bool final);
/* The frames of a stack (cached); NULL for the unknown stack or if evicted. */
const struct at_stack *at_model_stack(struct at_model *m, __u64 stack_id);
/* The stack had more frames than --stack-depth kept. */
bool at_model_stack_truncated(struct at_model *m, __u64 stack_id);
/* Sites of cur sorted by key, optionally only one pid (0 = all); returns a new array
 * of pointers into cur.sites that the caller frees. */
const struct at_site_view **at_model_sorted_sites(const struct at_model *m, enum at_sort key, int pid, size_t *n);
/* Sites holding live blocks older than min_age, most old bytes first: a new array of
 * pointers into cur.sites that the caller frees. */
const struct at_site_view **at_model_leak_suspects(const struct at_model *m, size_t *n);
__u64 at_site_sort_value(const struct at_model *m, const struct at_site_view *s, enum at_sort key);
const struct at_site_view *at_snapshot_site(const struct at_snapshot *s, int pid, __u64 stack_id);
const struct at_proc_view *at_snapshot_proc(const struct at_snapshot *s, int pid);
__u64 at_drops_total(const struct at_snapshot *s);
const char *at_drop_name(enum at_drop d);
/* Whether the counter counts events lost (in "dropped"); stack_truncated does not. */
bool at_drop_is_loss(enum at_drop d);

#endif
