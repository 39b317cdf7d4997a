/* The scrolling views: the full stack of one site, and the histograms of the scope
 * (or of one site: only lifetimes are counted per site, sizes per process). */
#include "ui/ui_int.h"
#include "lib/hist.h"
#include "lib/util.h"

#include <curses.h>
#include <stdio.h>
#include <string.h>

/* Lines of a view taller than the screen: line i lands on y0 + i - skip if visible. */
struct vlines {
	int y0, h, i, skip;
};

static int next_y(struct vlines *v)
{
	int r = v->i++ - v->skip;

	return r >= 0 && r < v->h ? v->y0 + r : -1;
}

static void finish(struct at_ui *ui, const struct vlines *v)
{
	ui->page = v->h;
	ui->scroll_max = v->i > v->h ? v->i - v->h : 0;
	if (ui->scroll > ui->scroll_max)
		ui->scroll = ui->scroll_max;
}

/* A column header line; returns its row (-1 when scrolled off). */
static int head(struct at_ui *ui, struct vlines *v, const char *text)
{
	int y = next_y(v);

	if (y >= 0) {
		ui_fill(y, ui_attr(ui, UA_HEAD));
		ui_put(y, 0, -1, ui_attr(ui, UA_HEAD), "%s", text);
	}
	return y;
}

static void bar(struct at_ui *ui, int y, int x, int w, __u64 val, __u64 max, enum ui_role role)
{
	int n = max ? (int)((double)val * w / (double)max + 0.5) : 0;

	if (val && !n)
		n = 1;
	if (y < 0 || n <= 0)
		return;
	mvhline(y, x, '#' | ui_attr(ui, role), n);
}

static void bucket_label(unsigned int b, unsigned int nr, bool ns, char *buf, size_t sz)
{
	char lo[16], hi[16];
	const char *(*fmt)(__u64, char *, unsigned int) = ns ? at_fmt_ns : at_fmt_bytes;

	fmt(at_hist_lo(b), lo, sizeof(lo));
	if (b + 1 == nr)
		snprintf(buf, sz, "%7s and up", lo);
	else
		snprintf(buf, sz, "%7s - %-7s", lo, fmt(at_hist_hi(b, nr) + 1, hi, sizeof(hi)));
}

#define LT_HEAD " LIFETIME                COUNT"

/* One histogram: a row per bucket from the first to the last non-empty one, the count
 * (and bytes) and bars scaled to the largest bucket. */
static void histogram(struct at_ui *ui, struct vlines *v, const __u64 *cnt, const __u64 *bytes, unsigned int nr,
		      bool ns, const char *what)
{
	const int lw = 18, cw = 11, bw = bytes ? 9 : 0;
	int barw = bytes ? (COLS - lw - cw - bw - 4) / 2 : COLS - lw - cw - 3;
	__u64 maxc = 0, maxb = 0;
	int lo = -1, hi = -1, y;
	char label[40], n[24], by[16];

	for (unsigned int b = 0; b < nr; b++) {
		if (cnt[b] && lo < 0)
			lo = (int)b;
		if (cnt[b])
			hi = (int)b;
		maxc = cnt[b] > maxc ? cnt[b] : maxc;
		maxb = bytes && bytes[b] > maxb ? bytes[b] : maxb;
	}
	if (lo < 0) {
		ui_put(next_y(v), 2, -1, ui_attr(ui, UA_DIM), "%s", ns ? "no block was freed in this window"
									 : "no allocation in this window");
		return;
	}
	y = head(ui, v, what);
	if (bytes)
		ui_put(y, lw + cw + bw + 3 + barw, 8, ui_attr(ui, UA_HEAD), "by bytes");
	for (int b = lo; b <= hi; b++) {
		y = next_y(v);
		bucket_label(b, nr, ns, label, sizeof(label));
		ui_put(y, 0, lw, 0, "%s", label);
		ui_put(y, lw, cw, cnt[b] ? A_BOLD : ui_attr(ui, UA_DIM), "%*s", cw, ui_count(cnt[b], cw - 1, n, sizeof(n)));
		if (bytes)
			ui_put(y, lw + cw, bw, 0, "%*s", bw, at_fmt_bytes(bytes[b], by, sizeof(by)));
		bar(ui, y, lw + cw + bw + 2, barw, cnt[b], maxc, UA_BAR);
		if (bytes)
			bar(ui, y, lw + cw + bw + 3 + barw, barw, bytes[b], maxb, UA_BAR2);
	}
}

/* Heap regions against live blocks (see heap.h), summed over the scope. */
static void fragmentation(struct at_ui *ui, struct vlines *v, const char *who)
{
	struct at_frag sum = { 0 };
	char hb[16], ub[16], fb[16], rb[16], sb[16];
	const struct at_heap_proc *unknown = NULL;
	__u64 pre = 0, pre_bytes = 0;
	bool any = false;

	for (size_t i = 0; i < at_model_cur(ui->m)->nr_procs; i++) {
		const struct at_heap_proc *hp = at_model_heap_proc(ui->m, at_model_cur(ui->m)->procs[i].pid);

		if (!hp || (ui->scope && at_model_cur(ui->m)->procs[i].pid != ui->scope))
			continue;
		if (hp->partial) {	/* a wrong percentage is worse than none */
			unknown = hp;
			continue;
		}
		any = true;
		pre += hp->preattach_allocs;
		pre_bytes += hp->preattach_bytes;
		sum.heap_bytes += hp->frag.heap_bytes;
		sum.used_bytes += hp->frag.used_bytes;
		sum.free_bytes += hp->frag.free_bytes;
		sum.resident_bytes += hp->frag.resident_bytes;
		sum.sparse_pages += hp->frag.sparse_pages;
		sum.sparse_bytes += hp->frag.sparse_bytes;
		for (int b = 0; b < AT_HOLE_BUCKETS; b++) {
			sum.hole_count[b] += hp->frag.hole_count[b];
			sum.hole_bytes[b] += hp->frag.hole_bytes[b];
		}
	}
	ui_put(next_y(v), 0, -1, ui_attr(ui, UA_TITLE), "Fragmentation, %s", who);
	if (unknown)
		ui_put(next_y(v), 2, -1, ui_attr(ui, UA_DIM), "unknown for %s: attached after the heap was built (%s)",
		       any ? "some processes" : "this scope", unknown->why);
	if (pre)
		ui_put(next_y(v), 2, -1, 0, "from glibc's own heap state: %llu live blocks from before attach (%s)",
		       (unsigned long long)pre, at_fmt_bytes(pre_bytes, hb, sizeof(hb)));
	if (!any || !sum.heap_bytes) {
		ui_put(next_y(v), 2, -1, ui_attr(ui, UA_DIM), "no heap region holds a block allocated since attach");
		return;
	}
	ui_put(next_y(v), 2, -1, 0, "heap %s  live footprint %s  free %s (%.1f%%)  resident %s  sparse pages %llu (%s)",
	       at_fmt_bytes(sum.heap_bytes, hb, sizeof(hb)), at_fmt_bytes(sum.used_bytes, ub, sizeof(ub)),
	       at_fmt_bytes(sum.free_bytes, fb, sizeof(fb)), 100.0 * sum.free_bytes / sum.heap_bytes,
	       at_fmt_bytes(sum.resident_bytes, rb, sizeof(rb)), (unsigned long long)sum.sparse_pages,
	       at_fmt_bytes(sum.sparse_bytes, sb, sizeof(sb)));
	histogram(ui, v, sum.hole_count, sum.hole_bytes, AT_HOLE_BUCKETS, false,
		  " HOLE SIZE               COUNT    BYTES  by count");
}

static const char *site_name(struct at_ui *ui, int pid, __u64 stack_id, char *buf, size_t sz)
{
	const struct at_site_frames *sf = at_model_frames(ui->m, pid, stack_id);
	const struct at_frame *f = sf ? at_site_frame_at(sf, 0) : NULL;

	if (!f)
		return snprintf(buf, sz, "[unknown stack]"), buf;
	return at_frame_str(f, buf, sz);
}

static void site_lifetimes(struct at_ui *ui, struct vlines *v)
{
	__u64 lt[AT_LT_BUCKETS];
	char win[32];

	ui_put(next_y(v), 0, -1, ui_attr(ui, UA_TITLE), "Lifetimes of the blocks this site allocated (%s)",
	       ui_window(ui, win, sizeof(win)));
	if (ui_site_hist(ui, ui->focus_pid, ui->focus_stack, lt))
		histogram(ui, v, lt, NULL, AT_LT_BUCKETS, true, LT_HEAD);
}

static void site_summary(struct at_ui *ui, struct vlines *v, const struct at_site_counts *s)
{
	const struct at_site_view *c = at_snapshot_site(at_model_cur(ui->m), ui->focus_pid, ui->focus_stack);
	const struct at_site_view *p = at_snapshot_site(at_model_prev(ui->m), ui->focus_pid, ui->focus_stack);
	const struct at_target *t = at_model_target(ui->m, ui->focus_pid);
	char name[256], ab[16], fb[16], lb[16], avg[16], med[16], rb[16], rate[16];
	double dt = ui_dt(ui), ra = 0, rb_ = 0;
	__u32 lt[AT_LT_BUCKETS];
	bool life = s->frees && ui_site_life(ui, ui->focus_pid, ui->focus_stack, true, lt);

	if (c && dt > 0 && (!p || (c->s.allocs >= p->s.allocs && c->s.alloc_bytes >= p->s.alloc_bytes))) {
		ra = (double)(c->s.allocs - (p ? p->s.allocs : 0)) / dt;
		rb_ = (double)(c->s.alloc_bytes - (p ? p->s.alloc_bytes : 0)) / dt;
	}
	ui_put(next_y(v), 0, -1, A_BOLD, "Site %s   process %d %s", site_name(ui, ui->focus_pid, ui->focus_stack, name,
	       sizeof(name)), ui->focus_pid, t ? t->comm : "");
	ui_put(next_y(v), 0, -1, 0, "%s: allocs %llu (%s)  frees %llu (%s)  avg %s  median lifetime %s",
	       ui->base_mono ? "Since reset" : "Since attach", (unsigned long long)s->allocs,
	       at_fmt_bytes(s->alloc_bytes, ab, sizeof(ab)), (unsigned long long)s->frees,
	       at_fmt_bytes(s->free_bytes, fb, sizeof(fb)),
	       s->allocs ? at_fmt_bytes(s->alloc_bytes / s->allocs, avg, sizeof(avg)) : "-",
	       life ? at_fmt_ns(at_hist_median_u32(lt, AT_LT_BUCKETS), med, sizeof(med)) : "-");
	ui_put(next_y(v), 0, -1, 0, "Now: live %lld blocks (%s), %s allocs/s, %s/s", (long long)(s->live_allocs > 0 ?
	       s->live_allocs : 0), at_fmt_bytes(s->live_bytes > 0 ? s->live_bytes : 0, lb, sizeof(lb)),
	       ui_rate(ra, rate, sizeof(rate)), at_fmt_bytes((__u64)rb_, rb, sizeof(rb)));
}

static void frames(struct at_ui *ui, struct vlines *v)
{
	const struct at_site_frames *sf = at_model_frames(ui->m, ui->focus_pid, ui->focus_stack);
	int mw = COLS / 3 > 40 ? 40 : COLS / 3, fw = COLS - mw - 7;
	char fs[512];
	int y = head(ui, v, "   #  FRAME (direct caller first)");

	ui_put(y, 6 + fw + 1, mw, ui_attr(ui, UA_HEAD), "MODULE");
	if (!sf) {
		ui_put(next_y(v), 2, -1, ui_attr(ui, UA_DIM), "stack not available (unknown, or no longer in the map)");
		return;
	}
	for (__u32 i = 0; i < sf->nr_ips; i++) {
		const struct at_frame *f = at_site_frame_at(sf, i);
		const char *mod;

		if ((y = next_y(v)) < 0)
			continue;
		mod = (int)strlen(f->module) <= mw ? f->module : ui_basename(f->module);
		ui_put(y, 0, 6, ui_attr(ui, UA_DIM), "%4u  ", i);
		ui_put(y, 6, fw, i ? 0 : A_BOLD, "%s", at_frame_str(f, fs, sizeof(fs)));
		ui_put(y, 6 + fw + 1, mw, ui_attr(ui, UA_LABEL), "%s", mod);
	}
	if (sf->truncated && (y = next_y(v)) >= 0)
		ui_put(y, 6, -1, ui_attr(ui, UA_WARN), "... more frames: cut at --stack-depth %u", sf->nr_ips);
}

void ui_draw_stack(struct at_ui *ui, int y0, int h)
{
	struct vlines v = { y0, h, 0, ui->scroll };
	struct at_site_counts s;

	if (!ui->focus || !ui_site_totals(ui, ui->focus_pid, ui->focus_stack, &s)) {
		ui_put(y0 + 1, 2, -1, ui_attr(ui, UA_DIM), "no site selected: pick one in the hotspots (1) and press Enter");
		finish(ui, &v);
		return;
	}
	site_summary(ui, &v, &s);
	next_y(&v);
	frames(ui, &v);
	next_y(&v);
	site_lifetimes(ui, &v);
	finish(ui, &v);
}

#define PEAK_SITES 10	/* sites listed under the peak */

/* The sites live at the peak of the process ui_peak_pid names. */
static void peak_sites(struct at_ui *ui, struct vlines *v)
{
	int pid = ui_peak_pid(ui), y;
	const struct at_peak_info *pk = pid ? at_model_peak(ui->m, pid) : NULL;
	char b[16], name[256];

	if (!pk)
		return;
	ui_put(next_y(v), 0, -1, ui_attr(ui, UA_TITLE), "Live at the peak, process %d: %s in %llu blocks, %.1fs after attach%s",
	       pid, at_fmt_bytes(pk->live_bytes, b, sizeof(b)), (unsigned long long)pk->live_allocs, pk->t,
	       pk->exact ? "" : " (sites read as it moved)");
	head(ui, v, "   LIVE BYTES     BLOCKS  SITE");
	for (size_t i = 0; i < pk->nr_sites && i < PEAK_SITES; i++)
		if ((y = next_y(v)) >= 0)
			ui_put(y, 0, -1, 0, " %12s %10lld  %s", at_fmt_bytes((__u64)pk->sites[i].live_bytes, b, sizeof(b)),
			       (long long)pk->sites[i].live_allocs,
			       site_name(ui, pid, pk->sites[i].stack_id, name, sizeof(name)));
}

void ui_draw_hist(struct at_ui *ui, int y0, int h)
{
	struct vlines v = { y0, h, 0, ui->scroll };
	const struct at_target *t = ui->scope ? at_model_target(ui->m, ui->scope) : NULL;
	struct at_proc_stats s;
	char who[64], win[32], name[256];

	if (ui->focus) {
		ui_put(next_y(&v), 0, -1, A_BOLD, "Site %s (process %d)",
		       site_name(ui, ui->focus_pid, ui->focus_stack, name, sizeof(name)), ui->focus_pid);
		ui_put(next_y(&v), 0, -1, ui_attr(ui, UA_DIM), "Request sizes are counted per process, not per site: "
		       "only lifetimes are shown. Esc: the whole scope.");
		next_y(&v);
		site_lifetimes(ui, &v);
		finish(ui, &v);
		return;
	}
	if (ui->scope)
		snprintf(who, sizeof(who), "process %d %s", ui->scope, t ? t->comm : "");
	else
		snprintf(who, sizeof(who), "all processes");
	ui_window(ui, win, sizeof(win));
	ui_scope_hist(ui, &s);
	ui_put(next_y(&v), 0, -1, ui_attr(ui, UA_TITLE), "Request sizes, %s (%s)", who, win);
	histogram(ui, &v, s.size_count, s.size_bytes, AT_SIZE_BUCKETS, false, " REQUEST SIZE            COUNT    BYTES  by count");
	next_y(&v);
	ui_put(next_y(&v), 0, -1, ui_attr(ui, UA_TITLE), "Lifetimes of freed blocks, %s (%s)", who, win);
	histogram(ui, &v, s.lifetime, NULL, AT_LT_BUCKETS, true, LT_HEAD);
	next_y(&v);
	fragmentation(ui, &v, who);
	next_y(&v);
	peak_sites(ui, &v);
	finish(ui, &v);
}
