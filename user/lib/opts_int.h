#ifndef AT_LIB_OPTS_INT_H
#define AT_LIB_OPTS_INT_H
/* Shared by the option table (opts.c) and the rules between options (opts_check.c). */
#include "lib/opts.h"

struct parse {
	struct at_opts *o;
	bool batch, out_given, interval_given;
};

/* Says the usage error (fmt with one %s, arg) and returns the usage exit status. */
int at_opts_bad(const char *fmt, const char *arg);
/* What options cannot do together, and what follows from them; -1 or an exit status. */
int at_opts_check_combined(struct parse *p);

#endif
