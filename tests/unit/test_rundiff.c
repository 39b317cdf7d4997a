/* alloctop diff's model (user/model/run.c, run_diff.c): sites matched by frame names
 * across runs (addresses and pids differ), summed within a run, deltas exact. */
#include "model/run.h"
#include "unit.h"

#include <unistd.h>
#include <zlib.h>

#define SITE(addr, sym, a, b, lb) \
	"{\"pid\":" #addr ",\"frames\":[{\"addr\":\"0x" #addr "\",\"symbol\":\"" sym "\"},{\"symbol\":\"main\"}]," \
	"\"allocs\":" #a ",\"alloc_bytes\":" #b ",\"live_allocs\":0,\"live_bytes\":" #lb "}"

static const char *write_tmp(const char *name, const char *text, bool gz)
{
	static char path[2][256];
	static int k;
	char *p = path[k++ & 1];

	snprintf(p, 256, "/tmp/at-rundiff-%d-%s", getpid(), name);
	if (gz) {
		gzFile f = gzopen(p, "wb");

		gzwrite(f, text, (unsigned int)strlen(text));
		gzclose(f);
	} else {
		FILE *f = fopen(p, "w");

		fputs(text, f);
		fclose(f);
	}
	return p;
}

static const struct at_run_delta *by_leaf(const struct at_run_delta *d, size_t n, const char *leaf)
{
	for (size_t i = 0; i < n; i++) {
		const struct at_run_site *s = d[i].a ? d[i].a : d[i].b;

		if (s->nr_frames && !strcmp(s->frames[0], leaf))
			return &d[i];
	}
	return NULL;
}

static void test_diff_by_names(void)
{
	/* A: an older report first (ignored), then the last: clone_name at two addresses
	 * (summed), common; B: only common, at another address */
	const char *a = write_tmp("a.json",
		"{\"hotspots\":[" SITE(1, "clone_name", 1, 1, 1) "]}\n"
		"{\"hotspots\":[" SITE(10, "clone_name", 600, 19200, 0) "," SITE(11, "clone_name", 400, 12800, 0) ","
		SITE(12, "site_common", 20, 5120, 5120) "]}\n", false);
	const char *b = write_tmp("b.json.gz", "{\"hotspots\":[" SITE(99, "site_common", 20, 5120, 5120) "]}\n", true);
	struct at_run ra, rb;
	struct at_run_delta *d;
	const struct at_run_delta *c, *k;
	size_t n;

	CHECK(!at_run_load(a, &ra));
	CHECK(!at_run_load(b, &rb));
	CHECK_EQ_U(ra.nr_sites, 2);
	CHECK_EQ_U(rb.nr_sites, 1);
	d = at_run_diff(&ra, &rb, &n);
	CHECK_EQ_U(n, 2);
	c = by_leaf(d, n, "clone_name");
	k = by_leaf(d, n, "site_common");
	CHECK(c && k && c == &d[0]);	/* the largest change first */
	if (c && k) {
		CHECK(c->b == NULL);
		CHECK(c->d_allocs == -1000 && c->d_alloc_bytes == -32000 && c->d_live_bytes == 0);
		CHECK(k->d_allocs == 0 && k->d_alloc_bytes == 0 && k->d_live_bytes == 0);
	}
	free(d);
	at_run_free(&ra);
	at_run_free(&rb);
	unlink(a);
	unlink(b);
}

static void test_not_a_run(void)
{
	const char *p = write_tmp("junk", "hello\n", false);
	struct at_run r;

	CHECK(at_run_load(p, &r) == -1);
	at_run_free(&r);
	unlink(p);
}

int main(void)
{
	RUN(test_diff_by_names);
	RUN(test_not_a_run);
	return UNIT_DONE();
}
