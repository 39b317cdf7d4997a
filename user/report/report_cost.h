/* The cost model and the cost imposed on each process, for every output: the plain and
 * JSON forms side by side. */
#ifndef AT_REPORT_COST_H
#define AT_REPORT_COST_H

#include <json-c/json.h>
#include <stddef.h>
#include "model/model.h"

/* {"entry", "entry_stepped", "return"}: ns per hit. */
json_object *at_json_probe_cost(const struct at_probe_cost *c);
/* {"probe_ns_per_s", "cpu_share", "slowdown", "probe_ns"}; null where not known yet. */
json_object *at_json_overhead(const struct at_overhead *ov);
/* "12.3% (1.14x)", "12.3 ms/s" without CPU time, "-" before an interval is measured. */
const char *at_fmt_overhead(const struct at_overhead *ov, char *buf, size_t sz);
/* "probes cost 12.3 ms/s, 12.3% of its CPU time: slowdown about 1.14x" */
const char *at_fmt_overhead_long(const struct at_overhead *ov, char *buf, size_t sz);

#endif
