/* paced: a steady program for --max-overhead's estimates. ROUNDS rounds, each a fixed
 * amount of CPU work and 20 allocations (15 of 64 bytes at site_paced_small, 5 of 1000
 * at site_paced_big) into a ring of 400 slots, the slot's old block freed first: blocks
 * live 20 rounds, so many cross the gaps between windows. Allocations follow CPU work,
 * as a server's follow requests. Prints its exact truth as one JSON line on stdout, or
 * to --truth FILE (launch mode shares alloctop's stdout). --io N makes it a server: each
 * round also reads a byte from /dev/zero N times, system calls that follow its work as
 * a server's reads follow its requests. Args: [--rounds N] [--io N]. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#define NOIPA __attribute__((noipa))
#define SLOTS 400

static void *ring[SLOTS];
static unsigned long allocs_small, allocs_big, frees;

NOIPA void *site_paced_small(void)
{
	void *p = malloc(64);

	__asm__ volatile("" ::: "memory");
	return p;
}

NOIPA void *site_paced_big(void)
{
	void *p = malloc(1000);

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

int main(int argc, char **argv)
{
	long rounds = 2500, io = 0;
	int zero_fd = open("/dev/zero", O_RDONLY | O_CLOEXEC);
	char byte;
	const char *truth = NULL;
	unsigned long k = 0, sink = 0;
	FILE *out = stdout;

	for (int i = 1; i + 1 < argc; i++) {
		if (!strcmp(argv[i], "--rounds"))
			rounds = atol(argv[++i]);
		else if (!strcmp(argv[i], "--io"))
			io = atol(argv[++i]);
		else if (!strcmp(argv[i], "--truth"))
			truth = argv[++i];
	}
	for (long r = 0; r < rounds; r++) {
		sink += spin(1000000);
		for (long j = 0; j < io; j++)
			if (read(zero_fd, &byte, 1) != 1)
				return 1;
		for (int j = 0; j < 20; j++, k++) {
			void **slot = &ring[k % SLOTS];

			if (*slot) {
				free(*slot);
				frees++;
			}
			if (j % 4 == 3) {
				*slot = site_paced_big();
				allocs_big++;
			} else {
				*slot = site_paced_small();
				allocs_small++;
			}
		}
	}
	if (truth && !(out = fopen(truth, "w")))
		return 1;
	/* the truth after the measured phase: stdio's own allocations come after */
	fprintf(out, "{\"allocs\": %lu, \"frees\": %lu, \"sites\": {\"site_paced_small\": {\"allocs\": %lu, "
		"\"alloc_bytes\": %lu}, \"site_paced_big\": {\"allocs\": %lu, \"alloc_bytes\": %lu}}, \"sink\": %lu}\n",
		allocs_small + allocs_big, frees, allocs_small, allocs_small * 64, allocs_big, allocs_big * 1000,
		sink & 1);
	fclose(out);
	return 0;
}
