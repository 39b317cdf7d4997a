/* The model as the dashboard shows it: rows per site or process with the value of
 * every column over the current window, which is either the last interval (rates,
 * from cur - prev; a site missing from prev counts from zero) or everything since the
 * baseline (c; the baseline is attach time, or the moment z was pressed). Live
 * counts are the current state in both. No curses here. */
#include "ui_int.h"
#include "hist.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const struct ui_col ui_cols[UK_NR] = {
	[UK_PID] = { { "PID", "PID" }, 7, false, true, "process ID" },
	[UK_COMM] = { { "COMMAND", "COMMAND" }, 0, true, true, "command" },
	[UK_SITE] = { { "SITE (direct caller)", "SITE (direct caller)" }, 0, true, true, "site" },
	[UK_MODULE] = { { "MODULE", "MODULE" }, 16, true, true, "module" },
	[UK_ALLOCS] = { { "ALLOC/s", "ALLOCS" }, 8, false, false, "allocations" },
	[UK_FREES] = { { "FREE/s", "FREES" }, 8, false, false, "frees" },
	[UK_BYTES] = { { "BYTES/s", "BYTES" }, 7, false, false, "bytes allocated" },
	[UK_COUNT] = { { "ALLOCS", "FREES" }, 9, false, false, "total" },
	[UK_LIVE_N] = { { "LIVE#", "LIVE#" }, 7, false, false, "live blocks" },
	[UK_LIVE_B] = { { "LIVE", "LIVE" }, 6, false, false, "live bytes" },
	[UK_AVG] = { { "AVG", "AVG" }, 5, false, false, "average size" },
	[UK_LIFE] = { { "MEDLIFE", "MEDLIFE" }, 7, false, false, "median lifetime" },
	[UK_FRAG] = { { "FRAG%", "FRAG%" }, 5, false, false, "heap not holding live blocks" },
};

static double sub(__u64 a, __u64 b)
{
	return a > b ? (double)(a - b) : 0;
}

double ui_dt(const struct at_ui *ui)
{
	const struct at_model *m = ui->m;
	double from = m->prev.mono ? m->prev.mono : m->start_mono;

	return m->cur.mono > from ? m->cur.mono - from : 0;
}

/* A counter over the window: per second since prev, or since the baseline. */
static double window(const struct at_ui *ui, __u64 cur, __u64 prev, __u64 base)
{
	double dt;

	if (ui->cum)
		return sub(cur, base);
	dt = ui_dt(ui);
	return dt > 0 ? sub(cur, prev) / dt : 0;
}

static void site_since(struct at_site_stats *d, const struct at_site_stats *a, const struct at_site_stats *b)
{
	*d = *a;
	if (!b)
		return;
	d->allocs = (__u64)sub(a->allocs, b->allocs);
	d->alloc_bytes = (__u64)sub(a->alloc_bytes, b->alloc_bytes);
	d->frees = (__u64)sub(a->frees, b->frees);
	d->free_bytes = (__u64)sub(a->free_bytes, b->free_bytes);
	d->temp_allocs = (__u64)sub(a->temp_allocs, b->temp_allocs);
	for (int i = 0; i < AT_LT_BUCKETS; i++)
		d->lifetime[i] = a->lifetime[i] > b->lifetime[i] ? a->lifetime[i] - b->lifetime[i] : 0;
}

static void site_row(const struct at_ui *ui, const struct at_site_view *cv, struct ui_row *r)
{
	const struct at_site_view *pv = at_snapshot_site(&ui->m->prev, cv->pid, cv->stack_id);
	const struct at_site_view *bv = at_snapshot_site(&ui->base, cv->pid, cv->stack_id);
	const struct at_site_stats *c = &cv->s, *p = pv ? &pv->s : NULL;
	struct at_site_stats t;

	site_since(&t, c, bv ? &bv->s : NULL);
	memset(r, 0, sizeof(*r));
	r->pid = cv->pid;
	r->stack_id = cv->stack_id;
	r->target = at_model_target(ui->m, cv->pid);
	r->v[UK_PID] = cv->pid;
	r->v[UK_ALLOCS] = window(ui, c->allocs, p ? p->allocs : 0, bv ? bv->s.allocs : 0);
	r->v[UK_FREES] = window(ui, c->frees, p ? p->frees : 0, bv ? bv->s.frees : 0);
	r->v[UK_BYTES] = window(ui, c->alloc_bytes, p ? p->alloc_bytes : 0, bv ? bv->s.alloc_bytes : 0);
	r->v[UK_COUNT] = ui->cum ? t.frees : t.allocs;
	r->v[UK_LIVE_N] = c->live_allocs > 0 ? c->live_allocs : 0;
	r->v[UK_LIVE_B] = c->live_bytes > 0 ? c->live_bytes : 0;
	r->v[UK_AVG] = t.allocs ? (double)t.alloc_bytes / t.allocs : 0;
	r->v[UK_LIFE] = t.frees ? (double)at_hist_median_u32(t.lifetime, AT_LT_BUCKETS) : -1;
	r->tie = t.alloc_bytes;
}

static void proc_row(const struct at_ui *ui, const struct at_proc_view *cv, struct ui_row *r)
{
	const struct at_proc_view *pv = at_snapshot_proc(&ui->m->prev, cv->pid);
	const struct at_proc_view *bv = at_snapshot_proc(&ui->base, cv->pid);
	const struct at_proc_stats *c = &cv->s, *p = pv ? &pv->s : NULL, *b = bv ? &bv->s : NULL;

	memset(r, 0, sizeof(*r));
	r->pid = cv->pid;
	r->target = cv->target;
	r->resolved = true;
	r->v[UK_PID] = cv->pid;
	r->v[UK_ALLOCS] = window(ui, c->allocs, p ? p->allocs : 0, b ? b->allocs : 0);
	r->v[UK_FREES] = window(ui, c->frees, p ? p->frees : 0, b ? b->frees : 0);
	r->v[UK_BYTES] = window(ui, c->alloc_bytes, p ? p->alloc_bytes : 0, b ? b->alloc_bytes : 0);
	r->v[UK_COUNT] = sub(c->allocs, b ? b->allocs : 0);
	r->v[UK_LIVE_N] = c->live_allocs > 0 ? c->live_allocs : 0;
	r->v[UK_LIVE_B] = c->live_bytes > 0 ? c->live_bytes : 0;
	r->v[UK_AVG] = r->v[UK_COUNT] ? sub(c->alloc_bytes, b ? b->alloc_bytes : 0) / r->v[UK_COUNT] : 0;
	r->v[UK_LIFE] = -1;
	{
		const struct at_heap_proc *hp = at_heap_proc(&ui->m->heap, cv->pid);

		r->v[UK_FRAG] = hp && hp->frag.heap_bytes ? hp->frag.ratio * 100 : -1;
	}
	r->tie = sub(c->alloc_bytes, b ? b->alloc_bytes : 0);
}

const char *ui_basename(const char *path)
{
	const char *s = path ? strrchr(path, '/') : NULL;

	return s ? s + 1 : path ? path : "";
}

/* Symbolizes a site row's direct caller (frames[0]) once. */
void ui_row_resolve(struct at_ui *ui, struct ui_row *r)
{
	const struct at_stack *st;
	struct at_frame f;

	if (r->resolved)
		return;
	r->resolved = true;
	st = at_model_stack(ui->m, r->stack_id);
	if (!st || !st->nr)
		return;
	at_symbolize(ui->sym, r->pid, st->ips[0], &f);
	r->sym = f.symbol;
	r->module = f.module;
	r->off = f.offset;
}

static const char *row_text(const struct ui_row *r, enum ui_key k)
{
	switch (k) {
	case UK_COMM: return r->target ? r->target->comm : "";
	case UK_SITE: return r->sym ? r->sym : r->module ? ui_basename(r->module) : "[unknown]";
	case UK_MODULE: return ui_basename(r->module);
	default: return "";
	}
}

static int cmp_rows(const void *a, const void *b, void *arg)
{
	const struct ui_table *tb = arg;
	const struct ui_row *x = a, *y = b;
	enum ui_key k = tb->sort;
	int c = 0;

	if (ui_cols[k].text)
		c = strcmp(row_text(x, k), row_text(y, k));
	else if (x->v[k] != y->v[k])
		c = (x->v[k] < y->v[k]) == ui_cols[k].asc ? -1 : 1;
	if (tb->rev)
		c = -c;
	if (c)
		return c;
	if (x->tie != y->tie)
		return x->tie > y->tie ? -1 : 1;
	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	return (x->stack_id > y->stack_id) - (x->stack_id < y->stack_id);
}

/* Keeps the selection on the same site or process as the rows reorder. */
static void follow_selection(struct ui_table *tb, const struct ui_buf *b)
{
	if (tb->have_sel)
		for (size_t i = 0; i < b->n; i++)
			if (b->rows[i].pid == tb->sel_pid && b->rows[i].stack_id == tb->sel_stack) {
				tb->sel = i;
				break;
			}
	if (tb->sel >= b->n)
		tb->sel = b->n ? b->n - 1 : 0;
	tb->have_sel = b->n > 0;
	if (b->n) {
		tb->sel_pid = b->rows[tb->sel].pid;
		tb->sel_stack = b->rows[tb->sel].stack_id;
	}
}

void ui_rows_build(struct at_ui *ui, enum ui_table_id t)
{
	const struct at_snapshot *cur = &ui->m->cur;
	struct ui_buf *b = &ui->buf[t];
	size_t n = t == UT_SITES ? cur->nr_sites : cur->nr_procs;

	if (n > b->cap) {
		b->rows = at_xrealloc(b->rows, n, sizeof(*b->rows));
		b->cap = n;
	}
	b->n = 0;
	for (size_t i = 0; i < n; i++) {
		if (t == UT_PROCS)
			proc_row(ui, &cur->procs[i], &b->rows[b->n++]);
		else if (!ui->scope || cur->sites[i].pid == ui->scope)
			site_row(ui, &cur->sites[i], &b->rows[b->n++]);
	}
	if (ui_cols[ui->tab[t].sort].text)
		for (size_t i = 0; i < b->n; i++)
			ui_row_resolve(ui, &b->rows[i]);
	if (b->n)	/* rows is NULL until the first one */
		qsort_r(b->rows, b->n, sizeof(*b->rows), cmp_rows, &ui->tab[t]);
	follow_selection(&ui->tab[t], b);
}

const struct ui_row *ui_selected(const struct at_ui *ui, enum ui_table_id t)
{
	const struct ui_buf *b = &ui->buf[t];

	return b->n ? &b->rows[ui->tab[t].sel < b->n ? ui->tab[t].sel : b->n - 1] : NULL;
}

void ui_move(struct at_ui *ui, enum ui_table_id t, long delta)
{
	struct ui_table *tb = &ui->tab[t];
	const struct ui_buf *b = &ui->buf[t];
	long s = (long)tb->sel + delta;

	if (!b->n)
		return;
	s = s < 0 ? 0 : s >= (long)b->n ? (long)b->n - 1 : s;
	tb->sel = (size_t)s;
	tb->have_sel = true;
	tb->sel_pid = b->rows[s].pid;
	tb->sel_stack = b->rows[s].stack_id;
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
	proc_sum(&ui->m->cur, ui->scope, &c, &out->nr_procs);
	proc_sum(&ui->m->prev, ui->scope, &p, NULL);
	proc_sum(&ui->base, ui->scope, &b, NULL);
	out->allocs = window(ui, c.allocs, p.allocs, b.allocs);
	out->frees = window(ui, c.frees, p.frees, b.frees);
	out->bytes = window(ui, c.alloc_bytes, p.alloc_bytes, b.alloc_bytes);
	out->live_n = c.live_allocs;
	out->live_b = c.live_bytes;
}

void ui_scope_hist(const struct at_ui *ui, struct at_proc_stats *out)
{
	struct at_proc_stats old;
	__u64 *d = (__u64 *)out;
	const __u64 *o = (const __u64 *)&old;

	proc_sum(&ui->m->cur, ui->scope, out, NULL);
	proc_sum(ui->cum ? &ui->base : &ui->m->prev, ui->scope, &old, NULL);
	for (size_t k = 0; k < sizeof(*out) / 8; k++)
		d[k] = (__u64)sub(d[k], o[k]);
}

bool ui_site_totals(const struct at_ui *ui, int pid, __u64 stack_id, struct at_site_stats *out)
{
	const struct at_site_view *c = at_snapshot_site(&ui->m->cur, pid, stack_id);
	const struct at_site_view *b = at_snapshot_site(&ui->base, pid, stack_id);

	if (!c)
		return false;
	site_since(out, &c->s, b ? &b->s : NULL);
	return true;
}

bool ui_site_hist(const struct at_ui *ui, int pid, __u64 stack_id, __u64 *lt)
{
	const struct at_site_view *c = at_snapshot_site(&ui->m->cur, pid, stack_id);
	const struct at_site_view *o = at_snapshot_site(ui->cum ? &ui->base : &ui->m->prev, pid, stack_id);

	if (!c)
		return false;
	for (int i = 0; i < AT_LT_BUCKETS; i++) {
		__u32 old = o ? o->s.lifetime[i] : 0;

		lt[i] = c->s.lifetime[i] > old ? c->s.lifetime[i] - old : 0;
	}
	return true;
}

void ui_base_free(struct at_ui *ui)
{
	free(ui->base.procs);
	free(ui->base.sites);
	memset(&ui->base, 0, sizeof(ui->base));
}

/* z: from now on, counters are shown relative to the current snapshot. */
void ui_base_set(struct at_ui *ui)
{
	const struct at_snapshot *c = &ui->m->cur;

	ui_base_free(ui);
	ui->base = *c;
	ui->base.procs = at_xcalloc(c->nr_procs ? c->nr_procs : 1, sizeof(*c->procs));
	ui->base.sites = at_xcalloc(c->nr_sites ? c->nr_sites : 1, sizeof(*c->sites));
	memcpy(ui->base.procs, c->procs, c->nr_procs * sizeof(*c->procs));
	memcpy(ui->base.sites, c->sites, c->nr_sites * sizeof(*c->sites));
	ui->base_mono = c->mono;
}

static const char *scaled(double v, char *buf, size_t sz)
{
	static const char units[] = "kMGTPE";
	int u = -1;

	while (v >= 999.5 && u < 5) {
		v /= 1000;
		u++;
	}
	if (u < 0)
		snprintf(buf, sz, "%.0f", v);
	else
		snprintf(buf, sz, v < 9.995 ? "%.2f%c" : v < 99.95 ? "%.1f%c" : "%.0f%c", v, units[u]);
	return buf;
}

/* An exact count when it fits the column, "12.3M" when it does not. */
const char *ui_count(double v, int width, char *buf, size_t sz)
{
	int n = snprintf(buf, sz, "%.0f", v);

	return n <= width ? buf : scaled(v, buf, sz);
}

const char *ui_rate(double v, char *buf, size_t sz)
{
	if (v <= 0)
		snprintf(buf, sz, "0");
	else if (v < 9.95)
		snprintf(buf, sz, "%.1f", v);
	else if (v < 99999.5)
		snprintf(buf, sz, "%.0f", v);
	else
		scaled(v, buf, sz);
	return buf;
}
