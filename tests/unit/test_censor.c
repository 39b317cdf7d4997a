/* --max-overhead's lifetime intervals (model/censor.c), cases built by hand: windows
 * [open, on, off] at 100-110-200, 1000-1010-1100, 2000-2010-(still on). */
#include "unit.h"
#include "model/censor.h"
#include <stdint.h>

static void three_windows(struct at_windows *w)
{
	*w = (struct at_windows){ 0 };
	at_windows_open(w, 100);
	at_windows_on(w, 110);
	at_windows_off(w, 200);
	at_windows_open(w, 1000);
	at_windows_on(w, 1010);
	at_windows_off(w, 1100);
	at_windows_open(w, 2000);
	at_windows_on(w, 2010);
}

static void check(const struct at_windows *w, __u64 birth, enum at_fate f, __u64 t, __u64 lo, __u64 hi, bool exact)
{
	struct at_life_interval iv;

	at_censor(w, birth, f, t, &iv);
	CHECK_EQ_U(iv.lo_ns, lo);
	CHECK_EQ_U(iv.hi_ns, hi);
	CHECK_EQ_U(iv.exact, exact);
}

static void test_freed_same_window(void)
{
	struct at_windows w;

	three_windows(&w);
	check(&w, 120, AT_FATE_FREED, 150, 30, 30, true);
	check(&w, 2020, AT_FATE_FREED, 2500, 480, 480, true);	/* the window still lasts */
	at_windows_free(&w);
}

static void test_freed_later_window(void)
{
	struct at_windows w;

	three_windows(&w);
	/* born at 150, free seen at 1050: died in the gap 200..1000 (its address handed
	 * out and freed again unseen) or at 1050 */
	check(&w, 150, AT_FATE_FREED, 1050, 50, 900, false);
	/* two gaps crossed: still from the end of its own window */
	check(&w, 150, AT_FATE_FREED, 2050, 50, 1900, false);
	at_windows_free(&w);
}

static void test_reused(void)
{
	struct at_windows w;

	three_windows(&w);
	/* address handed out again at 1050: freed in the gap, by the time the window
	 * had every probe in (1010) */
	check(&w, 150, AT_FATE_REUSED, 1050, 50, 860, false);
	/* reused during the next window's attach (before on): bounded by the reuse */
	check(&w, 150, AT_FATE_REUSED, 1005, 50, 855, false);
	/* reused two windows later: any gap since the end of its window */
	check(&w, 1020, AT_FATE_REUSED, 2100, 80, 990, false);
	at_windows_free(&w);
}

static void test_open(void)
{
	struct at_windows w;

	three_windows(&w);
	check(&w, 150, AT_FATE_OPEN, 2500, 50, UINT64_MAX, false);
	/* born in the current window: alive at least until now */
	check(&w, 2100, AT_FATE_OPEN, 2500, 400, UINT64_MAX, false);
	at_windows_free(&w);
}

static void test_forgotten_windows(void)
{
	struct at_windows w = { 0 };

	/* more windows than are kept: a block born in a forgotten one is bounded from the
	 * end of the newest forgotten window */
	for (__u64 i = 0; i < AT_WINDOWS_KEPT + 2; i++) {
		at_windows_open(&w, i * 100);
		at_windows_on(&w, i * 100 + 10);
		at_windows_off(&w, i * 100 + 50);
	}
	CHECK_EQ_U(w.n, AT_WINDOWS_KEPT);
	CHECK_EQ_U(w.forgotten_ns, 150);
	check(&w, 20, AT_FATE_FREED, 300 * 100 + 20, 130, 300 * 100, false);
	/* a block born in a kept window still gets its own window's end */
	check(&w, 500 * 100 + 20, AT_FATE_FREED, 501 * 100 + 20, 30, 100, false);
	at_windows_free(&w);
}

int main(void)
{
	RUN(test_freed_same_window);
	RUN(test_freed_later_window);
	RUN(test_reused);
	RUN(test_open);
	RUN(test_forgotten_windows);
	return UNIT_DONE();
}
