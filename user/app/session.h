/* One tracing session: attach, refresh the model each interval, report, detach. */
#ifndef AT_SESSION_H
#define AT_SESSION_H

#include "lib/opts.h"

/* Runs the whole session; returns the process exit status. */
int at_session_run(const struct at_opts *o);

#endif
