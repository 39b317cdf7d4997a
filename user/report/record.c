#include "report/record.h"
#include "lib/util.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

struct at_recorder {
	const char *path;
	gzFile gz;
	bool failed;
};

struct at_recorder *at_recorder_open(const char *path)
{
	struct at_recorder *r = at_xcalloc(1, sizeof(*r));

	r->path = path;
	r->gz = gzopen(path, "wb6");
	if (!r->gz) {
		at_err("--record: cannot write '%s': %s (check the path and permissions)", path, strerror(errno));
		free(r);
		return NULL;
	}
	return r;
}

int at_recorder_write(struct at_recorder *r, const struct at_report_ctx *c)
{
	struct at_opts o = *c->opts;
	struct at_report_ctx rc = *c;
	char *doc = NULL;
	size_t len = 0;
	FILE *mem;
	int err;

	if (r->failed)
		return -1;
	o.top = INT_MAX;	/* every site: a recording is complete for diff and replay */
	rc.opts = &o;
	mem = open_memstream(&doc, &len);
	if (!mem)
		return -1;
	err = at_report_json(mem, &rc);
	fclose(mem);
	if (!err && (gzwrite(r->gz, doc, (unsigned int)len) != (int)len || gzflush(r->gz, Z_SYNC_FLUSH) != Z_OK))
		err = -1;
	free(doc);
	if (err) {
		at_err("--record: cannot write to '%s' (disk full?)", r->path);
		r->failed = true;
	}
	return err;
}

int at_recorder_close(struct at_recorder *r)
{
	int err;

	if (!r)
		return 0;
	err = gzclose(r->gz) != Z_OK;
	if (err && !r->failed)
		at_err("--record: cannot complete '%s'", r->path);
	free(r);
	return err ? -1 : 0;
}
