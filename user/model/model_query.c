/* Questions to the model between refreshes: best sites, leak suspects, stacks. */
#include "model/model_int.h"
#include "kernel/bpfmap.h"
#include "lib/topn.h"
#include "lib/util.h"

#include <bpf/bpf.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define AT_STACK_CACHE 4096	/* stacks kept; past that the cache starts over */

void at_model_trim_caches(struct at_model *m)
{
	if (m->stacks.len > AT_STACK_CACHE)
		at_hash_free_all(&m->stacks);
}

const struct at_stack *at_model_stack(struct at_model *m, __u64 stack_id)
{
	struct at_stack *st;

	if (!stack_id)
		return NULL;
	st = at_hash_get(&m->stacks, stack_id, 0);
	if (st)
		return st;
	if (m->stacks.len >= 2 * AT_STACK_CACHE)
		at_hash_free_all(&m->stacks);	/* every site of a big profile: do not keep them all */
	st = at_xcalloc(1, sizeof(*st));
	if (at_map_lookup_either(m->fds.stacks, m->fds.stacks_more, &stack_id, st) || st->nr > AT_MAX_FRAMES) {
		free(st);
		return NULL;
	}
	at_hash_put(&m->stacks, stack_id, 0, st);
	return st;
}

__u64 at_site_sort_value(const struct at_model *m, const struct at_site_view *s, enum at_sort key)
{
	const struct at_heap_site *hs;

	switch (key) {
	case AT_SORT_OLD_BYTES:
		hs = at_heap_site(&m->heap, s->pid, s->stack_id);
		return hs ? hs->old_bytes : 0;
	case AT_SORT_ALLOCS: return s->s.allocs;
	case AT_SORT_LIVE_BYTES: return s->s.live_bytes > 0 ? s->s.live_bytes : 0;
	case AT_SORT_LIVE_ALLOCS: return s->s.live_allocs > 0 ? s->s.live_allocs : 0;
	case AT_SORT_ALLOC_BYTES:
	default: return s->s.alloc_bytes;
	}
}

/* Equal sort values: more allocations first, then by key (stable output). */
static int site_tie(const void *a, const void *b)
{
	const struct at_site_view *x = a, *y = b;

	if (x->s.allocs != y->s.allocs)
		return x->s.allocs > y->s.allocs ? -1 : 1;
	return at_site_cmp(x, y);
}

const struct at_site_view **at_model_top_sites(const struct at_model *m, enum at_sort key, int pid, size_t *n)
{
	size_t k = *n && *n < m->cur.nr_sites ? *n : m->cur.nr_sites;
	const struct at_site_view **v;
	struct at_topn t;

	at_topn__init(&t, k, site_tie);
	for (size_t i = 0; i < m->cur.nr_sites; i++) {
		const struct at_site_view *s = &m->cur.sites[i];
		__u64 v;

		if (pid && s->pid != pid)
			continue;
		v = at_site_sort_value(m, s, key);
		if (at_topn_may_keep(&t, v))
			at_topn_offer(&t, v, s);
	}
	*n = at_topn_finish(&t);
	v = at_xcalloc(*n ? *n : 1, sizeof(*v));
	for (size_t i = 0; i < *n; i++)
		v[i] = t.heap[i].item;
	at_topn__fini(&t);
	return v;
}

const struct at_site_view **at_model_leak_suspects(const struct at_model *m, size_t max, size_t *n)
{
	const struct at_site_view **v = at_xcalloc(max ? max : 1, sizeof(*v));

	*n = 0;
	for (size_t i = 0; i < m->heap.nr_suspects && *n < max; i++) {
		const struct at_heap_site *hs = m->heap.suspects[i];
		const struct at_site_view *s = at_snapshot_site(&m->cur, hs->pid, hs->stack_id);

		if (s)
			v[(*n)++] = s;
	}
	return v;
}

const struct at_site_view *at_snapshot_site(const struct at_snapshot *s, int pid, __u64 stack_id)
{
	return at_site_find(s->sites, s->nr_sites, pid, stack_id);
}

int at_proc_cmp(const void *a, const void *b)
{
	const struct at_proc_view *x = a, *y = b;

	return (x->pid > y->pid) - (x->pid < y->pid);
}

const struct at_proc_view *at_snapshot_proc(const struct at_snapshot *s, int pid)
{
	struct at_proc_view key = { .pid = pid };

	return s->nr_procs ? bsearch(&key, s->procs, s->nr_procs, sizeof(key), at_proc_cmp) : NULL;
}

__u64 at_drops_total(const struct at_snapshot *s)
{
	__u64 t = 0;

	for (int i = 0; i < AT_NR_DROPS; i++)
		t += at_drop_is_loss(i) ? s->drops[i] : 0;
	return t;
}

struct at_model_needs *at_model_needs(struct at_model *m)
{
	return &m->needs;
}

void at_model_set_min_age(struct at_model *m, double seconds)
{
	m->min_age_ns = (__u64)(seconds * 1e9);
}

void at_model_set_start(struct at_model *m, double mono)
{
	m->start_mono = mono;
}

void at_model_set_duty(struct at_model *m, double duty)
{
	m->duty = duty;
}

const struct at_snapshot *at_model_cur(const struct at_model *m)
{
	return &m->cur;
}

const struct at_snapshot *at_model_prev(const struct at_model *m)
{
	return &m->prev;
}

double at_model_start(const struct at_model *m)
{
	return m->start_mono;
}

double at_model_duty(const struct at_model *m)
{
	return m->duty;
}

double at_model_min_age(const struct at_model *m)
{
	return m->min_age_ns / 1e9;
}

int at_model_nr_targets(const struct at_model *m)
{
	return m->nr_targets;
}

const struct at_target *at_model_target_at(const struct at_model *m, int i)
{
	return m->targets[i];
}

void at_model_raw_counts(const struct at_model *m, __u64 *allocs, __u64 *frees)
{
	*allocs = m->raw_allocs;
	*frees = m->raw_frees;
}

const struct at_heap_proc *at_model_heap_proc(const struct at_model *m, int pid)
{
	return at_heap_proc(&m->heap, pid);
}

const struct at_heap_site *at_model_heap_site(const struct at_model *m, int pid, __u64 stack_id)
{
	return at_heap_site(&m->heap, pid, stack_id);
}

size_t at_model_unwind_modules(const struct at_model *m, const struct at_unwind_info **mods)
{
	return at_tracer__unwind_modules(m->tracer, mods);
}
