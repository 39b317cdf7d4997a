/* What alloctop hands to a fleet's engines at each refresh: the /metrics and
 * /debug/pprof/heap bodies for --listen, the profile for --push-pyroscope and
 * --push-parca, and --agent's log lines. */
#ifndef AT_EXPORT_H
#define AT_EXPORT_H

#include <stdbool.h>
#include "lib/opts.h"
#include "report/report.h"

struct at_export;

/* Whether the options ask for any export. */
bool at_export_wanted(const struct at_opts *o);
/* Starts the server and the push threads; NULL with a one-line message on failure
 * (a port in use, a bad URL or label). */
struct at_export *at_export__new(const struct at_opts *o);
void at_export__free(struct at_export *x);	/* NULL is fine */
/* After each model refresh: renders, publishes, queues the pushes, logs (--agent). */
void at_export__refresh(struct at_export *x, const struct at_report_ctx *c);

#endif
