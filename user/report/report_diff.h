/* alloctop diff's output: per site, the change between two runs (model/run.h). */
#ifndef AT_REPORT_DIFF_H
#define AT_REPORT_DIFF_H

#include <stdbool.h>
#include <stdio.h>
#include "model/run.h"

/* Sites whose figures changed, largest change first, at most top of them (0: all);
 * JSON: {"a", "b", "totals": {...}, "sites": [{"frames", "allocs_a", "allocs_b",
 * "alloc_bytes_a", "alloc_bytes_b", "live_bytes_a", "live_bytes_b", "delta_allocs",
 * "delta_bytes", "delta_live_bytes"}], "unchanged_sites"}. 0, or -1 on a write error. */
int at_report_diff(FILE *out, const struct at_run *a, const struct at_run *b, bool json, size_t top);

#endif
