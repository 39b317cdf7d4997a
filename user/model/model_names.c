/* The sites the outputs will show, symbolized when the model refreshes: the printers and
 * the dashboard then only read (no symbol file, /proc or kernel map is touched while
 * printing). A stack's frames stay cached, keyed by (pid, stack_id), while the site is
 * asked for; one with an address in no known mapping is symbolized again at the next
 * refresh (a library mapped since may name it). */
#include "model/model_int.h"
#include "symbolize/symbolize.h"
#include "lib/util.h"

#include <stdlib.h>
#include <string.h>

struct names_ent {
	__u64 gen;		/* the last refresh that asked for it */
	bool unknown;		/* a frame in no mapping */
	struct at_site_frames sf;
	/* then f[nr], ips[nr_ips], ip_end[nr_ips] */
};

/* The symbolizer may free a module path (an unknown address looked up again, a process
 * forgotten): frames keep the model's copy. */
static const char *module_copy(struct at_model *m, const char *path)
{
	__u64 k1, k2;
	char *c;

	at_hash_str(path, &k1, &k2);
	c = at_hash_get(&m->modules, k1, k2);
	if (c && !strcmp(c, path))
		return c;
	if (!c) {
		c = at_xstrdup(path);
		at_hash_put(&m->modules, k1, k2, c);
		return c;
	}
	m->extra_mods = at_xrealloc(m->extra_mods, m->nr_extra_mods + 1, sizeof(*m->extra_mods));
	return m->extra_mods[m->nr_extra_mods++] = at_xstrdup(path);
}

static struct names_ent *symbolize_stack(struct at_model *m, int pid, const struct at_stack *st)
{
	struct at_frame *tmp = at_xcalloc((size_t)st->nr * AT_MAX_INLINE + 1, sizeof(*tmp));
	__u32 *ends = at_xcalloc(st->nr + 1, sizeof(*ends)), nr = 0;
	struct names_ent *e;
	struct at_frame *f;
	__u64 *ips;

	for (__u32 i = 0; i < st->nr; i++) {
		nr += (__u32)at_symbolize_full(m->sym, pid, st->ips[i], &tmp[nr], AT_MAX_INLINE);
		ends[i] = nr;
	}
	e = at_xcalloc(1, sizeof(*e) + nr * sizeof(*f) + st->nr * (sizeof(*ips) + sizeof(*ends)));
	f = (struct at_frame *)(e + 1);
	ips = (__u64 *)(f + nr);
	memcpy(f, tmp, nr * sizeof(*f));
	memcpy(ips, st->ips, st->nr * sizeof(*ips));
	memcpy(ips + st->nr, ends, st->nr * sizeof(*ends));
	for (__u32 j = 0; j < nr; j++) {
		e->unknown |= !strcmp(f[j].module, "[unknown]");
		f[j].module = module_copy(m, f[j].module);
	}
	e->sf = (struct at_site_frames){ .truncated = st->flags & AT_STACK_TRUNCATED, .nr_ips = st->nr, .ips = ips,
					 .ip_end = (const __u32 *)(ips + st->nr), .nr = nr, .f = f };
	free(tmp);
	free(ends);
	return e;
}

/* The site's frames, symbolized now unless they are already; NULL if unknown. */
const struct at_site_frames *at_model_want(struct at_model *m, int pid, __u64 stack_id)
{
	struct names_ent *e = at_hash_get(&m->names, pid, stack_id);
	const struct at_stack *st;

	if (e && e->gen == m->gen)
		return &e->sf;
	if (e && !e->unknown) {
		e->gen = m->gen;
		return &e->sf;
	}
	free(at_hash_del(&m->names, pid, stack_id));
	if (!m->sym || !(st = at_model_stack(m, stack_id)))
		return NULL;
	e = symbolize_stack(m, pid, st);
	e->gen = m->gen;
	at_hash_put(&m->names, pid, stack_id, e);
	return &e->sf;
}

/* The sites live at each process's peak. */
static void want_peaks(struct at_model *m)
{
	struct at_hash_ent *h;

	at_hash_for_each(&m->peaks, h) {
		const struct at_peak_info *pk = h->val;

		for (size_t i = 0; i < pk->nr_sites; i++)
			at_model_want(m, (int)h->k1, pk->sites[i].stack_id);
	}
}

static bool asked_now(const struct at_hash_ent *e, void *m)
{
	return ((const struct names_ent *)e->val)->gen == ((const struct at_model *)m)->gen;
}

/* Stacks not asked for by this refresh go. */
static void sweep(struct at_model *m)
{
	at_hash_keep_if(&m->names, asked_now, m);
}

/* The top sites and the leak suspects (text, JSON): their lifetimes are read now too. */
static void want_top(struct at_model *m)
{
	size_t n = m->needs.top, nl;
	const struct at_site_view **top = at_model_top_sites(m, m->needs.sort, 0, &n);
	const struct at_site_view **sus = at_model_leak_suspects(m, m->needs.top, &nl);

	for (size_t i = 0; i < n + nl; i++) {
		const struct at_site_view *s = i < n ? top[i] : sus[i - n];

		at_model_want(m, s->pid, s->stack_id);
		at_model_fetch_life(m, s->pid, s->stack_id);
	}
	if (m->needs.growth) {
		at_model_growth_read(m, top, n);
		at_model_growth_read(m, sus, nl);
	}
	free(top);
	free(sus);
}

void at_model_resolve(struct at_model *m)
{
	if (m->needs.growth) {
		at_hash_free_all(&m->gprocs);
		at_hash_free_all(&m->gsites);
		at_model_growth_read(m, NULL, 0);
	}
	if (m->needs.all_sites)
		for (size_t i = 0; i < m->cur.nr_sites; i++)
			at_model_want(m, m->cur.sites[i].pid, m->cur.sites[i].stack_id);
	if (m->needs.top)
		want_top(m);
	for (size_t i = 0; i < m->nr_gcalls; i++)
		at_model_want(m, m->gcalls[i].key.pid, m->gcalls[i].key.stack_id);
	if (m->needs.peak)
		want_peaks(m);
	sweep(m);
}

const struct at_site_frames *at_model_frames(const struct at_model *m, int pid, __u64 stack_id)
{
	const struct names_ent *e = stack_id ? at_hash_get(&m->names, pid, stack_id) : NULL;

	return e ? &e->sf : NULL;
}

const struct at_frame *at_site_frame_at(const struct at_site_frames *sf, __u32 i)
{
	return i < sf->nr_ips && sf->ip_end[i] ? &sf->f[sf->ip_end[i] - 1] : NULL;
}

void at_model_set_symbolizer(struct at_model *m, struct at_symbolizer *sym)
{
	m->sym = sym;
}

/* Its pid may come back as another process. */
void at_model_names_forget(struct at_model *m, int pid)
{
	at_hash_free_k1(&m->names, (__u64)pid);
}

void at_model_names__fini(struct at_model *m)
{
	at_hash_free_all(&m->names);
	at_hash_free_all(&m->modules);
	for (size_t i = 0; i < m->nr_extra_mods; i++)
		free(m->extra_mods[i]);
	free(m->extra_mods);
}
