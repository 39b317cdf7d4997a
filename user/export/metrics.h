/* The Prometheus exposition of a refresh: text format 0.0.4, or OpenMetrics 1.0. */
#ifndef AT_METRICS_H
#define AT_METRICS_H

#include <stdbool.h>
#include <stdio.h>
#include <linux/types.h>
#include "report/report.h"

enum at_engine { AT_ENGINE_PYROSCOPE, AT_ENGINE_PARCA, AT_NR_ENGINES };

/* What the pushes did so far (export/push.h), shown as alloctop_pushes_total. */
struct at_push_stats {
	__u64 sent;		/* profiles the engine accepted */
	__u64 failed;		/* attempts that failed (each retry counts) */
	__u64 dropped;		/* profiles given up: queue full or retries exhausted */
};

struct at_metrics;

/* max_sites: the named (caller, module) series kept (export/metsites.h). */
struct at_metrics *at_metrics__new(int max_sites);
void at_metrics__free(struct at_metrics *m);	/* NULL is fine */
/* Once per refresh, before writing: the processes' cgroups and the sites' sums. */
void at_metrics__update(struct at_metrics *m, const struct at_report_ctx *c);
/* push: NULL, or per engine (NULL entries for engines not pushed to). -1 on a write error. */
int at_metrics__write(const struct at_metrics *m, const struct at_report_ctx *c,
		      const struct at_push_stats *const push[AT_NR_ENGINES], FILE *out, bool openmetrics);
const char *at_engine_name(enum at_engine e);

#endif
