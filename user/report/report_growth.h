/* --growth's part of the text and JSON reports (user/report_growth.c). */
#ifndef AT_REPORT_GROWTH_H
#define AT_REPORT_GROWTH_H

#include <json-c/json.h>
#include <stdio.h>
#include "report/report.h"

/* processes[].growth: fault_pages, fault_bytes, brk_bytes, mmap_bytes, rss_bytes */
json_object *at_growth_json_proc(const struct at_report_ctx *c, int pid);
/* A hotspot's fault_pages, fault_bytes, brk_bytes and mmap_bytes, added to o. */
void at_growth_json_site(const struct at_report_ctx *c, const struct at_site_view *sv, json_object *o);
/* The text report's growth line of a process, and a hotspot's first line. */
void at_growth_text_proc(FILE *out, const struct at_report_ctx *c, const struct at_proc_view *p);
void at_growth_text_site(FILE *out, const struct at_report_ctx *c, size_t rank, const struct at_site_view *sv);

/* brk and anonymous mmap calls by stack, most bytes first (--top of them): JSON
 * "growth_calls" (frames as the hotspots', by frames()) and the text report's list. */
typedef json_object *(*at_growth_frames_fn)(const struct at_report_ctx *c, const struct at_site_view *sv);
json_object *at_growth_json_calls(const struct at_report_ctx *c, at_growth_frames_fn frames);
void at_growth_text_calls(FILE *out, const struct at_report_ctx *c);

#endif
