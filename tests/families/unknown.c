/* A program with an allocator of its own that no family describes (dlmalloc's names
 * over a static arena), beside glibc's malloc. alloctop must say, in one line, that it
 * does not know dlmalloc, and still count the glibc calls exactly (fam.h truth: only
 * those). */
#include <stdlib.h>
#include "fam.h"

static char arena[1 << 16];
static size_t used;

NOINLINE void *dlmalloc(size_t n)
{
	void *p = used + n <= sizeof(arena) ? arena + used : NULL;

	used += (n + 15) & ~(size_t)15;
	return p;
}

NOINLINE void dlfree(void *p) { (void)p; BARRIER(); }
NOINLINE void *dlcalloc(size_t n, size_t s) { return dlmalloc(n * s); }

NOINLINE void *dlrealloc(void *p, size_t n)
{
	void *q = dlmalloc(n);

	if (q && p)
		memcpy(q, p, n);
	return q;
}

NOINLINE static void *site_libc(size_t n)
{
	void *p = malloc(n);

	fam_alloc(SITE, "malloc", n);
	BARRIER();
	return p;
}

int main(void)
{
	fam_ready();
	for (int i = 0; i < 10; i++)
		dlfree(dlrealloc(dlcalloc(2, 8 + i), 64));
	for (int i = 0; i < 6; i++) {
		free(site_libc(100 + i));
		fam_free("free");
	}
	fam_done();
	return 0;
}
