/* Unwind workload: stacks whose every frame is known.
 *   chain: main -> uw_run -> uw_1 -> uw_2 (realigned stack) -> uw_mid_1 -> uw_mid_2
 *          (libuwmid, a shared library) -> uw_6 -> uw_7 -> uw_leaf -> malloc,
 *          UW_CHAIN allocations, kept live
 *   recursion: main -> uw_run -> uw_rec x UW_REC_DEPTH -> malloc, UW_REC allocations
 *   with --dlopen LIB (after the above): LIB (uw_dl.c) is loaded, one allocation
 *          through it (main -> uw_dl_1 -> uw_dl_2 -> uw_6 -> uw_7 -> uw_leaf), "dl-ready",
 *          a line on stdin, then UW_DL more allocations the same way
 * Protocol (tests/stacks/wl_stacks.h): --nowait allocates and exits; otherwise "ready
 * PID", a line on stdin, the allocations, "done", then EOF. */
#include <dlfcn.h>
#include <stdlib.h>
#include "uw.h"
#include "../stacks/wl_stacks.h"

#define UW_CHAIN 40
#define UW_REC 7
#define UW_REC_DEPTH 200
#define UW_DL 30

static void *keep[UW_CHAIN + UW_REC + 1 + UW_DL];
static int nkeep;

UW_FN int uw_leaf(int n)
{
	void *p = malloc(48 + (n & 1));

	UW_BARRIER();
	keep[nkeep++] = p;
	return p != 0;
}

UW_FN int uw_7(int n)
{
	int r = uw_leaf(n + 1);

	UW_BARRIER();
	return r + 1;
}

UW_FN int uw_6(int n)
{
	int r = uw_7(n + 1);

	UW_BARRIER();
	return r + 1;
}

/* An over-aligned local makes gcc realign the stack: its CFA is found through rbp. */
UW_FN int uw_2(int n)
{
	volatile char buf[64] __attribute__((aligned(64)));
	int r;

	buf[0] = (char)n;
	r = uw_mid_1(uw_6, n + buf[0]);
	UW_BARRIER();
	return r + buf[0];
}

UW_FN int uw_1(int n)
{
	int r = uw_2(n + 1);

	UW_BARRIER();
	return r + 1;
}

UW_FN int uw_rec(int depth)
{
	int r;

	if (depth <= 1) {
		keep[nkeep++] = malloc(4096);
		return 1;
	}
	r = uw_rec(depth - 1);
	UW_BARRIER();
	return r + 1;
}

UW_FN int uw_run(void)
{
	int r = 0;

	for (int i = 0; i < UW_CHAIN; i++)
		r += uw_1(0);
	for (int i = 0; i < UW_REC; i++)
		r += uw_rec(UW_REC_DEPTH);
	return r;
}

/* The chain through a library loaded now: 1 allocation, a line on stdin, UW_DL more. */
static int uw_dl(const char *lib)
{
	void *h = dlopen(lib, RTLD_NOW);
	int (*entry)(uw_cb, int) = h ? (int (*)(uw_cb, int))dlsym(h, "uw_dl_1") : 0;
	char line[64];
	int r;

	if (!entry) {
		fprintf(stderr, "uw: %s\n", dlerror());
		return -1;
	}
	r = entry(uw_6, 0);
	printf("dl-ready\n");
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin))
		return -1;
	for (int i = 0; i < UW_DL; i++)
		r += entry(uw_6, 0);
	return r;
}

int main(int argc, char **argv)
{
	int waited = wls_wait(argc, argv), r;

	if (waited < 0)
		return 1;
	r = uw_run();
	/* the truth, on stderr (stdout is the tracer's in launch mode) */
	fprintf(stderr, "truth chain=%d rec=%d dl=%d\n", UW_CHAIN, UW_REC, argc > 2 ? UW_DL : 0);
	if (argc > 2 && !strcmp(argv[1], "--dlopen") && uw_dl(argv[2]) < 0)
		return 1;
	UW_BARRIER();
	wls_done(waited);
	for (int i = 0; i < nkeep; i++)
		free(keep[i]);
	return r > 0 ? 0 : 1;
}
