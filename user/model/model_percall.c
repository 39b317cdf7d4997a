/* --per FUNC: what calls of user functions allocated. Calls, allocations and bytes
 * come from the kernel's scope counters (bpf/percall.bpf.c); the live bytes they left
 * and the sites inside them from the sites whose stack holds the function. */
#include "model/model_int.h"
#include "lib/util.h"

#include <bpf/bpf.h>
#include <stdlib.h>
#include <string.h>

static bool names(const struct at_frame *f, const char *func)
{
	return (f->symbol && !strcmp(f->symbol, func)) || (f->raw_symbol && !strcmp(f->raw_symbol, func));
}

/* The site's stack passes through func (a call of it was in progress): any of its
 * frames, inlined ones too. */
static bool inside(struct at_model *m, const struct at_site_view *sv, const char *func)
{
	const struct at_site_frames *sf = at_model_want(m, sv->pid, sv->stack_id);

	for (__u32 i = 0; sf && i < sf->nr; i++)
		if (names(&sf->f[i], func))
			return true;
	return false;
}

static void add_sites(struct at_model *m, const char *func, struct at_per_call *pc)
{
	const struct at_snapshot *s = &m->cur;

	for (size_t i = 0; i < s->nr_sites; i++) {
		const struct at_site_view *sv = &s->sites[i];

		if (sv->pid != pc->pid || !inside(m, sv, func))
			continue;
		pc->sites = at_xrealloc(pc->sites, pc->nr_sites + 1, sizeof(*pc->sites));
		pc->sites[pc->nr_sites++] = sv;
		pc->live_bytes += sv->s.live_bytes;
		pc->live_allocs += sv->s.live_allocs;
	}
}

static int by_bytes(const void *a, const void *b)
{
	const struct at_site_view *x = *(const struct at_site_view *const *)a, *y = *(const struct at_site_view *const *)b;

	return x->s.alloc_bytes < y->s.alloc_bytes ? 1 : x->s.alloc_bytes > y->s.alloc_bytes ? -1 : 0;
}

static int by_pid_func(const void *a, const void *b)
{
	const struct at_per_call *x = a, *y = b;

	return x->pid != y->pid ? (x->pid > y->pid) - (x->pid < y->pid) : x->func - y->func;
}

static void per_free(struct at_per_call *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].sites);
	free(v);
}

void at_model_percall_update(struct at_model *m)
{
	const char *const *funcs = m->needs.per;
	int nr_funcs = m->needs.nr_per;
	struct at_per_key k, next;
	struct at_per_call *v = NULL;
	size_t n = 0;
	bool first = true;

	per_free(m->per_v, m->per_n);
	m->per_v = NULL;
	m->per_n = 0;
	while (!bpf_map_get_next_key(m->fds.per_calls, first ? NULL : &k, &next)) {
		struct at_per_call pc = { .pid = next.pid, .func = next.func };

		k = next;
		first = false;
		if (next.func >= (__u32)nr_funcs || bpf_map_lookup_elem(m->fds.per_calls, &next, &pc.s))
			continue;
		add_sites(m, funcs[pc.func], &pc);
		if (pc.nr_sites)	/* pc.sites may be NULL: qsort must not see it */
			qsort(pc.sites, pc.nr_sites, sizeof(*pc.sites), by_bytes);
		v = at_xrealloc(v, n + 1, sizeof(*v));
		v[n++] = pc;
	}
	if (n)
		qsort(v, n, sizeof(*v), by_pid_func);
	m->per_v = v;
	m->per_n = n;
}

size_t at_model_per_calls(const struct at_model *m, const struct at_per_call **out)
{
	*out = m->per_v;
	return m->per_n;
}

void at_model_percall__fini(struct at_model *m)
{
	per_free(m->per_v, m->per_n);
	m->per_v = NULL;
	m->per_n = 0;
}
