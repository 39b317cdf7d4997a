/* Small shared helpers: errors, exit codes, time, file reading. */
#ifndef AT_UTIL_H
#define AT_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum at_exit {
	AT_EXIT_OK = 0,
	AT_EXIT_FAIL = 1,	/* runtime failure */
	AT_EXIT_USAGE = 2,	/* bad command line */
};

/* One line on stderr, prefixed "alloctop: ". */
void at_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void at_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
extern bool at_verbose;
void at_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

double at_now_mono(void);	/* seconds, CLOCK_MONOTONIC */
double at_now_real(void);	/* seconds since the epoch */

/* Reads a small file (e.g. under /proc) into buf, NUL-terminated, newline stripped. */
int at_read_small(const char *path, char *buf, size_t sz);
/* Where alloctop keeps what holds for one boot (ALLOCTOP_CACHE_DIR, else /run/alloctop). */
const char *at_cache_dir(void);

void *at_xcalloc(size_t n, size_t sz);
void *at_xrealloc(void *p, size_t n, size_t sz);
char *at_xstrdup(const char *s);

int at_int_cmp(const void *a, const void *b);	/* qsort/bsearch of ints */

#define AT_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#endif
