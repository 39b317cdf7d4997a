/* Command-line validation and JSON string safety. */
#include "unit.h"
#include "lib/opts.h"
#include "report/report.h"
#include "lib/util.h"
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

/* Parses a NULL-terminated list of arguments; stderr is silenced. */
static int parse(struct at_opts *o, ...)
{
	static char *argv[32];	/* static: o->cmd points into it after parse() returns */
	int argc = 1, rc, saved = dup(2), null = open("/dev/null", 1);
	va_list ap;

	argv[0] = "alloctop";
	va_start(ap, o);
	while ((argv[argc] = va_arg(ap, char *)))
		argc++;
	va_end(ap);
	optind = 0;	/* glibc: full getopt reset */
	dup2(null, 2);
	rc = at_opts_parse(o, argc, argv);
	dup2(saved, 2);
	close(saved);
	close(null);
	return rc;
}

static void test_valid(void)
{
	struct at_opts o;

	CHECK(parse(&o, "-p", "12,34", "-p", "56", "-b", "-d", "0.5", "-n", "3", "-o", "json", "--top", "7", NULL) == -1);
	CHECK_EQ_U(o.nr_pids, 3);
	CHECK_EQ_U(o.pids[2], 56);
	CHECK(o.interval == 0.5);
	CHECK_EQ_U(o.count, 3);
	CHECK_EQ_U(o.top, 7);
	CHECK(o.output == AT_OUT_JSON);
	CHECK(parse(&o, "-b", "--", "ls", "-l", NULL) == -1);
	CHECK(o.cmd && !strcmp(o.cmd[0], "ls") && !strcmp(o.cmd[1], "-l"));
	CHECK(parse(&o, "-b", "-p", "1", "--sort", "live-bytes", NULL) == -1);
	CHECK(o.sort == AT_SORT_LIVE_BYTES);
	CHECK(parse(&o, "-b", NULL) == -1);	/* no target: system-wide */
	CHECK(o.nr_pids == 0 && !o.cmd);
	CHECK(o.max_overhead == 1 && o.overhead_default);	/* a census estimates by default */
	CHECK(parse(&o, "-b", "--exact", NULL) == -1);
	CHECK(o.max_overhead == 0 && !o.overhead_default);
	CHECK(parse(&o, "-b", "--max-overhead", "5", NULL) == -1);
	CHECK(o.max_overhead == 5 && !o.overhead_default);
	CHECK(parse(&o, "-b", "--growth", NULL) == -1);	/* no uprobe: nothing to bound */
	CHECK(o.max_overhead == 0);
	CHECK(parse(&o, "-b", "-p", "3", NULL) == -1);	/* -p stays exact */
	CHECK(o.max_overhead == 0 && !o.overhead_default);
	CHECK(parse(&o, "-b", "--comm", "nginx", "--exclude", "5,6", NULL) == -1);
	CHECK_STR(o.comm, "nginx");
	CHECK_EQ_U(o.nr_exclude, 2);
	CHECK(parse(&o, "-b", "-p", "3", "--max-overhead", "2.5", NULL) == -1);
	CHECK(o.max_overhead == 2.5);
	CHECK(parse(&o, "-b", "--follow", "--", "make", NULL) == -1);
	CHECK(o.follow && o.cmd);
}

static void test_invalid_are_usage_errors(void)
{
	struct at_opts o;

	CHECK_EQ_U(parse(&o, "-p", "1", "-d", "0", NULL), AT_EXIT_USAGE);
	CHECK_EQ_U(parse(&o, "-p", "1", "-d", "-1", NULL), AT_EXIT_USAGE);
	CHECK_EQ_U(parse(&o, "-p", "1", "-d", "nan", NULL), AT_EXIT_USAGE);
	CHECK_EQ_U(parse(&o, "-p", "1", "-d", "1e999", NULL), AT_EXIT_USAGE);
	CHECK_EQ_U(parse(&o, "-p", "1", "-d", "1s", NULL), AT_EXIT_USAGE);
	CHECK_EQ_U(parse(&o, "-p", "1", "-n", "0", NULL), AT_EXIT_USAGE);
	CHECK_EQ_U(parse(&o, "-p", "1", "-n", "-2", NULL), AT_EXIT_USAGE);
	CHECK_EQ_U(parse(&o, "-p", "1", "-o", "xml", NULL), AT_EXIT_USAGE);
	CHECK_EQ_U(parse(&o, "-p", "abc", NULL), AT_EXIT_USAGE);
	CHECK_EQ_U(parse(&o, "-p", "0", NULL), AT_EXIT_USAGE);
	CHECK_EQ_U(parse(&o, "-p", "1", "--", "ls", NULL), AT_EXIT_USAGE);
	CHECK_EQ_U(parse(&o, "--bogus", NULL), AT_EXIT_USAGE);
	CHECK_EQ_U(parse(&o, "-p", NULL), AT_EXIT_USAGE);
	CHECK_EQ_U(parse(&o, "--follow", NULL), AT_EXIT_USAGE);
	CHECK_EQ_U(parse(&o, "-p", "1", "--max-overhead", "0", NULL), AT_EXIT_USAGE);
	CHECK_EQ_U(parse(&o, "-p", "1", "--max-overhead", "100", NULL), AT_EXIT_USAGE);
	CHECK_EQ_U(parse(&o, "--max-overhead", "5", "--exact", NULL), AT_EXIT_USAGE);
	CHECK_EQ_U(parse(&o, "--max-overhead", "5", "--follow", "-p", "1", NULL), AT_EXIT_USAGE);
	CHECK_EQ_U(parse(&o, "-p", "1", "--min-age", "-1", NULL), AT_EXIT_USAGE);
	CHECK_EQ_U(parse(&o, "-p", "1", "--comm", "bash", NULL), AT_EXIT_USAGE);
	CHECK_EQ_U(parse(&o, "--comm", "a-name-longer-than-15", NULL), AT_EXIT_USAGE);
	CHECK_EQ_U(parse(&o, "--exclude", "x", NULL), AT_EXIT_USAGE);
	CHECK_EQ_U(parse(&o, "-p", "1", "--lib", "/nonexistent/libc.so", NULL), AT_EXIT_USAGE);
	CHECK_EQ_U(parse(&o, "-p", "1", "stray", NULL), AT_EXIT_USAGE);
}

static void test_too_many_pids(void)
{
	struct at_opts o;
	char list[1024] = "1";

	for (int i = 2; i <= AT_MAX_TARGETS + 1; i++)
		snprintf(list + strlen(list), sizeof(list) - strlen(list), ",%d", i);
	CHECK_EQ_U(parse(&o, "-p", list, NULL), AT_EXIT_USAGE);
}

static void test_utf8_clean(void)
{
	char buf[64];

	CHECK_STR(at_utf8_clean("plain_name", buf, sizeof(buf)), "plain_name");
	CHECK_STR(at_utf8_clean("caf\xc3\xa9", buf, sizeof(buf)), "caf\xc3\xa9");
	CHECK_STR(at_utf8_clean("bad\xff" "x", buf, sizeof(buf)), "bad\xef\xbf\xbd" "x");
	CHECK_STR(at_utf8_clean("\xc0\xaf", buf, sizeof(buf)), "\xef\xbf\xbd\xef\xbf\xbd");	/* overlong */
	CHECK_STR(at_utf8_clean("\xed\xa0\x80", buf, sizeof(buf)), "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"); /* surrogate */
	CHECK_STR(at_utf8_clean("trunc\xe2\x82", buf, sizeof(buf)), "trunc\xef\xbf\xbd\xef\xbf\xbd");
}

/* --listen, pushes, --agent: accepted values, defaults, what --agent implies. */
static void test_export_opts(void)
{
	struct at_opts o;

	CHECK(parse(&o, "-p", "1", "--listen", "127.0.0.1:9464", "--push-parca", "http://p:7070", "--app", "shop.v2",
		    "--labels", "env=prod,dc=eu_1", "--site-series", "5", NULL) == -1);
	CHECK(!strcmp(o.listen, "127.0.0.1:9464") && !strcmp(o.push_parca, "http://p:7070") && !o.push_pyroscope);
	CHECK(!strcmp(o.app, "shop.v2") && !strcmp(o.labels, "env=prod,dc=eu_1"));
	CHECK_EQ_U(o.site_series, 5);
	CHECK(!o.agent);
	CHECK(parse(&o, "-p", "1", NULL) == -1);
	CHECK(!strcmp(o.app, "alloctop") && !o.listen && !o.labels);
	CHECK_EQ_U(o.site_series, 20);
	CHECK(parse(&o, "--agent", "--listen", "[::1]:9464", NULL) == -1);
	CHECK(o.agent && o.output == AT_OUT_NONE && o.interval == 15);
	CHECK(parse(&o, "--agent", "--push-pyroscope", "http://py:4040", "-d", "2", NULL) == -1);
	CHECK(o.output == AT_OUT_NONE && o.interval == 2);
	CHECK(parse(&o, "--agent", NULL) == AT_EXIT_USAGE);
	CHECK(parse(&o, "--agent", "--listen", "h:1", "-b", NULL) == AT_EXIT_USAGE);
	CHECK(parse(&o, "--listen", "h:0", NULL) == AT_EXIT_USAGE);
	CHECK(parse(&o, "--listen", "h", NULL) == AT_EXIT_USAGE);
	CHECK(parse(&o, "--push-parca", "http://", NULL) == AT_EXIT_USAGE);
	CHECK(parse(&o, "--labels", "a=b,", NULL) == -1);
	CHECK(parse(&o, "--labels", "a=", NULL) == AT_EXIT_USAGE);
	CHECK(parse(&o, "--labels", "1a=b", NULL) == AT_EXIT_USAGE);
	CHECK(parse(&o, "--labels", "a=b{", NULL) == AT_EXIT_USAGE);
	CHECK(parse(&o, "--labels", "a=\"x", NULL) == AT_EXIT_USAGE);
	CHECK(parse(&o, "--app", "", NULL) == AT_EXIT_USAGE);
	CHECK(parse(&o, "--site-series", "0", NULL) == AT_EXIT_USAGE);
}

int main(void)
{
	RUN(test_valid);
	RUN(test_invalid_are_usage_errors);
	RUN(test_too_many_pids);
	RUN(test_utf8_clean);
	RUN(test_export_opts);
	return UNIT_DONE();
}
