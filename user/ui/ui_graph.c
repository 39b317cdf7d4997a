/* The process view's time graph: a process's live bytes at each refresh (the last
 * ones that fit, newest on the right), its allocation rate under it, and its heap
 * footprint once the heap pass has run. */
#include "ui/ui_int.h"
#include "lib/hist.h"
#include "lib/util.h"

#include <curses.h>
#include <stdio.h>
#include <string.h>

#define GRAPH_X 9		/* the scale's column */

static const char *const blocks[9] = { " ", "\u2581", "\u2582", "\u2583", "\u2584", "\u2585", "\u2586", "\u2587",
				       "\u2588" };

/* One cell of a bar filled eighths/8 from the bottom. */
static void cell(const struct at_ui *ui, int y, int x, int eighths, unsigned int attr)
{
	attrset((int)attr);
	if (ui->utf8)
		mvaddstr(y, x, blocks[eighths < 0 ? 0 : eighths > 8 ? 8 : eighths]);
	else
		mvaddch(y, x, eighths >= 4 ? '#' : eighths > 0 ? '.' : ' ');
	attrset(A_NORMAL);
}

static double rate(const struct at_hist_point *p, size_t i)
{
	double dt = i ? p[i].t - p[i - 1].t : 0;

	return dt > 0 ? (double)(p[i].alloc_bytes - p[i - 1].alloc_bytes) / dt : 0;
}

static void title(const struct at_ui *ui, int pid, const struct at_hist_point *p, size_t n, int y)
{
	const struct at_target *t = NULL;
	char live[16], r[16], heap[16], res[16], line[256];
	int len;

	for (int i = 0; i < at_model_nr_targets(ui->m); i++)
		if (at_model_target_at(ui->m, i)->pid == pid)
			t = at_model_target_at(ui->m, i);
	len = snprintf(line, sizeof(line), "Memory over time: %d %s  live %s  alloc %s/s", pid, t ? t->comm : "?",
		       at_fmt_bytes(p[n - 1].live_bytes > 0 ? (__u64)p[n - 1].live_bytes : 0, live, sizeof(live)),
		       at_fmt_bytes((__u64)rate(p, n - 1), r, sizeof(r)));
	{
		const struct at_peak_info *pk = at_model_peak(ui->m, pid);
		char pb[16];

		if (pk && len > 0 && (size_t)len < sizeof(line))
			len += snprintf(line + len, sizeof(line) - len, "  peak %s @%.1fs",
					at_fmt_bytes(pk->live_bytes, pb, sizeof(pb)), pk->t);
	}
	if (p[n - 1].heap_bytes && len > 0 && (size_t)len < sizeof(line))
		snprintf(line + len, sizeof(line) - len, "  heap %s resident %s",
			 at_fmt_bytes(p[n - 1].heap_bytes, heap, sizeof(heap)),
			 at_fmt_bytes(p[n - 1].resident_bytes, res, sizeof(res)));
	ui_fill(y, ui_attr(ui, UA_HEAD));
	ui_put(y, 0, -1, ui_attr(ui, UA_HEAD), "%s", line);
}

/* Bars of v[0..n) over rows lines from y (bottom at y + rows - 1), x from x0. */
static void bars(const struct at_ui *ui, const double *v, size_t n, int y, int rows, int x0, double max,
		 unsigned int attr)
{
	for (size_t i = 0; i < n; i++) {
		int h = max > 0 ? (int)(v[i] / max * rows * 8 + 0.5) : 0;

		if (v[i] > 0 && !h)
			h = 1;
		for (int r = 0; r < rows; r++)
			cell(ui, y + rows - 1 - r, x0 + (int)i, h - r * 8, attr);
	}
}

void ui_draw_graph(struct at_ui *ui, int pid, int y0, int h)
{
	const struct at_hist_point *p;
	size_t n = at_model_history(ui->m, pid, &p), w, first;
	int rows = h - 3;	/* title, rate line, time axis */
	double live[1024], rt[1024], max = 0, rmax = 0;
	char b[16];

	if (!n || rows < 1 || COLS <= GRAPH_X + 2)
		return;
	w = (size_t)(COLS - GRAPH_X - 1);
	if (w > AT_ARRAY_SIZE(live))
		w = AT_ARRAY_SIZE(live);
	first = n > w ? n - w : 0;
	for (size_t i = first; i < n; i++) {
		live[i - first] = p[i].live_bytes > 0 ? (double)p[i].live_bytes : 0;
		rt[i - first] = rate(p, i);
		max = live[i - first] > max ? live[i - first] : max;
		rmax = rt[i - first] > rmax ? rt[i - first] : rmax;
	}
	title(ui, pid, p, n, y0);
	ui_put(y0 + 1, 0, GRAPH_X, ui_attr(ui, UA_LABEL), "%s", at_fmt_bytes((__u64)max, b, sizeof(b)));
	ui_put(y0 + rows, 0, GRAPH_X, ui_attr(ui, UA_LABEL), "live");
	bars(ui, live, n - first, y0 + 1, rows, GRAPH_X, max, ui_attr(ui, UA_BAR));
	ui_put(y0 + rows + 1, 0, GRAPH_X, ui_attr(ui, UA_LABEL), "alloc/s");
	bars(ui, rt, n - first, y0 + rows + 1, 1, GRAPH_X, rmax, ui_attr(ui, UA_BAR2));
	ui_put(y0 + rows + 2, GRAPH_X, -1, ui_attr(ui, UA_DIM), "%.0fs ago", p[n - 1].t - p[first].t);
	ui_put(y0 + rows + 2, COLS - 4, 3, ui_attr(ui, UA_DIM), "now");
}
