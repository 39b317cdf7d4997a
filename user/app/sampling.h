/* --max-overhead: sampling windows. Every probe (allocation entries and returns, free,
 * delete, mmap, munmap) is attached only in short, jittered windows, on for a share d
 * (the duty) of the time; d comes from a feedback loop on what the probes cost while
 * on (hits seen x the measured cost per hit) against PCT% of the targets' CPU time. */
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
	bool many;		/* targets by the hundred (a census, --follow): only those that read
				 * often have their reads counted at each switch */
};

struct at_sampler;

/* The first window is on already (every probe was attached by the targets). */
struct at_sampler *at_sampler__new(const struct at_sampler_opts *opts);
/* Readable when a window opens or closes: then call at_sampler__switch. */
int at_sampler__fd(const struct at_sampler *s);
void at_sampler__switch(struct at_sampler *s);
/* Before work that keeps the event loop busy (a refresh: symbolizing, reading heaps,
 * debug files): a window open now ends now, not when the loop is back, which may be
 * hundreds of ms later (the targets would pay the probes all that time). */
void at_sampler__before_work(struct at_sampler *s);
/* Share of the time since the start every probe was on (1 = always). */
double at_sampler__duty(const struct at_sampler *s, double now);
/* Seconds of windows and in all since the start (the duty's two terms). */
/* Before each report: each target's CPU time in and out of windows, to the model. */
void at_sampler__flush(struct at_sampler *s);
/* After each report: the feedback loop picks the next duty. */
void at_sampler__tick(struct at_sampler *s);
void at_sampler__free(struct at_sampler *s);	/* NULL is fine */

#endif
