/* gperftools' tcmalloc API with exact truth (fam.h), linked against Debian's
 * libtcmalloc_minimal.so. There malloc, tc_malloc are one code; free, tc_free, tc_cfree,
 * tc_delete and operator delete another; tc_free_sized and tc_delete_sized a third:
 * each call counts under the name the caller used. */
#include <gperftools/tcmalloc.h>
#include <stdlib.h>
#include "fam.h"

/* extern "C" in tcmalloc.h, declared there for C++ only */
void *tc_new(size_t size);
void *tc_newarray(size_t size);
void tc_delete(void *p);
void tc_deletearray(void *p);
void tc_delete_sized(void *p, size_t size);
size_t tc_nallocx(size_t size, int flags);	/* exported, not in the header */

#define ALLOC_SITE(fn, key, bytes, call) \
	NOINLINE static void *fn(size_t n) \
	{ \
		void *p = call; \
		fam_alloc(SITE, key, bytes); \
		BARRIER(); \
		return p; \
	}
ALLOC_SITE(site_tc_malloc, "tc_malloc", n, tc_malloc(n))
ALLOC_SITE(site_tc_calloc, "tc_calloc", 7 * n, tc_calloc(7, n))
ALLOC_SITE(site_tc_memalign, "tc_memalign", n, tc_memalign(256, n))
ALLOC_SITE(site_tc_valloc, "tc_valloc", n, tc_valloc(n))
ALLOC_SITE(site_tc_pvalloc, "tc_pvalloc", n, tc_pvalloc(n))
ALLOC_SITE(site_tc_malloc_skip_new_handler, "tc_malloc_skip_new_handler", n, tc_malloc_skip_new_handler(n))
ALLOC_SITE(site_tc_new, "tc_new", n, tc_new(n))
ALLOC_SITE(site_tc_newarray, "tc_newarray", n, tc_newarray(n))
ALLOC_SITE(site_malloc, "malloc", n, malloc(n))

NOINLINE static void *site_tc_realloc(void *p, size_t n)
{
	void *q = tc_realloc(p, n);

	fam_resize(SITE, "tc_realloc", n);
	BARRIER();
	return q;
}

NOINLINE static void *site_tc_posix_memalign(size_t n)
{
	void *p = NULL;

	if (tc_posix_memalign(&p, 64, n))
		_exit(3);
	fam_alloc(SITE, "tc_posix_memalign", n);
	BARRIER();
	return p;
}

static void *keep[64];

int main(void)
{
	int k = 0;
	void *p;

	tc_free(tc_malloc(1));	/* the thread cache, before the measured phase */
	fam_ready();
	for (int i = 0; i < 12; i++) {
		tc_free(site_tc_malloc(40 + i));
		fam_free("tc_free");
	}
	for (int i = 0; i < 8; i++) {	/* a sized free, as a C++ sized delete reaches it */
		tc_free_sized(site_tc_malloc(500), 500);
		fam_free("tc_free_sized");
	}
	tc_cfree(site_tc_calloc(10));
	fam_free("tc_cfree");
	p = site_tc_malloc(64);
	for (size_t n = 128; n <= 8192; n *= 4)
		p = site_tc_realloc(p, n);
	keep[k++] = p;
	keep[k++] = site_tc_memalign(1000);
	keep[k++] = site_tc_posix_memalign(2000);
	keep[k++] = site_tc_valloc(100);
	keep[k++] = site_tc_pvalloc(5000);
	keep[k++] = site_tc_malloc_skip_new_handler(33);
	for (int i = 0; i < 3; i++) {
		tc_delete(site_tc_new(24));
		fam_free("tc_delete");
		tc_delete_sized(site_tc_new(24), 24);
		fam_free("tc_delete_sized");
		tc_deletearray(site_tc_newarray(240));
		fam_free("tc_deletearray");
	}
	fam_call("tc_malloc_size");
	if (tc_malloc_size(keep[0]) < 8192)
		_exit(3);
	fam_call("tc_nallocx");
	if (tc_nallocx(100, 0) < 100)
		_exit(3);
	for (int i = 0; i < 5; i++) {
		free(site_malloc(16));
		fam_free("free");
	}
	fam_done();
	return 0;
}
