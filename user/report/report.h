/* Batch reports: the plain and JSON printers side by side, over the same model. */
#ifndef AT_REPORT_H
#define AT_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "model/model.h"
#include "lib/opts.h"
#include "lib/hash.h"
#include "lib/utf8.h"

struct at_report_ctx {
	struct at_model *model;
	const struct at_opts *opts;
	double interval_s;	/* the interval this report covers */
	bool final;
};

/* Each returns 0, or -1 when the output cannot be written (closed pipe). */
int at_report_json(FILE *out, const struct at_report_ctx *c);
int at_report_text(FILE *out, const struct at_report_ctx *c);
/* Folded stacks (flamegraph.pl, inferno, speedscope): one line per distinct stack,
 * "comm-pid;root;...;leaf WEIGHT", weighted by opts->weight, zero weights left out.
 * Every site counts (not only --top). Printed once, at the final report; the others
 * print nothing. */
int at_report_folded(FILE *out, const struct at_report_ctx *c);
/* A gzipped pprof profile of every site written to path (through path.tmp, renamed
 * over it); -1 with a message on stderr when it cannot be written. */
int at_report_pprof(const char *path, const struct at_report_ctx *c);
/* The same profile, gzipped, in a new buffer (*gz, *gz_len) the caller frees; -1 if
 * it cannot be compressed. */
int at_report_pprof_gz(const struct at_report_ctx *c, uint8_t **gz, size_t *gz_len);
/* For pushes: the same, but alloc_objects and alloc_space count only what was allocated
 * since the previous profile made with the same marks (an at_hash the caller keeps,
 * zeroed at first, freed with at_hash_free_all), made at since (Unix seconds: the
 * profile's time and duration cover since .. now); inuse_* are current. */
struct at_pprof_mark {
	__u64 allocs, alloc_bytes;
};
int at_report_pprof_gz_delta(const struct at_report_ctx *c, struct at_hash *marks, double since, uint8_t **gz,
			     size_t *gz_len);

#endif
