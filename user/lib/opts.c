#include "lib/opts.h"
#include "alloctop.h"
#include "lib/opts_int.h"
#include "lib/util.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef AT_VERSION
#define AT_VERSION "0.1.0"
#endif

/* One table gives getopt its options, checks each value and writes --help. */

struct opt_def;
typedef int (*opt_set)(struct parse *p, const struct opt_def *d, const char *arg);

struct opt_def {
	const char *name;	/* --name */
	int key;		/* its short letter, or a number past them */
	const char *arg;	/* the value's name in --help; NULL: takes none */
	const char *help;	/* lines of --help, '\n' between them */
	opt_set set;		/* checks the value and stores it; -1 to go on, else an exit status */
	size_t field, size;	/* where in struct at_opts it writes, and how much */
	double lo, hi;		/* numbers: the range allowed */
	const char *err;	/* why a value is refused ("%s" is the value) */
	const char *const *names;	/* choices, indexed by their value */
	int nr_names;
};

static const char *const sort_names[AT_NR_SORTS] = {
	[AT_SORT_ALLOC_BYTES] = "alloc-bytes",
	[AT_SORT_ALLOCS] = "allocs",
	[AT_SORT_LIVE_BYTES] = "live-bytes",
	[AT_SORT_LIVE_ALLOCS] = "live-allocs",
	[AT_SORT_OLD_BYTES] = "old-bytes",
};

const char *at_sort_name(enum at_sort s)
{
	return s < AT_NR_SORTS ? sort_names[s] : "?";
}

static const char *const weight_names[AT_NR_WEIGHTS] = {
	[AT_WEIGHT_LIVE_BYTES] = "live-bytes",
	[AT_WEIGHT_ALLOC_BYTES] = "alloc-bytes",
	[AT_WEIGHT_ALLOCS] = "allocs",
	[AT_WEIGHT_FAULT_BYTES] = "fault-bytes",
};

const char *at_weight_name(enum at_weight w)
{
	return w < AT_NR_WEIGHTS ? weight_names[w] : "?";
}

/* Whole number in [lo, hi]; rejects trailing junk, signs where lo > 0, overflow. */
static bool parse_long(const char *s, long lo, long hi, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return false;
	*out = v;
	return true;
}

static int parse_pids(int *pids, int *nr, const char *flag, const char *arg)
{
	char *copy = at_xstrdup(arg), *save = NULL, *tok;
	int rc = -1;
	long v;

	for (tok = strtok_r(copy, ",", &save); tok && rc < 0; tok = strtok_r(NULL, ",", &save)) {
		if (!parse_long(tok, 1, INT_MAX, &v))
			rc = at_opts_bad("'%s' is not a process ID (a positive number)", tok);
		else if (*nr == AT_MAX_TARGETS)
			rc = at_opts_bad("too many PIDs for %s (at most 64)", flag);
		else
			pids[(*nr)++] = (int)v;
	}
	if (*nr == 0 && rc < 0)
		rc = at_opts_bad("'%s' names no process ID", arg);
	free(copy);
	return rc;
}

/* --per FUNC[,FUNC]: names as nm shows them, split in place (argv's strings are the
 * program's to change, and live as long as o). */
static int set_per(struct parse *p, const struct opt_def *d, const char *arg)
{
	char *save = NULL, *tok;
	struct at_opts *o = p->o;

	if (!*arg || strpbrk(arg, " \t"))
		return at_opts_bad(d->err, arg);
	for (tok = strtok_r((char *)arg, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (o->nr_per == AT_MAX_PER)
			return at_opts_bad("--per: at most 8 functions%s", "");
		o->per[o->nr_per++] = tok;
	}
	if (!o->nr_per)
		return at_opts_bad(d->err, arg);
	return -1;
}

#define FIELD(p, d, type) ((type *)((char *)(p)->o + (d)->field))

static int set_flag(struct parse *p, const struct opt_def *d, const char *arg)
{
	(void)arg;
	*FIELD(p, d, bool) = true;
	return -1;
}

static int set_batch(struct parse *p, const struct opt_def *d, const char *arg)
{
	(void)d, (void)arg;
	p->batch = true;
	return -1;
}

/* Whole numbers in [lo, hi], stored as the field's type; hi past what a long holds
 * (HUGE_VAL) means up to LONG_MAX. */
static bool in_range(const struct opt_def *d, const char *arg, long *v)
{
	return parse_long(arg, (long)d->lo, d->hi >= (double)LONG_MAX ? LONG_MAX : (long)d->hi, v);
}

static int set_whole(struct parse *p, const struct opt_def *d, const char *arg)
{
	long v;

	if (!in_range(d, arg, &v))
		return at_opts_bad(d->err, arg);
	if (d->size == sizeof(long))
		*FIELD(p, d, long) = v;
	else			/* int or __u32: the range keeps v in both */
		*FIELD(p, d, __u32) = (__u32)v;
	return -1;
}

/* Finite numbers in [lo, hi]. */
static int set_double(struct parse *p, const struct opt_def *d, const char *arg)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(arg, &end);
	if (errno || end == arg || *end || !isfinite(v) || v < d->lo || v > d->hi)
		return at_opts_bad(d->err, arg);
	*FIELD(p, d, double) = v;
	return -1;
}

/* --max-overhead: above 0 and below 100, both ends open. */
static int set_percent(struct parse *p, const struct opt_def *d, const char *arg)
{
	int rc = set_double(p, d, arg);

	if (rc < 0 && (p->o->max_overhead <= 0 || p->o->max_overhead >= 100))
		return at_opts_bad(d->err, arg);
	return rc;
}

/* One of names, stored as its index (an enum). */
static int set_choice(struct parse *p, const struct opt_def *d, const char *arg)
{
	for (int i = 0; i < d->nr_names; i++)
		if (d->names[i] && !strcmp(arg, d->names[i])) {
			*FIELD(p, d, int) = i;
			return -1;
		}
	return at_opts_bad(d->err, arg);
}

static int set_output(struct parse *p, const struct opt_def *d, const char *arg)
{
	p->out_given = true;
	return set_choice(p, d, arg);
}

static int set_unwind(struct parse *p, const struct opt_def *d, const char *arg)
{
	if (strcmp(arg, "cfi") && strcmp(arg, "fp"))
		return at_opts_bad(d->err, arg);
	p->o->unwind_fp = !strcmp(arg, "fp");
	return -1;
}

static int set_pids(struct parse *p, const struct opt_def *d, const char *arg)
{
	if (d->key == 'p')
		return parse_pids(p->o->pids, &p->o->nr_pids, "-p", arg);
	return parse_pids(p->o->exclude, &p->o->nr_exclude, "--exclude", arg);
}

static int set_comm(struct parse *p, const struct opt_def *d, const char *arg)
{
	if (!*arg || strlen(arg) > 15)
		return at_opts_bad(d->err, arg);
	p->o->comm = arg;
	return -1;
}

static int set_pprof_out(struct parse *p, const struct opt_def *d, const char *arg)
{
	if (!*arg || arg[strlen(arg) - 1] == '/')
		return at_opts_bad(d->err, arg);
	p->o->pprof_out = arg;
	return -1;
}

static int set_interval(struct parse *p, const struct opt_def *d, const char *arg)
{
	return p->interval_given = true, set_double(p, d, arg);
}

/* --listen ADDR:PORT: the address is resolved when the server starts. */
static int set_listen(struct parse *p, const struct opt_def *d, const char *arg)
{
	const char *colon = strrchr(arg, ':');
	long port;

	if (!colon || !parse_long(colon + 1, 1, 65535, &port))
		return at_opts_bad(d->err, arg);
	return p->o->listen = arg, -1;
}

static int set_url(struct parse *p, const struct opt_def *d, const char *arg)
{
	if (strncmp(arg, "http://", 7) || !arg[7] || arg[7] == '/')
		return at_opts_bad(d->err, arg);
	*FIELD(p, d, const char *) = arg;
	return -1;
}

static bool name_ok(const char *s, size_t n, const char *extra)
{
	if (!n || (s[0] >= '0' && s[0] <= '9'))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!(s[i] == '_' || (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || (extra && strchr(extra, s[i]))))
			return false;
	return true;
}

static int set_app(struct parse *p, const struct opt_def *d, const char *arg)
{
	if (!name_ok(arg, strlen(arg), ".-"))
		return at_opts_bad(d->err, arg);
	return p->o->app = arg, -1;
}

/* k=v[,k=v]: Prometheus label names; values without , { } = or quotes */
static int set_labels(struct parse *p, const struct opt_def *d, const char *arg)
{
	int n = 0;

	for (const char *s = arg; *s; n++) {
		size_t len = strcspn(s, ","), k = strcspn(s, "=");

		if (k >= len || !name_ok(s, k, NULL) || !strncmp(s, "__", 2) || k + 1 == len ||
		    strcspn(s + k + 1, "{}=\"\\") < len - k - 1 || n == AT_MAX_LABELS)
			return at_opts_bad(d->err, arg);
		s += len + (s[len] == ',');
	}
	if (!n)
		return at_opts_bad(d->err, arg);
	return p->o->labels = arg, -1;
}

static int set_file(struct parse *p, const struct opt_def *d, const char *arg)
{
	if (!*arg || arg[strlen(arg) - 1] == '/')
		return at_opts_bad(d->err, arg);
	if (!strcmp(d->name, "record"))
		p->o->record = arg;
	else
		p->o->replay = arg;
	return -1;
}

static int set_lib(struct parse *p, const struct opt_def *d, const char *arg)
{
	if (access(arg, R_OK))
		return at_opts_bad(d->err, arg);
	p->o->lib = arg;
	return -1;
}

static int show_help(struct parse *p, const struct opt_def *d, const char *arg);

static int show_version(struct parse *p, const struct opt_def *d, const char *arg)
{
	(void)p, (void)d, (void)arg;
	printf("alloctop %s\n", AT_VERSION);
	return AT_EXIT_OK;
}

static const char *const output_names[] = {
	[AT_OUT_TEXT] = "text", [AT_OUT_JSON] = "json", [AT_OUT_FOLDED] = "folded", [AT_OUT_PPROF] = "pprof",
};

enum { OPT_TOP = 256, OPT_LIB, OPT_MIN_AGE, OPT_MAX_OVERHEAD, OPT_COMM, OPT_EXCLUDE, OPT_FOLLOW, OPT_SORT,
       OPT_MAX_LIVE, OPT_MAX_STACKS, OPT_MAX_PROCS, OPT_VERSION, OPT_WEIGHT, OPT_PPROF_OUT, OPT_UNWIND,
       OPT_STACK_DEPTH, OPT_UNWIND_ROWS, OPT_BPF_STATS, OPT_GROWTH, OPT_GROWTH_CALLS, OPT_LISTEN, OPT_PUSH_PYRO,
       OPT_PUSH_PARCA, OPT_APP, OPT_LABELS, OPT_SITE_SERIES, OPT_AGENT, OPT_EXACT,
       OPT_KEEP, OPT_PER, OPT_RECORD, OPT_REPLAY };

#define F(x) .field = offsetof(struct at_opts, x), .size = sizeof(((struct at_opts *)0)->x)
#define MAX_ERR "--max-*: '%s' is not a number between 16 and 268435456"

static const struct opt_def opt_defs[] = {
	{ .name = "pid", .key = 'p', .arg = "PID[,PID]", .set = set_pids,
	  .help = "attach to running processes (repeatable); without -p and\n"
		  "without a command, trace every process (system-wide)" },
	{ .name = "follow", .key = OPT_FOLLOW, .set = set_flag, F(follow),
	  .help = "also trace the children the targets fork and what they exec" },
	{ .name = "keep", .key = OPT_KEEP, .set = set_flag, F(keep),
	  .help = "leave the command running when alloctop stops first (default:\n"
		  "it gets SIGTERM, then SIGKILL after 3 s)" },
	{ .name = "per", .key = OPT_PER, .arg = "FUNC[,FUNC]", .set = set_per,
	  .help = "allocations per call of these functions of the program or\n"
		  "its libraries (calls, allocations and bytes per call, live\n"
		  "bytes left); with -p or a command",
	  .err = "--per: '%s' is not a function name (give names as nm prints them, comma-separated)" },
	{ .name = "comm", .key = OPT_COMM, .arg = "NAME", .set = set_comm,
	  .help = "system-wide: only processes named NAME",
	  .err = "--comm: '%s' is not a process name (1 to 15 characters, as in /proc/PID/comm)" },
	{ .name = "exclude", .key = OPT_EXCLUDE, .arg = "PID[,PID]", .set = set_pids,
	  .help = "system-wide: never these processes" },
	{ .name = "batch", .key = 'b', .set = set_batch,
	  .help = "print a report each interval instead of the dashboard" },
	{ .name = "output", .key = 'o', .arg = "FMT", .set = set_output, F(output),
	  .names = output_names, .nr_names = AT_ARRAY_SIZE(output_names),
	  .help = "batch format: text (default), json (one document per line),\n"
		  "folded (flame-graph stacks, printed once, at the final report)\n"
		  "or pprof (the --pprof-out file only)",
	  .err = "-o: unknown output format '%s' (use text or json, or folded or pprof for profiles)" },
	{ .name = "interval", .key = 'd', .arg = "SECS", .set = set_interval, F(interval),
	  .lo = 0.01, .hi = 86400,
	  .help = "report interval, fractions allowed (default 1; 15 with --agent)",
	  .err = "-d: '%s' is not an interval between 0.01 and 86400 seconds" },
	{ .name = "count", .key = 'n', .arg = "N", .set = set_whole, F(count), .lo = 1, .hi = HUGE_VAL,
	  .help = "exit after N reports",
	  .err = "-n: '%s' is not a positive number of reports" },
	{ .name = "top", .key = OPT_TOP, .arg = "N", .set = set_whole, F(top), .lo = 1, .hi = 10000000,
	  .help = "hotspots per report (default 20)",
	  .err = "--top: '%s' is not a positive number" },
	{ .name = "sort", .key = OPT_SORT, .arg = "KEY", .set = set_choice, F(sort),
	  .names = sort_names, .nr_names = AT_NR_SORTS,
	  .help = "hotspot order: alloc-bytes (default), allocs, live-bytes,\n"
		  "live-allocs, old-bytes (leak suspects)",
	  .err = "--sort: unknown key '%s' (alloc-bytes, allocs, live-bytes, live-allocs, old-bytes)" },
	{ .name = "weight", .key = OPT_WEIGHT, .arg = "KEY", .set = set_choice, F(weight),
	  .names = weight_names, .nr_names = AT_NR_WEIGHTS,
	  .help = "folded stacks weigh live-bytes (default), alloc-bytes or allocs;\n"
		  "with --growth fault-bytes (its default)",
	  .err = "--weight: unknown weight '%s' (live-bytes, alloc-bytes, allocs, fault-bytes)" },
	{ .name = "growth", .key = OPT_GROWTH, .set = set_flag, F(growth),
	  .help = "memory growth by stack with no allocator probe: page faults\n"
		  "that make anonymous memory resident, brk and anonymous mmap,\n"
		  "RSS; costs per page fault, not per allocation" },
	{ .name = "growth-calls", .key = OPT_GROWTH_CALLS, .set = set_flag, F(growth_calls),
	  .help = "--growth, and brk and anonymous mmap calls by stack (syscall\n"
		  "tracepoints: every system call on the machine pays ~0.1 us)" },
	{ .name = "pprof-out", .key = OPT_PPROF_OUT, .arg = "FILE", .set = set_pprof_out,
	  .help = "write a gzipped pprof profile to FILE at each report (replaced\n"
		  "atomically), besides -o; alone it means -o pprof",
	  .err = "--pprof-out: '%s' is not a file name" },
	{ .name = "listen", .key = OPT_LISTEN, .arg = "ADDR:PORT", .set = set_listen,
	  .help = "serve /metrics (Prometheus, OpenMetrics) and /debug/pprof/heap\n"
		  "(gzipped pprof) over HTTP there, refreshed each interval",
	  .err = "--listen: '%s' is not ADDR:PORT (e.g. 127.0.0.1:9464, [::]:9464)" },
	{ .name = "push-pyroscope", .key = OPT_PUSH_PYRO, .arg = "URL", .set = set_url, F(push_pyroscope),
	  .help = "push the profile to Pyroscope (http://HOST:4040) each interval",
	  .err = "--push-pyroscope: '%s' is not an http:// URL (e.g. http://localhost:4040)" },
	{ .name = "push-parca", .key = OPT_PUSH_PARCA, .arg = "URL", .set = set_url, F(push_parca),
	  .help = "push the profile to Parca (http://HOST:7070) each interval",
	  .err = "--push-parca: '%s' is not an http:// URL (e.g. http://localhost:7070)" },
	{ .name = "app", .key = OPT_APP, .arg = "NAME", .set = set_app,
	  .help = "the pushed profiles' name (default alloctop)",
	  .err = "--app: '%s' is not a name (letters, digits, _ . -)" },
	{ .name = "labels", .key = OPT_LABELS, .arg = "K=V[,K=V]", .set = set_labels,
	  .help = "labels of the pushed profiles (e.g. env=prod,region=eu)",
	  .err = "--labels: '%s' is not K=V[,K=V] (label names of letters, digits, _; at most 16)" },
	{ .name = "site-series", .key = OPT_SITE_SERIES, .arg = "N", .set = set_whole, F(site_series),
	  .lo = 1, .hi = 10000,
	  .help = "(caller, module) pairs with their own /metrics series\n(default 20; the rest is \"other\")",
	  .err = "--site-series: '%s' is not a number between 1 and 10000" },
	{ .name = "agent", .key = OPT_AGENT, .set = set_flag, F(agent),
	  .help = "no report: --listen and pushes, one log line per event (stderr)" },
	{ .name = "record", .key = OPT_RECORD, .arg = "FILE", .set = set_file,
	  .help = "also write the run to FILE: each report as a JSON document with\n"
		  "every site, gzipped (for --replay and alloctop diff)",
	  .err = "--record: '%s' is not a file name" },
	{ .name = "replay", .key = OPT_REPLAY, .arg = "FILE", .set = set_file,
	  .help = "show a recording instead of tracing: its reports as -o text\n"
		  "(default) or json; -n N stops after N",
	  .err = "--replay: '%s' is not a file name" },
	{ .name = "lib", .key = OPT_LIB, .arg = "PATH", .set = set_lib,
	  .help = "probe this allocator file instead of the one the target uses",
	  .err = "--lib: cannot read '%s' (give the path of an allocator library)" },
	{ .name = "min-age", .key = OPT_MIN_AGE, .arg = "SECS", .set = set_double, F(min_age),
	  .lo = 0, .hi = 1e7,
	  .help = "live blocks older than this are leak suspects (default 60)",
	  .err = "--min-age: '%s' is not a number of seconds (0 or more)" },
	{ .name = "max-overhead", .key = OPT_MAX_OVERHEAD, .arg = "PCT", .set = set_percent,
	  F(max_overhead), .lo = 0, .hi = 100,
	  .help = "keep the targets' slowdown under PCT% by attaching every probe\n"
		  "only in short windows; counts become scaled estimates (a\n"
		  "census runs under --max-overhead 1 unless --exact is given)",
	  .err = "--max-overhead: '%s' is not a percentage above 0 and below 100" },
	{ .name = "exact", .key = OPT_EXACT, .set = set_flag, F(exact),
	  .help = "probe every call (exact counts): a census's default is\n"
		  "--max-overhead 1; -p and a command are exact already" },
	{ .name = "max-live", .key = OPT_MAX_LIVE, .arg = "N", .set = set_whole, F(max_live),
	  .lo = 16, .hi = 1L << 28, .err = MAX_ERR,
	  .help = "slots for live blocks in the kernel (default 2097152); a\n"
		  "table, sized to the targets, grows up to N" },
	{ .name = "max-stacks", .key = OPT_MAX_STACKS, .arg = "N", .set = set_whole, F(max_stacks),
	  .lo = 16, .hi = 1L << 28, .err = MAX_ERR,
	  .help = "distinct stacks and sites kept, a cap (default: 32768\n"
		  "preallocated, up to 4x 32768 more as they come, 4x 131072\n"
		  "for a census, --follow or large targets)" },
	{ .name = "max-procs", .key = OPT_MAX_PROCS, .arg = "N", .set = set_whole, F(max_procs),
	  .lo = 16, .hi = 1L << 28, .err = MAX_ERR,
	  .help = "processes tracked (default 1024)" },
	{ .name = "unwind", .key = OPT_UNWIND, .arg = "MODE", .set = set_unwind,
	  .help = "stacks from cfi (.eh_frame tables, frame pointers where a\n"
		  "module has none; default) or fp (frame pointers only)",
	  .err = "--unwind: unknown mode '%s' (cfi or fp)" },
	{ .name = "stack-depth", .key = OPT_STACK_DEPTH, .arg = "N", .set = set_whole, F(stack_depth),
	  .lo = 1, .hi = AT_MAX_FRAMES,
	  .help = "frames kept per stack, 1 to 64 (default 64); deeper stacks are\n"
		  "cut and counted as truncated",
	  .err = "--stack-depth: '%s' is not a number between 1 and 64" },
	{ .name = "unwind-rows", .key = OPT_UNWIND_ROWS, .arg = "N", .set = set_whole, F(unwind_rows),
	  .lo = 1024, .hi = 1L << 26,
	  .help = "capacity of the unwind tables, rows (default 2097152, 8 bytes each)",
	  .err = "--unwind-rows: '%s' is not a number between 1024 and 67108864" },
	{ .name = "bpf-stats", .key = OPT_BPF_STATS, .set = set_flag, F(bpf_stats),
	  .help = "time alloctop's BPF programs (kernel BPF statistics, for the\n"
		  "dashboard's cost line and bpftool); slows every probe hit" },
	{ .name = "verbose", .key = 'v', .set = set_flag, F(verbose), .help = "say what is probed where" },
	{ .name = "help", .key = 'h', .set = show_help, .help = "this help" },
	{ .name = "version", .key = OPT_VERSION, .set = show_version, .help = "print the version" },
};

static const char usage_head[] =
"Usage: alloctop [OPTIONS] [-p PID[,PID...]]\n"
"       alloctop [OPTIONS] -- CMD [ARGS...]\n"
"       alloctop --replay FILE [-o text|json]\n"
"       alloctop diff [-o text|json] [--top N] A B   (alloctop diff --help)\n"
"Trace allocations (malloc family, free, application mmap/munmap) of running\n"
"processes or of a command alloctop starts, with exact counts, stacks and histograms.\n"
"\n";
static const char usage_tail[] =
"\n"
"Exit status: 0 success (also after SIGINT/SIGTERM), 1 runtime failure, 2 usage error;\n"
"a launched command's own status is named on stderr, not passed on.\n";

#define HELP_COL 24	/* where the help text starts */

static int show_help(struct parse *p, const struct opt_def *d, const char *arg)
{
	(void)p, (void)d, (void)arg;
	fputs(usage_head, stdout);
	for (size_t i = 0; i < AT_ARRAY_SIZE(opt_defs); i++) {
		const struct opt_def *o = &opt_defs[i];
		const char *h = o->help;
		int n;

		if (o->key < 256)
			n = printf("  -%c, --%s", o->key, o->name);
		else
			n = printf("      --%s", o->name);
		if (o->arg)
			n += printf(" %s", o->arg);
		/* the text from HELP_COL, at least two spaces after the option; one when it runs past */
		printf("%*s", n > HELP_COL ? 1 : HELP_COL - n < 2 ? 2 : HELP_COL - n, "");
		for (const char *nl; (nl = strchr(h, '\n')); h = nl + 1)
			printf("%.*s\n%*s", (int)(nl - h), h, HELP_COL, "");
		printf("%s\n", h);
	}
	fputs(usage_tail, stdout);
	return AT_EXIT_OK;
}

/* getopt's view of the table. */
static void getopt_table(struct option *longopts, char *shortopts)
{
	size_t k = 0;

	shortopts[k++] = '+';
	shortopts[k++] = ':';
	for (size_t i = 0; i < AT_ARRAY_SIZE(opt_defs); i++) {
		const struct opt_def *d = &opt_defs[i];

		longopts[i] = (struct option){ d->name, d->arg ? required_argument : no_argument, 0, d->key };
		if (d->key < 256) {
			shortopts[k++] = (char)d->key;
			if (d->arg)
				shortopts[k++] = ':';
		}
	}
	longopts[AT_ARRAY_SIZE(opt_defs)] = (struct option){ 0 };
	shortopts[k] = 0;
}

/* --growth probes no allocator: what only allocator probes measure makes no sense with
 * it. Its folded stacks weigh fault bytes unless told otherwise (live bytes are the same
 * numbers there). */
int at_opts_parse(struct at_opts *o, int argc, char **argv)
{
	struct option longopts[AT_ARRAY_SIZE(opt_defs) + 1];
	char shortopts[2 + 2 * AT_ARRAY_SIZE(opt_defs) + 1];
	struct parse p = { .o = o };
	int c, rc;

	memset(o, 0, sizeof(*o));
	o->interval = 1.0;
	o->min_age = 60;
	o->top = 20;
	o->max_live = 1 << 21;	/* slots: the table refuses blocks from ~70% full */
	o->max_stacks = 0;	/* sized to the targets (app/sizing.h) */
	o->max_procs = 1024;
	o->stack_depth = AT_MAX_FRAMES;
	o->unwind_rows = 1 << 21;
	o->output = AT_OUT_TEXT;
	o->app = "alloctop";
	o->site_series = 20;

	getopt_table(longopts, shortopts);
	opterr = 0;
	while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		const struct opt_def *d = NULL;

		for (size_t i = 0; i < AT_ARRAY_SIZE(opt_defs) && !d; i++)
			if (opt_defs[i].key == c)
				d = &opt_defs[i];
		if (c == ':')
			return at_opts_bad("option '%s' needs a value", argv[optind - 1]);
		if (!d)
			return at_opts_bad("unknown option '%s'", argv[optind - 1]);
		if ((rc = d->set(&p, d, optarg)) >= 0)
			return rc;
	}
	if (optind < argc) {
		if (strcmp(argv[optind - 1], "--"))
			return at_opts_bad("unexpected argument '%s' (a command to run goes after --)", argv[optind]);
		o->cmd = &argv[optind];
	}
	return at_opts_check_combined(&p);
}
