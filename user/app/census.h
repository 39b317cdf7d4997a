/* Finding processes to trace by file-wide probes: every process (census) or the
 * followed ones, at start and again as new ones appear. */
#ifndef AT_CENSUS_H
#define AT_CENSUS_H

#include <stdbool.h>
#include "lib/hash.h"
#include "model/model.h"
#include "kernel/tracer.h"

struct at_census {
	struct at_hash seen;	/* pid -> (void *)1: tried already */
	bool follow;		/* only the followed set, not all of /proc */
};

/* Tries every process not tried before; returns how many are newly traced. */
int at_census_scan(struct at_census *c, struct at_tracer *t, struct at_model *m);
/* An exited pid may be reused by a new process: try it again when it shows up. */
void at_census_forget(struct at_census *c, int pid);
void at_census__fini(struct at_census *c);

#endif
