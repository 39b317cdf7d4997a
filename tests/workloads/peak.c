/* peak: a phase of big blocks freed before a smaller phase, for the peak of live bytes
 * (tests/integration/test_analyses.py). Single-threaded, so the peak is exact:
 *   site_still  STILL blocks of STILL_SZ, allocated first, never touched again;
 *   site_keep   KEEP blocks of KEEP_SZ, of which KEEP_FREED are freed after the peak;
 *   site_big    BIG blocks of BIG_SZ: the peak is right after the last one; all freed;
 *   site_small  SMALL blocks of SMALL_SZ after the big ones are gone (below the peak).
 * Protocol (tests/workloads/wl.h): "ready PID", wait for "go", the measured phase, one
 * line of JSON truth (the peak's bytes and blocks, and each site's live blocks and
 * bytes at the peak), wait for "exit". No allocator call in the measured phase but these. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NOIPA __attribute__((noipa))
#define STILL 2
#define STILL_SZ 300
#define KEEP 5
#define KEEP_SZ 1000
#define KEEP_FREED 2
#define BIG 10
#define BIG_SZ (1 << 20)
#define SMALL 100
#define SMALL_SZ 10000

static void *still[STILL], *keep[KEEP], *big[BIG], *small[SMALL];

NOIPA static void *site_still(size_t n) { return malloc(n); }
NOIPA static void *site_keep(size_t n) { return malloc(n); }
NOIPA static void *site_big(size_t n) { return malloc(n); }
NOIPA static void *site_small(size_t n) { return malloc(n); }

static void say(const char *s)
{
	if (write(1, s, strlen(s)) < 0)
		_exit(1);
}

static int wait_line(const char *want)
{
	char buf[64];
	size_t n = 0;
	char c;

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

static void measured(void)
{
	for (int i = 0; i < STILL; i++)
		still[i] = site_still(STILL_SZ);
	for (int i = 0; i < KEEP; i++)
		keep[i] = site_keep(KEEP_SZ);
	for (int i = 0; i < BIG; i++)
		big[i] = site_big(BIG_SZ);
	/* the peak: every block above is live */
	for (int i = 0; i < BIG; i++)
		free(big[i]);
	for (int i = 0; i < KEEP_FREED; i++)
		free(keep[i]);
	for (int i = 0; i < SMALL; i++)
		small[i] = site_small(SMALL_SZ);
}

int main(void)
{
	char buf[1024];

	snprintf(buf, sizeof(buf), "ready %d\n", getpid());
	say(buf);
	if (wait_line("go"))
		return 1;
	measured();
	snprintf(buf, sizeof(buf),
		 "{\"peak_bytes\": %d, \"peak_allocs\": %d, \"sites\": {\"site_still\": [%d, %d], "
		 "\"site_keep\": [%d, %d], \"site_big\": [%d, %d]}, \"live_bytes\": %d}\n",
		 STILL * STILL_SZ + KEEP * KEEP_SZ + BIG * BIG_SZ, STILL + KEEP + BIG, STILL, STILL * STILL_SZ,
		 KEEP, KEEP * KEEP_SZ, BIG, BIG * BIG_SZ,
		 STILL * STILL_SZ + (KEEP - KEEP_FREED) * KEEP_SZ + SMALL * SMALL_SZ);
	say(buf);
	wait_line("exit");
	for (int i = 0; i < SMALL; i++)
		free(small[i]);
	return 0;
}
