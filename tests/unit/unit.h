/* A minimal unit-test harness: CHECK records failures, each TEST runs once, and
 * UNIT_MAIN prints "N passed, N failed" and exits non-zero on failure. */
#ifndef AT_UNIT_H
#define AT_UNIT_H

#include <stdio.h>
#include <string.h>

static int unit_pass, unit_fail, unit_cur_failed;

#define CHECK(cond) do { \
	if (!(cond)) { \
		fprintf(stderr, "  %s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond); \
		unit_cur_failed = 1; \
	} \
} while (0)

#define CHECK_EQ_U(a, b) do { \
	unsigned long long _a = (a), _b = (b); \
	if (_a != _b) { \
		fprintf(stderr, "  %s:%d: %s == %llu, expected %llu\n", __FILE__, __LINE__, #a, _a, _b); \
		unit_cur_failed = 1; \
	} \
} while (0)

#define CHECK_STR(a, b) do { \
	const char *_a = (a), *_b = (b); \
	if (!_a || strcmp(_a, _b)) { \
		fprintf(stderr, "  %s:%d: %s == \"%s\", expected \"%s\"\n", __FILE__, __LINE__, #a, _a ? _a : "(null)", _b); \
		unit_cur_failed = 1; \
	} \
} while (0)

/* Random test inputs from a fixed-seed xorshift: the same on every run. */
static inline unsigned long long unit_rand(void)
{
	static unsigned long long s = 0x9E3779B97F4A7C15ULL;

	s ^= s << 13;
	s ^= s >> 7;
	s ^= s << 17;
	return s;
}

#define RUN(fn) do { \
	unit_cur_failed = 0; \
	fn(); \
	if (unit_cur_failed) { unit_fail++; printf("FAIL %s\n", #fn); } \
	else { unit_pass++; printf("PASS %s\n", #fn); } \
} while (0)

#define UNIT_DONE() (printf("%d passed, %d failed\n", unit_pass, unit_fail), unit_fail ? 1 : 0)

#endif
