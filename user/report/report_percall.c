#include "report/report_percall.h"
#include "lib/hist.h"
#include "lib/util.h"

#include <stdlib.h>
#include <string.h>

#define AT_PERCALL_TEXT_SITES 5	/* sites listed under a function */
#define ADD(o, k, v) json_object_object_add((o), (k), (v))

static double per(__u64 v, __u64 calls)
{
	return calls ? (double)v / (double)calls : 0;
}

static json_object *site(const struct at_report_ctx *c, const struct at_site_view *sv, at_percall_frames_fn frames)
{
	json_object *o = json_object_new_object();
	char id[24];

	snprintf(id, sizeof(id), "%016llx", (unsigned long long)sv->stack_id);
	ADD(o, "stack_id", json_object_new_string(id));
	ADD(o, "frames", frames(c, sv));
	ADD(o, "allocs", json_object_new_uint64(sv->s.allocs));
	ADD(o, "alloc_bytes", json_object_new_uint64(sv->s.alloc_bytes));
	ADD(o, "live_allocs", json_object_new_int64(sv->s.live_allocs));
	ADD(o, "live_bytes", json_object_new_int64(sv->s.live_bytes));
	return o;
}

json_object *at_percall_json(const struct at_report_ctx *c, at_percall_frames_fn frames)
{
	const struct at_per_call *v;
	size_t n = at_model_per_calls(c->model, &v);
	json_object *a = json_object_new_array();

	for (size_t i = 0; i < n; i++) {
		json_object *o = json_object_new_object(), *sites = json_object_new_array();
		__u64 calls = v[i].s.calls;

		ADD(o, "pid", json_object_new_int(v[i].pid));
		ADD(o, "func", json_object_new_string(c->opts->per[v[i].func]));
		ADD(o, "calls", json_object_new_uint64(calls));
		ADD(o, "allocs", json_object_new_uint64(v[i].s.allocs));
		ADD(o, "alloc_bytes", json_object_new_uint64(v[i].s.alloc_bytes));
		ADD(o, "allocs_per_call", json_object_new_double(per(v[i].s.allocs, calls)));
		ADD(o, "bytes_per_call", json_object_new_double(per(v[i].s.alloc_bytes, calls)));
		ADD(o, "live_bytes", json_object_new_int64(v[i].live_bytes));
		ADD(o, "live_allocs", json_object_new_int64(v[i].live_allocs));
		ADD(o, "live_bytes_per_call",
		    json_object_new_double(per(v[i].live_bytes > 0 ? (__u64)v[i].live_bytes : 0, calls)));
		for (size_t j = 0; j < v[i].nr_sites && j < (size_t)c->opts->top; j++)
			json_object_array_add(sites, site(c, v[i].sites[j], frames));
		ADD(o, "sites", sites);
		json_object_array_add(a, o);
	}
	return a;
}

static void text_site(FILE *out, const struct at_report_ctx *c, const struct at_site_view *sv)
{
	const struct at_site_frames *sf = at_model_frames(c->model, sv->pid, sv->stack_id);
	const struct at_frame *f = sf ? at_site_frame_at(sf, 0) : NULL;
	char name[512] = "[unknown stack]", clean[512], b[16];

	if (f)
		at_frame_str(f, name, sizeof(name));
	at_utf8_clean(name, clean, sizeof(clean));
	for (char *p = clean; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	fprintf(out, "    %10llu allocs %10s  %s\n", (unsigned long long)sv->s.allocs,
		at_fmt_bytes(sv->s.alloc_bytes, b, sizeof(b)), clean);
}

void at_percall_text(FILE *out, const struct at_report_ctx *c)
{
	const struct at_per_call *v;
	size_t n = at_model_per_calls(c->model, &v);
	char ab[16], lb[16];

	if (n)
		fprintf(out, "per call (--per):\n");
	for (size_t i = 0; i < n; i++) {
		__u64 calls = v[i].s.calls;

		fprintf(out, "  pid %d  %s: %llu calls  %llu allocs (%.2f per call)  %s (%.1f B per call)  live left %s\n",
			v[i].pid, c->opts->per[v[i].func], (unsigned long long)calls, (unsigned long long)v[i].s.allocs,
			per(v[i].s.allocs, calls), at_fmt_bytes(v[i].s.alloc_bytes, ab, sizeof(ab)),
			per(v[i].s.alloc_bytes, calls),
			at_fmt_bytes(v[i].live_bytes > 0 ? (__u64)v[i].live_bytes : 0, lb, sizeof(lb)));
		for (size_t j = 0; j < v[i].nr_sites && j < AT_PERCALL_TEXT_SITES; j++)
			text_site(out, c, v[i].sites[j]);
	}
}
