/* The model as the dashboard shows it: rows per site or process with the value of
 * every column over the current window, which is either the last interval (rates,
 * from cur - prev; a site missing from prev counts from zero) or everything since the
 * baseline (c; the baseline is attach time, or the moment z was pressed). Live
 * counts are the current state in both. No curses here. */
#include "ui/ui_int.h"
#include "lib/hist.h"
#include "lib/topn.h"
#include "lib/util.h"

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
	[UK_FRAG] = { { "FRAG%", "FRAG%" }, 5, false, false, "heap not holding live blocks (-: unknown, attached late)" },
	[UK_PROBE] = { { "PROBE%", "PROBE%" }, 6, false, false, "CPU time in probe hits" },
};

/* One column of a site's row (numbers only). x: the site now, in prev and in base. */
struct site_win {
	const struct at_site_view *c, *p, *b;
};

static double site_life_value(struct at_ui *ui, const struct at_site_view *c, __u64 frees)
{
	__u32 lt[AT_LT_BUCKETS];

	if (!frees || !ui_site_life(ui, c->pid, c->stack_id, false, lt))
		return -1;
	return (double)at_hist_median_u32(lt, AT_LT_BUCKETS);
}

static double site_value(struct at_ui *ui, const struct site_win *x, enum ui_key k)
{
	const struct at_site_counts *c = &x->c->s, *p = x->p ? &x->p->s : NULL, *b = x->b ? &x->b->s : NULL;
	double allocs = ui_sub(c->allocs, b ? b->allocs : 0);

	switch (k) {
	case UK_PID: return x->c->pid;
	case UK_ALLOCS: return ui_window_value(ui, c->allocs, p ? p->allocs : 0, b ? b->allocs : 0);
	case UK_FREES: return ui_window_value(ui, c->frees, p ? p->frees : 0, b ? b->frees : 0);
	case UK_BYTES: return ui_window_value(ui, c->alloc_bytes, p ? p->alloc_bytes : 0, b ? b->alloc_bytes : 0);
	case UK_COUNT: return ui->cum ? ui_sub(c->frees, b ? b->frees : 0) : allocs;
	case UK_LIVE_N: return c->live_allocs > 0 ? c->live_allocs : 0;
	case UK_LIVE_B: return c->live_bytes > 0 ? c->live_bytes : 0;
	case UK_AVG: return allocs ? ui_sub(c->alloc_bytes, b ? b->alloc_bytes : 0) / allocs : 0;
	case UK_LIFE:
		/* frees over the window: rates since prev, totals since the baseline */
		return site_life_value(ui, x->c, ui->cum ? (__u64)ui_sub(c->frees, b ? b->frees : 0)
							 : (__u64)ui_sub(c->frees, p ? p->frees : 0));
	default: return 0;
	}
}

/* What a row shows of its process, copied: the model frees gone targets. */
static void ui_row_target(struct ui_row *r, const struct at_target *t)
{
	if (!t)
		return;
	r->known = true;
	r->exited = t->exited;
	snprintf(r->comm, sizeof(r->comm), "%s", t->comm);
}

static void site_row(struct at_ui *ui, size_t i, struct ui_row *r)
{
	const struct at_site_view *cv = &at_model_cur(ui->m)->sites[i];
	struct site_win x = { cv, ui_prev_site(ui, i, cv), ui_base_site(ui, i, cv) };
	const struct ui_table *tb = &ui->tab[UT_SITES];

	memset(r, 0, sizeof(*r));
	r->pid = cv->pid;
	r->stack_id = cv->stack_id;
	ui_row_target(r, at_model_target(ui->m, cv->pid));
	for (int k = 0; k < tb->nr_keys; k++)
		if (!ui_cols[tb->keys[k]].text)
			r->v[tb->keys[k]] = site_value(ui, &x, tb->keys[k]);
	r->tie = ui_sub(cv->s.alloc_bytes, x.b ? x.b->s.alloc_bytes : 0);
}

static void proc_row(const struct at_ui *ui, const struct at_proc_view *cv, struct ui_row *r)
{
	const struct at_proc_view *pv = at_snapshot_proc(at_model_prev(ui->m), cv->pid);
	const struct at_proc_view *bv = at_snapshot_proc(&ui->base, cv->pid);
	const struct at_proc_stats *c = &cv->s, *p = pv ? &pv->s : NULL, *b = bv ? &bv->s : NULL;
	const struct at_heap_proc *hp = at_model_heap_proc(ui->m, cv->pid);

	memset(r, 0, sizeof(*r));
	r->pid = cv->pid;
	ui_row_target(r, cv->target);
	r->resolved = true;
	r->v[UK_PID] = cv->pid;
	r->v[UK_ALLOCS] = ui_window_value(ui, c->allocs, p ? p->allocs : 0, b ? b->allocs : 0);
	r->v[UK_FREES] = ui_window_value(ui, c->frees, p ? p->frees : 0, b ? b->frees : 0);
	r->v[UK_BYTES] = ui_window_value(ui, c->alloc_bytes, p ? p->alloc_bytes : 0, b ? b->alloc_bytes : 0);
	r->v[UK_COUNT] = ui_sub(c->allocs, b ? b->allocs : 0);
	r->v[UK_LIVE_N] = c->live_allocs > 0 ? c->live_allocs : 0;
	r->v[UK_LIVE_B] = c->live_bytes > 0 ? c->live_bytes : 0;
	r->v[UK_AVG] = r->v[UK_COUNT] ? ui_sub(c->alloc_bytes, b ? b->alloc_bytes : 0) / r->v[UK_COUNT] : 0;
	r->v[UK_LIFE] = -1;
	r->v[UK_FRAG] = hp && hp->frag.heap_bytes && !hp->partial ? hp->frag.ratio * 100 : -1;
	r->v[UK_PROBE] = cv->ov.cpu_known ? cv->ov.cpu_share * 100 : -1;
	r->tie = ui_sub(c->alloc_bytes, b ? b->alloc_bytes : 0);
}

const char *ui_basename(const char *path)
{
	const char *s = path ? strrchr(path, '/') : NULL;

	return s ? s + 1 : path ? path : "";
}

/* A site row's direct caller (frames[0]), as the model symbolized it. */
void ui_row_resolve(struct at_ui *ui, struct ui_row *r)
{
	const struct at_site_frames *sf;
	const struct at_frame *f;

	if (r->resolved)
		return;
	r->resolved = true;
	sf = at_model_frames(ui->m, r->pid, r->stack_id);
	if (!sf || !(f = at_site_frame_at(sf, 0)))
		return;
	r->sym = f->symbol;
	r->module = f->module;
	r->off = f->offset;
}

static const char *row_text(const struct ui_row *r, enum ui_key k)
{
	switch (k) {
	case UK_COMM: return r->comm;
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
		for (size_t i = 0; i < b->built; i++)
			if (b->rows[i].pid == tb->sel_pid && b->rows[i].stack_id == tb->sel_stack) {
				tb->sel = i;
				break;
			}
	if (tb->sel >= b->n)
		tb->sel = b->n ? b->n - 1 : 0;
	tb->have_sel = b->n > 0 && tb->sel < b->built;
	if (tb->have_sel) {
		tb->sel_pid = b->rows[tb->sel].pid;
		tb->sel_stack = b->rows[tb->sel].stack_id;
	}
}

static void reserve_rows(struct ui_buf *b, size_t n)
{
	if (n > b->cap) {
		b->rows = at_xrealloc(b->rows, n, sizeof(*b->rows));
		b->cap = n;
	}
}

/* Every row built and sorted: the process table, and sites sorted by name. */
static void build_all(struct at_ui *ui, enum ui_table_id t)
{
	const struct at_snapshot *cur = at_model_cur(ui->m);
	struct ui_buf *b = &ui->buf[t];
	size_t n = t == UT_SITES ? cur->nr_sites : cur->nr_procs;

	reserve_rows(b, n);
	b->n = 0;
	for (size_t i = 0; i < n; i++) {
		if (t == UT_PROCS)
			proc_row(ui, &cur->procs[i], &b->rows[b->n++]);
		else if (!ui->scope || cur->sites[i].pid == ui->scope)
			site_row(ui, i, &b->rows[b->n++]);
	}
	if (ui_cols[ui->tab[t].sort].text)
		for (size_t i = 0; i < b->n; i++)
			ui_row_resolve(ui, &b->rows[i]);
	if (b->n)	/* rows is NULL until the first one */
		qsort_r(b->rows, b->n, sizeof(*b->rows), cmp_rows, &ui->tab[t]);
	b->built = b->n;
	follow_selection(&ui->tab[t], b);
}

/* Candidates rank by v ascending (signed by the column's direction), then like
 * cmp_rows: more bytes first, then pid and stack. */
static int cmp_cand(const void *a, const void *b)
{
	const struct ui_cand *x = a, *y = b;

	if (x->v != y->v)
		return x->v < y->v ? -1 : 1;
	if (x->tie != y->tie)
		return x->tie > y->tie ? -1 : 1;
	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	return (x->stack_id > y->stack_id) - (x->stack_id < y->stack_id);
}

/* Each site in scope with only its sort value computed. */
static size_t site_cands(struct at_ui *ui)
{
	const struct at_snapshot *cur = at_model_cur(ui->m);
	const struct ui_table *tb = &ui->tab[UT_SITES];
	double sign = ui_cols[tb->sort].asc ^ tb->rev ? 1 : -1;
	size_t n = 0;

	if (ui->cap_cand < cur->nr_sites) {
		ui->cap_cand = cur->nr_sites;
		ui->cand = at_xrealloc(ui->cand, ui->cap_cand, sizeof(*ui->cand));
	}
	for (size_t i = 0; i < cur->nr_sites; i++) {
		const struct at_site_view *cv = &cur->sites[i];
		struct site_win x = { cv, ui_prev_site(ui, i, cv), ui_base_site(ui, i, cv) };

		if (ui->scope && cv->pid != ui->scope)
			continue;
		ui->cand[n++] = (struct ui_cand){ sign * site_value(ui, &x, tb->sort),
			ui_sub(cv->s.alloc_bytes, x.b ? x.b->s.alloc_bytes : 0), cv->pid, cv->stack_id, cv };
	}
	return n;
}

/* Where the selected site ranks now, or -1 if it is gone. */
static long selected_rank(const struct at_ui *ui, size_t n)
{
	const struct ui_table *tb = &ui->tab[UT_SITES];
	const struct ui_cand *sel = NULL;
	long r = 0;

	for (size_t i = 0; i < n && tb->have_sel && !sel; i++)
		if (ui->cand[i].pid == tb->sel_pid && ui->cand[i].stack_id == tb->sel_stack)
			sel = &ui->cand[i];
	if (!sel)
		return -1;
	for (size_t i = 0; i < n; i++)
		r += cmp_cand(&ui->cand[i], sel) < 0;
	return r;
}

/* Sites by a number: only the rows up to the selection and a screen past what is shown
 * are built, picked by a partial selection (100k sites need not be sorted to show 40). */
static void build_top(struct at_ui *ui)
{
	struct ui_table *tb = &ui->tab[UT_SITES];
	struct ui_buf *b = &ui->buf[UT_SITES];
	size_t n = site_cands(ui), page = ui->page > 0 ? (size_t)ui->page : 0, k;
	long rank = selected_rank(ui, n);
	struct at_topn top;

	if (rank >= 0)
		tb->sel = (size_t)rank;
	k = (tb->sel > tb->top ? tb->sel : tb->top) + (page ? page : 100) + 1;
	k = k < n ? k : n;
	at_topn__init(&top, k, cmp_cand);
	for (size_t i = 0; i < n; i++)
		at_topn_offer(&top, 0, &ui->cand[i]);	/* cmp_cand ranks them all */
	b->built = at_topn_finish(&top);
	reserve_rows(b, b->built);
	for (size_t i = 0; i < b->built; i++)
		site_row(ui, (size_t)(((const struct ui_cand *)top.heap[i].item)->site - at_model_cur(ui->m)->sites), &b->rows[i]);
	at_topn__fini(&top);
	b->n = n;
	follow_selection(tb, b);
}

void ui_rows_build(struct at_ui *ui, enum ui_table_id t)
{
	if (t == UT_SITES && !ui_cols[ui->tab[t].sort].text)
		build_top(ui);
	else
		build_all(ui, t);
}

const struct ui_row *ui_selected(const struct at_ui *ui, enum ui_table_id t)
{
	const struct ui_buf *b = &ui->buf[t];

	return b->built ? &b->rows[ui->tab[t].sel < b->built ? ui->tab[t].sel : b->built - 1] : NULL;
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
	/* past the rows built: the next build (before drawing) names the row */
	tb->have_sel = (size_t)s < b->built;
	if (tb->have_sel) {
		tb->sel_pid = b->rows[s].pid;
		tb->sel_stack = b->rows[s].stack_id;
	}
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

int ui_peak_pid(const struct at_ui *ui)
{
	const struct at_snapshot *cur = at_model_cur(ui->m);
	const struct at_peak_info *best = NULL;
	int pid = 0;

	for (size_t i = 0; i < cur->nr_procs; i++) {
		const struct at_peak_info *pk = at_model_peak(ui->m, cur->procs[i].pid);

		if (!pk || (ui->scope && cur->procs[i].pid != ui->scope))
			continue;
		if (!best || pk->live_bytes > best->live_bytes) {
			best = pk;
			pid = cur->procs[i].pid;
		}
	}
	return pid;
}
