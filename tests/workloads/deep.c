/* deep: allocations 8 calls deep (run_deep -> deep_1 -> ... -> deep_7 -> site_deep_bottom),
 * one site reached through two different stacks (site_deep_shared), and a recursive
 * chain (run_rec -> rec x (d+1) -> site_rec_leaf) at depths 1..REC_MAX, so one site
 * has several hotspots. The expected frames are in tests/integration/test_workloads.py:
 * keep the function names in sync. */
#include "wl.h"

#define N_DEEP 120
#define REC_MAX 5
#define N_REC 20	/* allocations per recursion depth */

static void *keep[N_DEEP];
static void *rkeep[REC_MAX + 1][N_REC];
static void *skeep[2][N_DEEP];

NOIPA void site_deep_bottom(void **out, size_t n)
{
	void *p = malloc(n);

	WL_BARRIER();
	*out = p;
	wl_alloc(WL_MALLOC, p, n, __func__);
}

NOIPA void site_deep_shared(void **out, size_t n)
{
	void *p = calloc(n, 2);

	WL_BARRIER();
	*out = p;
	wl_alloc(WL_CALLOC, p, n * 2, __func__);
}

NOIPA void site_rec_leaf(void **out, size_t n)
{
	void *p = malloc(n);

	WL_BARRIER();
	*out = p;
	wl_alloc(WL_MALLOC, p, n, __func__);
}

NOIPA void do_free(void *p)
{
	wl_free(p);
	free(p);
	WL_BARRIER();
}

/* Each level does something after its call, so none is a tail call at -O2. */
NOIPA void deep_7(int i, int shared)
{
	if (shared)
		site_deep_shared(&skeep[0][i], wl_opq(8 + (size_t)i));
	else
		site_deep_bottom(&keep[i], wl_opq(1 + (size_t)(i % 64)));
	WL_BARRIER();
}

#define LEVEL(name, next)                    \
	NOIPA void name(int i, int shared)   \
	{                                    \
		next(i, shared);             \
		WL_BARRIER();                \
	}
LEVEL(deep_6, deep_7)
LEVEL(deep_5, deep_6)
LEVEL(deep_4, deep_5)
LEVEL(deep_3, deep_4)
LEVEL(deep_2, deep_3)
LEVEL(deep_1, deep_2)

NOIPA void run_deep(void)
{
	int i;

	for (i = 0; i < N_DEEP; i++) {
		deep_1(i, 0);
		WL_BARRIER();
	}
	for (i = 0; i < N_DEEP; i += 2)
		do_free(keep[i]);
	/* the same site through two stacks */
	for (i = 0; i < N_DEEP / 2; i++) {
		deep_1(i, 1);
		site_deep_shared(&skeep[1][i], wl_opq(100 + (size_t)i));
		WL_BARRIER();
	}
	for (i = 0; i < N_DEEP / 2; i += 3) {
		do_free(skeep[0][i]);
		do_free(skeep[1][i]);
	}
}

NOIPA void rec(int d, int depth, int j)
{
	if (d == 0)
		site_rec_leaf(&rkeep[depth][j], wl_opq(16 * (size_t)(depth + 1)));
	else
		rec(d - 1, depth, j);
	WL_BARRIER();
}

NOIPA void run_rec(void)
{
	int d, j;

	for (d = 1; d <= REC_MAX; d++)
		for (j = 0; j < N_REC; j++) {
			rec(d, d, j);		/* d+1 frames of rec */
			WL_BARRIER();
		}
	for (d = 1; d <= REC_MAX; d++)
		for (j = 0; j < N_REC; j += 4)
			do_free(rkeep[d][j]);
}

int main(int argc, char **argv)
{
	wl_init(argc, argv);
	wl_ready();
	run_deep();
	run_rec();
	wl_done();
	return 0;
}
