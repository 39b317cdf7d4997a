#include "report/report.h"
#include "report/report_peak.h"
#include "report/report_percall.h"
#include "report/report_growth.h"
#include "report/report_cost.h"
#include "unwind/unwind.h"
#include "lib/names.h"
#include "lib/utf8.h"
#include "lib/hist.h"
#include "lib/util.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static json_object *jstr(const char *s)
{
	char buf[1024];

	return json_object_new_string(at_utf8_clean(s ? s : "", buf, sizeof(buf)));
}

static json_object *ju64(__u64 v) { return json_object_new_uint64(v); }
static json_object *js64(__s64 v) { return json_object_new_int64(v); }

#define ADD(o, k, v) json_object_object_add((o), (k), (v))

static json_object *size_hist(const struct at_proc_stats *s)
{
	json_object *a = json_object_new_array();

	for (unsigned int b = 0; b < AT_SIZE_BUCKETS; b++) {
		json_object *e;

		if (!s->size_count[b])
			continue;
		e = json_object_new_object();
		ADD(e, "lo", ju64(at_hist_lo(b)));
		ADD(e, "hi", ju64(at_hist_hi(b, AT_SIZE_BUCKETS)));
		ADD(e, "count", ju64(s->size_count[b]));
		ADD(e, "bytes", ju64(s->size_bytes[b]));
		json_object_array_add(a, e);
	}
	return a;
}

static json_object *lifetime_hist(const __u64 *lifetime)
{
	json_object *a = json_object_new_array();

	for (unsigned int b = 0; b < AT_LT_BUCKETS; b++) {
		json_object *e;

		if (!lifetime[b])
			continue;
		e = json_object_new_object();
		ADD(e, "lo_ns", ju64(at_hist_lo(b)));
		ADD(e, "hi_ns", ju64(at_hist_hi(b, AT_LT_BUCKETS)));
		ADD(e, "count", ju64(lifetime[b]));
		json_object_array_add(a, e);
	}
	return a;
}

/* A count known only from the allocator's state: null otherwise. */
static json_object *known(const struct at_heap_proc *hp, __u64 v)
{
	return hp->allocator ? ju64(v) : NULL;
}

static json_object *mallinfo(const struct at_heap_proc *hp)
{
	json_object *o = json_object_new_object();
	const struct at_mallinfo *mi = &hp->mi;

	ADD(o, "arena", known(hp, mi->arena));
	ADD(o, "ordblks", known(hp, mi->ordblks));
	ADD(o, "smblks", known(hp, mi->smblks));
	ADD(o, "hblks", known(hp, mi->hblks));
	ADD(o, "hblkhd", known(hp, mi->hblkhd));
	ADD(o, "uordblks", known(hp, mi->uordblks));
	ADD(o, "fordblks", known(hp, mi->fordblks));
	ADD(o, "fsmblks", known(hp, mi->fsmblks));
	ADD(o, "keepcost", known(hp, mi->keepcost));
	ADD(o, "tcache_count", known(hp, mi->tcache_count));
	ADD(o, "tcache_bytes", known(hp, mi->tcache_bytes));
	ADD(o, "arenas", known(hp, mi->arenas));
	return o;
}

static json_object *live_hist(const struct at_heap_proc *hp)
{
	json_object *a = json_object_new_array();

	for (unsigned int b = 0; b < AT_HOLE_BUCKETS; b++) {
		json_object *e;

		if (!hp->live_hist[b])
			continue;
		e = json_object_new_object();
		ADD(e, "lo", ju64(at_hist_lo(b)));
		ADD(e, "hi", ju64(at_hist_hi(b, AT_HOLE_BUCKETS)));
		ADD(e, "count", ju64(hp->live_hist[b]));
		json_object_array_add(a, e);
	}
	return a;
}

/* Where the figures come from, and what only the allocator's state tells. */
static void allocator_fields(json_object *o, const struct at_heap_proc *hp)
{
	ADD(o, "source", jstr(hp->allocator ? "allocator" : "tracked"));
	ADD(o, "partial", json_object_new_boolean(hp->partial));
	ADD(o, "stale", json_object_new_boolean(hp->stale));
	ADD(o, "unknown_reason", hp->allocator ? NULL : jstr(hp->why));
	ADD(o, "live_allocs_all", known(hp, hp->live_allocs_all));
	ADD(o, "live_bytes_all", known(hp, hp->live_bytes_all));
	ADD(o, "preattach_allocs", known(hp, hp->preattach_allocs));
	ADD(o, "preattach_bytes", known(hp, hp->preattach_bytes));
	ADD(o, "live_size_hist", hp->allocator ? live_hist(hp) : NULL);
	ADD(o, "mmapped_found", known(hp, hp->mmapped_found));
	ADD(o, "mallinfo", mallinfo(hp));
}

static json_object *fragmentation(const struct at_heap_proc *hp)
{
	json_object *o = json_object_new_object(), *a = json_object_new_array();
	const struct at_frag *f = &hp->frag;

	ADD(o, "heap_bytes", ju64(f->heap_bytes));
	ADD(o, "resident_bytes", ju64(f->resident_bytes));
	ADD(o, "used_bytes", ju64(f->used_bytes));
	ADD(o, "free_bytes", ju64(f->free_bytes));
	ADD(o, "ratio", json_object_new_double(f->ratio));
	for (unsigned int b = 0; b < AT_HOLE_BUCKETS; b++) {
		json_object *e;

		if (!f->hole_count[b])
			continue;
		e = json_object_new_object();
		ADD(e, "lo", ju64(at_hist_lo(b)));
		ADD(e, "hi", ju64(at_hist_hi(b, AT_HOLE_BUCKETS)));
		ADD(e, "count", ju64(f->hole_count[b]));
		ADD(e, "bytes", ju64(f->hole_bytes[b]));
		json_object_array_add(a, e);
	}
	ADD(o, "hole_hist", a);
	ADD(o, "sparse_pages", ju64(f->sparse_pages));
	ADD(o, "sparse_bytes", ju64(f->sparse_bytes));
	ADD(o, "regions", ju64(f->regions));
	ADD(o, "chunk_overhead", json_object_new_boolean(hp->glibc));
	allocator_fields(o, hp);
	return o;
}

/* --max-overhead: what its counts were scaled by and what is known of its lifetimes:
 * blocks seen freed in their own window (exact), in a later window or by the reuse of
 * their address (an interval, mean bounds), or not at all (open: censored). */
static json_object *proc_estimate(const struct at_proc_view *p)
{
	json_object *o = json_object_new_object(), *l = json_object_new_object(), *sh = json_object_new_object();
	__u64 n = p->life.interval + p->life.reused;

	ADD(o, "scale", json_object_new_double(p->scale));
	ADD(o, "share_from", p->share_from ? jstr(p->share_from) : NULL);
	ADD(o, "own_samples_in", ju64(p->share_samples[0]));
	ADD(o, "own_samples_out", ju64(p->share_samples[1]));
	ADD(o, "reads_in", ju64(p->share_reads[0]));
	ADD(o, "reads_out", ju64(p->share_reads[1]));
	ADD(sh, "reads", p->share_by_reads > 0 ? json_object_new_double(p->share_by_reads) : NULL);
	ADD(sh, "samples", p->share_by_samples > 0 ? json_object_new_double(p->share_by_samples) : NULL);
	ADD(sh, "cpu_time", p->share_by_cpu > 0 ? json_object_new_double(p->share_by_cpu) : NULL);
	ADD(sh, "time", json_object_new_double(p->share_by_time));
	ADD(o, "shares", sh);
	ADD(l, "exact", ju64(p->life.exact));
	ADD(l, "interval", ju64(p->life.interval));
	ADD(l, "reused", ju64(p->life.reused));
	ADD(l, "open", ju64(p->life.open));
	ADD(l, "interval_lo_ns_mean", n ? json_object_new_double(p->life.lo_ns_sum / n) : NULL);
	ADD(l, "interval_hi_ns_mean", n ? json_object_new_double(p->life.hi_ns_sum / n) : NULL);
	ADD(o, "lifetimes", l);
	return o;
}

static json_object *frames(const struct at_report_ctx *c, const struct at_site_view *sv);

static json_object *process(const struct at_report_ctx *c, const struct at_proc_view *p)
{
	const struct at_heap_proc *hp = at_model_heap_proc(c->model, p->pid);
	json_object *o = json_object_new_object(), *calls = json_object_new_object(), *mm = json_object_new_object();
	const struct at_proc_stats *s = &p->s;

	ADD(o, "pid", json_object_new_int(p->pid));
	ADD(o, "comm", jstr(p->target ? p->target->comm : "?"));
	ADD(o, "exited", json_object_new_boolean(p->target && p->target->exited));
	ADD(o, "allocs", ju64(s->allocs));
	ADD(o, "frees", ju64(s->frees));
	ADD(o, "alloc_bytes", ju64(s->alloc_bytes));
	ADD(o, "free_bytes", ju64(s->free_bytes));
	ADD(o, "live_allocs", js64(s->live_allocs));
	ADD(o, "live_bytes", js64(s->live_bytes));
	ADD(o, "untracked_frees", ju64(s->untracked_frees));
	ADD(o, "temp_allocs", ju64(s->temp_allocs));
	/* the C and C++ names always; another family's entry points once called */
	for (int f = 0; f < AT_NR_FUNCS; f++)
		if (f < AT_NR_BASE_FUNCS || s->calls[f])
			ADD(calls, at_func_name(f), ju64(s->calls[f]));
	ADD(o, "calls", calls);
	ADD(mm, "maps", ju64(s->mmaps));
	ADD(mm, "unmaps", ju64(s->munmaps));
	ADD(mm, "live_bytes", js64(s->mmap_live_bytes));
	ADD(o, "mmap", mm);
	ADD(o, "temp_share", json_object_new_double(s->allocs ? (double)s->temp_allocs / s->allocs : 0));
	ADD(o, "size_hist", size_hist(s));
	ADD(o, "lifetime_hist", lifetime_hist(s->lifetime));
	ADD(o, "fragmentation", hp ? fragmentation(hp) : NULL);
	if (c->opts->growth)
		ADD(o, "growth", at_growth_json_proc(c, p->pid));
	ADD(o, "overhead", at_json_overhead(&p->ov));
	if (at_model_max_overhead(c->model) > 0)
		ADD(o, "estimate", proc_estimate(p));
	ADD(o, "peak", c->opts->growth ? NULL : at_peak_json(c, p->pid, frames));	/* growth: faults only rise */
	return o;
}

static json_object *frames(const struct at_report_ctx *c, const struct at_site_view *sv)
{
	const struct at_site_frames *sf = at_model_frames(c->model, sv->pid, sv->stack_id);
	json_object *a = json_object_new_array();

	/* an address with inlined calls expands into several frames (same addr): the
	 * innermost inlined function first, "inline": true */
	for (__u32 j = 0; sf && j < sf->nr; j++) {
		const struct at_frame *fr = &sf->f[j];
		json_object *f = json_object_new_object();
		char addr[32], name[4096];	/* demangled names can outgrow jstr's buffer */

		snprintf(addr, sizeof(addr), "0x%llx", (unsigned long long)fr->addr);
		ADD(f, "addr", json_object_new_string(addr));
		ADD(f, "symbol", fr->symbol ? json_object_new_string(at_utf8_clean(fr->symbol, name, sizeof(name))) : NULL);
		ADD(f, "raw_symbol", fr->raw_symbol ?
		    json_object_new_string(at_utf8_clean(fr->raw_symbol, name, sizeof(name))) : NULL);
		ADD(f, "offset", ju64(fr->offset));
		ADD(f, "module", jstr(fr->module));
		ADD(f, "file", fr->file ? jstr(fr->file) : NULL);
		ADD(f, "line", fr->line ? ju64(fr->line) : NULL);
		ADD(f, "inline", json_object_new_boolean(fr->inlined));
		json_object_array_add(a, f);
	}
	return a;
}

/* The site's median lifetime and histogram (read from the kernel for shown sites). */
static void site_lifetimes(const struct at_report_ctx *c, const struct at_site_view *sv, json_object *o)
{
	__u32 lt[AT_LT_BUCKETS] = { 0 };
	__u64 wide[AT_LT_BUCKETS];

	if (!at_model_site_life(c->model, sv->pid, sv->stack_id, lt))
		memset(lt, 0, sizeof(lt));
	for (unsigned int b = 0; b < AT_LT_BUCKETS; b++)
		wide[b] = lt[b];
	ADD(o, "median_lifetime_ns", sv->s.frees ? ju64(at_hist_median_u32(lt, AT_LT_BUCKETS)) : NULL);
	ADD(o, "lifetime_hist", lifetime_hist(wide));
}

/* Where stacks come from, per module: its CFI tables or frame pointers. */
static json_object *unwind(const struct at_report_ctx *c)
{
	json_object *o = json_object_new_object(), *mods = json_object_new_array();
	const struct at_unwind_info *m;
	size_t n = at_model_unwind_modules(c->model, &m);

	ADD(o, "mode", json_object_new_string(c->opts->unwind_fp ? "fp" : "cfi"));
	ADD(o, "stack_depth", ju64(c->opts->stack_depth));
	for (size_t i = 0; i < n; i++) {
		json_object *j = json_object_new_object();

		ADD(j, "path", jstr(m[i].path));
		ADD(j, "source", json_object_new_string(m[i].source));
		ADD(j, "why", m[i].why ? json_object_new_string(m[i].why) : NULL);
		ADD(j, "rows", ju64(m[i].rows));
		json_object_array_add(mods, j);
	}
	ADD(o, "modules", mods);
	return o;
}

static json_object *hotspot(const struct at_report_ctx *c, const struct at_site_view *sv)
{
	const struct at_heap_site *hs = at_model_heap_site(c->model, sv->pid, sv->stack_id);
	const struct at_site_frames *sf;
	json_object *o = json_object_new_object();
	const struct at_site_counts *s = &sv->s;
	char id[24];

	snprintf(id, sizeof(id), "%016llx", (unsigned long long)sv->stack_id);
	ADD(o, "pid", json_object_new_int(sv->pid));
	ADD(o, "stack_id", json_object_new_string(id));
	ADD(o, "frames", frames(c, sv));
	sf = at_model_frames(c->model, sv->pid, sv->stack_id);
	ADD(o, "truncated", json_object_new_boolean(sf && sf->truncated));
	ADD(o, "allocs", ju64(s->allocs));
	/* allocations actually seen, for a reader to judge an estimate's precision */
	ADD(o, "samples", ju64(sv->samples ? sv->samples : s->allocs));
	ADD(o, "alloc_bytes", ju64(s->alloc_bytes));
	ADD(o, "frees", ju64(s->frees));
	ADD(o, "free_bytes", ju64(s->free_bytes));
	ADD(o, "live_allocs", js64(s->live_allocs));
	ADD(o, "live_bytes", js64(s->live_bytes));
	ADD(o, "temp_allocs", ju64(s->temp_allocs));
	ADD(o, "temp_share", json_object_new_double(s->allocs ? (double)s->temp_allocs / s->allocs : 0));
	site_lifetimes(c, sv, o);
	if (c->opts->growth)
		at_growth_json_site(c, sv, o);
	if (hs) {
		ADD(o, "oldest_age_s", json_object_new_double(hs->oldest_ns / 1e9));
		ADD(o, "old_allocs", ju64(hs->old_allocs));
		ADD(o, "old_bytes", ju64(hs->old_bytes));
	}
	return o;
}

/* Sites holding live blocks older than --min-age, most old bytes first. */
static json_object *leak_suspects(const struct at_report_ctx *c)
{
	json_object *a = json_object_new_array();
	size_t n;
	const struct at_site_view **sites = at_model_leak_suspects(c->model, (size_t)c->opts->top, &n);

	for (size_t i = 0; i < n; i++)
		json_object_array_add(a, hotspot(c, sites[i]));
	free(sites);
	return a;
}

/* One document, one line, in one write where out has a descriptor: stdio would write a
 * document longer than its buffer in two, and a launched command sharing the pipe
 * (its output goes where alloctop's does) could land between them. */
static int put_line(FILE *out, const char *doc)
{
	size_t len = strlen(doc), done = 0;
	char *line;
	int fd = fileno(out);

	if (fd < 0)
		return fprintf(out, "%s\n", doc) < 0 || fflush(out) ? -1 : 0;
	if (fflush(out))
		return -1;
	line = at_xcalloc(len + 2, 1);
	memcpy(line, doc, len);
	line[len++] = '\n';
	while (done < len) {
		ssize_t n = write(fd, line + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		done += (size_t)n;
	}
	free(line);
	return done == len ? 0 : -1;
}

int at_report_json(FILE *out, const struct at_report_ctx *c)
{
	const struct at_snapshot *snap = at_model_cur(c->model);
	json_object *root = json_object_new_object(), *procs = json_object_new_array();
	json_object *hot = json_object_new_array(), *drops = json_object_new_object();
	const struct at_site_view **sites;
	size_t n;
	int rc;

	ADD(root, "timestamp", json_object_new_double(at_now_real()));
	ADD(root, "elapsed_s", json_object_new_double(snap->mono - at_model_start(c->model)));
	ADD(root, "interval_s", json_object_new_double(c->interval_s));
	ADD(root, "final", json_object_new_boolean(c->final));
	ADD(root, "mode", json_object_new_string(c->opts->growth ? "growth" : "allocations"));
	ADD(root, "estimated", json_object_new_boolean(at_model_max_overhead(c->model) > 0));
	ADD(root, "max_overhead", at_model_max_overhead(c->model) > 0 ?
		json_object_new_double(at_model_max_overhead(c->model)) : NULL);
	ADD(root, "max_overhead_default", json_object_new_boolean(c->opts->overhead_default));
	ADD(root, "duty_cycle", json_object_new_double(at_model_duty(c->model)));
	ADD(root, "probe_cost_ns", c->opts->growth ? NULL : at_json_probe_cost(at_model_probe_cost(c->model)));
	ADD(root, "dropped", ju64(at_drops_total(snap)));
	for (int d = 0; d < AT_NR_DROPS; d++)
		ADD(drops, at_drop_name(d), ju64(snap->drops[d]));
	ADD(root, "drops", drops);
	for (size_t i = 0; i < snap->nr_procs; i++)
		json_object_array_add(procs, process(c, &snap->procs[i]));
	ADD(root, "processes", procs);
	n = (size_t)c->opts->top;
	sites = at_model_top_sites(c->model, c->opts->sort, 0, &n);
	for (size_t i = 0; i < n; i++)
		json_object_array_add(hot, hotspot(c, sites[i]));
	free(sites);
	ADD(root, "hotspots", hot);
	if (c->opts->growth_calls)
		ADD(root, "growth_calls", at_growth_json_calls(c, frames));
	if (c->opts->nr_per)
		ADD(root, "per_call", at_percall_json(c, frames));
	ADD(root, "unwind", unwind(c));
	ADD(root, "leak_suspects", leak_suspects(c));
	ADD(root, "min_age_s", json_object_new_double(at_model_min_age(c->model)));
	rc = put_line(out, json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(root);
	return rc;
}
