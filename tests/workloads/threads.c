/* threads: 4 threads (created before "ready", released by a barrier after "go"),
 * each doing malloc/free pairs (temporary), leaving some blocks live, and freeing or
 * reallocating blocks that a neighbour allocated (cross-thread: never temporary). */
#include "wl.h"

#define NT 4
#define GIVE 40		/* blocks each thread allocates for its neighbour */
#define REGIVE 8	/* of which the neighbour reallocs this many before freeing them */

static pthread_t tids[NT];
static pthread_barrier_t b_ready, b_start, b_mid, b_end, b_exit;
static void *give[NT][GIVE];
static void *live[NT][64];
static int nlive[NT];

NOIPA void site_warmup(void **out, size_t n)
{
	void *p = malloc(n);

	WL_BARRIER();
	*out = p;
	wl_alloc(WL_MALLOC, p, n, __func__);
}

NOIPA void site_thread_pair(void **out, size_t n)
{
	void *p = malloc(n);

	WL_BARRIER();
	*out = p;
	wl_alloc(WL_MALLOC, p, n, __func__);
}

NOIPA void site_thread_live(void **out, size_t n)
{
	void *p = calloc(1, n);

	WL_BARRIER();
	*out = p;
	wl_alloc(WL_CALLOC, p, n, __func__);
}

NOIPA void site_thread_give(void **out, size_t n)
{
	void *p = malloc(n);

	WL_BARRIER();
	*out = p;
	wl_alloc(WL_MALLOC, p, n, __func__);
}

NOIPA void site_thread_realloc(void **pp, size_t n)
{
	struct wl_block b;
	void *old = *pp;
	int had = wl_take(old, &b);
	void *p = realloc(old, n);

	WL_BARRIER();
	wl_realloc(WL_REALLOC, had, &b, p, n, 0, __func__);
	if (p)
		*pp = p;
}

NOIPA void do_free(void *p)
{
	wl_free(p);
	free(p);
	WL_BARRIER();
}

static void *worker(void *arg)
{
	int t = (int)(intptr_t)arg, i, src = (t + NT - 1) % NT;
	int pairs = 500 * (t + 1);
	void *p;

	wl_thread_register();
	/* before attach: give this thread its arena and tcache */
	site_warmup(&p, 100);
	do_free(p);
	pthread_barrier_wait(&b_ready);
	pthread_barrier_wait(&b_start);

	/* measured */
	for (i = 0; i < pairs; i++) {
		size_t n = 16 + (size_t)((i * 7 + t * 13) % 500);

		site_thread_pair(&p, wl_opq(n));
		*(volatile char *)p = 1;
		do_free(p);			/* temporary */
	}
	for (i = 0; i < GIVE; i++)
		site_thread_give(&give[t][i], wl_opq(32 + (size_t)(i * (t + 1))));
	nlive[t] = 10 + 3 * t;
	for (i = 0; i < nlive[t]; i++)
		site_thread_live(&live[t][i], wl_opq(64 * (size_t)(i + 1)));
	pthread_barrier_wait(&b_mid);

	/* the neighbour's blocks: realloc some (cross-thread free + own alloc), free all */
	for (i = 0; i < REGIVE; i++)
		site_thread_realloc(&give[src][i], wl_opq(1000 + (size_t)i));
	for (i = GIVE - 1; i >= 0; i--)
		do_free(give[src][i]);		/* the last realloc'd one is temporary */
	pthread_barrier_wait(&b_end);

	/* after the truth: wait for "exit", then clean up (alloctop is gone by then) */
	pthread_barrier_wait(&b_exit);
	for (i = 0; i < nlive[t]; i++)
		free(live[t][i]);
	return NULL;
}

int main(int argc, char **argv)
{
	int i;

	wl_init(argc, argv);
	pthread_barrier_init(&b_ready, NULL, NT + 1);
	pthread_barrier_init(&b_start, NULL, NT + 1);
	pthread_barrier_init(&b_mid, NULL, NT);
	pthread_barrier_init(&b_end, NULL, NT + 1);
	pthread_barrier_init(&b_exit, NULL, NT + 1);
	for (i = 0; i < NT; i++)
		if (pthread_create(&tids[i], NULL, worker, (void *)(intptr_t)i))
			wl_die("pthread_create");
	pthread_barrier_wait(&b_ready);	/* every thread has warmed up */
	wl_ready();
	pthread_barrier_wait(&b_start);
	pthread_barrier_wait(&b_end);
	wl_done();
	pthread_barrier_wait(&b_exit);
	for (i = 0; i < NT; i++)
		pthread_join(tids[i], NULL);
	return 0;
}
