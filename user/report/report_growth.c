/* --growth in the batch reports: a process's growth and a site's, plain and JSON side by
 * side. The site counters themselves are the model's: in growth mode a site's allocs are
 * the pages its faults made resident, alloc_bytes their bytes (bpf/growth.bpf.c). */
#include "report/report_growth.h"
#include "lib/hist.h"
#include "lib/util.h"

#include <stdio.h>
#include <stdlib.h>

#define ADD(o, k, v) json_object_object_add((o), (k), (v))

json_object *at_growth_json_proc(const struct at_report_ctx *c, int pid)
{
	json_object *o = json_object_new_object();
	struct at_growth_proc g;

	at_model_growth_proc(c->model, pid, &g);
	ADD(o, "fault_pages", json_object_new_uint64(g.fault_pages));
	ADD(o, "fault_bytes", json_object_new_uint64(g.fault_bytes));
	ADD(o, "brk_bytes", json_object_new_int64(at_growth_brk_bytes(&g)));
	ADD(o, "mmap_bytes", json_object_new_int64(at_growth_mmap_bytes(&g)));
	ADD(o, "rss_bytes", json_object_new_int64(at_growth_rss_bytes(&g)));
	return o;
}

void at_growth_json_site(const struct at_report_ctx *c, const struct at_site_view *sv, json_object *o)
{
	struct at_growth_site g;

	at_model_growth_site(c->model, sv->pid, sv->stack_id, &g);
	ADD(o, "fault_pages", json_object_new_uint64(sv->s.allocs));
	ADD(o, "fault_bytes", json_object_new_uint64(sv->s.alloc_bytes));
	ADD(o, "brk_bytes", json_object_new_int64(g.brk_bytes));
	ADD(o, "mmap_bytes", json_object_new_int64(g.mmap_bytes));
}

void at_growth_text_proc(FILE *out, const struct at_report_ctx *c, const struct at_proc_view *p)
{
	char fb[16], bb[16], mb[16], rb[16];
	struct at_growth_proc g;
	__s64 rss, brk, mm;

	at_model_growth_proc(c->model, p->pid, &g);
	rss = at_growth_rss_bytes(&g);
	brk = at_growth_brk_bytes(&g);
	mm = at_growth_mmap_bytes(&g);
	fprintf(out, "  growth: faults %llu pages (%s)  brk %s%s  mappings %s%s  rss %s%s\n",
		(unsigned long long)g.fault_pages, at_fmt_bytes(g.fault_bytes, fb, sizeof(fb)), brk < 0 ? "-" : "+",
		at_fmt_bytes(brk < 0 ? -brk : brk, bb, sizeof(bb)), mm < 0 ? "-" : "+",
		at_fmt_bytes(mm < 0 ? -mm : mm, mb, sizeof(mb)), rss < 0 ? "-" : "+",
		at_fmt_bytes(rss < 0 ? -rss : rss, rb, sizeof(rb)));
}

void at_growth_text_site(FILE *out, const struct at_report_ctx *c, size_t rank, const struct at_site_view *sv)
{
	char fb[16], bb[16], mb[16];
	struct at_growth_site g;

	at_model_growth_site(c->model, sv->pid, sv->stack_id, &g);
	fprintf(out, "#%-3zu pid %d  faults %llu pages (%s)  brk +%s  anon mmap +%s\n", rank, sv->pid,
		(unsigned long long)sv->s.allocs, at_fmt_bytes(sv->s.alloc_bytes, fb, sizeof(fb)),
		at_fmt_bytes(g.brk_bytes > 0 ? g.brk_bytes : 0, bb, sizeof(bb)),
		at_fmt_bytes(g.mmap_bytes > 0 ? g.mmap_bytes : 0, mb, sizeof(mb)));
}

/* The brk and anonymous mmap calls by stack, most bytes first: a new array the caller
 * frees; *n entries (at most max, 0 = all). */
static int by_bytes(const void *a, const void *b)
{
	const struct at_growth_call *x = a, *y = b;
	__s64 bx = x->g.brk_bytes + x->g.mmap_bytes, by = y->g.brk_bytes + y->g.mmap_bytes;

	return bx < by ? 1 : bx > by ? -1 : (x->key.pid > y->key.pid) - (x->key.pid < y->key.pid);
}

static struct at_growth_call *call_sites(const struct at_report_ctx *c, size_t max, size_t *n)
{
	struct at_growth_call *cs;

	*n = at_model_growth_calls(c->model, &cs);
	qsort(cs, *n, sizeof(*cs), by_bytes);
	if (max && *n > max)
		*n = max;
	return cs;
}

json_object *at_growth_json_calls(const struct at_report_ctx *c, at_growth_frames_fn frames)
{
	json_object *a = json_object_new_array();
	size_t n;
	struct at_growth_call *cs = call_sites(c, (size_t)c->opts->top, &n);

	for (size_t i = 0; i < n; i++) {
		struct at_site_view sv = { .pid = cs[i].key.pid, .stack_id = cs[i].key.stack_id };
		json_object *o = json_object_new_object();
		char id[24];

		snprintf(id, sizeof(id), "%016llx", (unsigned long long)sv.stack_id);
		ADD(o, "pid", json_object_new_int(sv.pid));
		ADD(o, "stack_id", json_object_new_string(id));
		ADD(o, "frames", frames(c, &sv));
		ADD(o, "brk_bytes", json_object_new_int64(cs[i].g.brk_bytes));
		ADD(o, "brk_calls", json_object_new_uint64(cs[i].g.brk_calls));
		ADD(o, "mmap_bytes", json_object_new_int64(cs[i].g.mmap_bytes));
		ADD(o, "mmap_calls", json_object_new_uint64(cs[i].g.mmap_calls));
		json_object_array_add(a, o);
	}
	free(cs);
	return a;
}

void at_growth_text_calls(FILE *out, const struct at_report_ctx *c)
{
	size_t n;
	struct at_growth_call *cs = call_sites(c, (size_t)c->opts->top, &n);

	if (n)
		fprintf(out, "brk and anonymous mmap by stack (%zu):\n", n);
	for (size_t i = 0; i < n; i++) {
		const struct at_site_frames *sf = at_model_frames(c->model, cs[i].key.pid, cs[i].key.stack_id);
		char bb[16], mb[16], fs[256];

		fprintf(out, "  pid %d  brk +%s (%llu calls)  mmap +%s (%llu calls)  at", cs[i].key.pid,
			at_fmt_bytes(cs[i].g.brk_bytes > 0 ? cs[i].g.brk_bytes : 0, bb, sizeof(bb)),
			(unsigned long long)cs[i].g.brk_calls,
			at_fmt_bytes(cs[i].g.mmap_bytes > 0 ? cs[i].g.mmap_bytes : 0, mb, sizeof(mb)),
			(unsigned long long)cs[i].g.mmap_calls);
		/* the first frames that say where: the system call's wrapper, then its callers */
		for (__u32 f = 0; sf && f < sf->nr_ips && f < 4; f++)
			fprintf(out, "%s %s", f ? " <" : "", at_frame_str(at_site_frame_at(sf, f), fs, sizeof(fs)));
		fputs(sf ? "\n" : " [unknown stack]\n", out);
	}
	free(cs);
}
