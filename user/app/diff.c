#include "app/diff.h"
#include "model/run.h"
#include "report/report_diff.h"
#include "lib/util.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char diff_usage[] =
"Usage: alloctop diff [-o text|json] [--top N] A B\n"
"Compares two runs per allocation site (sites matched by their frames' function\n"
"names): the change in allocations, bytes and live bytes from A to B, largest first.\n"
"A and B: recordings (--record), -o json output (its last report) or pprof profiles.\n"
"  -o FMT     text (default) or json\n"
"  --top N    sites shown (default 20, 0 = every site that changed)\n";

static int usage_error(const char *msg, const char *arg)
{
	fprintf(stderr, "alloctop: diff: ");
	fprintf(stderr, msg, arg);
	fprintf(stderr, "; see 'alloctop diff --help'\n");
	return AT_EXIT_USAGE;
}

int at_diff_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "output", required_argument, 0, 'o' }, { "top", required_argument, 0, 't' },
		{ "help", no_argument, 0, 'h' }, { 0 },
	};
	struct at_run a, b;
	bool json = false;
	long top = 20;
	char *end;
	int c, rc;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+o:h", longopts, NULL)) != -1) {
		if (c == 'h') {
			fputs(diff_usage, stdout);
			return AT_EXIT_OK;
		} else if (c == 'o' && (!strcmp(optarg, "json") || !strcmp(optarg, "text"))) {
			json = !strcmp(optarg, "json");
		} else if (c == 'o') {
			return usage_error("-o: unknown format '%s' (text or json)", optarg);
		} else if (c == 't') {
			top = strtol(optarg, &end, 10);
			if (*end || end == optarg || top < 0)
				return usage_error("--top: '%s' is not a number (0 or more)", optarg);
		} else {
			return usage_error("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (argc - optind != 2)
		return usage_error("give two runs to compare, A and B%s", "");
	if (at_run_load(argv[optind], &a))
		return AT_EXIT_FAIL;
	if (at_run_load(argv[optind + 1], &b)) {
		at_run_free(&a);
		return AT_EXIT_FAIL;
	}
	rc = at_report_diff(stdout, &a, &b, json, (size_t)top) ? AT_EXIT_FAIL : AT_EXIT_OK;
	at_run_free(&a);
	at_run_free(&b);
	return rc;
}
