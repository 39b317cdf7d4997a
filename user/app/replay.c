#include "app/replay.h"
#include "model/run.h"
#include "report/report_replay.h"
#include "lib/util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* The next line of f (without its newline) in *buf; false at the end. */
static bool next_line(gzFile f, char **buf, size_t *cap)
{
	size_t n = 0;

	for (;;) {
		if (*cap - n < 2) {
			*cap = *cap ? 2 * *cap : 1 << 16;
			*buf = at_xrealloc(*buf, *cap, 1);
		}
		if (!gzgets(f, *buf + n, (int)(*cap - n)))
			return n > 0;
		n += strlen(*buf + n);
		if (n && (*buf)[n - 1] == '\n') {
			(*buf)[n - 1] = 0;
			return true;
		}
	}
}

static int show(const struct at_opts *o, const char *line, long nr)
{
	struct at_run r;
	char label[64];
	int rc;

	if (o->output == AT_OUT_JSON)
		return printf("%s\n", line) < 0 || fflush(stdout) ? -1 : 0;
	snprintf(label, sizeof(label), "report %ld", nr);
	if (at_run_parse_doc(&r, line, label)) {
		at_err("--replay: %s of '%s' is not an alloctop report (a file written by --record?)", label, o->replay);
		return -1;
	}
	rc = at_report_replay_text(stdout, &r, (size_t)o->top);
	at_run_free(&r);
	return rc;
}

int at_replay_run(const struct at_opts *o)
{
	gzFile f = gzopen(o->replay, "rb");
	char *buf = NULL;
	size_t cap = 0;
	long nr = 0;
	int rc = AT_EXIT_OK;

	if (!f) {
		at_err("--replay: cannot read '%s': %s (give a file written by --record)", o->replay, strerror(errno));
		return AT_EXIT_FAIL;
	}
	while ((!o->count || nr < o->count) && next_line(f, &buf, &cap)) {
		if (!*buf)
			continue;
		if (show(o, buf, ++nr)) {
			rc = AT_EXIT_FAIL;
			break;
		}
	}
	if (!nr && rc == AT_EXIT_OK) {
		at_err("--replay: '%s' holds no report (a file written by --record?)", o->replay);
		rc = AT_EXIT_FAIL;
	}
	gzclose(f);
	free(buf);
	return rc;
}
