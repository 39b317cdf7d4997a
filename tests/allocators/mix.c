/* A workload every allocator can serve (no pvalloc: jemalloc lacks it). Protocol:
 * "ready PID", a line, the measured phase, one JSON truth line, a line, exit. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The truth is counted as the calls are made: each site counts its calls, drop() the
 * frees; realloc of a live block to another size is one free and one allocation. */
static int n_site_malloc, n_site_calloc, n_site_aligned, n_site_posix_memalign, n_site_realloc, n_frees, n_live;

static void drop(void *p)
{
	free(p);
	n_frees++;
	n_live--;
}

#define SITE(name, call) \
	__attribute__((noinline)) static void *name(size_t n) \
	{ \
		void *p = call; \
		n_##name++; \
		n_live++; \
		__asm__ volatile("" ::: "memory"); \
		return p; \
	}
SITE(site_malloc, malloc(n))
SITE(site_calloc, calloc(4, n))
SITE(site_aligned, aligned_alloc(64, n))

static void *keep[64];

__attribute__((noinline)) static void *site_realloc(void *p, size_t n)
{
	void *q = realloc(p, n);

	n_site_realloc++;
	n_frees++;		/* the old block; the new one is an allocation, n_live unchanged */

	__asm__ volatile("" ::: "memory");
	return q;
}

__attribute__((noinline)) static void *site_posix_memalign(size_t n)
{
	void *p = NULL;

	if (posix_memalign(&p, 32, n))
		return NULL;
	n_site_posix_memalign++;
	n_live++;
	__asm__ volatile("" ::: "memory");
	return p;
}

static void line(void)
{
	char b[64];

	if (read(0, b, sizeof(b)) < 0)
		_exit(2);
}

int main(void)
{
	char out[512];
	int len, k = 0;

	len = snprintf(out, sizeof(out), "ready %d\n", getpid());
	if (write(1, out, len) < 0)
		return 2;
	line();
	for (int i = 0; i < 100; i++)
		drop(site_malloc(24 + i));		/* 100 allocs, 100 frees */
	for (int i = 0; i < 10; i++)
		keep[k++] = site_calloc(10);		/* 10 live, 40 bytes each */
	for (int i = 0; i < 5; i++)
		keep[k++] = site_aligned(128);		/* 5 live */
	for (int i = 0; i < 8; i++)
		drop(site_posix_memalign(100));		/* 8 allocs, 8 frees */
	keep[k] = site_malloc(16);			/* alloc 101 at site_malloc */
	keep[k] = site_realloc(keep[k], 4096);		/* 1 free + 1 alloc */
	k++;
	len = snprintf(out, sizeof(out),
		       "{\"allocs\": %d, \"frees\": %d, \"live_allocs\": %d, \"sites\": {\"site_malloc\": %d, "
		       "\"site_calloc\": %d, \"site_aligned\": %d, \"site_posix_memalign\": %d, \"site_realloc\": %d}}\n",
		       n_site_malloc + n_site_calloc + n_site_aligned + n_site_posix_memalign + n_site_realloc, n_frees,
		       n_live, n_site_malloc, n_site_calloc, n_site_aligned, n_site_posix_memalign, n_site_realloc);
	if (write(1, out, len) < 0)
		return 2;
	line();
	return 0;
}
