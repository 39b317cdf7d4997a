/* The peak of live bytes in the text and JSON reports (user/report/report_peak.c). */
#ifndef AT_REPORT_PEAK_H
#define AT_REPORT_PEAK_H

#include <json-c/json.h>
#include <stdio.h>
#include "report/report.h"

typedef json_object *(*at_peak_frames_fn)(const struct at_report_ctx *c, const struct at_site_view *sv);
/* processes[].peak: {"live_bytes", "live_allocs", "t", "exact", "sites": [{"stack_id",
 * "frames", "live_bytes", "live_allocs"}]} (at most --top sites, most bytes first), or
 * null before the first peak. */
json_object *at_peak_json(const struct at_report_ctx *c, int pid, at_peak_frames_fn frames);
/* The text report's peak line of a process and its top sites, one line each. */
void at_peak_text(FILE *out, const struct at_report_ctx *c, int pid);

#endif
