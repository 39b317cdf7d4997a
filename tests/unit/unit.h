/* A minimal unit-test harness: CHECK records failures, RUN runs a test once, SKIP
 * counts a test that cannot run here, and UNIT_DONE prints "N passed, N failed,
 * N skipped" and exits non-zero on failure. With ALLOCTOP_NO_SKIP=1 (CI, as root) a
 * skip counts as a failure. */
#ifndef AT_UNIT_H
#define AT_UNIT_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int unit_pass, unit_fail, unit_skip, unit_cur_failed;

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

#define SKIP(fn, why) do { \
	const char *_ns = getenv("ALLOCTOP_NO_SKIP"); \
	if (_ns && *_ns && strcmp(_ns, "0")) { unit_fail++; printf("FAIL %s: skipped (%s) under ALLOCTOP_NO_SKIP\n", #fn, why); } \
	else { unit_skip++; printf("SKIP %s: %s\n", #fn, why); } \
} while (0)

#define UNIT_DONE() (printf("%d passed, %d failed, %d skipped\n", unit_pass, unit_fail, unit_skip), \
		      unit_fail ? 1 : 0)

#endif
