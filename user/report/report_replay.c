#include "report/report_replay.h"
#include "lib/hist.h"
#include "lib/util.h"

#include <stdlib.h>

static int by_bytes(const void *x, const void *y)
{
	const struct at_run_site *a = *(const struct at_run_site *const *)x, *b = *(const struct at_run_site *const *)y;

	return a->alloc_bytes < b->alloc_bytes ? 1 : a->alloc_bytes > b->alloc_bytes ? -1 : 0;
}

static void proc_line(FILE *out, const struct at_run_proc *p)
{
	char ab[16], lb[16], pb[16];

	fprintf(out, "%-8d %-16s %s\n", p->pid, p->comm, p->exited ? "(exited)" : "");
	fprintf(out, "  allocs %lld (%s)  frees %lld  live %lld blocks, %s\n", (long long)p->allocs,
		at_fmt_bytes(p->alloc_bytes > 0 ? (__u64)p->alloc_bytes : 0, ab, sizeof(ab)), (long long)p->frees,
		(long long)p->live_allocs, at_fmt_bytes(p->live_bytes > 0 ? (__u64)p->live_bytes : 0, lb, sizeof(lb)));
	if (p->peak_bytes >= 0)
		fprintf(out, "  peak live %s at %.2fs\n", at_fmt_bytes((__u64)p->peak_bytes, pb, sizeof(pb)), p->peak_t);
}

int at_report_replay_text(FILE *out, const struct at_run *r, size_t top)
{
	const struct at_run_site **v = at_xcalloc(r->nr_sites + 1, sizeof(*v));
	size_t n = r->nr_sites < top ? r->nr_sites : top;
	char ab[16], lb[16];

	fprintf(out, "=== recorded report  elapsed %.1fs%s\n", r->elapsed_s, r->final ? "  (final)" : "");
	for (size_t i = 0; i < r->nr_procs; i++)
		proc_line(out, &r->procs[i]);
	for (size_t i = 0; i < r->nr_sites; i++)
		v[i] = &r->sites[i];
	qsort(v, r->nr_sites, sizeof(*v), by_bytes);
	if (n)
		fprintf(out, "sites by alloc-bytes (%zu of %zu):\n", n, r->nr_sites);
	for (size_t i = 0; i < n; i++) {
		fprintf(out, "#%-3zu allocs %lld  bytes %s  live %lld (%s)\n", i + 1, (long long)v[i]->allocs,
			at_fmt_bytes(v[i]->alloc_bytes > 0 ? (__u64)v[i]->alloc_bytes : 0, ab, sizeof(ab)),
			(long long)v[i]->live_allocs,
			at_fmt_bytes(v[i]->live_bytes > 0 ? (__u64)v[i]->live_bytes : 0, lb, sizeof(lb)));
		for (int j = 0; j < v[i]->nr_frames; j++)
			fprintf(out, "      %s\n", v[i]->frames[j]);
	}
	fputc('\n', out);
	free(v);
	return ferror(out) || fflush(out) ? -1 : 0;
}
