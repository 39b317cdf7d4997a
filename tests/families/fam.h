/* Truth for the allocator-family workloads (tests/families). Each call the workload
 * makes is counted as alloctop accounts it: an allocation at its site (the function
 * calling the allocator: SITE is __func__ there) with its requested size, a free, a
 * resize as one free and one allocation (moved or in place), a query as a call only;
 * calls under the key alloctop uses (the entry point's name without prefix). Nothing
 * here allocates. Protocol as tests/allocators/mix.c: "ready PID", a line, the measured
 * phase, one JSON truth line, a line, exit. */
#ifndef FAM_H
#define FAM_H

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define FAM_MAX 48

struct fam_count {
	const char *name;
	long n;
};

static struct fam_truth {
	long allocs, frees, live, alloc_bytes;
	struct fam_count sites[FAM_MAX], calls[FAM_MAX];
} fam;

static void fam_bump(struct fam_count *t, const char *name)
{
	for (int i = 0; i < FAM_MAX; i++) {
		if (!t[i].name)
			t[i].name = name;
		if (!strcmp(t[i].name, name)) {
			t[i].n++;
			return;
		}
	}
}

#define SITE __func__
static void fam_call(const char *key) { fam_bump(fam.calls, key); }

static void fam_alloc(const char *site, const char *key, unsigned long size)
{
	fam.allocs++;
	fam.live++;
	fam.alloc_bytes += size;
	fam_bump(fam.sites, site);
	fam_call(key);
}

static void fam_free(const char *key)
{
	fam.frees++;
	fam.live--;
	fam_call(key);
}

/* a resize that succeeded: the old block freed, the new one (maybe at the same
 * address) allocated at the site */
__attribute__((unused)) static void fam_resize(const char *site, const char *key, unsigned long size)
{
	fam.frees++;
	fam.live--;
	fam_alloc(site, key, size);
}

static void fam_line(void)
{
	char b[64];

	if (read(0, b, sizeof(b)) < 0)
		_exit(2);
}

static void fam_ready(void)
{
	char out[64];
	int len = snprintf(out, sizeof(out), "ready %d\n", getpid());

	if (write(1, out, len) < 0)
		_exit(2);
	fam_line();
}

static int fam_json(char *out, size_t cap, int len, const struct fam_count *t)
{
	for (int i = 0; i < FAM_MAX && t[i].name; i++)
		len += snprintf(out + len, cap - len, "%s\"%s\": %ld", i ? ", " : "", t[i].name, t[i].n);
	return len;
}

/* the truth line, then wait for the last line */
static void fam_done(void)
{
	static char out[8192];
	int len = snprintf(out, sizeof(out), "{\"allocs\": %ld, \"frees\": %ld, \"live_allocs\": %ld, "
			   "\"alloc_bytes\": %ld, \"sites\": {", fam.allocs, fam.frees, fam.live, fam.alloc_bytes);

	len = fam_json(out, sizeof(out), len, fam.sites);
	len += snprintf(out + len, sizeof(out) - len, "}, \"calls\": {");
	len = fam_json(out, sizeof(out), len, fam.calls);
	len += snprintf(out + len, sizeof(out) - len, "}}\n");
	if (write(1, out, len) < 0)
		_exit(2);
	fam_line();
}

#define NOINLINE __attribute__((noinline))
#define BARRIER() __asm__ volatile("" ::: "memory")

#endif
