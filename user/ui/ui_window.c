/* The dashboard's windows over the model: per second since the previous refresh, or
 * totals since the baseline (attach, or the moment z was pressed). No curses here. */
#include "ui/ui_int.h"
#include "lib/util.h"

#include <stdlib.h>
#include <string.h>

double ui_sub(__u64 a, __u64 b)
{
	return a > b ? (double)(a - b) : 0;
}

double ui_dt(const struct at_ui *ui)
{
	const struct at_model *m = ui->m;
	double from = at_model_prev(m)->mono ? at_model_prev(m)->mono : at_model_start(m);

	return at_model_cur(m)->mono > from ? at_model_cur(m)->mono - from : 0;
}

double ui_window_value(const struct at_ui *ui, __u64 cur, __u64 prev, __u64 base)
{
	double dt;

	if (ui->cum)
		return ui_sub(cur, base);
	dt = ui_dt(ui);
	return dt > 0 ? ui_sub(cur, prev) / dt : 0;
}

/* Snapshots keep sites sorted by key and new sites are rare: a site usually sits at
 * the same index in the older snapshot. */
static const struct at_site_view *same_or_find(const struct at_snapshot *s, size_t i, const struct at_site_view *cv)
{
	if (i < s->nr_sites && s->sites[i].pid == cv->pid && s->sites[i].stack_id == cv->stack_id)
		return &s->sites[i];
	return at_snapshot_site(s, cv->pid, cv->stack_id);
}

const struct at_site_view *ui_prev_site(const struct at_ui *ui, size_t i, const struct at_site_view *cv)
{
	return same_or_find(at_model_prev(ui->m), i, cv);
}

const struct at_site_view *ui_base_site(const struct at_ui *ui, size_t i, const struct at_site_view *cv)
{
	return same_or_find(&ui->base, i, cv);
}

/* Sum of the processes in scope, word by word (every field is 64 bits wide). */
static void proc_sum(const struct at_snapshot *s, int scope, struct at_proc_stats *out, int *nr)
{
	__u64 *d = (__u64 *)out;

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < s->nr_procs; i++) {
		const __u64 *w = (const __u64 *)&s->procs[i].s;

		if (scope && s->procs[i].pid != scope)
			continue;
		for (size_t k = 0; k < sizeof(*out) / 8; k++)
			d[k] += w[k];
		if (nr)
			(*nr)++;
	}
}

void ui_totals(const struct at_ui *ui, struct ui_totals *out)
{
	struct at_proc_stats c, p, b;

	memset(out, 0, sizeof(*out));
	proc_sum(at_model_cur(ui->m), ui->scope, &c, &out->nr_procs);
	proc_sum(at_model_prev(ui->m), ui->scope, &p, NULL);
	proc_sum(&ui->base, ui->scope, &b, NULL);
	out->allocs = ui_window_value(ui, c.allocs, p.allocs, b.allocs);
	out->frees = ui_window_value(ui, c.frees, p.frees, b.frees);
	out->bytes = ui_window_value(ui, c.alloc_bytes, p.alloc_bytes, b.alloc_bytes);
	out->live_n = c.live_allocs;
	out->live_b = c.live_bytes;
}

void ui_scope_hist(const struct at_ui *ui, struct at_proc_stats *out)
{
	struct at_proc_stats old;
	__u64 *d = (__u64 *)out;
	const __u64 *o = (const __u64 *)&old;

	proc_sum(at_model_cur(ui->m), ui->scope, out, NULL);
	proc_sum(ui->cum ? &ui->base : at_model_prev(ui->m), ui->scope, &old, NULL);
	for (size_t k = 0; k < sizeof(*out) / 8; k++)
		d[k] = (__u64)ui_sub(d[k], o[k]);
}

bool ui_site_totals(const struct at_ui *ui, int pid, __u64 stack_id, struct at_site_counts *out)
{
	const struct at_site_view *c = at_snapshot_site(at_model_cur(ui->m), pid, stack_id);
	const struct at_site_view *b = at_snapshot_site(&ui->base, pid, stack_id);

	if (!c)
		return false;
	*out = c->s;
	if (b) {
		out->allocs = (__u64)ui_sub(c->s.allocs, b->s.allocs);
		out->alloc_bytes = (__u64)ui_sub(c->s.alloc_bytes, b->s.alloc_bytes);
		out->frees = (__u64)ui_sub(c->s.frees, b->s.frees);
		out->free_bytes = (__u64)ui_sub(c->s.free_bytes, b->s.free_bytes);
		out->temp_allocs = (__u64)ui_sub(c->s.temp_allocs, b->s.temp_allocs);
	}
	return true;
}

bool ui_site_life(struct at_ui *ui, int pid, __u64 stack_id, bool since_base, __u32 lt[AT_LT_BUCKETS])
{
	__u32 old[AT_LT_BUCKETS] = { 0 };
	const __u32 *b;

	if (!at_model_site_life(ui->m, pid, stack_id, lt))
		return false;
	if (since_base || ui->cum) {
		if ((b = at_hash_get(&ui->base_life, pid, stack_id)))
			memcpy(old, b, sizeof(old));
	} else if (!at_model_site_life_prev(ui->m, pid, stack_id, old)) {
		return false;	/* not read at the last refresh: known from the next one */
	}
	for (int i = 0; i < AT_LT_BUCKETS; i++)
		lt[i] = lt[i] > old[i] ? lt[i] - old[i] : 0;
	return true;
}

bool ui_site_hist(struct at_ui *ui, int pid, __u64 stack_id, __u64 *lt)
{
	__u32 w[AT_LT_BUCKETS];

	if (!ui_site_life(ui, pid, stack_id, false, w))
		return false;
	for (int i = 0; i < AT_LT_BUCKETS; i++)
		lt[i] = w[i];
	return true;
}

void ui_base_free(struct at_ui *ui)
{
	free(ui->base.procs);
	free(ui->base_sites);
	at_hash_free_all(&ui->base_life);
	memset(&ui->base, 0, sizeof(ui->base));
	ui->base_sites = NULL;
}

/* A site's lifetimes at z, scaled like the snapshot (--max-overhead); all-zero ones
 * are not kept. */
static void keep_life(void *ctx, int pid, __u64 stack_id, const __u32 *lt)
{
	struct at_ui *ui = ctx;
	const struct at_proc_view *p = at_snapshot_proc(&ui->base, pid);
	double k = p ? p->scale : 1;
	__u32 *copy;
	int i = 0;

	while (i < AT_LT_BUCKETS && !lt[i])
		i++;
	if (i == AT_LT_BUCKETS)
		return;
	copy = at_xcalloc(AT_LT_BUCKETS, sizeof(*copy));
	for (i = 0; i < AT_LT_BUCKETS; i++)
		copy[i] = (__u32)(lt[i] * k + 0.5);
	free(at_hash_put(&ui->base_life, pid, stack_id, copy));
}

/* z: from now on, counters and lifetimes are shown relative to the current snapshot. */
void ui_base_set(struct at_ui *ui)
{
	const struct at_snapshot *c = at_model_cur(ui->m);

	ui_base_free(ui);
	ui->base = *c;
	ui->base.procs = at_xcalloc(c->nr_procs ? c->nr_procs : 1, sizeof(*c->procs));
	ui->base_sites = at_xcalloc(c->nr_sites ? c->nr_sites : 1, sizeof(*c->sites));
	memcpy(ui->base.procs, c->procs, c->nr_procs * sizeof(*c->procs));
	for (size_t i = 0; i < c->nr_procs; i++)
		ui->base.procs[i].target = NULL;	/* the model frees gone targets: only counts are kept */
	memcpy(ui->base_sites, c->sites, c->nr_sites * sizeof(*c->sites));
	ui->base.sites = ui->base_sites;
	at_model_each_life(ui->m, keep_life, ui);
	ui->base_mono = c->mono;
}

bool at_ui_wants_heap(const struct at_ui *ui)
{
	return ui->view == UV_PROCS || (ui->view == UV_HIST && !ui->focus);
}
