/* Memory over time: each process's live bytes, allocations and heap footprint at every
 * refresh, the last AT_HISTORY of them (the dashboard's time graph). */
#include "model/model_int.h"
#include "lib/util.h"

#include <stdlib.h>
#include <string.h>

struct history {
	struct at_hist_point p[AT_HISTORY];
	size_t n;
};

void at_model_history_update(struct at_model *m)
{
	for (size_t i = 0; i < m->cur.nr_procs; i++) {
		const struct at_proc_view *pv = &m->cur.procs[i];
		const struct at_heap_proc *hp = at_model_heap_proc(m, pv->pid);
		struct history *h = at_hash_get(&m->history, pv->pid, 0);
		struct at_hist_point *pt;

		if (!h) {
			h = at_xcalloc(1, sizeof(*h));
			at_hash_put(&m->history, pv->pid, 0, h);
		}
		if (h->n == AT_HISTORY)
			memmove(h->p, h->p + 1, --h->n * sizeof(*h->p));
		pt = &h->p[h->n++];
		pt->t = m->cur.mono - m->start_mono;
		pt->live_bytes = pv->s.live_bytes;
		pt->allocs = pv->s.allocs;
		pt->alloc_bytes = pv->s.alloc_bytes;
		pt->heap_bytes = hp ? hp->frag.heap_bytes : 0;
		pt->resident_bytes = hp ? hp->frag.resident_bytes : 0;
	}
}

size_t at_model_history(const struct at_model *m, int pid, const struct at_hist_point **pts)
{
	const struct history *h = at_hash_get(&m->history, pid, 0);

	*pts = h ? h->p : NULL;
	return h ? h->n : 0;
}

void at_model_history_forget(struct at_model *m, const int *pids, int n)
{
	for (int i = 0; i < n; i++)
		free(at_hash_del(&m->history, pids[i], 0));
}

void at_model_history__fini(struct at_model *m)
{
	at_hash_free_all(&m->history);
}
