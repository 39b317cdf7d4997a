/* phased: a server whose load comes in phases, for --max-overhead's estimates. Phase A
 * runs ROUNDS rounds allocating only at site_phase_a (48 bytes), then phase B as many at
 * site_phase_b (700 bytes), then A again, each round a fixed amount of CPU work and
 * ALLOCS allocations into a ring of 256 slots (the slot's old block freed first). A phase
 * lasts about a second untraced with the defaults; a window sampler must see every phase
 * to get both sites right. Each phase runs under its own caller (run_phase_1, 2, 3), so
 * its allocations have a stack of their own. Prints "phase NAME" on stderr as each
 * begins, and its exact truth as one JSON line on stdout or to --truth FILE.
 * Args: [--rounds N (per phase, default 1000)] [--allocs K (a round, default 10)]
 * [--warmup W (rounds before phase A at site_warmup, under run_warmup, outside the
 * truth: a server already running when the measured phases begin; default 0)]. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOIPA __attribute__((noipa))
#define SLOTS 256

static void *ring[SLOTS];
static unsigned long n_a, n_b, frees, k;

static unsigned long phase(const char *name, long rounds, int allocs, void *(*site)(void), unsigned long *n);

NOIPA void *site_phase_a(void)
{
	void *p = malloc(48);

	__asm__ volatile("" ::: "memory");
	return p;
}

NOIPA void *site_warmup(void)
{
	void *p = malloc(48);

	__asm__ volatile("" ::: "memory");
	return p;
}

NOIPA void *site_phase_b(void)
{
	void *p = malloc(700);

	__asm__ volatile("" ::: "memory");
	return p;
}

/* A fixed amount of work, not of time: the same with and without probes. */
NOIPA unsigned long spin(unsigned long n)
{
	unsigned long x = 1;

	for (unsigned long i = 0; i < n; i++)
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
	return x;
}

static unsigned long phase(const char *name, long rounds, int allocs, void *(*site)(void), unsigned long *n)
{
	unsigned long sink = 0;

	fprintf(stderr, "phase %s\n", name);
	for (long r = 0; r < rounds; r++) {
		sink += spin(500000);
		for (int j = 0; j < allocs; j++, k++) {
			void **slot = &ring[k % SLOTS];

			if (*slot) {
				free(*slot);
				frees++;
			}
			*slot = site();
			(*n)++;
		}
	}
	return sink;
}

/* One caller per phase, so that each phase's allocations have a stack of their own. */
NOIPA unsigned long run_warmup(long rounds, int allocs, unsigned long *n)
{
	return phase("W", rounds, allocs, site_warmup, n);
}

NOIPA unsigned long run_phase_1(long rounds, int allocs, unsigned long *n)
{
	return phase("A", rounds, allocs, site_phase_a, n);
}

NOIPA unsigned long run_phase_2(long rounds, int allocs, unsigned long *n)
{
	return phase("B", rounds, allocs, site_phase_b, n);
}

NOIPA unsigned long run_phase_3(long rounds, int allocs, unsigned long *n)
{
	return phase("A", rounds, allocs, site_phase_a, n);
}

int main(int argc, char **argv)
{
	long rounds = 1000;
	int allocs = 10;
	const char *truth = NULL;
	unsigned long sink = 0, n[3] = {}, warm = 0;
	long warmup = 0;
	FILE *out = stdout;

	for (int i = 1; i + 1 < argc; i++) {
		if (!strcmp(argv[i], "--rounds"))
			rounds = atol(argv[++i]);
		else if (!strcmp(argv[i], "--allocs"))
			allocs = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--truth"))
			truth = argv[++i];
		else if (!strcmp(argv[i], "--warmup"))
			warmup = atol(argv[++i]);
	}
	if (warmup)
		sink += run_warmup(warmup, allocs, &warm);
	frees = 0;	/* the truth covers the measured phases */
	sink += run_phase_1(rounds, allocs, &n[0]);
	sink += run_phase_2(rounds, allocs, &n[1]);
	sink += run_phase_3(rounds, allocs, &n[2]);
	n_a = n[0] + n[2];
	n_b = n[1];
	if (truth && !(out = fopen(truth, "w")))
		return 1;
	/* the truth after the measured phases: stdio's own allocations come after */
	fprintf(out, "{\"allocs\": %lu, \"frees\": %lu, \"sites\": {\"site_phase_a\": {\"allocs\": %lu, "
		"\"alloc_bytes\": %lu}, \"site_phase_b\": {\"allocs\": %lu, \"alloc_bytes\": %lu}}, "
		"\"phases\": {\"run_phase_1\": %lu, \"run_phase_2\": %lu, \"run_phase_3\": %lu}, \"sink\": %lu}\n",
		n_a + n_b, frees, n_a, n_a * 48, n_b, n_b * 700, n[0], n[1], n[2], sink & 1);
	fclose(out);
	return 0;
}
