/* Allocation sites for /metrics with bounded label cardinality: sites summed by direct
 * caller and module, the first N such pairs (taken from the top by allocated bytes at
 * each refresh) keep their own series for the whole run, every other site is summed
 * as caller="other". Counters therefore never move between series. */
#ifndef AT_METSITES_H
#define AT_METSITES_H

#include <stddef.h>
#include <linux/types.h>
#include "report/report.h"

struct at_metsite_row {
	char *caller;		/* function name ("other" for the rest) */
	char *module;		/* base name of the module ("" for the rest) */
	__u64 allocs, alloc_bytes, frees, free_bytes;
	__s64 live_allocs, live_bytes;
};

struct at_metsites;

struct at_metsites *at_metsites__new(int max_named);
void at_metsites__free(struct at_metsites *ms);	/* NULL is fine */
/* Sums the model's current sites into the rows. */
void at_metsites__update(struct at_metsites *ms, const struct at_report_ctx *c);
/* The named rows in order of arrival (how many is returned) and the "other" row;
 * valid until the next update. */
size_t at_metsites__rows(const struct at_metsites *ms, const struct at_metsite_row **named,
			const struct at_metsite_row **other);

#endif
