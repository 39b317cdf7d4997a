/* --per's part of the text and JSON reports (user/report/report_percall.c). */
#ifndef AT_REPORT_PERCALL_H
#define AT_REPORT_PERCALL_H

#include <json-c/json.h>
#include <stdio.h>
#include "report/report.h"

typedef json_object *(*at_percall_frames_fn)(const struct at_report_ctx *c, const struct at_site_view *sv);
/* Top-level "per_call": [{"pid", "func", "calls", "allocs", "alloc_bytes",
 * "allocs_per_call", "bytes_per_call", "live_bytes", "live_allocs",
 * "live_bytes_per_call", "sites": [...]}] (sites as hotspots, at most --top). */
json_object *at_percall_json(const struct at_report_ctx *c, at_percall_frames_fn frames);
/* The text report's "per call" section: a line per function and its top sites. */
void at_percall_text(FILE *out, const struct at_report_ctx *c);

#endif
