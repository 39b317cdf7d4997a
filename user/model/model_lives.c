/* Lifetime histograms of sites, kept by the refresh: never read from the kernel while
 * an output asks. With needs.lives (the dashboard) every site's, taken from the sites
 * the refresh read anyway (a site's lifetimes change only as it frees, which marks it
 * to be read); else only those of the sites the text and JSON reports show, read one by
 * one at the refresh. */
#include "model/model_int.h"
#include "lib/util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define AT_LIFE_CACHE 4096	/* reads kept past their refresh without needs.lives */

/* A site's lifetimes at its last read (refresh gen), and at the read before. */
struct life_ent {
	__u64 gen;
	bool prev_known;	/* prev holds the previous snapshot's */
	__u32 cur[AT_LT_BUCKETS], prev[AT_LT_BUCKETS];
};

static void put_life(struct at_model *m, int pid, __u64 stack_id, const __u32 *lt)
{
	struct life_ent *e = at_hash_get(&m->lives, (__u64)pid, stack_id);

	if (e && e->gen != m->gen) {
		memcpy(e->prev, e->cur, sizeof(e->prev));
		e->prev_known = true;
	} else if (!e) {
		e = at_xcalloc(1, sizeof(*e));
		/* a site new since prev had no lifetimes there */
		e->prev_known = !at_snapshot_site(&m->prev, pid, stack_id);
		at_hash_put(&m->lives, (__u64)pid, stack_id, e);
	}
	memcpy(e->cur, lt, sizeof(e->cur));
	e->gen = m->gen;
}

void at_model_take_lives(struct at_model *m)
{
	for (size_t i = 0; i < m->tab.nr_lives; i++)
		put_life(m, m->tab.lives[i].pid, m->tab.lives[i].stack_id, m->tab.lives[i].lt);
}

void at_model_fetch_life(struct at_model *m, int pid, __u64 stack_id)
{
	const struct life_ent *e = at_hash_get(&m->lives, (__u64)pid, stack_id);
	__u32 lt[AT_LT_BUCKETS];

	if (m->needs.lives || (e && e->gen == m->gen))
		return;	/* kept already */
	if (at_sitetab_lifetimes(&m->tab, pid, stack_id, lt))
		put_life(m, pid, stack_id, lt);
}

static bool read_now(const struct at_hash_ent *e, void *m)
{
	return ((const struct life_ent *)e->val)->gen == ((const struct at_model *)m)->gen;
}

/* Without needs.lives, only this refresh's reads stay once there are many. */
void at_model_trim_lives(struct at_model *m)
{
	if (!m->needs.lives && m->lives.len > AT_LIFE_CACHE)
		at_hash_keep_if(&m->lives, read_now, m);
}

void at_model_lives_forget(struct at_model *m, int pid)
{
	at_hash_free_k1(&m->lives, (__u64)pid);
}

/* Current: read at this refresh, or (every site kept) not changed since its read. */
static const struct life_ent *current(const struct at_model *m, int pid, __u64 stack_id)
{
	const struct life_ent *e = at_hash_get(&m->lives, (__u64)pid, stack_id);

	return e && (m->needs.lives || e->gen == m->gen) ? e : NULL;
}

static void scaled(__u32 *out, const __u32 *lt, const struct at_model *m, int pid)
{
	const struct at_proc_view *p = at_snapshot_proc(&m->cur, pid);
	double k = p ? p->scale : 1;

	for (int b = 0; b < AT_LT_BUCKETS; b++)
		out[b] = k == 1 ? lt[b] : (__u32)llround(lt[b] * k);
}

bool at_model_site_life(const struct at_model *m, int pid, __u64 stack_id, __u32 lt[AT_LT_BUCKETS])
{
	const struct life_ent *e = current(m, pid, stack_id);

	if (!e)
		return false;
	scaled(lt, e->cur, m, pid);
	return true;
}

bool at_model_site_life_prev(const struct at_model *m, int pid, __u64 stack_id, __u32 lt[AT_LT_BUCKETS])
{
	const struct at_site_view *c = at_snapshot_site(&m->cur, pid, stack_id);
	const struct at_site_view *p = at_snapshot_site(&m->prev, pid, stack_id);
	const struct life_ent *e = current(m, pid, stack_id);

	if (!c || !e)
		return false;
	if (!p) {
		memset(lt, 0, AT_LT_BUCKETS * sizeof(*lt));	/* new since prev */
		return true;
	}
	if (p->s.frees == c->s.frees || e->gen != m->gen) {
		scaled(lt, e->cur, m, pid);	/* nothing freed since prev */
		return true;
	}
	if (!e->prev_known)
		return false;
	scaled(lt, e->prev, m, pid);
	return true;
}

void at_model_each_life(const struct at_model *m, void (*fn)(void *ctx, int pid, __u64 stack_id, const __u32 *lt),
			void *ctx)
{
	struct at_hash_ent *e;

	at_hash_for_each(&m->lives, e)
		if (current(m, (int)e->k1, e->k2))
			fn(ctx, (int)e->k1, e->k2, ((const struct life_ent *)e->val)->cur);
}
