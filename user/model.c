#include "model.h"
#include "bpfmap.h"
#include "util.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const drop_names[AT_NR_DROPS] = {
	[AT_DROP_LIVE_FULL] = "live_map_full",
	[AT_DROP_STACK_FAILED] = "stack_failed",
	[AT_DROP_STACKS_FULL] = "stack_map_full",
	[AT_DROP_MISSED_RETURN] = "missed_returns",
	[AT_DROP_PROCS_FULL] = "proc_map_full",
	[AT_DROP_MMAP_FULL] = "mmap_map_full",
	[AT_DROP_STACK_TRUNCATED] = "stack_truncated",
};

bool at_drop_is_loss(enum at_drop d)
{
	return d != AT_DROP_STACK_TRUNCATED;	/* a cut stack loses frames, not events */
}

const char *at_drop_name(enum at_drop d)
{
	return d < AT_NR_DROPS ? drop_names[d] : "?";
}

void at_model_init(struct at_model *m, struct at_tracer *t)
{
	memset(m, 0, sizeof(*m));
	m->tracer = t;
	at_tracer__map_fds(t, &m->fds);
	m->start_mono = at_now_mono();
	m->duty = 1;
	m->ncpus = libbpf_num_possible_cpus();
	if (m->ncpus < 1)
		m->ncpus = 1;
}

static void snapshot_free(struct at_snapshot *s)
{
	free(s->procs);
	free(s->sites);
	memset(s, 0, sizeof(*s));
}

void at_model_fini(struct at_model *m)
{
	struct at_hash_ent *e;

	snapshot_free(&m->cur);
	snapshot_free(&m->prev);
	at_hash_for_each(&m->stacks, e)
		free(e->val);
	at_hash_clear(&m->stacks);
	at_heap_fini(&m->heap);
	for (int i = 0; i < m->nr_targets; i++)
		free(m->targets[i]);
	free(m->targets);
	at_hash_clear(&m->by_pid);
}

struct at_target *at_model_target(struct at_model *m, int pid)
{
	return at_hash_get(&m->by_pid, pid, 0);
}

void at_model_drop_target(struct at_model *m, int pid)
{
	struct at_target *t = at_model_target(m, pid);

	if (!t)
		return;
	t->gone = true;
	/* a snapshot may still point at it: the memory stays until fini */
	at_hash_del(&m->by_pid, pid, 0);
}

struct at_target *at_model_add_target(struct at_model *m, int pid)
{
	struct at_target *t = at_model_target(m, pid);
	char path[64];

	if (t)
		return t;
	if (m->nr_targets == m->cap_targets) {
		m->cap_targets = m->cap_targets ? m->cap_targets * 2 : 64;
		m->targets = at_xrealloc(m->targets, m->cap_targets, sizeof(*m->targets));
	}
	t = at_xcalloc(1, sizeof(*t));
	m->targets[m->nr_targets++] = t;
	at_hash_put(&m->by_pid, pid, 0, t);
	t->pid = pid;
	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	if (at_read_small(path, t->comm, sizeof(t->comm)))
		snprintf(t->comm, sizeof(t->comm), "?");
	return t;
}

static void sum_u64(__u64 *dst, const __u64 *percpu, size_t words, int ncpus)
{
	memset(dst, 0, words * 8);
	for (int c = 0; c < ncpus; c++)
		for (size_t w = 0; w < words; w++)
			dst[w] += percpu[c * words + w];
}

static void sum_site(struct at_site_stats *dst, const struct at_site_stats *percpu, int ncpus)
{
	memset(dst, 0, sizeof(*dst));
	for (int c = 0; c < ncpus; c++) {
		const struct at_site_stats *s = &percpu[c];

		dst->allocs += s->allocs;
		dst->alloc_bytes += s->alloc_bytes;
		dst->frees += s->frees;
		dst->free_bytes += s->free_bytes;
		dst->live_allocs += s->live_allocs;
		dst->live_bytes += s->live_bytes;
		dst->temp_allocs += s->temp_allocs;
		for (int i = 0; i < AT_LT_BUCKETS; i++)
			dst->lifetime[i] += s->lifetime[i];
	}
}

static int cmp_proc(const void *a, const void *b)
{
	const struct at_proc_view *x = a, *y = b;

	return (x->pid > y->pid) - (x->pid < y->pid);
}

static int cmp_site_key(const void *a, const void *b)
{
	const struct at_site_view *x = a, *y = b;

	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	return (x->stack_id > y->stack_id) - (x->stack_id < y->stack_id);
}

static int read_procs(struct at_model *m, struct at_snapshot *s)
{
	size_t vsz = sizeof(struct at_proc_stats) * m->ncpus, n;
	void *keys, *vals;
	int err = at_map_read_all(m->fds.procs, sizeof(__u32), vsz, &keys, &vals, &n);

	if (err)
		return err;
	s->procs = at_xcalloc(n, sizeof(*s->procs));
	for (size_t i = 0; i < n; i++) {
		struct at_proc_view *p = &s->procs[i];

		p->pid = ((__u32 *)keys)[i];
		p->target = at_model_add_target(m, p->pid);
		sum_u64((__u64 *)&p->s, (const __u64 *)((char *)vals + i * vsz), sizeof(p->s) / 8, m->ncpus);
	}
	s->nr_procs = n;
	qsort(s->procs, n, sizeof(*s->procs), cmp_proc);
	free(keys);
	free(vals);
	return 0;
}

static int read_sites(struct at_model *m, struct at_snapshot *s)
{
	size_t vsz = sizeof(struct at_site_stats) * m->ncpus, n;
	void *keys, *vals;
	int err = at_map_read_all(m->fds.sites, sizeof(struct at_site_key), vsz, &keys, &vals, &n);

	if (err)
		return err;
	s->sites = at_xcalloc(n, sizeof(*s->sites));
	for (size_t i = 0, k = 0; i < n; i++) {
		const struct at_site_key *key = &((struct at_site_key *)keys)[i];
		struct at_site_view *v = &s->sites[k];

		v->pid = key->pid;
		v->stack_id = key->stack_id;
		sum_site(&v->s, (const struct at_site_stats *)((char *)vals + i * vsz), m->ncpus);
		/* a process's reserved unknown site stays empty unless a map filled up */
		if (v->s.allocs || v->s.frees || v->s.live_allocs)
			s->nr_sites = ++k;
	}
	qsort(s->sites, s->nr_sites, sizeof(*s->sites), cmp_site_key);
	free(keys);
	free(vals);
	return 0;
}

/* --max-overhead: allocations were seen only a share `duty` of the time; scale what
 * derives from them. Frees of untracked blocks, mmap figures and free/delete/munmap
 * call counts stay as measured (those probes never detach). */
#define SCALE(x) ((x) = (__typeof__(x))llround((double)(x) * k))
#define AT_MIN_FREES_FOR_SHARE 200	/* below this, the time share is the better guess */

/* The share of a process's allocations that were probed. Its frees are all seen (those
 * probes never detach): tracked frees against all frees measure the share directly,
 * whatever the process's pace when unprobed (it runs faster then). Few frees: the share
 * of time the probes were on. */
static void scale_site(struct at_site_stats *t, double k);

static double sampled_share(const struct at_proc_stats *p, double duty)
{
	__u64 all = p->frees + p->untracked_frees;

	if (all < AT_MIN_FREES_FOR_SHARE || !p->frees)
		return duty;
	return (double)p->frees / all;
}

static void scale_estimates(struct at_snapshot *s, double duty)
{
	double k;


	for (size_t i = 0; i < s->nr_procs; i++) {
		struct at_proc_stats *p = &s->procs[i].s;

		k = 1 / sampled_share(p, duty);
		for (size_t j = 0; j < s->nr_sites; j++)
			if (s->sites[j].pid == s->procs[i].pid)
				scale_site(&s->sites[j].s, k);
		SCALE(p->allocs); SCALE(p->frees); SCALE(p->alloc_bytes); SCALE(p->free_bytes);
		SCALE(p->live_allocs); SCALE(p->live_bytes); SCALE(p->temp_allocs);
		for (int f = 0; f < AT_NR_FUNCS; f++)
			if (f != AT_FREE && f != AT_DELETE && f != AT_DELETE_ARRAY && f != AT_MMAP && f != AT_MUNMAP)
				SCALE(p->calls[f]);
		for (int b = 0; b < AT_SIZE_BUCKETS; b++) {
			SCALE(p->size_count[b]);
			SCALE(p->size_bytes[b]);
		}
		for (int b = 0; b < AT_LT_BUCKETS; b++)
			SCALE(p->lifetime[b]);
	}
}

static void scale_site(struct at_site_stats *t, double k)
{
	SCALE(t->allocs); SCALE(t->alloc_bytes); SCALE(t->frees); SCALE(t->free_bytes);
	SCALE(t->live_allocs); SCALE(t->live_bytes); SCALE(t->temp_allocs);
	for (int b = 0; b < AT_LT_BUCKETS; b++)
		SCALE(t->lifetime[b]);
}

int at_model_refresh(struct at_model *m, bool final)
{
	struct at_snapshot s = { .mono = at_now_mono() };
	__u64 percpu[m->ncpus], cnt;
	int err;

	if ((err = read_procs(m, &s)) || (err = read_sites(m, &s))) {
		snapshot_free(&s);
		return err;
	}
	m->raw_allocs = m->raw_frees = 0;
	for (size_t i = 0; i < s.nr_procs; i++) {
		m->raw_allocs += s.procs[i].s.allocs;
		m->raw_frees += s.procs[i].s.calls[AT_FREE] + s.procs[i].s.calls[AT_DELETE] +
				s.procs[i].s.calls[AT_DELETE_ARRAY];
	}
	if (m->duty > 0 && m->duty < 1)
		scale_estimates(&s, m->duty);
	for (__u32 d = 0; d < AT_NR_DROPS; d++)
		if (!bpf_map_lookup_elem(m->fds.drops, &d, percpu))
			sum_u64(&s.drops[d], percpu, 1, m->ncpus);
	at_tracer__prog_stats(m->tracer, &s.bpf_run_ns, &cnt);
	/* The heap pass reads every live block: run it each refresh while it is cheap, and
	 * when it is not, at most every 50 times its own cost (about 2% of a core). */
	if (final || !m->heap.analyzed_at || s.mono - m->heap.analyzed_at >= 50 * m->heap.took_s)
		at_heap_analyze(&m->heap, m->fds.live, at_tracer__elfcache(m->tracer), m->min_age_ns);
	snapshot_free(&m->prev);
	m->prev = m->cur;
	m->cur = s;
	return 0;
}

const struct at_stack *at_model_stack(struct at_model *m, __u64 stack_id)
{
	struct at_stack *st;

	if (!stack_id)
		return NULL;
	st = at_hash_get(&m->stacks, stack_id, 0);
	if (st)
		return st;
	st = at_xcalloc(1, sizeof(*st));
	if (bpf_map_lookup_elem(m->fds.stacks, &stack_id, st) || st->nr > AT_MAX_FRAMES) {
		free(st);
		return NULL;
	}
	at_hash_put(&m->stacks, stack_id, 0, st);
	return st;
}

bool at_model_stack_truncated(struct at_model *m, __u64 stack_id)
{
	const struct at_stack *st = at_model_stack(m, stack_id);

	return st && (st->flags & AT_STACK_TRUNCATED);
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

struct sort_arg {
	const struct at_model *m;
	enum at_sort key;
};

static int cmp_sorted(const void *a, const void *b, void *arg)
{
	const struct sort_arg *sa = arg;
	const struct at_site_view *x = *(const struct at_site_view *const *)a;
	const struct at_site_view *y = *(const struct at_site_view *const *)b;
	__u64 vx = at_site_sort_value(sa->m, x, sa->key), vy = at_site_sort_value(sa->m, y, sa->key);

	if (vx != vy)
		return vx > vy ? -1 : 1;
	if (x->s.allocs != y->s.allocs)
		return x->s.allocs > y->s.allocs ? -1 : 1;
	return cmp_site_key(x, y);	/* stable output for equal sites */
}

const struct at_site_view **at_model_sorted_sites(const struct at_model *m, enum at_sort key, int pid, size_t *n)
{
	const struct at_site_view **v = at_xcalloc(m->cur.nr_sites, sizeof(*v));
	size_t k = 0;

	for (size_t i = 0; i < m->cur.nr_sites; i++)
		if (!pid || m->cur.sites[i].pid == pid)
			v[k++] = &m->cur.sites[i];
	struct sort_arg sa = { m, key };

	qsort_r(v, k, sizeof(*v), cmp_sorted, &sa);
	*n = k;
	return v;
}

const struct at_site_view *at_snapshot_site(const struct at_snapshot *s, int pid, __u64 stack_id)
{
	struct at_site_view key = { .pid = pid, .stack_id = stack_id };

	if (!s->nr_sites)
		return NULL;	/* an empty snapshot (the first prev) has no array: bsearch(NULL) is UB */
	return bsearch(&key, s->sites, s->nr_sites, sizeof(key), cmp_site_key);
}

const struct at_proc_view *at_snapshot_proc(const struct at_snapshot *s, int pid)
{
	struct at_proc_view key = { .pid = pid };

	if (!s->nr_procs)
		return NULL;
	return bsearch(&key, s->procs, s->nr_procs, sizeof(key), cmp_proc);
}

__u64 at_drops_total(const struct at_snapshot *s)
{
	__u64 t = 0;

	for (int i = 0; i < AT_NR_DROPS; i++)
		t += at_drop_is_loss(i) ? s->drops[i] : 0;
	return t;
}

struct suspect {
	const struct at_site_view *site;
	__u64 old_bytes;
};

static int cmp_suspect(const void *a, const void *b)
{
	const struct suspect *x = a, *y = b;

	if (x->old_bytes != y->old_bytes)
		return x->old_bytes > y->old_bytes ? -1 : 1;
	return cmp_site_key(x->site, y->site);
}

const struct at_site_view **at_model_leak_suspects(const struct at_model *m, size_t *n)
{
	struct suspect *sus = at_xcalloc(m->cur.nr_sites, sizeof(*sus));
	const struct at_site_view **v;
	size_t k = 0;

	/* one lookup per site, then a sort of the few that qualify */
	for (size_t i = 0; i < m->cur.nr_sites; i++) {
		const struct at_site_view *sv = &m->cur.sites[i];
		const struct at_heap_site *hs = at_heap_site(&m->heap, sv->pid, sv->stack_id);

		if (hs && hs->old_allocs)
			sus[k++] = (struct suspect){ sv, hs->old_bytes };
	}
	qsort(sus, k, sizeof(*sus), cmp_suspect);
	v = at_xcalloc(k, sizeof(*v));
	for (size_t i = 0; i < k; i++)
		v[i] = sus[i].site;
	free(sus);
	*n = k;
	return v;
}
