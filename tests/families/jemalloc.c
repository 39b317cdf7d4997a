/* jemalloc's own API, every entry point, with exact truth (fam.h). Built three ways
 * (Makefile): against Debian's libjemalloc.so (names unprefixed); with -DRJEM against
 * libjemalloc_pic.a whose exported names objcopy redefined to _rjem_* (the way Rust's
 * tikv-jemallocator links it: static, prefixed, beside the dynamic libc); and that
 * -static as well, so that one file holds two allocators (glibc's malloc and
 * _rjem_*). The libc sites call the C names, which are jemalloc's in the first build
 * and glibc's in the others: alloctop probes both allocators where both exist. */
#include <stddef.h>
#include <stdlib.h>
#include "fam.h"

#ifdef RJEM
#define JE(n) _rjem_##n
#else
#define JE(n) n
#endif

/* jemalloc.h's declarations, under the prefix in use */
void *JE(malloc)(size_t size);
void *JE(calloc)(size_t n, size_t size);
void *JE(realloc)(void *p, size_t size);
void JE(free)(void *p);
int JE(posix_memalign)(void **p, size_t align, size_t size);
void *JE(aligned_alloc)(size_t align, size_t size);
void *JE(mallocx)(size_t size, int flags);
void *JE(rallocx)(void *p, size_t size, int flags);
size_t JE(xallocx)(void *p, size_t size, size_t extra, int flags);
size_t JE(sallocx)(const void *p, int flags);
void JE(dallocx)(void *p, int flags);
void JE(sdallocx)(void *p, size_t size, int flags);
size_t JE(nallocx)(size_t size, int flags);
#define MALLOCX_LG_ALIGN(la) ((int)(la))
#define MALLOCX_ZERO ((int)0x40)

NOINLINE static void *site_mallocx(size_t n)
{
	void *p = JE(mallocx)(n, 0);

	fam_alloc(SITE, "mallocx", n);
	BARRIER();
	return p;
}

/* Rust's alloc with an alignment above the minimum, and alloc_zeroed */
NOINLINE static void *site_mallocx_flags(size_t n)
{
	void *p = JE(mallocx)(n, MALLOCX_LG_ALIGN(6) | MALLOCX_ZERO);

	fam_alloc(SITE, "mallocx", n);
	BARRIER();
	return p;
}

NOINLINE static void *site_rallocx(void *p, size_t n)
{
	void *q = JE(rallocx)(p, n, 0);

	fam_resize(SITE, "rallocx", n);
	BARRIER();
	return q;
}

/* in place: succeeds when the usable size it returns covers size; the block then
 * holds size bytes, or up to size + extra when more fit */
NOINLINE static void site_xallocx(void *p, size_t size, size_t extra)
{
	size_t got = JE(xallocx)(p, size, extra, 0);

	if (got >= size)
		fam_resize(SITE, "xallocx", got < size + extra ? got : size + extra);
	else
		fam_call("xallocx");
	BARRIER();
}

NOINLINE static void *site_std_malloc(size_t n)
{
	void *p = JE(malloc)(n);

	fam_alloc(SITE, "malloc", n);
	BARRIER();
	return p;
}

NOINLINE static void *site_std_calloc(size_t n)
{
	void *p = JE(calloc)(3, n);

	fam_alloc(SITE, "calloc", 3 * n);
	BARRIER();
	return p;
}

NOINLINE static void *site_std_realloc(void *p, size_t n)
{
	void *q = JE(realloc)(p, n);

	fam_resize(SITE, "realloc", n);
	BARRIER();
	return q;
}

NOINLINE static void *site_std_posix_memalign(size_t n)
{
	void *p = NULL;

	if (JE(posix_memalign)(&p, 64, n))
		_exit(3);
	fam_alloc(SITE, "posix_memalign", n);
	BARRIER();
	return p;
}

NOINLINE static void *site_std_aligned_alloc(size_t n)
{
	void *p = JE(aligned_alloc)(128, n);

	fam_alloc(SITE, "aligned_alloc", n);
	BARRIER();
	return p;
}

#ifdef RJEM
/* the program's other allocator: the C library's */
NOINLINE static void *site_libc_malloc(size_t n)
{
	void *p = malloc(n);

	fam_alloc(SITE, "malloc", n);
	BARRIER();
	return p;
}
#endif

static void *keep[64];

int main(void)
{
	int k = 0;

	JE(free)(JE(malloc)(1));	/* jemalloc's initialisation, before the measured phase */
	fam_ready();
	for (int i = 0; i < 20; i++) {	/* Rust's dealloc: sdallocx with the size */
		JE(sdallocx)(site_mallocx(40 + i), 40 + i, 0);
		fam_free("sdallocx");
	}
	for (int i = 0; i < 7; i++) {
		JE(dallocx)(site_mallocx_flags(200), 0);
		fam_free("dallocx");
	}
	{
		/* a realloc chain, Vec-style: 16 -> 32 -> ... -> 4096 */
		void *p = site_mallocx(16);

		for (size_t n = 32; n <= 4096; n *= 2)
			p = site_rallocx(p, n);
		keep[k++] = p;
	}
	{
		void *p = site_mallocx(16384);

		site_xallocx(p, 100, 0);		/* shrinks in place: always succeeds */
		site_xallocx(p, 20000, 12000);		/* may or may not grow in place */
		site_xallocx(p, (size_t)1 << 40, 0);	/* cannot: nothing changes */
		fam_call("sallocx");
		if (JE(sallocx)(p, 0) < 100)
			_exit(3);
		keep[k++] = p;
	}
	fam_call("nallocx");
	if (JE(nallocx)(1000, 0) < 1000)
		_exit(3);
	for (int i = 0; i < 9; i++) {
		JE(free)(site_std_malloc(24));
		fam_free("free");
	}
	keep[k++] = site_std_calloc(50);
	keep[k] = site_std_malloc(10);
	keep[k] = site_std_realloc(keep[k], 3000);
	k++;
	keep[k++] = site_std_posix_memalign(300);
	keep[k++] = site_std_aligned_alloc(256);
#ifdef RJEM
	for (int i = 0; i < 11; i++) {
		free(site_libc_malloc(48));
		fam_free("free");
	}
	keep[k++] = site_libc_malloc(777);
#endif
	fam_done();
	return 0;
}
