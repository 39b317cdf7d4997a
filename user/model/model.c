#include "model/model_int.h"
#include "kernel/bpfmap.h"
#include "lib/family.h"
#include "lib/util.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The heap pass reads every live block (about 0.5 s at a million): when it is not
 * cheap it runs at most every this many times its own duration, about 0.5% of a core. */
#define AT_HEAP_PERIOD_FACTOR 200

static int model_init(struct at_model *m, struct at_tracer *t)
{
	memset(m, 0, sizeof(*m));
	m->tracer = t;
	at_tracer__map_fds(t, &m->fds);
	m->start_mono = at_now_mono();
	m->duty = 1;
	m->ncpus = libbpf_num_possible_cpus();
	if (m->ncpus < 1)
		m->ncpus = 1;
	return at_sitetab__init(&m->tab, &m->fds, m->ncpus);
}

static void model_fini(struct at_model *m)
{
	free(m->cur.procs);
	free(m->prev.procs);
	free(m->site_buf[0]);
	free(m->site_buf[1]);
	at_sitetab__fini(&m->tab);
	at_hash_free_all(&m->stacks);
	at_hash_free_all(&m->lives);
	at_heap__fini(&m->heap);
	at_model_overhead__fini(m);
	at_model_names__fini(m);
	at_model_growth__fini(m);
	at_model_window__fini(m);
	at_model_peak__fini(m);
	at_model_history__fini(m);
	at_model_percall__fini(m);
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
	t->gone_gen = m->gen;
	at_model_names_forget(m, pid);
	at_model_lives_forget(m, pid);
	/* a snapshot may still point at it: the memory stays until fini */
	at_hash_del(&m->by_pid, pid, 0);
}

void at_model_forget_sites(struct at_model *m, const int *pids, int n)
{
	size_t freed = m->tab.stacks_freed;

	at_sitetab_forget(&m->tab, pids, n);
	at_debug("forgot %d process(es): %zu stacks deleted", n, m->tab.stacks_freed - freed);
	at_model_peak_forget(m, pids, n);
	at_model_history_forget(m, pids, n);
	at_model_window_forget(m, pids, n);
	if (m->cur.sites == m->tab.v)
		m->cur.nr_sites = m->tab.n;	/* cur reads the table itself */
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
		p->scale = 1;
		sum_u64((__u64 *)&p->s, (const __u64 *)((char *)vals + i * vsz), sizeof(p->s) / 8, m->ncpus);
		memcpy(p->hits, p->s.calls, sizeof(p->hits));
	}
	s->nr_procs = n;
	qsort(s->procs, n, sizeof(*s->procs), at_proc_cmp);
	free(keys);
	free(vals);
	return 0;
}

/* --max-overhead: every probe saw only the windows; scale what they counted by the
 * share of each process's work they saw (model_window.c). */
#define SCALE(x) ((x) = (__typeof__(x))llround((double)(x) * k))

static void scale_proc(struct at_proc_stats *p, double k)
{
	SCALE(p->allocs); SCALE(p->frees); SCALE(p->alloc_bytes); SCALE(p->free_bytes);
	SCALE(p->live_allocs); SCALE(p->live_bytes); SCALE(p->temp_allocs); SCALE(p->untracked_frees);
	SCALE(p->mmaps); SCALE(p->munmaps); SCALE(p->mmap_live_bytes);
	for (int f = 0; f < AT_NR_FUNCS; f++)	/* every probe is windowed: every call is sampled */
		SCALE(p->calls[f]);
	for (int b = 0; b < AT_SIZE_BUCKETS; b++) {
		SCALE(p->size_count[b]);
		SCALE(p->size_bytes[b]);
	}
	for (int b = 0; b < AT_LT_BUCKETS; b++)
		SCALE(p->lifetime[b]);
}

static void scale_site(struct at_site_counts *t, double k)
{
	SCALE(t->allocs); SCALE(t->alloc_bytes); SCALE(t->frees); SCALE(t->free_bytes);
	SCALE(t->live_allocs); SCALE(t->live_bytes); SCALE(t->temp_allocs);
}

/* Ensures buffer i holds n sites; returns it. Kept between refreshes. */
static struct at_site_view *site_buf(struct at_model *m, int i, size_t n)
{
	if (n > m->site_cap[i]) {
		m->site_cap[i] = n + n / 4;
		free(m->site_buf[i]);
		m->site_buf[i] = at_xcalloc(m->site_cap[i], sizeof(**m->site_buf));
	}
	return m->site_buf[i];
}

/* The table keeps the kernel's numbers; the snapshot gets a scaled copy. Sites and
 * processes are both sorted by pid. */
static void scale_estimates(struct at_model *m, struct at_snapshot *s, double duty)
{
	struct at_site_view *v = site_buf(m, 1, m->tab.n);
	double k;
	size_t j = 0;

	if (m->tab.n)	/* no site yet: the table has no array */
		memcpy(v, m->tab.v, m->tab.n * sizeof(*v));
	for (size_t i = 0; i < s->nr_procs; i++) {
		struct at_proc_view *p = &s->procs[i];

		k = 1 / at_model_window_share(m, p, duty);
		while (j < m->tab.n && v[j].pid < p->pid)
			j++;
		for (; j < m->tab.n && v[j].pid == p->pid; j++) {
			v[j].samples = v[j].s.allocs;
			scale_site(&v[j].s, at_model_window_weight(m, p->pid, v[j].stack_id + 1, v[j].s.allocs, k));
		}
		p->scale = at_model_window_weight(m, p->pid, 0, p->s.allocs, k);
		scale_proc(&p->s, p->scale);
	}
	s->sites = v;
}

/* Before scaling: what the probes saw, for --max-overhead's duty cycle. */
static void raw_totals(struct at_model *m, const struct at_snapshot *s)
{
	m->raw_allocs = m->raw_frees = 0;
	for (size_t i = 0; i < s->nr_procs; i++) {
		m->raw_allocs += s->procs[i].s.allocs;
		for (int f = 0; f < AT_NR_FUNCS; f++)
			if (at_entry_of(f)->kind == AT_KIND_FREE)
				m->raw_frees += s->procs[i].s.calls[f];
	}
}

static void read_drops(struct at_model *m, struct at_snapshot *s)
{
	__u64 percpu[m->ncpus], cnt;

	for (__u32 d = 0; d < AT_NR_DROPS; d++)
		if (!bpf_map_lookup_elem(m->fds.drops, &d, percpu))
			sum_u64(&s->drops[d], percpu, 1, m->ncpus);
	at_tracer__prog_stats(m->tracer, &s->bpf_run_ns, &cnt);
}

static bool heap_due(const struct at_model *m, double now, bool final)
{
	const struct at_heap *h = &m->heap;

	return final || !h->analyzed_at || now - h->analyzed_at >= AT_HEAP_PERIOD_FACTOR * h->took_s;
}

/* The previous snapshot's sites, copied before the table moves on (dashboard only). */
static size_t keep_prev_sites(struct at_model *m, const struct at_site_view **out)
{
	struct at_site_view *v;

	*out = NULL;
	if (!m->needs.prev_sites)
		return 0;
	v = site_buf(m, 0, m->cur.nr_sites);
	if (m->cur.nr_sites)	/* no sites yet: cur.sites may be NULL, which memcpy must not see */
		memcpy(v, m->cur.sites, m->cur.nr_sites * sizeof(*v));
	*out = v;
	return m->cur.nr_sites;
}

/* Frees the targets gone two refreshes ago: neither snapshot can point at them (an
 * agent's list would otherwise grow with every process that ever came and went; the
 * outputs copy what they keep, like the dashboard's rows and baseline). */
static void drop_gone_targets(struct at_model *m)
{
	int n = 0;

	for (int i = 0; i < m->nr_targets; i++) {
		struct at_target *t = m->targets[i];

		if (t->gone && t->gone_gen + 2 <= m->gen)
			free(t);
		else
			m->targets[n++] = t;
	}
	m->nr_targets = n;
}

/* The heap pass over every live target (those without a block since attach too). */
static void heap_pass(struct at_model *m)
{
	int *pids = at_xcalloc(m->nr_targets ? m->nr_targets : 1, sizeof(*pids));
	size_t n = 0;

	for (int i = 0; i < m->nr_targets; i++)
		if (!m->targets[i]->exited)
			pids[n++] = m->targets[i]->pid;
	at_heap_analyze(&m->heap, m->fds.live, at_tracer__elfcache(m->tracer), m->min_age_ns, pids, n,
			m->needs.from_start);
	free(pids);
}

int at_model_refresh(struct at_model *m, bool final)
{
	struct at_snapshot s = { .mono = at_now_mono() };
	const struct at_site_view *psites;
	size_t np = keep_prev_sites(m, &psites);
	int err;

	at_sitetab_want_lives(&m->tab, m->needs.lives);
	if ((err = read_procs(m, &s)) || (err = at_sitetab_refresh(&m->tab))) {
		free(s.procs);
		return err;
	}
	s.sites = m->tab.v;
	s.nr_sites = m->tab.n;
	at_debug("sites: %zu listed, %zu read%s", m->tab.n, m->tab.reads, m->tab.whole ? " (whole map)" : "");
	raw_totals(m, &s);
	at_model_window_refresh(m, &s);
	if (m->max_overhead && m->duty > 0 && m->duty < 1)
		scale_estimates(m, &s, m->duty);
	read_drops(m, &s);
	if (m->needs.heap && heap_due(m, s.mono, final))
		heap_pass(m);
	free(m->prev.procs);
	m->prev = m->cur;
	m->prev.sites = psites;
	m->prev.nr_sites = np;
	m->cur = s;
	m->gen++;
	at_model_take_lives(m);
	drop_gone_targets(m);
	at_model_overhead_update(m);
	if (m->needs.peak)
		at_model_peak_update(m, final);
	at_model_history_update(m);
	at_model_trim_caches(m);
	at_model_trim_lives(m);
	at_model_resolve(m);
	if (m->needs.nr_per)	/* its sites are symbolized as it looks for the functions */
		at_model_percall_update(m);
	return 0;
}

int at_model__new(struct at_tracer *t, struct at_model **out)
{
	struct at_model *m = at_xcalloc(1, sizeof(*m));
	int err = model_init(m, t);

	if (err) {
		model_fini(m);
		free(m);
		return err;
	}
	*out = m;
	return 0;
}

void at_model__free(struct at_model *m)
{
	if (!m)
		return;
	model_fini(m);
	free(m);
}
