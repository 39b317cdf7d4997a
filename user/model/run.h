/* A finished run read back for comparison (alloctop diff): its sites keyed by their
 * frames' function names, from a recording (--record), -o json output, or a pprof
 * profile (--pprof-out or any pprof heap profile). */
#ifndef AT_RUN_H
#define AT_RUN_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
#include "lib/hash.h"

struct at_run_site {
	char *key;		/* the frames' names joined by ';', leaf first */
	char **frames;
	int nr_frames;
	__s64 allocs, alloc_bytes, live_allocs, live_bytes;
};

struct at_run_proc {
	int pid;
	char comm[16];
	bool exited;
	__s64 allocs, frees, alloc_bytes, live_allocs, live_bytes;
	__s64 peak_bytes;	/* -1: no peak recorded */
	double peak_t;
};

struct at_run {
	const char *path;
	double elapsed_s;	/* alloctop documents: when the report was made */
	bool final;
	struct at_run_proc *procs;
	size_t nr_procs;
	const char *kind;	/* "alloctop" or "pprof" */
	struct at_run_site *sites;
	size_t nr_sites, cap_sites;
	struct at_hash by_key;	/* key -> index + 1 */
};

/* Reads path (gzip or plain): 0, or -1 after a one-line error naming the file. Sites of
 * the same frames (several processes, or addresses of one function) are summed. For
 * alloctop JSON, the last document of the file counts. */
int at_run_load(const char *path, struct at_run *r);
/* One alloctop JSON document (a line of a recording) into r (label names it in errors):
 * 0, or -1 if it is not one. */
int at_run_parse_doc(struct at_run *r, const char *line, const char *label);
void at_run_free(struct at_run *r);

/* A site's figures in two runs. */
struct at_run_delta {
	const struct at_run_site *a, *b;	/* NULL where the site is absent */
	__s64 d_allocs, d_alloc_bytes, d_live_bytes;
};
/* Every site of a or b with its changes, largest change of alloc bytes first (then of
 * allocations, then of live bytes): a new array the caller frees; *n set. */
struct at_run_delta *at_run_diff(const struct at_run *a, const struct at_run *b, size_t *n);

#endif
