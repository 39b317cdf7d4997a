#include "model/censor.h"
#include "lib/util.h"

#include <stdint.h>
#include <stdlib.h>

static struct at_window *win_at(const struct at_windows *w, size_t i)
{
	return &w->v[(w->first + i) % AT_WINDOWS_KEPT];
}

void at_windows_open(struct at_windows *w, __u64 open_ns)
{
	if (!w->v)
		w->v = at_xcalloc(AT_WINDOWS_KEPT, sizeof(*w->v));
	if (w->n == AT_WINDOWS_KEPT) {
		w->forgotten_ns = win_at(w, 0)->off_ns;
		w->first = (w->first + 1) % AT_WINDOWS_KEPT;
		w->n--;
	}
	*win_at(w, w->n++) = (struct at_window){ .open_ns = open_ns };
}

void at_windows_on(struct at_windows *w, __u64 on_ns)
{
	if (w->n)
		win_at(w, w->n - 1)->on_ns = on_ns;
}

void at_windows_off(struct at_windows *w, __u64 off_ns)
{
	if (w->n)
		win_at(w, w->n - 1)->off_ns = off_ns;
}

void at_windows_free(struct at_windows *w)
{
	free(w->v);
	*w = (struct at_windows){ 0 };
}

/* The last kept window that had begun by t, or NULL. */
static const struct at_window *window_of(const struct at_windows *w, __u64 t)
{
	size_t lo = 0, hi = w->n;

	while (lo < hi) {	/* first window opened after t */
		size_t mid = (lo + hi) / 2;

		if (win_at(w, mid)->open_ns <= t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo ? win_at(w, lo - 1) : NULL;
}

/* Since when the block may have been freed unseen: the end of its window (the end of
 * the last forgotten one, or its birth, when its window is not known). */
static __u64 unseen_from(const struct at_windows *w, const struct at_window *wb, __u64 birth, __u64 t)
{
	__u64 end;

	if (!wb)
		end = w->forgotten_ns;
	else
		end = wb->off_ns ? wb->off_ns : t;
	return end > birth ? end : birth;
}

void at_censor(const struct at_windows *w, __u64 birth, enum at_fate fate, __u64 t, struct at_life_interval *out)
{
	const struct at_window *wb = window_of(w, birth), *wt = window_of(w, t);
	__u64 from = unseen_from(w, wb, birth, t), to;

	if (t < birth)
		t = birth;
	out->exact = false;
	switch (fate) {
	case AT_FATE_FREED:
		if (wb && wb == wt) {	/* no gap in between */
			out->lo_ns = out->hi_ns = t - birth;
			out->exact = true;
			return;
		}
		out->lo_ns = from - birth;
		out->hi_ns = t - birth;
		break;
	case AT_FATE_REUSED:
		/* freed before the reuse, outside every window's [on, off]: by the time
		 * t's window had every probe in */
		to = wt && wt != wb && wt->on_ns && wt->on_ns < t ? wt->on_ns : t;
		if (wt == wb)	/* no gap: a free missed inside the window */
			from = birth;
		out->lo_ns = (from < to ? from : to) - birth;
		out->hi_ns = to - birth;
		break;
	default:
		out->lo_ns = (from < t ? from : t) - birth;
		out->hi_ns = UINT64_MAX;
		break;
	}
}
