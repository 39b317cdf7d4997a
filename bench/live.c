/* bench-live: many live blocks from many distinct call paths, for measuring what a
 * tracer costs itself (CPU, memory, report time) on a big heap.
 *
 *   bench-live [-b BLOCKS] [-k PATHS] [-r OPS_PER_S] [--wait] [--steps]
 *
 * Allocates BLOCKS blocks (default 1000000, sizes 16..512 cycling) from PATHS distinct
 * call paths (default 100000; BLOCKS/PATHS blocks each) and keeps them live. Path k is
 * a chain of DEPTH calls (DEPTH = bits needed for PATHS-1) through two functions,
 * left() for a 0 bit of k and right() for a 1 bit, so every path has a different stack
 * of return addresses; build it with frame pointers and without sibling calls.
 * Then it prints "populated ..." and trickles: OPS_PER_S times a second (default 1000)
 * it frees a random live block and allocates a new one from a random path, until a
 * line or EOF arrives on stdin; then it prints "done" and exits.
 * --wait: print "ready PID" first and wait for a line on stdin before populating (so a
 * tracer can attach by PID first).
 * --steps (tests): no trickle by time; each line "step N" makes N replacements and is
 * answered "stepped ops=TOTAL"; any other line or EOF ends it. */
#define _GNU_SOURCE
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline))

static void **blocks;
static long nblocks, npaths;
static int depth;
static long fill;		/* next slot to fill while populating */
static uint64_t rng = 0x9E3779B97F4A7C15ULL;

static uint64_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The allocating leaf: `count` blocks into slots from *slot on. */
static NOINLINE long leaf(long slot, long count)
{
	for (long i = 0; i < count; i++, slot++) {
		blocks[slot] = malloc(16 + (size_t)(slot & 31) * 16);
		if (!blocks[slot]) {
			perror("malloc");
			exit(1);
		}
	}
	return count;
}

static NOINLINE long left(long path, int level, long slot, long count);
static NOINLINE long right(long path, int level, long slot, long count);

/* Descend one level: the bit of path at this level picks the function. The result
 * is used after the call, so it cannot become a tail call. */
static NOINLINE long step(long path, int level, long slot, long count)
{
	if (level == depth)
		return leaf(slot, count);
	return (path >> level & 1) ? right(path, level + 1, slot, count) : left(path, level + 1, slot, count);
}

/* Two different bodies (the counters), so no compiler folds them into one. */
static volatile long lefts, rights;

static NOINLINE long left(long path, int level, long slot, long count)
{
	long r = step(path, level, slot, count);

	lefts++;
	return r;
}

static NOINLINE long right(long path, int level, long slot, long count)
{
	long r = step(path, level, slot, count);

	rights++;
	return r;
}

static void usage(void)
{
	fprintf(stderr, "usage: bench-live [-b BLOCKS] [-k PATHS] [-r OPS_PER_S] [--wait] [--steps]\n");
	exit(2);
}

static int stdin_ready(int timeout_ms)
{
	struct pollfd p = { .fd = 0, .events = POLLIN };

	return poll(&p, 1, timeout_ms) > 0;
}

/* What to allocate next: populate first, then trickle until stdin has something. Both
 * phases allocate through the single call of step() in main(), so a path has one stack
 * whichever phase allocates from it. */
struct op {
	long path, slot, count;
};

static long rate = 1000, per, next_path, ops, tick, step_left;
static int populated, steps;
static double t0, next_tick;

static int next_op(struct op *op)
{
	if (!populated) {
		if (next_path < npaths) {
			op->path = next_path;
			op->slot = fill;
			op->count = per + (next_path < nblocks % npaths);
			fill += op->count;
			next_path++;
			return 1;
		}
		populated = 1;
		printf("populated blocks=%ld paths=%ld depth=%d seconds=%.3f\n", fill, npaths, depth, now_s() - t0);
		fflush(stdout);
		next_tick = now_s();
	}
	/* --steps: as many replacements as the last "step N" asked for, then the next line */
	while (steps && !step_left) {
		char line[64];

		if (ops) {
			printf("stepped ops=%ld\n", ops);
			fflush(stdout);
		}
		if (!fgets(line, sizeof(line), stdin) || sscanf(line, "step %ld", &step_left) != 1 || step_left < 1)
			return 0;
	}
	if (steps) {
		step_left--;
		goto replace;
	}
	/* trickle: in 10 ms ticks, rate/100 replacements a tick */
	for (;;) {
		long due = rate * (tick + 1) / 100;

		if (ops < due)
			break;
		tick++;
		next_tick += 0.01;
		{
			double d = next_tick - now_s();

			if (stdin_ready(d > 0 ? (int)(d * 1000) + 1 : 0))
				return 0;
		}
	}
replace:
	op->slot = (long)(next_rand() % (uint64_t)nblocks);
	op->path = (long)(next_rand() % (uint64_t)npaths);
	op->count = 1;
	free(blocks[op->slot]);
	ops++;
	return 1;
}

int main(int argc, char **argv)
{
	int wait = 0;
	char line[64];
	struct op op;

	nblocks = 1000000;
	npaths = 100000;
	for (int i = 1; i < argc; i++) {
		char *end = NULL;

		if (!strcmp(argv[i], "--wait")) {
			wait = 1;
		} else if (!strcmp(argv[i], "--steps")) {
			steps = 1;
		} else if (!strcmp(argv[i], "-b") && i + 1 < argc) {
			nblocks = strtol(argv[++i], &end, 10);
			if (*end || nblocks < 1)
				usage();
		} else if (!strcmp(argv[i], "-k") && i + 1 < argc) {
			npaths = strtol(argv[++i], &end, 10);
			if (*end || npaths < 1)
				usage();
		} else if (!strcmp(argv[i], "-r") && i + 1 < argc) {
			rate = strtol(argv[++i], &end, 10);
			if (*end || rate < 0)
				usage();
		} else {
			usage();
		}
	}
	if (npaths > nblocks)
		npaths = nblocks;
	for (depth = 0; (1L << depth) < npaths; depth++)
		;
	per = nblocks / npaths;
	blocks = calloc((size_t)nblocks, sizeof(*blocks));
	if (!blocks) {
		perror("calloc");
		return 1;
	}
	if (wait) {
		printf("ready %d\n", (int)getpid());
		fflush(stdout);
		if (!fgets(line, sizeof(line), stdin))
			return 1;
	}
	t0 = now_s();
	while (next_op(&op))
		step(op.path, 0, op.slot, op.count);
	printf("done trickle_ops=%ld\n", ops);
	return 0;
}
