/* churn: exactness under load. Two threads, each running CHURN_OPS steps over its own
 * table of SLOTS blocks: a step frees the block in a random slot (or reallocs it) and
 * allocates a new one of a random size (seeded PRNG: the run is reproducible).
 * Sizes: mostly small, some medium, a few large enough for mmap. 200k allocations in
 * all; at the end every other slot is freed and the rest stay live. */
#include "wl.h"

#define NT 2
#define CHURN_OPS 100000
#define SLOTS 512

static pthread_t tids[NT];
static pthread_barrier_t b_ready, b_start, b_end, b_exit;
static void *slots[NT][SLOTS];

NOIPA void site_churn_malloc(void **out, size_t n)
{
	void *p = malloc(n);

	WL_BARRIER();
	*out = p;
	wl_alloc(WL_MALLOC, p, n, __func__);
}

NOIPA void site_churn_calloc(void **out, size_t n)
{
	void *p = calloc(n, 1);

	WL_BARRIER();
	*out = p;
	wl_alloc(WL_CALLOC, p, n, __func__);
}

NOIPA void site_churn_realloc(void **pp, size_t n)
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

static uint64_t next(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545F4914F6CDD1DULL;
}

static size_t pick_size(uint64_t *s)
{
	uint64_t r = next(s) % 1000;

	if (r < 700)
		return 1 + next(s) % 256;
	if (r < 950)
		return 257 + next(s) % 8000;
	if (r < 999)
		return 8193 + next(s) % 57000;
	return 140000 + next(s) % 300000;	/* mmap territory */
}

static void *worker(void *arg)
{
	int t = (int)(intptr_t)arg, i;
	uint64_t seed = 0x9E3779B97F4A7C15ULL * (uint64_t)(t + 1);
	void *p;

	wl_thread_register();
	site_churn_malloc(&p, 100);	/* warm-up, before attach */
	do_free(p);
	pthread_barrier_wait(&b_ready);
	pthread_barrier_wait(&b_start);

	for (i = 0; i < CHURN_OPS; i++) {
		unsigned s = (unsigned)(next(&seed) % SLOTS);
		uint64_t r = next(&seed) % 100;
		size_t n = pick_size(&seed);

		if (slots[t][s] && r < 10) {
			site_churn_realloc(&slots[t][s], wl_opq(n));	/* replaces the block */
			continue;
		}
		if (slots[t][s])
			do_free(slots[t][s]);
		if (r < 15)
			site_churn_calloc(&slots[t][s], wl_opq(n));
		else
			site_churn_malloc(&slots[t][s], wl_opq(n));
		((volatile char *)slots[t][s])[n - 1] = 1;
	}
	for (i = 0; i < SLOTS; i += 2)
		if (slots[t][i])
			do_free(slots[t][i]);
	pthread_barrier_wait(&b_end);
	pthread_barrier_wait(&b_exit);
	return NULL;
}

int main(int argc, char **argv)
{
	int i;

	wl_init(argc, argv);
	pthread_barrier_init(&b_ready, NULL, NT + 1);
	pthread_barrier_init(&b_start, NULL, NT + 1);
	pthread_barrier_init(&b_end, NULL, NT + 1);
	pthread_barrier_init(&b_exit, NULL, NT + 1);
	for (i = 0; i < NT; i++)
		if (pthread_create(&tids[i], NULL, worker, (void *)(intptr_t)i))
			wl_die("pthread_create");
	pthread_barrier_wait(&b_ready);
	wl_ready();
	pthread_barrier_wait(&b_start);
	pthread_barrier_wait(&b_end);
	wl_done();
	pthread_barrier_wait(&b_exit);
	for (i = 0; i < NT; i++)
		pthread_join(tids[i], NULL);
	return 0;
}
