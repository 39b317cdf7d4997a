/* demo: something for `make run` to watch. Runs until killed, allocating in changing
 * phases from a few named functions, a few thousand allocations per second:
 *   - 2 request workers: short-lived request/response buffers (a buffer pool's churn),
 *     a log line buffer grown with realloc;
 *   - a cache thread: entries inserted (calloc) at a rate that depends on the phase,
 *     trimmed back when the phase says so;
 *   - the main thread: a slow leak of session tokens, an occasional large report
 *     (>= 256 KiB, served by mmap), and the phase clock.
 * Phases (about 8 s each): steady, burst (more and bigger requests), cache warm-up
 * (the cache grows fast), trim (the cache is cut back). Prints nothing. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define NOINL __attribute__((noinline))
#define PHASE_SECONDS 8
#define CACHE_MAX 20000

enum phase { STEADY, BURST, WARMUP, TRIM, NR_PHASES };
static volatile int phase;
static void *cache[CACHE_MAX];
static int cache_len;
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static void *volatile sink;

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void nap_us(long us)
{
	struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };

	nanosleep(&ts, NULL);
}

static void fill(void *p, size_t n)
{
	if (p && n)
		memset(p, 0xab, n < 64 ? n : 64);
}

/* ---- request workers ---- */

NOINL void *alloc_request_buffer(size_t n)
{
	void *p = malloc(n);

	fill(p, n);
	return p;
}

NOINL void *alloc_response(size_t n)
{
	void *p = malloc(n);

	fill(p, n);
	return p;
}

NOINL char *grow_log_buffer(char *buf, size_t *cap, size_t need)
{
	char *p;

	if (need <= *cap)
		return buf;
	p = realloc(buf, need * 2);
	if (!p)
		return buf;
	*cap = need * 2;
	return p;
}

NOINL void handle_request(uint64_t *seed, char **log, size_t *logcap, size_t *loglen)
{
	int big = phase == BURST;
	size_t reqn = 64 + rnd(seed) % (big ? 16384 : 2048);
	size_t resn = 128 + rnd(seed) % (big ? 32768 : 4096);
	void *req = alloc_request_buffer(reqn);
	void *res = alloc_response(resn);

	*log = grow_log_buffer(*log, logcap, *loglen + 80);
	if (*log) {
		*loglen += (size_t)snprintf(*log + *loglen, *logcap - *loglen, "req %zu res %zu\n", reqn, resn);
		if (*loglen > 64 * 1024)
			*loglen = 0;	/* rotate */
	}
	sink = req;
	free(req);
	free(res);
}

static void *worker(void *arg)
{
	uint64_t seed = 0x1234567ULL + (uintptr_t)arg;
	char *log = NULL;
	size_t cap = 0, len = 0;

	for (;;) {
		int i, n = phase == BURST ? 12 : 4;

		for (i = 0; i < n; i++)
			handle_request(&seed, &log, &cap, &len);
		nap_us(5000);
	}
	return NULL;
}

/* ---- cache ---- */

NOINL void cache_insert(uint64_t *seed)
{
	size_t n = 32 + rnd(seed) % 1024;
	void *p = calloc(1, n);

	pthread_mutex_lock(&cache_lock);
	if (p && cache_len < CACHE_MAX)
		cache[cache_len++] = p;
	else
		free(p);
	pthread_mutex_unlock(&cache_lock);
}

NOINL void cache_evict(int keep)
{
	pthread_mutex_lock(&cache_lock);
	while (cache_len > keep)
		free(cache[--cache_len]);
	pthread_mutex_unlock(&cache_lock);
}

static void *cache_thread(void *arg)
{
	uint64_t seed = 0xC0FFEEULL;

	(void)arg;
	for (;;) {
		int i, n = phase == WARMUP ? 40 : 5;

		for (i = 0; i < n; i++)
			cache_insert(&seed);
		if (phase == TRIM)
			cache_evict(cache_len / 2);
		else if (cache_len > CACHE_MAX - 100)
			cache_evict(CACHE_MAX / 4);
		nap_us(10000);
	}
	return NULL;
}

/* ---- main thread: leak, big blocks, phases ---- */

NOINL void leak_session_token(uint64_t *seed)
{
	char *tok = malloc(48);

	if (tok)
		snprintf(tok, 48, "session-%016llx", (unsigned long long)rnd(seed));
	sink = tok;	/* never freed */
}

NOINL void build_big_report(uint64_t *seed)
{
	size_t n = (256 << 10) + rnd(seed) % (768 << 10);
	char *p = malloc(n);

	fill(p, n);
	nap_us(50000);
	free(p);
}

int main(void)
{
	pthread_t t[3];
	uint64_t seed = 42;
	time_t start = time(NULL);
	long tick = 0;
	int i;

	for (i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, worker, (void *)(uintptr_t)i);
	pthread_create(&t[2], NULL, cache_thread, NULL);
	for (;;) {
		phase = (int)((time(NULL) - start) / PHASE_SECONDS) % NR_PHASES;
		if (tick % 10 == 0)
			leak_session_token(&seed);
		if (tick % 30 == 0)
			build_big_report(&seed);
		tick++;
		nap_us(100000);
	}
	return 0;
}
