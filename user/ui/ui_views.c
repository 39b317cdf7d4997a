/* The dashboard's frame (header like top, view tabs, footer), the hotspot and
 * process tables, and the help overlay. */
#include "ui/ui_int.h"
#include "lib/hist.h"
#include "lib/util.h"

#include <curses.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define MAX_COLS 16

static const char *hms(double s, char *buf, size_t sz)
{
	long t = (long)s;

	if (t >= 86400)
		snprintf(buf, sz, "%ldd %02ld:%02ld:%02ld", t / 86400, t / 3600 % 24, t / 60 % 60, t % 60);
	else
		snprintf(buf, sz, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
	return buf;
}

static void draw_title(struct at_ui *ui, int y)
{
	char when[16], up[32];
	time_t now = time(NULL);
	int x;

	strftime(when, sizeof(when), "%H:%M:%S", localtime(&now));
	/* --growth fills the allocation columns with page faults: say so where it shows */
	x = ui_put(y, 0, -1, ui_attr(ui, UA_TITLE), "%s",
		   ui->o->growth ? "alloctop --growth (allocs = pages faulted in, bytes = made resident)" : "alloctop");
	x += ui_put(y, x, -1, 0, " - %s up %s, refresh %gs, ", when,
		    hms(at_model_cur(ui->m)->mono - at_model_start(ui->m), up, sizeof(up)), ui->interval);
	ui_put(y, x, -1, A_BOLD, "%s", ui->cum ? (ui->base_mono ? "totals since reset" : "totals since attach")
						: "rates per second");
	if (ui->paused)
		ui_put(y, COLS - 8, 8, ui_attr(ui, UA_WARN), " PAUSED ");
}

static void draw_targets(struct at_ui *ui, int y)
{
	const struct at_model *m = ui->m;
	int x = ui_put(y, 0, -1, ui_attr(ui, UA_LABEL), "Targets:"), left = 0, shown = 0;

	for (int i = 0; i < at_model_nr_targets(m); i++)
		left += !at_model_target_at(m, i)->gone;
	for (int i = 0; i < at_model_nr_targets(m); i++) {
		const struct at_target *t = at_model_target_at(m, i);
		char item[48];
		int n;

		if (t->gone)
			continue;
		n = snprintf(item, sizeof(item), "%s %d %s%s", shown++ ? "," : "", t->pid, t->comm,
			     t->exited ? " (exited)" : "");
		if (x + n > COLS - 12 && left > 1) {
			ui_put(y, x, -1, 0, ", +%d more", left);
			return;
		}
		x += ui_put(y, x, -1, t->exited ? ui_attr(ui, UA_DIM) : 0, "%s", item);
		left--;
	}
	if (!shown)
		ui_put(y, x, -1, ui_attr(ui, UA_DIM), " none left");
}

static int kv(struct at_ui *ui, int y, int x, const char *label, const char *value)
{
	x += ui_put(y, x, -1, ui_attr(ui, UA_LABEL), "%s", label);
	return x + ui_put(y, x, -1, A_BOLD, "%s", value) + 3;
}

/* The peak of live bytes: the scope's process, else the process with the highest. */
static void draw_peak(struct at_ui *ui, int y, int x)
{
	int pid = ui_peak_pid(ui);
	const struct at_peak_info *pk = pid ? at_model_peak(ui->m, pid) : NULL;
	char v[64], b[16];

	if (!pk)
		return;
	snprintf(v, sizeof(v), "%s @%.1fs pid %d", at_fmt_bytes(pk->live_bytes, b, sizeof(b)), pk->t, pid);
	kv(ui, y, x, "Peak: ", v);
}

static void draw_totals(struct at_ui *ui, int y)
{
	struct ui_totals t;
	char a[24], f[24], b[24], lb[16], ln[24], live[48];
	int x = 0;

	ui_totals(ui, &t);
	if (ui->cum) {
		ui_count(t.allocs, 14, a, sizeof(a));
		ui_count(t.frees, 14, f, sizeof(f));
		at_fmt_bytes((__u64)t.bytes, b, sizeof(b));
	} else {
		ui_rate(t.allocs, a, sizeof(a) - 2);
		ui_rate(t.frees, f, sizeof(f) - 2);
		at_fmt_bytes((__u64)t.bytes, b, sizeof(b) - 2);
		strcat(a, "/s");
		strcat(f, "/s");
		strcat(b, "/s");
	}
	snprintf(live, sizeof(live), "%s in %s blocks", at_fmt_bytes(t.live_b > 0 ? t.live_b : 0, lb, sizeof(lb)),
		 ui_count(t.live_n > 0 ? t.live_n : 0, 14, ln, sizeof(ln)));
	x = kv(ui, y, x, "Allocs: ", a);
	x = kv(ui, y, x, "Frees: ", f);
	x = kv(ui, y, x, "Bytes: ", b);
	x = kv(ui, y, x, "Live: ", live);
	/* exact, or --max-overhead's estimates (a census's default) */
	if (at_model_max_overhead(ui->m) > 0)
		snprintf(live, sizeof(live), "estimates, <=%g%%, on %.1f%%", at_model_max_overhead(ui->m),
			 at_model_duty(ui->m) * 100);
	else
		snprintf(live, sizeof(live), "exact");
	if (!ui->o->growth)
		x = kv(ui, y, x, "Counts: ", live);
	draw_peak(ui, y, x);
}

/* What the probes cost the process they slow most (the PROBE% column, per process). */
static void draw_probe_cost(struct at_ui *ui, int y, int x)
{
	const struct at_proc_view *worst = NULL;
	char v[64];

	for (size_t i = 0; i < at_model_cur(ui->m)->nr_procs; i++) {
		const struct at_proc_view *p = &at_model_cur(ui->m)->procs[i];

		if (p->ov.cpu_known && (!worst || p->ov.cpu_share > worst->ov.cpu_share))
			worst = p;
	}
	if (!worst) {
		kv(ui, y, x, "Probes: ", "-");
		return;
	}
	if (worst->ov.slowdown)
		snprintf(v, sizeof(v), "%.1f%% of CPU, %.2fx slower (%s)", worst->ov.cpu_share * 100,
			 worst->ov.slowdown, worst->target ? worst->target->comm : "?");
	else
		snprintf(v, sizeof(v), "all its CPU (%s)", worst->target ? worst->target->comm : "?");
	x += ui_put(y, x, -1, ui_attr(ui, UA_LABEL), "Probes: ");
	ui_put(y, x, COLS - x, worst->ov.cpu_share >= 1 - 1 / 1.5 ? ui_attr(ui, UA_WARN) : A_BOLD, "%s", v);
}

static void draw_cost(struct at_ui *ui, int y)
{
	const struct at_snapshot *c = at_model_cur(ui->m), *p = at_model_prev(ui->m);
	__u64 drops = at_drops_total(c);
	double dt = ui_dt(ui), bpf = dt > 0 && c->bpf_run_ns > p->bpf_run_ns ? (c->bpf_run_ns - p->bpf_run_ns) / dt : 0;
	char v[32], ns[16];
	int x = ui_put(y, 0, -1, ui_attr(ui, UA_LABEL), "Dropped: ");

	x += ui_put(y, x, -1, drops ? ui_attr(ui, UA_WARN) : A_BOLD, "%llu", (unsigned long long)drops);
	for (int d = 0, first = 1; d < AT_NR_DROPS && x < COLS / 2; d++)
		if (c->drops[d] && at_drop_is_loss(d)) {
			x += ui_put(y, x, COLS / 2 - x, ui_attr(ui, UA_WARN), "%s%s %llu", first ? " (" : ", ",
				    at_drop_name(d), (unsigned long long)c->drops[d]);
			first = 0;
		}
	if (drops)
		x += ui_put(y, x, 1, ui_attr(ui, UA_WARN), ")");
	if (ui->o->bpf_stats)
		snprintf(v, sizeof(v), "bpf %s/s, cpu %.1f%%", at_fmt_ns((__u64)bpf, ns, sizeof(ns)), ui->cpu_pct);
	else	/* timing every probe run costs the target: --bpf-stats asks for it */
		snprintf(v, sizeof(v), "cpu %.1f%%", ui->cpu_pct);
	x = kv(ui, y, x + 3, "alloctop cost: ", v);
	draw_probe_cost(ui, y, x);
}

static void draw_tabs(struct at_ui *ui, int y)
{
	static const char *const names[UV_NR] = { "Hotspots", "Processes", "Histograms", "Stack" };
	const struct at_target *t = ui->scope ? at_model_target(ui->m, ui->scope) : NULL;
	int x = 0;

	for (int v = 0; v < UV_NR; v++) {
		x += ui_put(y, x, -1, v == (int)ui->view ? ui_attr(ui, UA_TAB) : 0, " %d %s ", v + 1, names[v]);
		x++;
	}
	if (ui->scope) {
		x += 1 + ui_put(y, x + 1, -1, A_BOLD, "pid %d %s", ui->scope, t ? t->comm : "");
		if (COLS - x >= 10)
			ui_put(y, x + 1, -1, ui_attr(ui, UA_DIM), "Esc: all");
	}
	else
		ui_put(y, x + 1, -1, ui_attr(ui, UA_DIM), "all processes");
}

/* Key hints, as many as fit before the right-hand status. */
static void draw_hints(struct at_ui *ui, int y, int w)
{
	static const char *const hints[UV_NR][18] = {
		{ "h", "help", "q", "quit", "Enter", "stack", "s r", "sort", "c", "totals", "space", "pause",
		  "z", "reset", "+ -", "interval" },
		{ "h", "help", "q", "quit", "Enter", "narrow", "s r", "sort", "c", "totals", "space", "pause",
		  "z", "reset", "+ -", "interval" },
		{ "h", "help", "q", "quit", "Esc", "back", "j k", "scroll", "c", "totals", "space", "pause",
		  "z", "reset" },
		{ "h", "help", "q", "quit", "Esc", "back", "j k", "scroll", "3", "histogram", "c", "totals",
		  "space", "pause" },
	};
	const char *const *h = hints[ui->view];
	int x = 0;

	for (int i = 0; i + 1 < 18 && h[i]; i += 2) {
		int len = (int)(strlen(h[i]) + strlen(h[i + 1])) + 1;

		if (x + len > w)
			break;
		x += ui_put(y, x, -1, A_BOLD, "%s", h[i]);
		x += ui_put(y, x, -1, ui_attr(ui, UA_DIM), " %s", h[i + 1]) + 2;
	}
}

static void draw_footer(struct at_ui *ui, int y)
{
	enum ui_table_id t = ui->view == UV_PROCS ? UT_PROCS : UT_SITES;
	const struct ui_table *tb = &ui->tab[t];
	const struct ui_buf *b = &ui->buf[t];
	bool desc = !ui_cols[tb->sort].asc ^ tb->rev;
	int total = ui->scroll_max + ui->page, last = ui->scroll + ui->page;
	char right[64] = "";
	int n;

	if (ui->view == UV_HOTSPOTS || ui->view == UV_PROCS)
		snprintf(right, sizeof(right), "%zu/%zu  sort: %s %s", b->n ? tb->sel + 1 : 0, b->n,
			 ui_cols[tb->sort].title[ui->cum], desc ? "desc" : "asc");
	else if (ui->scroll_max)
		snprintf(right, sizeof(right), "lines %d-%d of %d", ui->scroll + 1, last < total ? last : total, total);
	n = (int)strlen(right);
	if (ui->note[0])
		ui_put(y, 0, COLS - n - 2, A_BOLD, "%s", ui->note);
	else
		draw_hints(ui, y, COLS - n - 2);
	if (n)
		ui_put(y, COLS - n - 1, n, A_BOLD, "%s", right);
}

void ui_draw_frame(struct at_ui *ui)
{
	int body = 5, h = LINES - body - 1;

	draw_title(ui, 0);
	draw_targets(ui, 1);
	draw_totals(ui, 2);
	draw_cost(ui, 3);
	switch (ui->view) {
	case UV_HOTSPOTS:
	case UV_PROCS: {
		enum ui_table_id t = ui->view == UV_PROCS ? UT_PROCS : UT_SITES;
		/* the process view gives its lower part to the selected process's time graph */
		int gh = t == UT_PROCS && h >= 14 ? (h / 2 < 14 ? h / 2 : 14) : 0;
		const struct ui_row *sel;

		ui_rows_build(ui, t);
		ui_draw_table(ui, t, body, h - gh);
		if (gh && (sel = ui_selected(ui, UT_PROCS)))
			ui_draw_graph(ui, sel->pid, body + h - gh, gh);
		break;
	}
	case UV_HIST:
		ui_draw_hist(ui, body, h);
		break;
	default:
		ui_draw_stack(ui, body, h);
		break;
	}
	draw_tabs(ui, 4);
	draw_footer(ui, LINES - 1);
}

/* ---- tables ---- */

struct layout {
	enum ui_key k[MAX_COLS];
	int w[MAX_COLS], x[MAX_COLS], n;
};

static int live_targets(const struct at_model *m)
{
	int n = 0;

	for (int i = 0; i < at_model_nr_targets(m); i++)
		n += !at_model_target_at(m, i)->gone;
	return n;
}

/* Fixed columns at their widths, the flexible one (site or command) takes the rest;
 * MODULE only when the site column keeps room for a typical symbol. */
static void layout(struct at_ui *ui, enum ui_table_id t, struct layout *L)
{
	struct ui_table *tb = &ui->tab[t];
	bool pid = t == UT_PROCS || (!ui->scope && (at_model_cur(ui->m)->nr_procs > 1 || live_targets(ui->m) > 1));
	int used = 1, flex = -1, mod = -1, rest, x = 1;

	L->n = 0;
	for (int i = 0; i < tb->nr_keys && L->n < MAX_COLS; i++) {
		enum ui_key k = tb->keys[i];

		if (k == UK_PID && !pid)
			continue;
		if (k == UK_MODULE)
			mod = L->n;
		else if (!ui_cols[k].width)
			flex = L->n;
		else
			used += ui_cols[k].width + 1;
		L->k[L->n] = k;
		L->w[L->n++] = ui_cols[k].width;
	}
	rest = COLS - used - 1;
	if (mod >= 0) {
		L->w[mod] = rest >= 40 ? (rest / 3 < 10 ? 10 : rest / 3 > 24 ? 24 : rest / 3) : 0;
		rest -= L->w[mod] ? L->w[mod] + 1 : 0;
	}
	if (flex >= 0)
		L->w[flex] = rest;
	memset(tb->shown, 0, sizeof(tb->shown));
	for (int i = 0; i < L->n; i++) {
		L->x[i] = x;
		x += L->w[i] ? L->w[i] + 1 : 0;
		tb->shown[L->k[i]] = L->w[i] > 0;
	}
}

static void draw_head(struct at_ui *ui, const struct ui_table *tb, const struct layout *L, int y)
{
	unsigned int head = ui_attr(ui, UA_HEAD);
	bool desc = !ui_cols[tb->sort].asc ^ tb->rev;
	const char *mark = ui->utf8 ? (desc ? "\u25bc" : "\u25b2") : (desc ? "v" : "^");

	ui_fill(y, head);
	for (int i = 0; i < L->n; i++) {
		const struct ui_col *c = &ui_cols[L->k[i]];
		const char *title = L->k[i] == UK_SITE && !tb->shown[UK_MODULE] ? "SITE [MODULE]" : c->title[ui->cum];
		int len = (int)strlen(title), x = c->text ? L->x[i] : L->x[i] + L->w[i] - len;
		bool sorted = L->k[i] == tb->sort;

		if (!L->w[i])
			continue;
		ui_put(y, x, L->w[i], head | (sorted ? A_UNDERLINE : 0), "%s", title);
		if (sorted) {
			attrset((int)head);
			mvaddstr(y, x + len, mark);	/* numbers: in the gap on the right */
			attrset(A_NORMAL);
		}
	}
}

static const char *cell(struct at_ui *ui, struct ui_row *r, enum ui_key k, int w, char *buf, size_t sz)
{
	double v = r->v[k];

	switch (k) {
	case UK_PID: snprintf(buf, sz, "%d", r->pid); break;
	case UK_COMM: snprintf(buf, sz, "%s%s", r->known ? r->comm : "-", r->exited ? " (exited)" : ""); break;
	case UK_SITE:
		ui_row_resolve(ui, r);
		if (r->sym)
			snprintf(buf, sz, "%s", r->sym);
		else if (r->module)
			snprintf(buf, sz, "%s+0x%llx", ui_basename(r->module), (unsigned long long)r->off);
		else
			snprintf(buf, sz, "[unknown stack]");
		/* no MODULE column: "symbol [module]" when that fits */
		if (!ui->tab[UT_SITES].shown[UK_MODULE] && r->sym && r->module &&
		    strlen(buf) + strlen(ui_basename(r->module)) + 3 <= (size_t)w)
			snprintf(buf + strlen(buf), sz - strlen(buf), " [%s]", ui_basename(r->module));
		break;
	case UK_MODULE: ui_row_resolve(ui, r); snprintf(buf, sz, "%s", ui_basename(r->module)); break;
	case UK_ALLOCS: case UK_FREES: return ui->cum ? ui_count(v, w, buf, sz) : ui_rate(v, buf, sz);
	case UK_BYTES: case UK_LIVE_B: return at_fmt_bytes((__u64)(v + 0.5), buf, sz);
	case UK_AVG: return v > 0 ? at_fmt_bytes((__u64)(v + 0.5), buf, sz) : strcpy(buf, "-");
	case UK_LIFE: return v < 0 ? strcpy(buf, "-") : at_fmt_ns((__u64)v, buf, sz);
	case UK_FRAG:
	case UK_PROBE:
		if (v < 0)
			return strcpy(buf, "-");
		snprintf(buf, sz, k == UK_FRAG ? "%.0f%%" : "%.1f%%", v);
		return buf;
	default: return ui_count(v, w, buf, sz);
	}
	if ((int)strlen(buf) > w && w > 1) {
		buf[w - 1] = '~';	/* cut: the name goes on */
		buf[w] = 0;
	}
	return buf;
}

static void draw_row(struct at_ui *ui, struct ui_row *r, const struct layout *L, int y, bool sel, bool mark)
{
	unsigned int attr = sel ? ui_attr(ui, UA_SEL) : mark ? A_BOLD : 0;
	char buf[256];

	if (sel)
		ui_fill(y, attr);
	if (r->exited && !sel)
		attr |= ui_attr(ui, UA_DIM);
	for (int i = 0; i < L->n; i++) {
		const char *s;
		int len;

		if (!L->w[i])
			continue;
		s = cell(ui, r, L->k[i], L->w[i], buf, sizeof(buf));
		len = (int)strlen(s);
		ui_put(y, ui_cols[L->k[i]].text || len > L->w[i] ? L->x[i] : L->x[i] + L->w[i] - len, L->w[i], attr,
		       "%s", s);
	}
}

void ui_draw_table(struct at_ui *ui, enum ui_table_id t, int y0, int h)
{
	struct ui_table *tb = &ui->tab[t];
	struct ui_buf *b = &ui->buf[t];
	int page = h - 1;
	struct layout L;

	layout(ui, t, &L);
	ui->page = page;
	if (tb->sel < tb->top)
		tb->top = tb->sel;
	if (tb->sel >= tb->top + page)
		tb->top = tb->sel - page + 1;
	if (tb->top + page > b->n)
		tb->top = b->n > (size_t)page ? b->n - page : 0;
	draw_head(ui, tb, &L, y0);
	for (int i = 0; i < page && tb->top + i < b->built; i++)
		draw_row(ui, &b->rows[tb->top + i], &L, y0 + 1 + i, tb->top + i == tb->sel,
			 t == UT_PROCS && b->rows[tb->top + i].pid == ui->scope);
	if (!b->n)
		ui_put(y0 + 2, 2, -1, ui_attr(ui, UA_DIM), "%s", t == UT_PROCS ? "no process has allocated yet"
			: ui->scope ? "no allocations in this process yet (Esc: all processes)" : "no allocations seen yet");
}

/* ---- help ---- */

static const char *const help[] = {
	"alloctop keys",
	"",
	"q            quit (Esc: backs out of a drill-down first)",
	"space        pause the display (counting goes on in the kernel)",
	"j k Up Down  move;  PgUp PgDn  Home End  page, first, last",
	"Enter        on a hotspot: its full stack; on a process: narrow to it",
	"Esc          back out of the stack, then out of the process",
	"Tab 1..4     views: 1 hotspots  2 processes  3 histograms  4 stack",
	"s > <        next / previous sort column;  r  reverse the order",
	"c            per-second rates <-> totals since attach (or since z)",
	"z            reset the totals to zero (live counts are current)",
	"+ -          refresh interval",
	"",
	"ALLOC/s BYTES/s  this interval  ALLOCS  total  LIVE# LIVE  not yet freed",
	"AVG  mean request size          MEDLIFE  median lifetime of freed blocks",
	"",
	"any key closes this help",
};

void ui_draw_help(struct at_ui *ui)
{
	int n = AT_ARRAY_SIZE(help), w = 0, y0, x0;

	for (int i = 0; i < n; i++)
		w = (int)strlen(help[i]) > w ? (int)strlen(help[i]) : w;
	w += 4;
	y0 = (LINES - n - 2) / 2;
	x0 = (COLS - w) / 2;
	for (int i = 0; i < n + 2; i++)
		mvhline(y0 + i, x0, ' ', w);
	attrset((int)ui_attr(ui, UA_TITLE));
	mvhline(y0, x0, ACS_HLINE, w);
	mvhline(y0 + n + 1, x0, ACS_HLINE, w);
	mvvline(y0, x0, ACS_VLINE, n + 2);
	mvvline(y0, x0 + w - 1, ACS_VLINE, n + 2);
	mvaddch(y0, x0, ACS_ULCORNER);
	mvaddch(y0, x0 + w - 1, ACS_URCORNER);
	mvaddch(y0 + n + 1, x0, ACS_LLCORNER);
	mvaddch(y0 + n + 1, x0 + w - 1, ACS_LRCORNER);
	attrset(A_NORMAL);
	for (int i = 0; i < n; i++)
		ui_put(y0 + 1 + i, x0 + 2, w - 4, i ? 0 : ui_attr(ui, UA_TITLE), "%s", help[i]);
}
