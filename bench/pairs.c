/* bench-pairs: the cost of one malloc+free pair, for measuring tracing overhead.
 *
 *   bench-pairs [-t THREADS] [-n PAIRS | -s SECONDS] [--depth N] [--wait] [--hold]
 *
 * Each thread does malloc+free pairs of sizes 16, 32, ..., 512 (cycling) and times
 * itself; the program prints "ns_per_pair=X" (the median over threads of each thread's
 * elapsed time / its pairs), "cpu_ns_per_pair=Y" (the same with each thread's own CPU
 * time, user and kernel: probes run in the thread, but time it spends preempted on a
 * busy machine does not count) and a few details on the same line.
 * -n: pairs per thread (default 1000000); -s: run each thread for SECONDS instead.
 * --wait: create the threads and warm them up, print "ready <pid>", wait for a line
 * on stdin, then run (so a tracer can attach by PID first).
 * --hold: after printing the result, wait for a line (or EOF) on stdin before exiting
 * (so a tracer's kernel statistics can be read while it is still attached).
 * --depth N: each thread runs its loop N calls deeper (a stack of N more frames at
 * every malloc), to measure what unwinding costs per frame. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_THREADS 256

static int nthreads = 1, depth;
static long pairs = 1000000;
static double seconds;
static pthread_barrier_t start_b;

struct result {
	long pairs;
	double ns, cpu_ns;
};
static struct result results[MAX_THREADS];

static double clock_ns(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static double now_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

/* One pair; the asm keeps gcc from deleting the malloc/free pair. */
static inline void pair(size_t n)
{
	void *p = malloc(n);

	__asm__ volatile("" : : "r"(p) : "memory");
	free(p);
}

#define WARMUP 1000

static void *run(void *arg)
{
	struct result *r = arg;
	long i, done = 0;
	double t0, t1, c0, c1, deadline;

	for (i = 0; i < WARMUP; i++)	/* warm-up: arena, tcache */
		pair(16 + (size_t)(i & 31) * 16);
	pthread_barrier_wait(&start_b);
	c0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
	t0 = now_ns();
	if (seconds > 0) {
		deadline = t0 + seconds * 1e9;
		do {
			for (i = 0; i < 4096; i++)
				pair(16 + (size_t)(i & 31) * 16);
			done += 4096;
		} while (now_ns() < deadline);
	} else {
		for (i = 0; i < pairs; i++)
			pair(16 + (size_t)(i & 31) * 16);
		done = pairs;
	}
	t1 = now_ns();
	c1 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
	r->pairs = done;
	r->ns = t1 - t0;
	r->cpu_ns = c1 - c0;
	return NULL;
}

/* The loop, d calls deeper; the barrier after the call keeps it from being a tail call. */
__attribute__((noinline)) static void *nest(struct result *r, int d)
{
	void *x = d > 0 ? nest(r, d - 1) : run(r);

	__asm__ volatile("" : "+r"(x) : : "memory");
	return x;
}

static void *start(void *arg)
{
	return nest(arg, depth);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static void usage(void)
{
	fprintf(stderr, "usage: bench-pairs [-t THREADS] [-n PAIRS | -s SECONDS] [--depth N] [--wait] [--hold]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	pthread_t tids[MAX_THREADS];
	double per[MAX_THREADS], cpu[MAX_THREADS], med, cmed, wall0, wall1;
	long total = 0;
	int i, wait = 0, hold = 0;

	for (i = 1; i < argc; i++) {
		char *end = NULL;

		if (!strcmp(argv[i], "--wait")) {
			wait = 1;
		} else if (!strcmp(argv[i], "--hold")) {
			hold = 1;
		} else if (!strcmp(argv[i], "-t") && i + 1 < argc) {
			nthreads = (int)strtol(argv[++i], &end, 10);
			if (*end || nthreads < 1 || nthreads > MAX_THREADS)
				usage();
		} else if (!strcmp(argv[i], "--depth") && i + 1 < argc) {
			depth = (int)strtol(argv[++i], &end, 10);
			if (*end || depth < 0 || depth > 10000)
				usage();
		} else if (!strcmp(argv[i], "-n") && i + 1 < argc) {
			pairs = strtol(argv[++i], &end, 10);
			if (*end || pairs < 1)
				usage();
		} else if (!strcmp(argv[i], "-s") && i + 1 < argc) {
			seconds = strtod(argv[++i], &end);
			if (*end || !(seconds > 0))
				usage();
		} else {
			usage();
		}
	}
	pthread_barrier_init(&start_b, NULL, (unsigned)nthreads + 1);
	for (i = 0; i < nthreads; i++)
		if (pthread_create(&tids[i], NULL, start, &results[i])) {
			perror("pthread_create");
			return 1;
		}
	if (wait) {
		char line[64];

		printf("ready %d\n", (int)getpid());
		fflush(stdout);
		if (!fgets(line, sizeof(line), stdin))
			return 1;
	}
	wall0 = now_ns();
	pthread_barrier_wait(&start_b);
	for (i = 0; i < nthreads; i++)
		pthread_join(tids[i], NULL);
	wall1 = now_ns();
	for (i = 0; i < nthreads; i++) {
		per[i] = results[i].ns / (double)results[i].pairs;
		cpu[i] = results[i].cpu_ns / (double)results[i].pairs;
		total += results[i].pairs;
	}
	qsort(per, (size_t)nthreads, sizeof(per[0]), cmp_double);
	qsort(cpu, (size_t)nthreads, sizeof(cpu[0]), cmp_double);
	med = nthreads % 2 ? per[nthreads / 2] : (per[nthreads / 2 - 1] + per[nthreads / 2]) / 2;
	cmed = nthreads % 2 ? cpu[nthreads / 2] : (cpu[nthreads / 2 - 1] + cpu[nthreads / 2]) / 2;
	/* frees= its own free calls, warm-up included (the truth tests check counts against) */
	printf("ns_per_pair=%.1f threads=%d pairs=%ld seconds=%.3f cpu_ns_per_pair=%.1f frees=%ld\n", med, nthreads,
	       total, (wall1 - wall0) / 1e9, cmed, total + (long)nthreads * WARMUP);
	if (hold) {
		char line[64];

		fflush(stdout);
		if (!fgets(line, sizeof(line), stdin))
			return 0;
	}
	return 0;
}
