/* basic: every allocator function, with the edge cases, from distinct site_* functions.
 * The truth is computed by the model in wl.h from the calls actually made. */
#include "wl.h"

static void *slot[64];	/* blocks handled in the measured phase */
static void *pre[8];	/* blocks allocated before attach (before "ready") */
static int exe_fd = -1;

#define HUGE ((size_t)1 << 62)

/* ---- allocation sites: each calls one allocator directly, then records it ---- */

#define MALLOC_SITE(name)                                  \
	NOIPA void name(void **out, size_t n)              \
	{                                                  \
		void *p = malloc(n);                       \
		WL_BARRIER();                              \
		*out = p;                                  \
		wl_alloc(WL_MALLOC, p, n, __func__);       \
	}

MALLOC_SITE(site_pre_attach)
MALLOC_SITE(site_malloc_small)
MALLOC_SITE(site_malloc_zero)
MALLOC_SITE(site_malloc_large)
MALLOC_SITE(site_malloc_fail)
MALLOC_SITE(site_temp)
MALLOC_SITE(site_not_temp)

NOIPA void site_calloc(void **out, size_t n, size_t sz)
{
	void *p = calloc(n, sz);

	WL_BARRIER();
	*out = p;
	wl_alloc(WL_CALLOC, p, n * sz, __func__);
}

NOIPA void site_calloc_fail(void **out, size_t n, size_t sz)
{
	void *p = calloc(n, sz);

	WL_BARRIER();
	*out = p;
	wl_alloc(WL_CALLOC, p, n * sz, __func__);
}

/* realloc(*pp, n): *pp becomes the result when it succeeded or freed the block. */
#define REALLOC_SITE(name)                                                         \
	NOIPA void name(void **pp, size_t n)                                       \
	{                                                                          \
		struct wl_block b;                                                 \
		void *old = wl_opqp(*pp);                                          \
		int had = wl_take(old, &b);                                        \
		void *p = realloc(old, n);                                         \
		WL_BARRIER();                                                      \
		wl_realloc(WL_REALLOC, had, &b, p, n, old && n == 0, __func__);    \
		if (p || (old && n == 0))                                          \
			*pp = p;                                                   \
	}

REALLOC_SITE(site_realloc_null)
REALLOC_SITE(site_realloc_grow)
REALLOC_SITE(site_realloc_shrink)
REALLOC_SITE(site_realloc_zero)
REALLOC_SITE(site_realloc_fail)
REALLOC_SITE(site_realloc_pre)

NOIPA void site_reallocarray(void **pp, size_t n, size_t sz)
{
	struct wl_block b;
	void *old = wl_opqp(*pp);
	size_t bytes;
	int ovf = __builtin_mul_overflow(n, sz, &bytes);
	int had = wl_take(old, &b);
	void *p = reallocarray(old, n, sz);

	WL_BARRIER();
	/* overflow fails without touching the block; n*sz == 0 frees it like realloc(p, 0) */
	wl_realloc(WL_REALLOCARRAY, had, &b, p, bytes, old && !ovf && bytes == 0, __func__);
	if (p || (old && !ovf && bytes == 0))
		*pp = p;
}

NOIPA int site_posix_memalign(void **out, size_t align, size_t n)
{
	void *p = NULL;
	int rc = posix_memalign(&p, align, n);

	WL_BARRIER();
	if (rc)
		p = NULL;
	*out = p;
	wl_alloc(WL_POSIX_MEMALIGN, p, n, __func__);
	return rc;
}

NOIPA void site_aligned_alloc(void **out, size_t align, size_t n)
{
	void *p = aligned_alloc(align, n);

	WL_BARRIER();
	*out = p;
	wl_alloc(WL_ALIGNED_ALLOC, p, n, __func__);
}

NOIPA void site_memalign(void **out, size_t align, size_t n)
{
	void *p = memalign(align, n);

	WL_BARRIER();
	*out = p;
	wl_alloc(WL_MEMALIGN, p, n, __func__);
}

NOIPA void site_valloc(void **out, size_t n)
{
	void *p = valloc(n);

	WL_BARRIER();
	*out = p;
	wl_alloc(WL_VALLOC, p, n, __func__);
}

NOIPA void site_pvalloc(void **out, size_t n)
{
	void *p = pvalloc(n);

	WL_BARRIER();
	*out = p;
	wl_alloc(WL_PVALLOC, p, n, __func__);
}

NOIPA void do_free(void *p)
{
	wl_free(p);
	free(p);
	WL_BARRIER();
}

NOIPA void *do_mmap(size_t len, int prot, int flags, int fd)
{
	void *p = mmap(NULL, len, prot, flags, fd, 0);

	WL_BARRIER();
	wl_mmap(p, len, flags);
	return p;
}

NOIPA void do_munmap(void *p, size_t len)
{
	wl_munmap(p, len);
	munmap(p, len);
	WL_BARRIER();
}

static void touch(void *p, size_t n)
{
	volatile unsigned char *c = p;

	if (p && n)
		c[0] = c[n - 1] = 0x5a;
}

static void setup(void)
{
	int i;

	for (i = 0; i < 5; i++)
		site_pre_attach(&pre[i], wl_opq(100 + 10 * i));
	exe_fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	if (exe_fd < 0)
		wl_die("open /proc/self/exe");
}

static void measured(void)
{
	static const size_t small[] = { 1, 16, 24, 100, 1000, 4000 };
	void *p, *q, *m1, *m2, *m3, *mf;
	int i;

	/* malloc: several sizes, half of them freed (in reverse: not temporary except the last) */
	for (i = 0; i < 6; i++) {
		site_malloc_small(&slot[i], wl_opq(small[i]));
		touch(slot[i], small[i]);
	}
	for (i = 5; i >= 3; i--)
		do_free(slot[i]);		/* slot[5] was the last alloc: temporary */
	site_malloc_zero(&slot[6], wl_opq(0));	/* malloc(0) is a 0-byte allocation */
	site_malloc_zero(&slot[7], wl_opq(0));
	do_free(slot[7]);			/* temporary */
	site_malloc_large(&slot[8], wl_opq(300 * 1024));	/* served by mmap inside malloc */
	touch(slot[8], 300 * 1024);
	do_free(slot[8]);			/* munmap inside free; temporary */
	site_malloc_large(&slot[9], wl_opq(1 << 20));	/* stays live */
	touch(slot[9], 1 << 20);
	site_malloc_fail(&p, wl_opq(HUGE));	/* NULL: a call, no allocation */
	if (p)
		wl_die("malloc(huge) succeeded");

	/* temporaries, and a pair that is not */
	for (i = 0; i < 5; i++) {
		site_temp(&p, wl_opq(64));
		touch(p, 64);
		do_free(p);
	}
	site_not_temp(&p, wl_opq(32));
	site_not_temp(&q, wl_opq(48));
	do_free(p);				/* not temporary: q was allocated after it */
	do_free(q);				/* temporary */

	/* calloc */
	site_calloc(&slot[10], wl_opq(10), wl_opq(8));
	site_calloc(&slot[11], wl_opq(1), wl_opq(4096));
	site_calloc(&slot[12], wl_opq(0), wl_opq(16));	/* 0 bytes, non-NULL */
	site_calloc(&slot[13], wl_opq(300000), wl_opq(1));	/* mmap inside calloc */
	do_free(slot[11]);
	do_free(slot[13]);
	site_calloc_fail(&p, wl_opq(SIZE_MAX / 2), wl_opq(4));	/* overflow: NULL */
	if (p)
		wl_die("calloc overflow succeeded");

	/* realloc */
	slot[14] = wl_opqp(NULL);
	site_realloc_null(&slot[14], wl_opq(200));	/* realloc(NULL, n) = an alloc */
	site_realloc_grow(&slot[14], wl_opq(5000));	/* free 200 + alloc 5000 */
	touch(slot[14], 5000);
	site_realloc_shrink(&slot[14], wl_opq(100));	/* free 5000 + alloc 100 */
	site_realloc_null(&slot[15], wl_opq(300));
	site_realloc_zero(&slot[15], wl_opq(0));	/* frees, returns NULL */
	if (slot[15])
		wl_die("realloc(p, 0) returned a block");
	p = slot[14];
	site_realloc_fail(&slot[14], wl_opq(HUGE));	/* NULL, the old block stays */
	if (slot[14] != p)
		wl_die("failed realloc changed the block");
	site_realloc_pre(&pre[4], wl_opq(80));	/* old block predates attach: untracked free */

	/* reallocarray */
	slot[16] = wl_opqp(NULL);
	site_reallocarray(&slot[16], wl_opq(10), wl_opq(20));	/* like realloc(NULL, 200) */
	site_reallocarray(&slot[16], wl_opq(30), wl_opq(20));	/* grow to 600 */
	p = slot[16];
	site_reallocarray(&slot[16], wl_opq((size_t)1 << 33), wl_opq((size_t)1 << 33)); /* n*size wraps to 0 */
	site_reallocarray(&slot[16], wl_opq(SIZE_MAX / 2), wl_opq(3));	/* overflow */
	if (slot[16] != p)
		wl_die("failed reallocarray changed the block");
	slot[17] = wl_opqp(NULL);
	site_reallocarray(&slot[17], wl_opq(4), wl_opq(25));
	site_reallocarray(&slot[17], wl_opq(0), wl_opq(8));	/* frees, returns NULL */
	if (slot[17])
		wl_die("reallocarray(p, 0, n) returned a block");

	/* free(NULL) counts as a call only */
	do_free(wl_opqp(NULL));
	do_free(wl_opqp(NULL));

	/* the aligned family */
	site_posix_memalign(&slot[18], wl_opq(64), wl_opq(100));
	site_posix_memalign(&slot[19], wl_opq(4096), wl_opq(5000));
	if (!site_posix_memalign(&p, wl_opq(3), wl_opq(64)))	/* EINVAL */
		wl_die("posix_memalign(align 3) succeeded");
	if (!site_posix_memalign(&p, wl_opq(64), wl_opq(HUGE)))	/* ENOMEM */
		wl_die("posix_memalign(huge) succeeded");
	do_free(slot[19]);
	site_aligned_alloc(&slot[20], wl_opq(64), wl_opq(128));
	site_aligned_alloc(&slot[21], wl_opq(256), wl_opq(1024));
	do_free(slot[20]);
	site_memalign(&slot[22], wl_opq(32), wl_opq(100));
	site_memalign(&slot[23], wl_opq(4096), wl_opq(10));
	site_memalign(&slot[24], wl_opq(16), wl_opq(48));
	do_free(slot[24]);
	site_valloc(&slot[25], wl_opq(100));
	site_valloc(&slot[26], wl_opq(5000));
	do_free(slot[25]);
	site_pvalloc(&slot[27], wl_opq(100));
	site_pvalloc(&slot[28], wl_opq(8192));
	do_free(slot[28]);

	/* blocks from before attach: untracked frees */
	for (i = 0; i < 4; i++)
		do_free(pre[i]);

	/* application mappings */
	m1 = do_mmap(4 * WL_PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1);
	m2 = do_mmap(10000, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1);	/* 3 pages */
	m3 = do_mmap(2 * WL_PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1);
	if (m1 == MAP_FAILED || m2 == MAP_FAILED || m3 == MAP_FAILED)
		wl_die("mmap failed");
	touch(m1, 4 * WL_PAGE);
	touch(m2, 10000);
	touch(m3, 2 * WL_PAGE);
	if (do_mmap(0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1) != MAP_FAILED)	/* EINVAL */
		wl_die("mmap(len 0) succeeded");
	mf = do_mmap(WL_PAGE, PROT_READ, MAP_PRIVATE, exe_fd);	/* file-backed: a call only */
	if (mf == MAP_FAILED)
		wl_die("file mmap failed");
	do_munmap(m1, 4 * WL_PAGE);		/* whole */
	do_munmap(m2, WL_PAGE);			/* head only: 2 pages stay live */
	do_munmap(mf, WL_PAGE);			/* untracked mapping: a call only */
	/* m3 stays live */
}

int main(int argc, char **argv)
{
	wl_init(argc, argv);
	setup();
	wl_ready();
	measured();
	wl_done();
	/* No allocator calls on the way out (a test checks the final report after the
	 * target exits on its own): live blocks and mappings are left to the kernel. */
	return 0;
}
