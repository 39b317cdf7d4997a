/* The middle of the unwind workload's chain: two frames in a shared library, which
 * calls back into the executable (tests/unwind/uw_main.c). */
#include "uw.h"

UW_FN int uw_mid_2(uw_cb cb, int n)
{
	int r = cb(n + 1);

	UW_BARRIER();
	return r + 1;
}

UW_FN int uw_mid_1(uw_cb cb, int n)
{
	int r = uw_mid_2(cb, n + 1);

	UW_BARRIER();
	return r + 1;
}
