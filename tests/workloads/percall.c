/* percall: a request handler called R times with a known allocation pattern, plus
 * allocations outside it, for --per (tests/integration/test_analyses.py). Call i is
 * handle_request(i % 2): depth 1 recurses once, so that call does two rounds. A round
 * allocates site_req_a (A_SZ, freed), site_req_b (B_SZ, through helper_b, freed) and
 * site_req_keep (KEEP_SZ, left live). Outside any call: OUTSIDE blocks of site_outside,
 * and DUPS copies made by libc's strdup (a function of a library, for --per strdup).
 * Protocol (tests/workloads/wl.h): "ready PID", wait for "go", the measured phase, one
 * line of JSON truth per function, wait for "exit". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NOIPA __attribute__((noipa))
#define R 50
#define A_SZ 100
#define B_SZ 200
#define KEEP_SZ 64
#define OUTSIDE 10
#define OUT_SZ 1000
#define DUPS 5

static void *keep[2 * R], *outside[OUTSIDE];
static char *dups[DUPS];
static const char dup_src[] = "dup";	/* 4 bytes with its NUL */
static int rounds;

NOIPA static void *site_req_a(size_t n) { return malloc(n); }
NOIPA static void *site_req_b(size_t n) { return malloc(n); }
NOIPA static void *site_req_keep(size_t n) { return malloc(n); }
NOIPA static void *site_outside(size_t n) { return malloc(n); }
NOIPA void *helper_b(void) { return site_req_b(B_SZ); }

NOIPA void handle_request(int depth)
{
	void *a = site_req_a(A_SZ), *b = helper_b();

	keep[rounds++] = site_req_keep(KEEP_SZ);
	free(a);
	free(b);
	if (depth > 0)
		handle_request(depth - 1);
}

static void say(const char *s)
{
	if (write(1, s, strlen(s)) < 0)
		_exit(1);
}

static int wait_line(const char *want)
{
	char buf[64], c;
	size_t n = 0;

	while (read(0, &c, 1) == 1) {
		if (c != '\n') {
			if (n + 1 < sizeof(buf))
				buf[n++] = c;
			continue;
		}
		buf[n] = 0;
		if (!strcmp(buf, want))
			return 0;
		n = 0;
	}
	return -1;
}

int main(void)
{
	char buf[1024];

	snprintf(buf, sizeof(buf), "ready %d\n", getpid());
	say(buf);
	if (wait_line("go"))
		return 1;
	for (int i = 0; i < OUTSIDE / 2; i++)
		outside[i] = site_outside(OUT_SZ);
	for (int i = 0; i < R; i++)
		handle_request(i % 2);
	for (int i = OUTSIDE / 2; i < OUTSIDE; i++)
		outside[i] = site_outside(OUT_SZ);
	for (int i = 0; i < DUPS; i++)
		dups[i] = strdup(dup_src);
	snprintf(buf, sizeof(buf),
		 "{\"handle_request\": {\"calls\": %d, \"allocs\": %d, \"alloc_bytes\": %d, \"live_bytes\": %d, "
		 "\"live_allocs\": %d}, \"helper_b\": {\"calls\": %d, \"allocs\": %d, \"alloc_bytes\": %d, "
		 "\"live_bytes\": 0, \"live_allocs\": 0}, \"strdup\": {\"calls\": %d, \"allocs\": %d, "
		 "\"alloc_bytes\": %d, \"live_bytes\": %d, \"live_allocs\": %d}, \"outside\": %d}\n",
		 R, 3 * rounds, rounds * (A_SZ + B_SZ + KEEP_SZ), rounds * KEEP_SZ, rounds,
		 rounds, rounds, rounds * B_SZ, DUPS, DUPS, DUPS * (int)sizeof(dup_src), DUPS * (int)sizeof(dup_src),
		 DUPS, OUTSIDE + DUPS);
	say(buf);
	wait_line("exit");
	for (int i = 0; i < rounds; i++)
		free(keep[i]);
	for (int i = 0; i < OUTSIDE; i++)
		free(outside[i]);
	for (int i = 0; i < DUPS; i++)
		free(dups[i]);
	return 0;
}
