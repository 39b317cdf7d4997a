/* mimalloc's API with exact truth (fam.h), linked against Debian's libmimalloc.so,
 * which also serves the C names (malloc is mi_malloc there, free is mi_free: one code,
 * several names, counted under the one the caller used). The Rust mimalloc crate's
 * shape is here too: mi_malloc_aligned, mi_zalloc_aligned, mi_realloc_aligned and
 * mi_free. */
#include <mimalloc.h>
#include <stdlib.h>
#include "fam.h"

#define ALLOC_SITE(fn, key, bytes, call) \
	NOINLINE static void *fn(size_t n) \
	{ \
		void *p = call; \
		fam_alloc(SITE, key, bytes); \
		BARRIER(); \
		return p; \
	}
ALLOC_SITE(site_mi_malloc, "mi_malloc", n, mi_malloc(n))
ALLOC_SITE(site_mi_calloc, "mi_calloc", 4 * n, mi_calloc(4, n))
ALLOC_SITE(site_mi_zalloc, "mi_zalloc", n, mi_zalloc(n))
ALLOC_SITE(site_mi_mallocn, "mi_mallocn", 3 * n, mi_mallocn(3, n))
ALLOC_SITE(site_mi_malloc_small, "mi_malloc_small", n, mi_malloc_small(n))
ALLOC_SITE(site_mi_malloc_aligned, "mi_malloc_aligned", n, mi_malloc_aligned(n, 64))
ALLOC_SITE(site_mi_zalloc_aligned, "mi_zalloc_aligned", n, mi_zalloc_aligned(n, 32))
ALLOC_SITE(site_mi_malloc_aligned_at, "mi_malloc_aligned_at", n, mi_malloc_aligned_at(n, 64, 16))
ALLOC_SITE(site_mi_calloc_aligned, "mi_calloc_aligned", 5 * n, mi_calloc_aligned(5, n, 32))
ALLOC_SITE(site_mi_new, "mi_new", n, mi_new(n))
ALLOC_SITE(site_mi_new_nothrow, "mi_new_nothrow", n, mi_new_nothrow(n))
ALLOC_SITE(site_mi_new_aligned, "mi_new_aligned", n, mi_new_aligned(n, 128))
ALLOC_SITE(site_mi_new_n, "mi_new_n", 6 * n, mi_new_n(6, n))
ALLOC_SITE(site_malloc, "malloc", n, malloc(n))
ALLOC_SITE(site_calloc, "calloc", 2 * n, calloc(2, n))

#define RESIZE_SITE(fn, key, bytes, call) \
	NOINLINE static void *fn(void *p, size_t n) \
	{ \
		void *q = call; \
		fam_resize(SITE, key, bytes); \
		BARRIER(); \
		return q; \
	}
RESIZE_SITE(site_mi_realloc, "mi_realloc", n, mi_realloc(p, n))
RESIZE_SITE(site_mi_reallocn, "mi_reallocn", 4 * n, mi_reallocn(p, 4, n))
RESIZE_SITE(site_mi_reallocf, "mi_reallocf", n, mi_reallocf(p, n))
RESIZE_SITE(site_mi_realloc_aligned, "mi_realloc_aligned", n, mi_realloc_aligned(p, n, 64))
RESIZE_SITE(site_mi_new_realloc, "mi_new_realloc", n, mi_new_realloc(p, n))
RESIZE_SITE(site_realloc, "realloc", n, realloc(p, n))

/* in place or NULL (then nothing changed) */
NOINLINE static void site_mi_expand(void *p, size_t n)
{
	if (mi_expand(p, n))
		fam_resize(SITE, "mi_expand", n);
	else
		fam_call("mi_expand");
	BARRIER();
}

NOINLINE static void *site_mi_posix_memalign(size_t n)
{
	void *p = NULL;

	if (mi_posix_memalign(&p, 64, n))
		_exit(3);
	fam_alloc(SITE, "mi_posix_memalign", n);
	BARRIER();
	return p;
}

static void *keep[64];

int main(void)
{
	int k = 0;
	void *p;

	mi_free(mi_malloc(1));	/* the thread's heap, before the measured phase */
	fam_ready();
	for (int i = 0; i < 10; i++) {
		mi_free(site_mi_malloc(30 + i));
		fam_free("mi_free");
	}
	for (int i = 0; i < 6; i++) {	/* Rust's GlobalAlloc over mimalloc */
		mi_free(site_mi_malloc_aligned(100 + i));
		fam_free("mi_free");
		mi_free(site_mi_zalloc_aligned(64));
		fam_free("mi_free");
	}
	p = site_mi_malloc_aligned(48);
	p = site_mi_realloc_aligned(p, 4000);
	keep[k++] = p;
	keep[k++] = site_mi_calloc(10);
	keep[k++] = site_mi_zalloc(20);
	keep[k++] = site_mi_mallocn(30);
	keep[k++] = site_mi_malloc_small(40);
	keep[k++] = site_mi_malloc_aligned_at(80);
	mi_free_aligned(site_mi_calloc_aligned(12), 32);
	fam_free("mi_free_aligned");
	for (int i = 0; i < 4; i++) {
		mi_free_size(site_mi_new(72), 72);
		fam_free("mi_free_size");
	}
	keep[k++] = site_mi_new_nothrow(90);
	keep[k++] = site_mi_new_aligned(300);
	keep[k++] = site_mi_new_n(11);
	p = site_mi_malloc(16);
	p = site_mi_realloc(p, 2048);
	p = site_mi_reallocn(p, 1024);
	p = site_mi_reallocf(p, 100);
	p = site_mi_new_realloc(p, 200);
	site_mi_expand(p, 201);		/* within the block's usable size: in place */
	site_mi_expand(p, 1 << 20);	/* cannot */
	fam_call("mi_usable_size");
	if (mi_usable_size(p) < 200)
		_exit(3);
	keep[k++] = p;
	keep[k++] = site_mi_posix_memalign(500);
	for (int i = 0; i < 5; i++) {
		free(site_malloc(24));
		fam_free("free");
	}
	p = site_calloc(8);
	keep[k++] = site_realloc(p, 5000);
	fam_done();
	return 0;
}
