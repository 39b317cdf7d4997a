/* --max-overhead's windows and what they tell of a block's lifetime. Every probe is
 * attached only in windows, so a block born in one window and not seen freed there is
 * followed across the gaps (bpf/alloc.bpf.c sends its fate): its lifetime becomes an
 * interval. Pure logic on CLOCK_MONOTONIC nanoseconds, no kernel. */
#ifndef AT_CENSOR_H
#define AT_CENSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

/* One window: attaching began at open_ns, every probe was in by on_ns, detaching began
 * at off_ns (0 while the window lasts). Frees are surely seen in [on_ns, off_ns]. */
struct at_window {
	__u64 open_ns, on_ns, off_ns;
};

#define AT_WINDOWS_KEPT 65536	/* older windows are forgotten: bounds get looser */

struct at_windows {
	struct at_window *v;	/* by time; a ring of the last AT_WINDOWS_KEPT */
	size_t n, first;	/* kept, index of the oldest */
	__u64 forgotten_ns;	/* off_ns of the newest forgotten window (0: none) */
};

void at_windows_open(struct at_windows *w, __u64 open_ns);	/* attaching begins */
void at_windows_on(struct at_windows *w, __u64 on_ns);		/* every probe is in */
void at_windows_off(struct at_windows *w, __u64 off_ns);	/* detaching begins */
void at_windows_free(struct at_windows *w);

enum at_fate {
	AT_FATE_FREED,		/* its free was seen at t */
	AT_FATE_REUSED,		/* an allocation at its address was seen at t: freed in a gap */
	AT_FATE_OPEN,		/* neither, as of t (now) */
};

/* A lifetime known within [lo_ns, hi_ns]; hi_ns is UINT64_MAX when it is still open
 * (right-censored). exact: lo == hi, seen from birth to free in one window. */
struct at_life_interval {
	__u64 lo_ns, hi_ns;
	bool exact;
};

/* The interval of a block born at birth_ns (seen, in a window) whose fate was seen at
 * t_ns: freed in its own window -> exact; freed in a later window -> from the end of
 * its window (it may have died in any gap since, its address handed out again unseen)
 * to t; reused -> from the end of its window to the end of the last gap before t; open
 * -> at least until the end of its window (or t while that window lasts). */
void at_censor(const struct at_windows *w, __u64 birth_ns, enum at_fate fate, __u64 t_ns,
	       struct at_life_interval *out);

#endif
