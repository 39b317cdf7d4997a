/* checksum [--nowait] SEED OPS THREADS: a deterministic allocation workload that checks
 * its own memory and prints one result line that depends only on its arguments:
 *   "result seed=S ops=O threads=T checksum=X errors=E"
 * Each thread runs OPS seeded random steps over 256 slots: verify the block in the slot
 * (its fill pattern, calloc's zeroes, realloc's preserved prefix, alignment,
 * malloc_usable_size), then free or realloc it, then malloc / calloc / posix_memalign /
 * aligned_alloc a new one and fill it. Every 1024 steps a huge malloc must fail with
 * ENOMEM. Traced or not, killed tracer or not, the line must be byte-identical.
 * Protocol: "ready <pid>", wait for "go", run, print the result, wait for "exit" / EOF.
 * --nowait: run at once, print, exit. Exit status 0, or 1 if the checks failed.
 * CHECKSUM_HOLD=1 (tests that stop the tracer mid-run): once every thread is half way
 * it prints "halfway", and each thread waits at three quarters until the line "resume",
 * so a test acts mid-run on an event, not after a guessed time. The result is the same. */
#include "rel.h"

#include <errno.h>
#include <malloc.h>
#include <pthread.h>

#define SLOTS 256
#define MAXT 16

struct slot {
	unsigned char *p;
	size_t size;
	unsigned char tag;
	int zeroed;
};

struct worker {
	pthread_t th;
	int idx;
	uint64_t seed;
	long ops;
	uint64_t sum;
	long errors;
	struct slot slots[SLOTS];
};

static struct worker workers[MAXT];
static pthread_barrier_t start;
static int hold, halfway;
static int released;
static pthread_mutex_t hold_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t hold_cv = PTHREAD_COND_INITIALIZER;

/* CHECKSUM_HOLD: count the threads half way; wait for main's release at three quarters */
static void hold_point(long op, long ops)
{
	if (!hold)
		return;
	pthread_mutex_lock(&hold_mu);
	if (op == ops / 2) {
		halfway++;
		pthread_cond_broadcast(&hold_cv);
	}
	if (op == ops / 2 + ops / 4)
		while (!released)
			pthread_cond_wait(&hold_cv, &hold_mu);
	pthread_mutex_unlock(&hold_mu);
}

static void mix(uint64_t *h, uint64_t v)
{
	*h = (*h ^ v) * 0x100000001b3ULL;
}

static void fill(struct slot *s, unsigned char tag)
{
	s->tag = tag;
	s->zeroed = 0;
	for (size_t i = 0; i < s->size; i++)
		s->p[i] = (unsigned char)(tag + i * 7);
}

static long check(const struct slot *s, size_t upto)
{
	long bad = 0;

	for (size_t i = 0; i < upto; i++)
		bad += s->p[i] != (s->zeroed ? 0 : (unsigned char)(s->tag + i * 7));
	return bad;
}

static size_t pick(uint64_t *r)
{
	uint64_t v = rel_rand(r) % 100;

	if (v < 80)
		return 1 + rel_rand(r) % 128;
	if (v < 99)
		return 129 + rel_rand(r) % 2000;
	return 4097 + rel_rand(r) % 150000;	/* mmap threshold territory */
}

static void *run(void *arg)
{
	struct worker *w = arg;
	uint64_t r = w->seed, h = 0xcbf29ce484222325ULL;

	pthread_barrier_wait(&start);
	for (long op = 0; op < w->ops; op++) {
		struct slot *s = &w->slots[rel_rand(&r) % SLOTS];
		uint64_t act = rel_rand(&r) % 100;
		size_t n = pick(&r);

		hold_point(op, w->ops);
		if ((op & 1023) == 1023) {
			void *huge;

			errno = 0;
			huge = malloc(rel_opq((size_t)1 << 62));
			if (huge || errno != ENOMEM)
				w->errors++;
			free(huge);
		}
		if (s->p) {
			w->errors += check(s, s->size);
			if (malloc_usable_size(s->p) < s->size)
				w->errors++;
			mix(&h, s->size);
			mix(&h, s->p[s->size - 1]);
			if (act < 20) {
				size_t keep = n < s->size ? n : s->size;
				unsigned char *q = realloc(s->p, n);

				if (!q) {
					w->errors++;
					continue;
				}
				s->p = q;
				w->errors += check(s, keep);
				s->size = n;
				fill(s, (unsigned char)rel_rand(&r));
				continue;
			}
			free(s->p);
			s->p = NULL;
		}
		if (act < 50) {
			s->p = malloc(n);
		} else if (act < 70) {
			s->p = calloc(1, n);
			s->size = n;
			s->zeroed = 1;
			if (s->p)
				w->errors += check(s, n);
		} else if (act < 85) {
			void *q = NULL;

			if (posix_memalign(&q, 64, n) || ((uintptr_t)q & 63))
				w->errors++;
			s->p = q;
		} else {
			s->p = aligned_alloc(256, (n + 255) & ~(size_t)255);
			if ((uintptr_t)s->p & 255)
				w->errors++;
		}
		if (!s->p) {
			w->errors++;
			continue;
		}
		s->size = n;
		fill(s, (unsigned char)rel_rand(&r));
	}
	for (int i = 0; i < SLOTS; i++) {
		struct slot *s = &w->slots[i];

		if (!s->p)
			continue;
		w->errors += check(s, s->size);
		mix(&h, s->size);
		free(s->p);
		s->p = NULL;
	}
	w->sum = h;
	return NULL;
}

int main(int argc, char **argv)
{
	int nowait = argc > 1 && !strcmp(argv[1], "--nowait");
	char **a = argv + nowait;
	int args = argc - nowait;
	uint64_t seed = args > 1 ? strtoull(a[1], NULL, 0) : 42;
	long ops = args > 2 ? atol(a[2]) : 200000;
	int nt = args > 3 ? atoi(a[3]) : 4;
	uint64_t h = 0xcbf29ce484222325ULL;
	long errors = 0;

	if (nt < 1 || nt > MAXT || ops < 0)
		rel_die("checksum: THREADS must be 1..16");
	hold = getenv("CHECKSUM_HOLD") && !nowait && ops >= 4;
	pthread_barrier_init(&start, NULL, nt + 1);
	for (int i = 0; i < nt; i++) {
		workers[i].idx = i;
		workers[i].seed = seed * 0x9E3779B97F4A7C15ULL + (uint64_t)i + 1;
		workers[i].ops = ops;
		if (pthread_create(&workers[i].th, NULL, run, &workers[i]))
			rel_die("pthread_create");
	}
	if (!nowait) {
		rel_ready();
		rel_expect("go");
	}
	pthread_barrier_wait(&start);
	if (hold) {
		pthread_mutex_lock(&hold_mu);
		while (halfway < nt)
			pthread_cond_wait(&hold_cv, &hold_mu);
		pthread_mutex_unlock(&hold_mu);
		rel_out("halfway");
		rel_expect("resume");
		pthread_mutex_lock(&hold_mu);
		released = 1;
		pthread_cond_broadcast(&hold_cv);
		pthread_mutex_unlock(&hold_mu);
	}
	for (int i = 0; i < nt; i++) {
		pthread_join(workers[i].th, NULL);
		mix(&h, workers[i].sum);
		errors += workers[i].errors;
	}
	rel_out("result seed=%llu ops=%ld threads=%d checksum=%016llx errors=%ld", (unsigned long long)seed, ops, nt,
		(unsigned long long)h, errors);
	if (!nowait)
		rel_expect("exit");
	return errors ? 1 : 0;
}
