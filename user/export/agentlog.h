/* --agent: one log line per event on stderr (the journal under systemd) instead of
 * reports: a process traced or gone, events dropped, a push failing or back. Batch
 * runs that push get the push lines only (the dashboard none: they would tear it). */
#ifndef AT_AGENTLOG_H
#define AT_AGENTLOG_H

#include "export/metrics.h"
#include "lib/opts.h"
#include "report/report.h"

struct at_agentlog;

struct at_agentlog *at_agentlog__new(const struct at_opts *o);
void at_agentlog__free(struct at_agentlog *l);	/* NULL is fine */
/* ps, errs: per engine, the push counters and last error (NULL for engines not used). */
void at_agentlog__refresh(struct at_agentlog *l, const struct at_report_ctx *c,
			  const struct at_push_stats *const ps[AT_NR_ENGINES], char errs[AT_NR_ENGINES][256]);

#endif
