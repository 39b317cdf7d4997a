/* Finding processes to trace by file-wide probes: every process (census) or the
 * followed ones, at start and again as new ones appear. */
#ifndef AT_CENSUS_H
#define AT_CENSUS_H

#include <stdbool.h>
#include "lib/hash.h"
#include "model/model.h"
#include "kernel/tracer.h"

struct at_census {
	struct at_hash seen;	/* pid -> the scan that last found it: tried already */
	bool follow;		/* only the followed set, not all of /proc */
	__u64 scans;
	int *vanished;		/* tried pids the last scan of /proc no longer found */
	int nr_vanished;
};

/* Tries every process not tried before; returns how many are newly traced. A census
 * of /proc also lists in vanished the processes gone since the scan before: the exit of
 * one that never allocated in a window is not reported by the kernel side. */
int at_census_scan(struct at_census *c, struct at_tracer *t, struct at_model *m);
/* An exited pid may be reused by a new process: try it again when it shows up. */
void at_census_forget(struct at_census *c, int pid);
void at_census__fini(struct at_census *c);

#endif
