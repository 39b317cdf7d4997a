/* The dashboard's insides, shared by ui*.c: state, the column/sort key table and
 * the rows computed from the model. No curses here (ui_rows.c does not need it). */
#ifndef AT_UI_INT_H
#define AT_UI_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/time.h>
#include "model/model.h"
#include "ui/ui.h"

enum ui_view { UV_HOTSPOTS, UV_PROCS, UV_HIST, UV_STACK, UV_NR };

/* Every column of every table; a table's sort is one of these. */
enum ui_key {
	UK_PID,
	UK_COMM,
	UK_SITE,
	UK_MODULE,
	UK_ALLOCS,	/* per second, or since the baseline (c) */
	UK_FREES,
	UK_BYTES,
	UK_COUNT,	/* since the baseline: allocations (rates) or frees (cumulative) */
	UK_LIVE_N,
	UK_LIVE_B,
	UK_AVG,
	UK_LIFE,
	UK_FRAG,	/* free share of the heap (fragmentation), processes only */
	UK_PROBE,	/* share of its CPU time in probe hits, processes only */
	UK_NR,
};

struct ui_col {
	const char *title[2];	/* [0] rates, [1] cumulative */
	int width;		/* 0: the flexible column */
	bool text;		/* left-aligned, compared as text */
	bool asc;		/* sorted ascending first (names, PIDs); numbers descend */
	const char *what;	/* for the help and the footer */
};
extern const struct ui_col ui_cols[UK_NR];

enum ui_table_id { UT_SITES, UT_PROCS, UT_NR };

struct ui_table {
	const enum ui_key *keys;	/* the columns, in order */
	int nr_keys;
	enum ui_key sort;
	bool rev;			/* r: the other direction */
	bool shown[UK_NR];		/* columns the last draw had room for */
	size_t sel, top;		/* selected row, first visible row */
	bool have_sel;			/* sel_pid/sel_stack name the selected row */
	int sel_pid;
	__u64 sel_stack;
};

struct ui_row {
	int pid;
	__u64 stack_id;
	char comm[16];			/* copied: a row outlives nothing in the model */
	bool known, exited;		/* a process in the target list; exited since */
	double v[UK_NR];		/* numeric value of each column; UK_LIFE < 0: none */
	double tie;			/* bytes since the baseline: orders equal rows */
	bool resolved;
	const char *sym;		/* direct caller's symbol, NULL if none */
	const char *module;		/* its module path, NULL for the unknown stack */
	__u64 off;			/* offset shown when there is no symbol */
};

struct ui_buf {
	struct ui_row *rows;	/* the first `built` rows in order */
	size_t n, built, cap;	/* n: rows in the table */
};

/* A site ranked without building its row: its sort value, signed so that smaller
 * ranks first, and the tie-breaks. */
struct ui_cand {
	double v, tie;
	int pid;
	__u64 stack_id;
	const struct at_site_view *site;
};

struct at_ui {
	const struct at_opts *o;
	struct at_model *m;		/* from the last at_ui_draw, for key-driven redraws */
	bool color, utf8, paused, cum, help;
	enum ui_view view;
	int scope;			/* pid everything is narrowed to, 0 = all */
	bool focus;			/* a site was drilled into */
	int focus_pid;
	__u64 focus_stack;
	struct ui_table tab[UT_NR];
	struct ui_buf buf[UT_NR];
	int scroll;			/* first line of the stack and histogram views */
	int scroll_max;
	int page;			/* lines the current view shows, for PgUp/PgDn */
	struct at_snapshot base;	/* z: counters are shown relative to it */
	struct at_site_view *base_sites;	/* base's sites (owned) */
	struct at_hash base_life;	/* (pid, stack_id) -> __u32[AT_LT_BUCKETS] at z */
	double base_mono;
	struct ui_cand *cand;		/* sites being ranked (reused) */
	size_t cap_cand;
	double interval;
	double cpu_pct;
	double ru_mono;
	struct timeval ru_cpu;
	char note[80];			/* one-shot message for the footer */
};

/* Totals of the scope over the current window. */
struct ui_totals {
	double allocs, frees, bytes;	/* per second, or since the baseline */
	__s64 live_n, live_b;
	int nr_procs;
};

/* ui_rows.c: the model seen through the UI's window (rates or cumulative), scope and baseline */
double ui_dt(const struct at_ui *ui);
double ui_sub(__u64 a, __u64 b);	/* a - b, or 0 */
/* A counter over the window: per second since prev, or since the baseline. */
double ui_window_value(const struct at_ui *ui, __u64 cur, __u64 prev, __u64 base);
void ui_rows_build(struct at_ui *ui, enum ui_table_id t);
void ui_row_resolve(struct at_ui *ui, struct ui_row *r);
const struct ui_row *ui_selected(const struct at_ui *ui, enum ui_table_id t);
void ui_move(struct at_ui *ui, enum ui_table_id t, long delta);
void ui_totals(const struct at_ui *ui, struct ui_totals *out);
/* The process whose peak is shown: the scope's, else the one with the highest; 0 if none. */
int ui_peak_pid(const struct at_ui *ui);
/* Histograms of the scope over the window (sizes and lifetimes in *out). */
void ui_scope_hist(const struct at_ui *ui, struct at_proc_stats *out);
/* Lifetimes of one site over the window; false if the site is unknown. */
bool ui_site_hist(struct at_ui *ui, int pid, __u64 stack_id, __u64 *lt);
/* The lifetimes of a site's blocks freed over the window (since_base: since the
 * baseline whatever the mode); false when not known (see at_model_site_life_prev). */
bool ui_site_life(struct at_ui *ui, int pid, __u64 stack_id, bool since_base, __u32 lt[AT_LT_BUCKETS]);
bool ui_site_totals(const struct at_ui *ui, int pid, __u64 stack_id, struct at_site_counts *out);
/* A site's counters in the previous snapshot and in the baseline (NULL if none); i is
 * its index in cur, where prev usually holds it too. */
const struct at_site_view *ui_prev_site(const struct at_ui *ui, size_t i, const struct at_site_view *cv);
const struct at_site_view *ui_base_site(const struct at_ui *ui, size_t i, const struct at_site_view *cv);

void ui_base_set(struct at_ui *ui);
void ui_base_free(struct at_ui *ui);
const char *ui_basename(const char *path);
const char *ui_count(double v, int width, char *buf, size_t sz);
const char *ui_rate(double v, char *buf, size_t sz);

/* ui_draw.c: small drawing helpers */
enum ui_role { UA_NORMAL, UA_TITLE, UA_LABEL, UA_WARN, UA_BAR, UA_BAR2, UA_HEAD, UA_SEL, UA_DIM, UA_TAB };
unsigned int ui_attr(const struct at_ui *ui, enum ui_role r);	/* curses attributes */
/* Text at (y, x) cut to w columns (w < 0: to the right edge); returns the columns used. */
int ui_put(int y, int x, int w, unsigned int attr, const char *fmt, ...) __attribute__((format(printf, 5, 6)));
void ui_fill(int y, unsigned int attr);		/* the whole line in attr */
/* ui_graph.c: pid's memory over time in h lines from y0 (nothing without history). */
void ui_draw_graph(struct at_ui *ui, int pid, int y0, int h);
const char *ui_window(const struct at_ui *ui, char *buf, size_t sz);	/* "last 1.0s", "since attach" */

/* ui_views.c: the frame, the tables, the help */
void ui_draw_frame(struct at_ui *ui);
void ui_draw_table(struct at_ui *ui, enum ui_table_id t, int y0, int h);
void ui_draw_help(struct at_ui *ui);

/* ui_detail.c: the stack of a site and the histograms */
void ui_draw_stack(struct at_ui *ui, int y0, int h);
void ui_draw_hist(struct at_ui *ui, int y0, int h);

#endif
