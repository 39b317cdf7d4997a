/* --push-pyroscope, --push-parca: one thread per engine sends the profiles the session
 * submits. The session never waits: a submit copies the profile into a bounded queue
 * (the oldest is dropped when full), and the thread sends with retries and backoff. */
#ifndef AT_PUSH_H
#define AT_PUSH_H

#include <stddef.h>
#include <stdint.h>
#include "export/engines.h"
#include "export/metrics.h"

struct at_pusher_opts {
	size_t sz;
	enum at_engine engine;
	const char *url;
	const char *app;		/* the profile's name */
	const struct at_label *labels;	/* copied */
	size_t nr_labels;
	int queue;			/* profiles waiting at most (default 4) */
	int attempts;			/* per profile (default 4) */
	double backoff_s;		/* before the first retry, doubled each time (default 1) */
	int timeout_s;			/* per request step (default 10) */
};

struct at_pusher;

struct at_pusher *at_pusher__new(const struct at_pusher_opts *o);
/* Stops the thread and frees: what is queued (the last interval's profile) is sent
 * once more, without retries, each request bounded by its timeout. */
void at_pusher__free(struct at_pusher *p);
/* Queues a copy of gz, covering [from, until] (Unix seconds). Never blocks on the network. */
void at_pusher__submit(struct at_pusher *p, const uint8_t *gz, size_t len, double from, double until);
/* The counters so far, and the last error (empty when the last attempt succeeded). */
void at_pusher__stats(struct at_pusher *p, struct at_push_stats *st, char *last_err, size_t errsz);

#endif
