/* The rules between options: what cannot go together, and what follows from them
 * (a census's default budget, --growth's weight, --agent's pace, batch or dashboard). */
#include "lib/opts_int.h"
#include "alloctop.h"
#include "lib/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int at_opts_bad(const char *fmt, const char *arg)
{
	fprintf(stderr, "alloctop: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "; see 'alloctop --help'\n");
	return AT_EXIT_USAGE;
}

/* The file is replaced through FILE.tmp: its directory must be writable. */
static int check_out_dir(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir = slash ? at_xstrdup(path) : NULL;
	int rc = -1;

	if (dir)
		dir[slash == path ? 1 : slash - path] = 0;
	if (access(dir ? dir : ".", W_OK | X_OK))
		rc = at_opts_bad("--pprof-out: cannot write into the directory of '%s'", path);
	free(dir);
	return rc;
}

static int check_growth(struct at_opts *o)
{
	o->growth |= o->growth_calls;
	if (!o->growth)
		return o->weight == AT_WEIGHT_FAULT_BYTES ? at_opts_bad("--weight fault-bytes needs --growth%s", "") : -1;
	if (o->max_overhead)
		return at_opts_bad("--growth probes no allocator: drop --max-overhead (its cost follows page faults)%s", "");
	if (o->lib)
		return at_opts_bad("--growth probes no allocator: drop --lib%s", "");
	if (o->weight == AT_WEIGHT_LIVE_BYTES)
		o->weight = AT_WEIGHT_FAULT_BYTES;
	return -1;
}

/* --agent: exports only, at a slower pace unless told. */
static int check_agent(struct parse *p)
{
	struct at_opts *o = p->o;

	if (!o->agent)
		return -1;
	if (p->out_given || p->batch)
		return at_opts_bad("--agent prints log lines, not reports: drop -o and -b%s", "");
	if (!o->listen && !o->push_pyroscope && !o->push_parca)
		return at_opts_bad("--agent exports only: give --listen, --push-pyroscope or --push-parca%s", "");
	if (!p->interval_given)
		o->interval = 15;
	o->output = AT_OUT_NONE;
	return p->out_given = true, -1;	/* no dashboard */
}

int at_opts_check_combined(struct parse *p)
{
	struct at_opts *o = p->o;
	int rc;

	if (o->cmd && o->nr_pids)
		return at_opts_bad("-p and a command (-- CMD) cannot be combined%s", "");
	if ((o->comm || o->nr_exclude) && (o->cmd || o->nr_pids))
		return at_opts_bad("--comm and --exclude filter the system-wide census: drop -p and the command%s", "");
	if (o->max_overhead && o->exact)
		return at_opts_bad("--exact and --max-overhead contradict each other: keep one%s", "");
	if (o->max_overhead && o->follow)
		return at_opts_bad("--max-overhead works with -p, a command or the census, not with --follow%s", "");
	if (o->nr_per && ((!o->cmd && !o->nr_pids) || o->follow || o->growth_calls || o->growth))
		return at_opts_bad("--per probes functions of -p targets or of a command: drop --follow and --growth, give -p "
				   "or -- CMD%s", "");
	if (o->replay && (o->cmd || o->nr_pids || o->record || o->pprof_out || o->follow || o->growth || o->nr_per ||
			  o->max_overhead || o->exact || o->agent || o->listen))
		return at_opts_bad("--replay shows a recording: drop -p, the command, --record, --pprof-out and tracing "
				   "options%s", "");
	if (o->replay && o->output != AT_OUT_TEXT && o->output != AT_OUT_JSON)
		return at_opts_bad("--replay prints -o text or json%s", "");
	if (o->keep && !o->cmd)
		return at_opts_bad("--keep is for a command alloctop starts (-- CMD)%s", "");
	/* a census probes every process on the host: bounded unless asked otherwise */
	if (!o->cmd && !o->nr_pids && !o->follow && !o->exact && !o->max_overhead && !o->growth && !o->growth_calls &&
	    !o->replay) {
		o->max_overhead = 1;
		o->overhead_default = true;
	}
	if (o->follow && !o->cmd && !o->nr_pids)
		return at_opts_bad("--follow needs targets: give -p PID or -- CMD%s", "");
	if ((rc = check_growth(o)) >= 0)
		return rc;
	if ((rc = check_agent(p)) >= 0)
		return rc;
	if (o->pprof_out && !p->out_given) {
		o->output = AT_OUT_PPROF;
		p->out_given = true;
	}
	if (o->output == AT_OUT_PPROF && !o->pprof_out)
		return at_opts_bad("-o pprof: give the file to write with --pprof-out FILE%s", "");
	if (o->pprof_out && (rc = check_out_dir(o->pprof_out)) >= 0)
		return rc;
	/* The dashboard needs a terminal; -b, -o or a pipe mean batch. */
	if (!p->batch && !p->out_given && isatty(STDOUT_FILENO) && !o->replay)
		o->output = AT_OUT_TUI;
	return -1;
}

