#include "lib/opts.h"
#include "alloctop.h"
#include "lib/util.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef AT_VERSION
#define AT_VERSION "0.1.0"
#endif

static const char usage[] =
"Usage: alloctop [OPTIONS] [-p PID[,PID...]]\n"
"       alloctop [OPTIONS] -- CMD [ARGS...]\n"
"Trace allocations (malloc family, free, application mmap/munmap) of running\n"
"processes or of a command alloctop starts, with exact counts, stacks and histograms.\n"
"\n"
"  -p, --pid PID[,PID]   attach to running processes (repeatable); without -p and\n"
"                        without a command, trace every process (system-wide)\n"
"      --follow          also trace the children the targets fork and what they exec\n"
"      --comm NAME       system-wide: only processes named NAME\n"
"      --exclude PID[,PID] system-wide: never these processes\n"
"  -b, --batch           print a report each interval instead of the dashboard\n"
"  -o, --output FMT      batch format: text (default), json (one document per line),\n"
"                        folded (flame-graph stacks, printed once, at the final report)\n"
"                        or pprof (the --pprof-out file only)\n"
"  -d, --interval SECS   report interval, fractions allowed (default 1)\n"
"  -n, --count N         exit after N reports\n"
"      --top N           hotspots per report (default 20)\n"
"      --sort KEY        hotspot order: alloc-bytes (default), allocs, live-bytes,\n"
"                        live-allocs, old-bytes (leak suspects)\n"
"      --weight KEY      folded stacks weigh live-bytes (default), alloc-bytes or allocs\n"
"      --pprof-out FILE  write a gzipped pprof profile to FILE at each report (replaced\n"
"                        atomically), besides -o; alone it means -o pprof\n"
"      --lib PATH        probe this allocator file instead of the one the target uses\n"
"      --min-age SECS    live blocks older than this are leak suspects (default 60)\n"
"      --max-overhead PCT  keep the targets' slowdown under PCT% by probing allocations\n"
"                        only part of the time; counts become scaled estimates\n"
"      --max-live N      slots for live blocks in the kernel (default 2097152); a\n"
"                        table fuller than about 70% starts refusing some blocks\n"
"      --max-stacks N    distinct stacks and sites kept (default 131072)\n"
"      --max-procs N     processes tracked (default 1024)\n"
"      --unwind MODE     stacks from cfi (.eh_frame tables, frame pointers where a\n"
"                        module has none; default) or fp (frame pointers only)\n"
"      --stack-depth N   frames kept per stack, 1 to 64 (default 64); deeper stacks are\n"
"                        cut and counted as truncated\n"
"      --unwind-rows N   capacity of the unwind tables, rows (default 2097152, 8 bytes each)\n"
"      --bpf-stats       time alloctop's BPF programs (kernel BPF statistics, for the\n"
"                        dashboard's cost line and bpftool); slows every probe hit\n"
"  -v, --verbose         say what is probed where\n"
"  -h, --help            this help\n"
"      --version         print the version\n"
"\n"
"Exit status: 0 success (also after SIGINT/SIGTERM), 1 runtime failure, 2 usage error.\n";

enum { OPT_TOP = 256, OPT_LIB, OPT_MIN_AGE, OPT_MAX_OVERHEAD, OPT_COMM, OPT_EXCLUDE, OPT_FOLLOW, OPT_SORT, OPT_MAX_LIVE, OPT_MAX_STACKS, OPT_MAX_PROCS, OPT_VERSION,
       OPT_WEIGHT, OPT_PPROF_OUT, OPT_UNWIND, OPT_STACK_DEPTH, OPT_UNWIND_ROWS, OPT_BPF_STATS };

static const struct option longopts[] = {
	{ "pid", required_argument, 0, 'p' },
	{ "batch", no_argument, 0, 'b' },
	{ "output", required_argument, 0, 'o' },
	{ "interval", required_argument, 0, 'd' },
	{ "count", required_argument, 0, 'n' },
	{ "top", required_argument, 0, OPT_TOP },
	{ "sort", required_argument, 0, OPT_SORT },
	{ "weight", required_argument, 0, OPT_WEIGHT },
	{ "pprof-out", required_argument, 0, OPT_PPROF_OUT },
	{ "lib", required_argument, 0, OPT_LIB },
	{ "min-age", required_argument, 0, OPT_MIN_AGE },
	{ "max-overhead", required_argument, 0, OPT_MAX_OVERHEAD },
	{ "comm", required_argument, 0, OPT_COMM },
	{ "exclude", required_argument, 0, OPT_EXCLUDE },
	{ "follow", no_argument, 0, OPT_FOLLOW },
	{ "max-live", required_argument, 0, OPT_MAX_LIVE },
	{ "max-stacks", required_argument, 0, OPT_MAX_STACKS },
	{ "max-procs", required_argument, 0, OPT_MAX_PROCS },
	{ "unwind", required_argument, 0, OPT_UNWIND },
	{ "stack-depth", required_argument, 0, OPT_STACK_DEPTH },
	{ "unwind-rows", required_argument, 0, OPT_UNWIND_ROWS },
	{ "bpf-stats", no_argument, 0, OPT_BPF_STATS },
	{ "verbose", no_argument, 0, 'v' },
	{ "help", no_argument, 0, 'h' },
	{ "version", no_argument, 0, OPT_VERSION },
	{ 0 },
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
};

const char *at_weight_name(enum at_weight w)
{
	return w < AT_NR_WEIGHTS ? weight_names[w] : "?";
}

static int bad(const char *fmt, const char *arg)
{
	fprintf(stderr, "alloctop: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "; see 'alloctop --help'\n");
	return AT_EXIT_USAGE;
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
			rc = bad("'%s' is not a process ID (a positive number)", tok);
		else if (*nr == AT_MAX_TARGETS)
			rc = bad("too many PIDs for %s (at most 64)", flag);
		else
			pids[(*nr)++] = (int)v;
	}
	if (*nr == 0 && rc < 0)
		rc = bad("'%s' names no process ID", arg);
	free(copy);
	return rc;
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
		rc = bad("--pprof-out: cannot write into the directory of '%s'", path);
	free(dir);
	return rc;
}

int at_opts_parse(struct at_opts *o, int argc, char **argv)
{
	bool out_given = false, batch = false;
	double d;
	char *end;
	long v;
	int c, rc;

	memset(o, 0, sizeof(*o));
	o->interval = 1.0;
	o->min_age = 60;
	o->top = 20;
	o->max_live = 1 << 21;	/* slots: the table refuses blocks from ~70% full */
	o->max_stacks = 1 << 17;
	o->max_procs = 1024;
	o->stack_depth = AT_MAX_FRAMES;
	o->unwind_rows = 1 << 21;
	o->output = AT_OUT_TEXT;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:p:bo:d:n:vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if ((rc = parse_pids(o->pids, &o->nr_pids, "-p", optarg)) >= 0)
				return rc;
			break;
		case OPT_EXCLUDE:
			if ((rc = parse_pids(o->exclude, &o->nr_exclude, "--exclude", optarg)) >= 0)
				return rc;
			break;
		case OPT_COMM:
			if (!*optarg || strlen(optarg) > 15)
				return bad("--comm: '%s' is not a process name (1 to 15 characters, as in /proc/PID/comm)",
					   optarg);
			o->comm = optarg;
			break;
		case OPT_FOLLOW:
			o->follow = true;
			break;
		case 'b':
			batch = true;
			break;
		case 'o':
			if (!strcmp(optarg, "text"))
				o->output = AT_OUT_TEXT;
			else if (!strcmp(optarg, "json"))
				o->output = AT_OUT_JSON;
			else if (!strcmp(optarg, "folded"))
				o->output = AT_OUT_FOLDED;
			else if (!strcmp(optarg, "pprof"))
				o->output = AT_OUT_PPROF;
			else
				return bad("-o: unknown output format '%s' (use text or json, or folded or pprof for "
					   "profiles)", optarg);
			out_given = true;
			break;
		case 'd':
			errno = 0;
			d = strtod(optarg, &end);
			if (errno || end == optarg || *end || !isfinite(d) || d < 0.01 || d > 86400)
				return bad("-d: '%s' is not an interval between 0.01 and 86400 seconds", optarg);
			o->interval = d;
			break;
		case OPT_MAX_OVERHEAD:
			errno = 0;
			d = strtod(optarg, &end);
			if (errno || end == optarg || *end || !isfinite(d) || d <= 0 || d >= 100)
				return bad("--max-overhead: '%s' is not a percentage above 0 and below 100", optarg);
			o->max_overhead = d;
			break;
		case OPT_MIN_AGE:
			errno = 0;
			d = strtod(optarg, &end);
			if (errno || end == optarg || *end || !isfinite(d) || d < 0 || d > 1e7)
				return bad("--min-age: '%s' is not a number of seconds (0 or more)", optarg);
			o->min_age = d;
			break;
		case 'n':
			if (!parse_long(optarg, 1, LONG_MAX, &v))
				return bad("-n: '%s' is not a positive number of reports", optarg);
			o->count = v;
			break;
		case OPT_TOP:
			if (!parse_long(optarg, 1, 10000000, &v))
				return bad("--top: '%s' is not a positive number", optarg);
			o->top = (int)v;
			break;
		case OPT_SORT:
			for (v = 0; v < AT_NR_SORTS && strcmp(optarg, sort_names[v]); v++)
				;
			if (v == AT_NR_SORTS)
				return bad("--sort: unknown key '%s' (alloc-bytes, allocs, live-bytes, live-allocs, "
					   "old-bytes)", optarg);
			o->sort = (enum at_sort)v;
			break;
		case OPT_WEIGHT:
			for (v = 0; v < AT_NR_WEIGHTS && strcmp(optarg, weight_names[v]); v++)
				;
			if (v == AT_NR_WEIGHTS)
				return bad("--weight: unknown weight '%s' (live-bytes, alloc-bytes, allocs)", optarg);
			o->weight = (enum at_weight)v;
			break;
		case OPT_PPROF_OUT:
			if (!*optarg || optarg[strlen(optarg) - 1] == '/')
				return bad("--pprof-out: '%s' is not a file name", optarg);
			o->pprof_out = optarg;
			break;
		case OPT_LIB:
			if (access(optarg, R_OK))
				return bad("--lib: cannot read '%s' (give the path of an allocator library)", optarg);
			o->lib = optarg;
			break;
		case OPT_MAX_LIVE:
		case OPT_MAX_STACKS:
		case OPT_MAX_PROCS:
			if (!parse_long(optarg, 16, 1L << 28, &v))
				return bad("--max-*: '%s' is not a number between 16 and 268435456", optarg);
			*(c == OPT_MAX_LIVE ? &o->max_live : c == OPT_MAX_STACKS ? &o->max_stacks : &o->max_procs) = v;
			break;
		case OPT_UNWIND:
			if (strcmp(optarg, "cfi") && strcmp(optarg, "fp"))
				return bad("--unwind: unknown mode '%s' (cfi or fp)", optarg);
			o->unwind_fp = !strcmp(optarg, "fp");
			break;
		case OPT_STACK_DEPTH:
			if (!parse_long(optarg, 1, AT_MAX_FRAMES, &v))
				return bad("--stack-depth: '%s' is not a number between 1 and 64", optarg);
			o->stack_depth = (__u32)v;
			break;
		case OPT_UNWIND_ROWS:
			if (!parse_long(optarg, 1024, 1L << 26, &v))
				return bad("--unwind-rows: '%s' is not a number between 1024 and 67108864", optarg);
			o->unwind_rows = (__u32)v;
			break;
		case 'v':
			o->verbose = true;
			break;
		case OPT_BPF_STATS:
			o->bpf_stats = true;
			break;
		case 'h':
			fputs(usage, stdout);
			return AT_EXIT_OK;
		case OPT_VERSION:
			printf("alloctop %s\n", AT_VERSION);
			return AT_EXIT_OK;
		case ':':
			return bad("option '%s' needs a value", argv[optind - 1]);
		default:
			return bad("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc) {
		if (strcmp(argv[optind - 1], "--"))
			return bad("unexpected argument '%s' (a command to run goes after --)", argv[optind]);
		o->cmd = &argv[optind];
	}
	if (o->cmd && o->nr_pids)
		return bad("-p and a command (-- CMD) cannot be combined%s", "");
	if ((o->comm || o->nr_exclude) && (o->cmd || o->nr_pids))
		return bad("--comm and --exclude filter the system-wide census: drop -p and the command%s", "");
	if (o->max_overhead && (o->follow || (!o->cmd && !o->nr_pids)))
		return bad("--max-overhead works with -p or a command, not with --follow or the census%s", "");
	if (o->follow && !o->cmd && !o->nr_pids)
		return bad("--follow needs targets: give -p PID or -- CMD%s", "");
	if (o->pprof_out && !out_given) {
		o->output = AT_OUT_PPROF;
		out_given = true;
	}
	if (o->output == AT_OUT_PPROF && !o->pprof_out)
		return bad("-o pprof: give the file to write with --pprof-out FILE%s", "");
	if (o->pprof_out && (rc = check_out_dir(o->pprof_out)) >= 0)
		return rc;
	/* The dashboard needs a terminal; -b, -o or a pipe mean batch. */
	if (!batch && !out_given && isatty(STDOUT_FILENO))
		o->output = AT_OUT_TUI;
	return -1;
}
