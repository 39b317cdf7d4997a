/* The cost the probes impose on each traced process: its probe hits in the interval
 * times their measured cost (probecost.h), against the CPU time it used meanwhile. */
#ifndef AT_OVERHEAD_H
#define AT_OVERHEAD_H

#include <stdbool.h>
#include "hash.h"

struct at_overhead {
	bool known;		/* measured over an interval */
	bool cpu_known;		/* its CPU time too (cpu_share and slowdown are set) */
	double probe_ns;	/* probe time since its probes were attached */
	double probe_ns_per_s;	/* probe time per second of the interval */
	double cpu_share;	/* probe time / its CPU time, 0..1 */
	double slowdown;	/* cpu / (cpu - probe time): how much longer its work takes; 0
				 * when the probes took (nearly) all of it */
};

/* What each process stood at when last seen. */
struct at_overhead_book {
	struct at_hash prev;	/* pid -> struct at_overhead_mark */
	__u64 gen;
};

struct at_model;
struct at_tracer;
struct at_probe_cost;

/* CPU seconds pid has used (utime + stime, /proc/PID/stat), or -1. */
double at_proc_cpu_s(int pid);
/* Starts pid's books now: its probes were just attached (no hits yet). */
void at_overhead_seed(struct at_overhead_book *b, int pid, const struct at_tracer *t, const struct at_probe_cost *cost);
/* pid is about to exit (a launched command's exit stop): its CPU time is read now. */
void at_overhead_exiting(struct at_overhead_book *b, int pid);
/* Sets .ov of every process of the model's current snapshot from its hits since the
 * last call; a process seen for the first time gets its figures next time. */
void at_overhead_update(struct at_overhead_book *b, struct at_model *m, const struct at_tracer *t,
			const struct at_probe_cost *cost);
void at_overhead_fini(struct at_overhead_book *b);
/* Unless warned already, says on stderr that a process is slowed 1.5x or more, once;
 * returns whether it did. */
bool at_overhead_warn(const struct at_model *m, bool warned);
/* The dearest call of the allocation side and of the free side over the model's
 * targets (mmap and munmap aside), for --max-overhead's duty cycle. */
void at_overhead_call_costs(const struct at_model *m, const struct at_tracer *t, double *alloc_ns, double *free_ns);

#endif
