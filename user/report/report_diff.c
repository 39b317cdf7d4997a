#include "report/report_diff.h"
#include "lib/util.h"

#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#define ADD(o, k, v) json_object_object_add((o), (k), (v))

struct totals {
	__s64 allocs[2], bytes[2], live[2];
};

static void sum(const struct at_run *r, int side, struct totals *t)
{
	for (size_t i = 0; i < r->nr_sites; i++) {
		t->allocs[side] += r->sites[i].allocs;
		t->bytes[side] += r->sites[i].alloc_bytes;
		t->live[side] += r->sites[i].live_bytes;
	}
}

static bool changed(const struct at_run_delta *d)
{
	return d->d_allocs || d->d_alloc_bytes || d->d_live_bytes;
}

#define A(d, f) ((d)->a ? (d)->a->f : 0)
#define B(d, f) ((d)->b ? (d)->b->f : 0)

static json_object *json_site(const struct at_run_delta *d)
{
	const struct at_run_site *s = d->a ? d->a : d->b;
	json_object *o = json_object_new_object(), *fr = json_object_new_array();

	for (int i = 0; i < s->nr_frames; i++)
		json_object_array_add(fr, json_object_new_string(s->frames[i]));
	ADD(o, "frames", fr);
	ADD(o, "allocs_a", json_object_new_int64(A(d, allocs)));
	ADD(o, "allocs_b", json_object_new_int64(B(d, allocs)));
	ADD(o, "alloc_bytes_a", json_object_new_int64(A(d, alloc_bytes)));
	ADD(o, "alloc_bytes_b", json_object_new_int64(B(d, alloc_bytes)));
	ADD(o, "live_bytes_a", json_object_new_int64(A(d, live_bytes)));
	ADD(o, "live_bytes_b", json_object_new_int64(B(d, live_bytes)));
	ADD(o, "delta_allocs", json_object_new_int64(d->d_allocs));
	ADD(o, "delta_bytes", json_object_new_int64(d->d_alloc_bytes));
	ADD(o, "delta_live_bytes", json_object_new_int64(d->d_live_bytes));
	return o;
}

static int print_json(FILE *out, const struct at_run *a, const struct at_run *b, const struct totals *t,
		      const struct at_run_delta *d, size_t n, size_t top)
{
	json_object *root = json_object_new_object(), *tot = json_object_new_object(), *sites = json_object_new_array();
	size_t shown = 0, unchanged = 0;
	int rc;

	ADD(root, "a", json_object_new_string(a->path));
	ADD(root, "b", json_object_new_string(b->path));
	ADD(root, "a_kind", json_object_new_string(a->kind));
	ADD(root, "b_kind", json_object_new_string(b->kind));
	ADD(tot, "allocs_a", json_object_new_int64(t->allocs[0]));
	ADD(tot, "allocs_b", json_object_new_int64(t->allocs[1]));
	ADD(tot, "delta_allocs", json_object_new_int64(t->allocs[1] - t->allocs[0]));
	ADD(tot, "delta_bytes", json_object_new_int64(t->bytes[1] - t->bytes[0]));
	ADD(tot, "delta_live_bytes", json_object_new_int64(t->live[1] - t->live[0]));
	ADD(root, "totals", tot);
	for (size_t i = 0; i < n; i++) {
		if (!changed(&d[i]))
			unchanged++;
		else if (!top || shown++ < top)
			json_object_array_add(sites, json_site(&d[i]));
	}
	ADD(root, "sites", sites);
	ADD(root, "unchanged_sites", json_object_new_uint64(unchanged));
	rc = fprintf(out, "%s\n", json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN |
								   JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(root);
	return rc < 0 ? -1 : 0;
}

static void text_site(FILE *out, const struct at_run_delta *d)
{
	const struct at_run_site *s = d->a ? d->a : d->b;

	fprintf(out, "%+12lld %+14lld %+14lld  ", (long long)d->d_allocs, (long long)d->d_alloc_bytes,
		(long long)d->d_live_bytes);
	for (int i = 0; i < s->nr_frames && i < 4; i++)
		fprintf(out, "%s%s", i ? " <- " : "", s->frames[i]);
	fprintf(out, "%s%s\n", s->nr_frames > 4 ? " <- ..." : "", !d->a ? "  (new)" : !d->b ? "  (gone)" : "");
}

static void print_text(FILE *out, const struct at_run *a, const struct at_run *b, const struct totals *t,
		       const struct at_run_delta *d, size_t n, size_t top)
{
	size_t shown = 0;

	fprintf(out, "alloctop diff: %s (%s) -> %s (%s)\n", a->path, a->kind, b->path, b->kind);
	fprintf(out, "  allocs %lld -> %lld (%+lld)  bytes %lld -> %lld (%+lld)  live bytes %lld -> %lld (%+lld)\n",
		(long long)t->allocs[0], (long long)t->allocs[1], (long long)(t->allocs[1] - t->allocs[0]),
		(long long)t->bytes[0], (long long)t->bytes[1], (long long)(t->bytes[1] - t->bytes[0]),
		(long long)t->live[0], (long long)t->live[1], (long long)(t->live[1] - t->live[0]));
	fprintf(out, "%12s %14s %14s  %s\n", "d_allocs", "d_bytes", "d_live_bytes", "site (leaf <- callers)");
	for (size_t i = 0; i < n && (!top || shown < top); i++)
		if (changed(&d[i])) {
			text_site(out, &d[i]);
			shown++;
		}
	if (!shown)
		fprintf(out, "  no site changed\n");
}

int at_report_diff(FILE *out, const struct at_run *a, const struct at_run *b, bool json, size_t top)
{
	struct totals t = { 0 };
	size_t n;
	struct at_run_delta *d = at_run_diff(a, b, &n);
	int rc = 0;

	sum(a, 0, &t);
	sum(b, 1, &t);
	if (json)
		rc = print_json(out, a, b, &t, d, n, top);
	else
		print_text(out, a, b, &t, d, n, top);
	free(d);
	return rc || ferror(out) || fflush(out) ? -1 : 0;
}
