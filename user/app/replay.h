/* --replay FILE: a recording's reports printed again (-o json as recorded, -o text). */
#ifndef AT_REPLAY_H
#define AT_REPLAY_H

#include "lib/opts.h"

/* Returns the exit status. */
int at_replay_run(const struct at_opts *o);

#endif
