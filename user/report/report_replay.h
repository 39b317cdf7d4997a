/* --replay -o text: one recorded report (model/run.h) as text. */
#ifndef AT_REPORT_REPLAY_H
#define AT_REPORT_REPLAY_H

#include <stdio.h>
#include "model/run.h"

/* Its processes (totals, live, peak) and its top sites by bytes allocated; 0 or -1 on
 * a write error. */
int at_report_replay_text(FILE *out, const struct at_run *r, size_t top);

#endif
