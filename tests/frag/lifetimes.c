/* Blocks with known lifetimes: immediate frees, ~5 ms, ~300 ms, and blocks never freed
 * (leak suspects once older than --min-age). Protocol: "ready PID", wait for a line,
 * run, print "done" with the counts (the truth), wait for a line, exit. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define N_IMMEDIATE 200
#define N_MS 20
#define N_SLOW 4
#define N_LEAK 7

static void *leaked[N_LEAK];

#define SITE(name) \
	__attribute__((noinline)) static void *name(size_t n) \
	{ \
		void *p = malloc(n); \
		__asm__ volatile("" ::: "memory"); \
		return p; \
	}
SITE(site_immediate)
SITE(site_ms)
SITE(site_slow)
SITE(site_leak)

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static void line(void)
{
	char b[64];

	if (read(0, b, sizeof(b)) < 0)
		_exit(2);
}

static void say(const char *s, int n)
{
	char out[64];
	int len = snprintf(out, sizeof(out), s, n);

	if (write(1, out, len) < 0)
		_exit(2);
}

int main(void)
{
	say("ready %d\n", getpid());
	line();
	for (int i = 0; i < N_LEAK; i++)
		leaked[i] = site_leak(1000);
	for (int i = 0; i < N_IMMEDIATE; i++)
		free(site_immediate(64));
	for (int i = 0; i < N_MS; i++) {
		void *p = site_ms(128);

		sleep_ms(5);
		free(p);
	}
	for (int i = 0; i < N_SLOW; i++) {
		void *p = site_slow(256);

		sleep_ms(300);
		free(p);
	}
	/* the truth: every non-leaked block is freed by its thread before it allocates again */
	say("done immediate=%d", N_IMMEDIATE);
	say(" ms=%d", N_MS);
	say(" slow=%d", N_SLOW);
	say(" leak=%d", N_LEAK);
	say(" leak_bytes=%d", N_LEAK * 1000);
	say(" temp=%d\n", N_IMMEDIATE + N_MS + N_SLOW);
	line();
	return 0;
}
