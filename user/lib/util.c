#include "lib/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

bool at_verbose;

static void vmsg(const char *prefix, const char *fmt, va_list ap)
{
	fprintf(stderr, "alloctop: %s", prefix);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void at_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg("", fmt, ap);
	va_end(ap);
}

void at_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg("warning: ", fmt, ap);
	va_end(ap);
}

void at_debug(const char *fmt, ...)
{
	va_list ap;

	if (!at_verbose)
		return;
	va_start(ap, fmt);
	vmsg("", fmt, ap);
	va_end(ap);
}

static double now(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

double at_now_mono(void) { return now(CLOCK_MONOTONIC); }
double at_now_real(void) { return now(CLOCK_REALTIME); }

int at_read_small(const char *path, char *buf, size_t sz)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, sz - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = 0;
	while (n > 0 && buf[n - 1] == '\n')
		buf[--n] = 0;
	return 0;
}

static void *check(void *p)
{
	if (!p) {
		at_err("out of memory");
		exit(AT_EXIT_FAIL);
	}
	return p;
}

void *at_xcalloc(size_t n, size_t sz) { return check(calloc(n ? n : 1, sz ? sz : 1)); }

void *at_xrealloc(void *p, size_t n, size_t sz)
{
	if (sz && n > SIZE_MAX / sz)
		check(NULL);
	return check(realloc(p, (n && sz) ? n * sz : 1));
}

char *at_xstrdup(const char *s) { return check(strdup(s)); }

int at_int_cmp(const void *a, const void *b)
{
	return (*(const int *)a > *(const int *)b) - (*(const int *)a < *(const int *)b);
}

const char *at_cache_dir(void)
{
	const char *d = getenv("ALLOCTOP_CACHE_DIR");

	return d && *d ? d : "/run/alloctop";
}
