#include "report/report.h"
#include "report/report_growth.h"
#include "report/report_cost.h"
#include "report/report_peak.h"
#include "report/report_percall.h"
#include "lib/names.h"
#include "lib/hist.h"
#include "lib/util.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BAR_WIDTH 40

/* Names come from the target (comm, symbols, paths): on a terminal, control bytes could
 * move the cursor or worse. Valid UTF-8 with controls shown as '?'. */
static const char *clean(const char *s, char *buf, size_t sz)
{
	at_utf8_clean(s, buf, sz);
	for (char *p = buf; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	return buf;
}

static void bar(FILE *out, __u64 v, __u64 max)
{
	int n = max ? (int)((double)v * BAR_WIDTH / (double)max + 0.5) : 0;

	if (v && !n)
		n = 1;
	for (int i = 0; i < n; i++)
		fputc('#', out);
}

static void size_hist(FILE *out, const struct at_proc_stats *s)
{
	__u64 max = 0;
	char lo[16], hi[16], by[16];

	for (int b = 0; b < AT_SIZE_BUCKETS; b++)
		if (s->size_count[b] > max)
			max = s->size_count[b];
	if (!max)
		return;
	fprintf(out, "  request sizes            count      bytes\n");
	for (int b = 0; b < AT_SIZE_BUCKETS; b++) {
		if (!s->size_count[b])
			continue;
		at_fmt_bytes(at_hist_lo(b), lo, sizeof(lo));
		at_fmt_bytes(at_hist_hi(b, AT_SIZE_BUCKETS), hi, sizeof(hi));
		fprintf(out, "  %7s .. %-7s %10llu %10s |", lo, b + 1 == AT_SIZE_BUCKETS ? "max" : hi,
			(unsigned long long)s->size_count[b], at_fmt_bytes(s->size_bytes[b], by, sizeof(by)));
		bar(out, s->size_count[b], max);
		fputc('\n', out);
	}
}

static void lifetime_hist(FILE *out, const struct at_proc_stats *s)
{
	__u64 max = 0;
	char lo[16], hi[16];

	for (int b = 0; b < AT_LT_BUCKETS; b++)
		if (s->lifetime[b] > max)
			max = s->lifetime[b];
	if (!max)
		return;
	fprintf(out, "  lifetimes (freed blocks) count\n");
	for (int b = 0; b < AT_LT_BUCKETS; b++) {
		if (!s->lifetime[b])
			continue;
		at_fmt_ns(at_hist_lo(b), lo, sizeof(lo));
		at_fmt_ns(at_hist_hi(b, AT_LT_BUCKETS), hi, sizeof(hi));
		fprintf(out, "  %7s .. %-7s %10llu |", lo, b + 1 == AT_LT_BUCKETS ? "max" : hi,
			(unsigned long long)s->lifetime[b]);
		bar(out, s->lifetime[b], max);
		fputc('\n', out);
	}
}

/* What only the allocator's state tells: every live block, those from before attach,
 * and glibc's own figures. */
static void allocator_line(FILE *out, const struct at_heap_proc *hp)
{
	const struct at_mallinfo *mi = &hp->mi;
	char lb[16], pb[16], ar[16], hb[16], ub[16], fb[16], fa[16], tb[16];

	fprintf(out, "  live chunks %llu (%s), before attach %llu (%s)\n", (unsigned long long)hp->live_allocs_all,
		at_fmt_bytes(hp->live_bytes_all, lb, sizeof(lb)), (unsigned long long)hp->preattach_allocs,
		at_fmt_bytes(hp->preattach_bytes, pb, sizeof(pb)));
	fprintf(out, "  mallinfo: arena %s  hblkhd %s  uordblks %s  fordblks %s  fastbins %s  tcache %s  arenas %llu\n",
		at_fmt_bytes(mi->arena, ar, sizeof(ar)), at_fmt_bytes(mi->hblkhd, hb, sizeof(hb)),
		at_fmt_bytes(mi->uordblks, ub, sizeof(ub)), at_fmt_bytes(mi->fordblks, fb, sizeof(fb)),
		at_fmt_bytes(mi->fsmblks, fa, sizeof(fa)), at_fmt_bytes(mi->tcache_bytes, tb, sizeof(tb)),
		(unsigned long long)mi->arenas);
}

static void heap_line(FILE *out, const struct at_heap_proc *hp)
{
	const struct at_frag *f = &hp->frag;
	char hb[16], rb[16], fb[16], sb[16];
	__u64 holes = 0;

	if (hp->partial) {
		fprintf(out, "  heap: fragmentation unknown (attached after the heap was built; %s)\n", hp->why);
		return;
	}
	if (!f->heap_bytes)
		return;
	for (int b = 0; b < AT_HOLE_BUCKETS; b++)
		holes += f->hole_count[b];
	fprintf(out, "  heap %s (resident %s)  free %s (%.1f%%)  holes %llu  sparse pages %llu (%s)  [%s]\n",
		at_fmt_bytes(f->heap_bytes, hb, sizeof(hb)), at_fmt_bytes(f->resident_bytes, rb, sizeof(rb)),
		at_fmt_bytes(f->free_bytes, fb, sizeof(fb)), f->ratio * 100, (unsigned long long)holes,
		(unsigned long long)f->sparse_pages, at_fmt_bytes(f->sparse_bytes, sb, sizeof(sb)),
		hp->allocator ? "glibc's state" : "blocks since start");
	if (hp->allocator)
		allocator_line(out, hp);
}

static void process(FILE *out, const struct at_report_ctx *c, const struct at_proc_view *p)
{
	const struct at_heap_proc *hp = at_model_heap_proc(c->model, p->pid);
	const struct at_proc_stats *s = &p->s;
	char ab[16], fb[16], lb[16], mb[16];

	char cm[64], ov[128];

	fprintf(out, "%-8d %-16s %s\n", p->pid, clean(p->target ? p->target->comm : "?", cm, sizeof(cm)),
		p->target && p->target->exited ? "(exited)" : "");
	if (c->opts->growth) {
		at_growth_text_proc(out, c, p);
		return;
	}
	fprintf(out, "  %s\n", at_fmt_overhead_long(&p->ov, ov, sizeof(ov)));
	fprintf(out, "  allocs %llu (%s)  frees %llu (%s)  live %lld blocks, %s  untracked frees %llu  temporary %llu\n",
		(unsigned long long)s->allocs, at_fmt_bytes(s->alloc_bytes, ab, sizeof(ab)),
		(unsigned long long)s->frees, at_fmt_bytes(s->free_bytes, fb, sizeof(fb)),
		(long long)s->live_allocs, at_fmt_bytes(s->live_bytes > 0 ? s->live_bytes : 0, lb, sizeof(lb)),
		(unsigned long long)s->untracked_frees, (unsigned long long)s->temp_allocs);
	at_peak_text(out, c, p->pid);
	fprintf(out, "  mmap: %llu maps, %llu unmaps, live %s\n  calls:", (unsigned long long)s->mmaps,
		(unsigned long long)s->munmaps, at_fmt_bytes(s->mmap_live_bytes > 0 ? s->mmap_live_bytes : 0, mb, sizeof(mb)));
	for (int f = 0; f < AT_NR_FUNCS; f++)
		if (s->calls[f])
			fprintf(out, " %s %llu", at_func_name(f), (unsigned long long)s->calls[f]);
	fputc('\n', out);
	if (hp)
		heap_line(out, hp);
	size_hist(out, s);
	lifetime_hist(out, s);
}

/* The median lifetime of a site's freed blocks, "-" when none was freed. */
static const char *median_life(const struct at_report_ctx *c, const struct at_site_view *sv, char *buf, size_t sz)
{
	__u32 lt[AT_LT_BUCKETS];

	if (!sv->s.frees || !at_model_site_life(c->model, sv->pid, sv->stack_id, lt))
		return "-";
	return at_fmt_ns(at_hist_median_u32(lt, AT_LT_BUCKETS), buf, sz);
}

static void hotspot(FILE *out, const struct at_report_ctx *c, size_t rank, const struct at_site_view *sv)
{
	const struct at_site_frames *sf;
	const struct at_site_counts *s = &sv->s;
	char ab[16], lb[16], med[16], fs[512];

	if (c->opts->growth)
		at_growth_text_site(out, c, rank, sv);
	else
		fprintf(out, "#%-3zu pid %d  allocs %llu  bytes %s  live %lld (%s)  frees %llu  median life %s\n", rank, sv->pid,
		(unsigned long long)s->allocs, at_fmt_bytes(s->alloc_bytes, ab, sizeof(ab)), (long long)s->live_allocs,
		at_fmt_bytes(s->live_bytes > 0 ? s->live_bytes : 0, lb, sizeof(lb)), (unsigned long long)s->frees,
		median_life(c, sv, med, sizeof(med)));
	sf = at_model_frames(c->model, sv->pid, sv->stack_id);
	if (!sf) {
		fprintf(out, "      [unknown stack]\n");
		return;
	}
	for (__u32 j = 0; j < sf->nr; j++) {	/* inlined calls first, then their caller */
		const struct at_frame *f = &sf->f[j];
		const char *src = f->file ? strrchr(f->file, '/') : NULL;
		char loc[256] = "", name[1024], cl[256], mod[1024];

		if (f->file)
			snprintf(loc, sizeof(loc), "%s:%u", src ? src + 1 : f->file, f->line);
		fprintf(out, "      %-40s %-24s %s\n", clean(at_frame_str(f, fs, sizeof(fs)), name, sizeof(name)),
			clean(loc, cl, sizeof(cl)), clean(f->module, mod, sizeof(mod)));
	}
	if (sf->truncated)
		fprintf(out, "      ... [truncated at --stack-depth %u]\n", c->opts->stack_depth);
}

static void leak_suspects(FILE *out, const struct at_report_ctx *c)
{
	size_t n;
	const struct at_site_view **sites = at_model_leak_suspects(c->model, (size_t)c->opts->top, &n);
	char ob[16], age[16], name[1024];

	if (n)
		fprintf(out, "leak suspects (live blocks older than %.0fs):\n", at_model_min_age(c->model));
	for (size_t i = 0; i < n; i++) {
		const struct at_heap_site *hs = at_model_heap_site(c->model, sites[i]->pid, sites[i]->stack_id);
		const struct at_site_frames *sf = at_model_frames(c->model, sites[i]->pid, sites[i]->stack_id);
		const struct at_frame *f = sf ? at_site_frame_at(sf, 0) : NULL;
		char fs[256];

		fprintf(out, "  pid %d  %llu blocks, %s, oldest %s  at %s\n", sites[i]->pid,
			(unsigned long long)hs->old_allocs, at_fmt_bytes(hs->old_bytes, ob, sizeof(ob)),
			at_fmt_ns(hs->oldest_ns, age, sizeof(age)),
			f ? clean(at_frame_str(f, fs, sizeof(fs)), name, sizeof(name)) : "[unknown stack]");
	}
	free(sites);
}

int at_report_text(FILE *out, const struct at_report_ctx *c)
{
	const struct at_snapshot *snap = at_model_cur(c->model);
	const struct at_site_view **sites;
	char when[32];
	time_t now = time(NULL);
	size_t n;

	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", localtime(&now));
	fprintf(out, "=== alloctop %s  elapsed %.1fs  interval %.2fs%s  dropped %llu\n", when,
		snap->mono - at_model_start(c->model), c->interval_s, c->final ? "  (final)" : "",
		(unsigned long long)at_drops_total(snap));
	if (c->opts->growth)
		fprintf(out, "  GROWTH: hotspots are where page faults made memory resident (no allocator probes)\n");
	if (at_model_max_overhead(c->model) > 0)
		fprintf(out, "  ESTIMATES: every probe on %.2f%% of the time (--max-overhead %g%s), counts scaled\n",
			at_model_duty(c->model) * 100, at_model_max_overhead(c->model),
			c->opts->overhead_default ? ", a census's default; --exact for exact counts" : "");
	else if (!c->opts->growth)
		fprintf(out, "  EXACT: every allocator call probed\n");
	for (int d = 0; d < AT_NR_DROPS; d++)
		if (snap->drops[d] && at_drop_is_loss(d))
			fprintf(out, "  lost: %s %llu\n", at_drop_name(d), (unsigned long long)snap->drops[d]);
	if (snap->drops[AT_DROP_STACK_TRUNCATED])
		fprintf(out, "  stacks cut at --stack-depth %u: %llu\n", c->opts->stack_depth,
			(unsigned long long)snap->drops[AT_DROP_STACK_TRUNCATED]);
	for (size_t i = 0; i < snap->nr_procs; i++)
		process(out, c, &snap->procs[i]);
	n = (size_t)c->opts->top;
	sites = at_model_top_sites(c->model, c->opts->sort, 0, &n);
	if (n)
		fprintf(out, "hotspots by %s (%zu of %zu sites):\n", at_sort_name(c->opts->sort), n, snap->nr_sites);
	for (size_t i = 0; i < n; i++)
		hotspot(out, c, i + 1, sites[i]);
	free(sites);
	if (c->opts->growth_calls)
		at_growth_text_calls(out, c);
	at_percall_text(out, c);
	leak_suspects(out, c);
	fputc('\n', out);
	return ferror(out) || fflush(out) ? -1 : 0;
}
