#include "lib/hist.h"

#include <stdint.h>
#include <stdio.h>

unsigned int at_hist_bucket(__u64 v, unsigned int nr)
{
	unsigned int b = v ? 64 - __builtin_clzll(v) : 0;

	return b < nr ? b : nr - 1;
}

__u64 at_hist_lo(unsigned int b)
{
	return b ? 1ULL << (b - 1) : 0;
}

__u64 at_hist_hi(unsigned int b, unsigned int nr)
{
	if (b + 1 >= nr || b >= 64)
		return UINT64_MAX;
	return b ? (1ULL << b) - 1 : 0;
}

__u64 at_hist_median_u32(const __u32 *counts, unsigned int nr)
{
	__u64 total = 0, acc = 0;

	for (unsigned int i = 0; i < nr; i++)
		total += counts[i];
	if (!total)
		return 0;
	for (unsigned int i = 0; i < nr; i++) {
		acc += counts[i];
		if (acc * 2 >= total)
			return at_hist_hi(i, nr) == UINT64_MAX ? at_hist_lo(i) : at_hist_hi(i, nr);
	}
	return 0;
}

const char *at_fmt_bytes(__u64 v, char *buf, unsigned int sz)
{
	static const char units[] = "BKMGTPE";
	double d = (double)v;
	int u = 0;

	while (d >= 1024 && u < 6) {
		d /= 1024;
		u++;
	}
	if (!u)
		snprintf(buf, sz, "%lluB", (unsigned long long)v);
	else
		snprintf(buf, sz, d < 10 ? "%.1f%c" : "%.0f%c", d, units[u]);
	return buf;
}

const char *at_fmt_ns(__u64 ns, char *buf, unsigned int sz)
{
	double d = (double)ns;

	if (ns < 1000)
		snprintf(buf, sz, "%lluns", (unsigned long long)ns);
	else if (d < 1e6)
		snprintf(buf, sz, "%.*fus", d < 1e4 ? 1 : 0, d / 1e3);
	else if (d < 1e9)
		snprintf(buf, sz, "%.*fms", d < 1e7 ? 1 : 0, d / 1e6);
	else if (d < 60e9)
		snprintf(buf, sz, "%.*fs", d < 1e10 ? 1 : 0, d / 1e9);
	else if (d < 3600e9)
		snprintf(buf, sz, "%.1fm", d / 60e9);
	else
		snprintf(buf, sz, "%.1fh", d / 3600e9);
	return buf;
}
