/* Shared helpers for the reliability workloads (tests/reliability/ *.c, built into
 * build/reliability/ and driven by tests/integration/test_reliability*.py).
 *
 * Protocol, as for tests/workloads: "ready <pid>" on stdout, then commands one per
 * line on stdin, answers one per line on stdout. Nothing here allocates (no stdio
 * streams): output goes through snprintf into a static buffer and write(2), input is
 * read(2) byte by byte, so the measured phases make no allocator call of their own. */
#ifndef REL_H
#define REL_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NOIPA __attribute__((noipa))
#define REL_BARRIER() __asm__ volatile("" ::: "memory")
#define REL_FN static __attribute__((unused))

static inline size_t rel_opq(size_t v)
{
	__asm__ volatile("" : "+r"(v));
	return v;
}

REL_FN void rel_out(const char *fmt, ...)
{
	static char buf[4096];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (n > (int)sizeof(buf) - 2)
		n = sizeof(buf) - 2;
	buf[n++] = '\n';
	for (int o = 0; o < n;) {
		ssize_t w = write(1, buf + o, n - o);

		if (w <= 0)
			_exit(4);	/* the test is gone */
		o += w;
	}
}

REL_FN void rel_die(const char *what)
{
	static char buf[256];
	int n = snprintf(buf, sizeof(buf), "FATAL %s\n", what);

	if (write(2, buf, n) < 0)
		_exit(3);
	_exit(3);
}

/* One line from stdin without the newline; 0 at EOF. */
REL_FN int rel_line(char *buf, size_t sz)
{
	size_t n = 0;

	for (;;) {
		char c;
		ssize_t r = read(0, &c, 1);

		if (r <= 0)
			break;
		if (c == '\n') {
			buf[n] = 0;
			return 1;
		}
		if (n + 1 < sz)
			buf[n++] = c;
	}
	buf[n] = 0;
	return n > 0;
}

/* Waits for the line `want`; exits quietly at EOF (the test ended). */
REL_FN void rel_expect(const char *want)
{
	char buf[128];

	while (rel_line(buf, sizeof(buf)))
		if (!strcmp(buf, want))
			return;
	_exit(0);
}

REL_FN void rel_ready(void)
{
	rel_out("ready %d", (int)getpid());
}

static inline uint64_t rel_rand(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545F4914F6CDD1DULL;
}

#endif
