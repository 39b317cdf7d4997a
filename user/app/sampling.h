/* --max-overhead: sampling windows. The allocation-side probes are on for a share of
 * each interval (the duty), picked from what the last one cost, and off for the rest. */
#ifndef AT_SAMPLING_H
#define AT_SAMPLING_H

#include <stddef.h>
#include "kernel/tracer.h"
#include "model/model.h"

struct at_sampler_opts {
	size_t sz;		/* sizeof(struct at_sampler_opts), for compatibility */
	struct at_tracer *tracer;
	struct at_model *model;	/* its targets' CPU time and raw counts set the duty */
	double max_overhead;	/* percent of the targets' CPU time */
	double interval;	/* seconds between reports */
};

struct at_sampler;

/* Starts the first (short) window; every probe is attached already. */
struct at_sampler *at_sampler__new(const struct at_sampler_opts *opts);
/* Readable when the on-window ends: then call at_sampler__window_end. */
int at_sampler__fd(const struct at_sampler *s);
void at_sampler__window_end(struct at_sampler *s);
/* Share of the time since the start the allocation probes were on (1 = always). */
double at_sampler__duty(const struct at_sampler *s, double now);
/* At each report: closes the interval's books and opens the next on-window. */
void at_sampler__tick(struct at_sampler *s);
void at_sampler__free(struct at_sampler *s);	/* NULL is fine */

#endif
