/* --growth in the batch reports: a process's growth and a site's, plain and JSON side by
 * side. The site counters themselves are the model's: in growth mode a site's allocs are
 * the pages its faults made resident, alloc_bytes their bytes (bpf/growth.bpf.c). */
#include "report_growth.h"
#include "growth.h"
#include "hist.h"

#include <stdio.h>

#define ADD(o, k, v) json_object_object_add((o), (k), (v))

json_object *at_growth_json_proc(const struct at_report_ctx *c, int pid)
{
	json_object *o = json_object_new_object();
	struct at_growth_proc g;

	at_growth_proc_read(c->model->fds.growth_procs, pid, &g);
	ADD(o, "fault_pages", json_object_new_uint64(g.fault_pages));
	ADD(o, "fault_bytes", json_object_new_uint64(g.fault_bytes));
	ADD(o, "brk_bytes", json_object_new_int64(g.brk_bytes));
	ADD(o, "mmap_bytes", json_object_new_int64(g.mmap_bytes));
	ADD(o, "rss_bytes", json_object_new_int64(at_growth_rss_bytes(&g)));
	return o;
}

void at_growth_json_site(const struct at_report_ctx *c, const struct at_site_view *sv, json_object *o)
{
	struct at_growth_site g;

	at_growth_site_read(c->model->fds.growth_sites, sv->pid, sv->stack_id, &g);
	ADD(o, "fault_pages", json_object_new_uint64(sv->s.allocs));
	ADD(o, "fault_bytes", json_object_new_uint64(sv->s.alloc_bytes));
	ADD(o, "brk_bytes", json_object_new_int64(g.brk_bytes));
	ADD(o, "mmap_bytes", json_object_new_int64(g.mmap_bytes));
}

void at_growth_text_proc(FILE *out, const struct at_report_ctx *c, const struct at_proc_view *p)
{
	char fb[16], bb[16], mb[16], rb[16];
	struct at_growth_proc g;
	__s64 rss;

	at_growth_proc_read(c->model->fds.growth_procs, p->pid, &g);
	rss = at_growth_rss_bytes(&g);
	fprintf(out, "  growth: faults %llu pages (%s)  brk %s%s  anon mmap %s%s  rss %s%s\n",
		(unsigned long long)g.fault_pages, at_fmt_bytes(g.fault_bytes, fb, sizeof(fb)),
		g.brk_bytes < 0 ? "-" : "+", at_fmt_bytes(g.brk_bytes < 0 ? -g.brk_bytes : g.brk_bytes, bb, sizeof(bb)),
		g.mmap_bytes < 0 ? "-" : "+",
		at_fmt_bytes(g.mmap_bytes < 0 ? -g.mmap_bytes : g.mmap_bytes, mb, sizeof(mb)), rss < 0 ? "-" : "+",
		at_fmt_bytes(rss < 0 ? -rss : rss, rb, sizeof(rb)));
}

void at_growth_text_site(FILE *out, const struct at_report_ctx *c, size_t rank, const struct at_site_view *sv)
{
	char fb[16], bb[16], mb[16];
	struct at_growth_site g;

	at_growth_site_read(c->model->fds.growth_sites, sv->pid, sv->stack_id, &g);
	fprintf(out, "#%-3zu pid %d  faults %llu pages (%s)  brk +%s  anon mmap +%s\n", rank, sv->pid,
		(unsigned long long)sv->s.allocs, at_fmt_bytes(sv->s.alloc_bytes, fb, sizeof(fb)),
		at_fmt_bytes(g.brk_bytes > 0 ? g.brk_bytes : 0, bb, sizeof(bb)),
		at_fmt_bytes(g.mmap_bytes > 0 ? g.mmap_bytes : 0, mb, sizeof(mb)));
}
