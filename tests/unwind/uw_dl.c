/* Loaded with dlopen after alloctop attached (uw_main --dlopen): its frames are only
 * unwound once alloctop has noticed the new mapping and loaded its table. */
#include "uw.h"

UW_FN int uw_dl_2(uw_cb cb, int n)
{
	int r = cb(n + 1);

	UW_BARRIER();
	return r + 1;
}

UW_FN int uw_dl_1(uw_cb cb, int n)
{
	int r = uw_dl_2(cb, n + 1);

	UW_BARRIER();
	return r + 1;
}
