/* Metric names follow Prometheus's conventions: base units (bytes, seconds), counters
 * ending in _total, ratios in _ratio. OpenMetrics differs only in its TYPE and HELP
 * lines naming a counter without _total, and its closing "# EOF". */
#include "export/metrics.h"
#include "export/metsites.h"
#include "lib/hash.h"
#include "lib/hist.h"
#include "lib/names.h"
#include "lib/utf8.h"
#include "lib/util.h"

#include <stdlib.h>
#include <string.h>

struct at_metrics {
	struct at_metsites *sites;
	struct at_hash cgroups;		/* pid -> its cgroup path (malloc'd) */
};

struct at_metrics *at_metrics__new(int max_sites)
{
	struct at_metrics *m = at_xcalloc(1, sizeof(*m));

	m->sites = at_metsites__new(max_sites);
	return m;
}

void at_metrics__free(struct at_metrics *m)
{
	if (!m)
		return;
	at_metsites__free(m->sites);
	at_hash_free_all(&m->cgroups);
	free(m);
}

const char *at_engine_name(enum at_engine e)
{
	return e == AT_ENGINE_PYROSCOPE ? "pyroscope" : e == AT_ENGINE_PARCA ? "parca" : "?";
}

/* The cgroup v2 path of a process ("0::/system.slice/x.service"), "" when unknown. */
static char *read_cgroup(int pid)
{
	char path[64], line[1024], *out = NULL;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/cgroup", pid);
	f = fopen(path, "re");
	while (f && !out && fgets(line, sizeof(line), f)) {
		if (strncmp(line, "0::", 3))
			continue;
		line[strcspn(line, "\n")] = 0;
		out = at_xstrdup(line + 3);
	}
	if (f)
		fclose(f);
	return out ? out : at_xstrdup("");
}

void at_metrics__update(struct at_metrics *m, const struct at_report_ctx *c)
{
	const struct at_snapshot *snap = at_model_cur(c->model);
	struct at_hash_ent *e;
	__u64 *gone = at_xcalloc(m->cgroups.len + 1, sizeof(*gone));
	size_t nr_gone = 0;

	/* forget the processes no longer listed (after the walk: a delete moves entries),
	 * read the new ones' cgroups once */
	at_hash_for_each(&m->cgroups, e)
		if (!at_snapshot_proc(snap, (int)e->k1))
			gone[nr_gone++] = e->k1;
	for (size_t i = 0; i < nr_gone; i++)
		free(at_hash_del(&m->cgroups, gone[i], 0));
	free(gone);
	for (size_t i = 0; i < snap->nr_procs; i++) {
		int pid = snap->procs[i].pid;

		if (!at_hash_get(&m->cgroups, (__u64)pid, 0))
			at_hash_put(&m->cgroups, (__u64)pid, 0, read_cgroup(pid));
	}
	at_metsites__update(m->sites, c);
}

/* A label value, escaped as both formats want (\\, \", \n) and valid UTF-8. */
static void put_value(FILE *out, const char *v)
{
	char clean[1024];

	for (const char *p = at_utf8_clean(v ? v : "", clean, sizeof(clean)); *p; p++) {
		if (*p == '\\' || *p == '"')
			fputc('\\', out), fputc(*p, out);
		else if (*p == '\n')
			fputs("\\n", out);
		else
			fputc(*p, out);
	}
}

/* One family's HELP and TYPE lines. name is the sample name; an OpenMetrics counter's
 * family drops its _total. */
static void family(FILE *out, bool om, const char *name, const char *type, const char *help)
{
	size_t n = strlen(name);

	if (om && !strcmp(type, "counter") && n > 6 && !strcmp(name + n - 6, "_total"))
		n -= 6;
	fprintf(out, "# HELP %.*s %s\n# TYPE %.*s %s\n", (int)n, name, help, (int)n, name, type);
}

struct proc_labels {
	int pid;
	const char *comm, *cgroup;
};

static void put_proc(FILE *out, const struct proc_labels *l, const char *extra)
{
	fprintf(out, "{pid=\"%d\",comm=\"", l->pid);
	put_value(out, l->comm);
	fputs("\",cgroup=\"", out);
	put_value(out, l->cgroup);
	fprintf(out, "\"%s}", extra ? extra : "");
}

static struct proc_labels labels_of(const struct at_metrics *m, const struct at_proc_view *p)
{
	const char *cg = at_hash_get(&m->cgroups, (__u64)p->pid, 0);

	return (struct proc_labels){ p->pid, p->target && p->target->comm[0] ? p->target->comm : "?",
				     cg ? cg : "" };
}

/* Per-process scalars: one family each. */
enum pm { PM_ALLOCS, PM_FREES, PM_ALLOC_BYTES, PM_FREE_BYTES, PM_LIVE_BYTES, PM_LIVE_ALLOCS,
	  PM_FRAG, PM_PROBE_SECONDS, PM_PROBE_SHARE, PM_SLOWDOWN, PM_NR };

static const struct {
	const char *name, *type, *help;
} pm_defs[PM_NR] = {
	[PM_ALLOCS] = { "alloctop_allocs_total", "counter", "Allocations since attach (malloc family, incl. reallocs)" },
	[PM_FREES] = { "alloctop_frees_total", "counter", "Frees of blocks allocated while traced" },
	[PM_ALLOC_BYTES] = { "alloctop_alloc_bytes_total", "counter", "Bytes allocated since attach" },
	[PM_FREE_BYTES] = { "alloctop_free_bytes_total", "counter", "Bytes freed since attach" },
	[PM_LIVE_BYTES] = { "alloctop_live_bytes", "gauge", "Bytes allocated while traced and not yet freed" },
	[PM_LIVE_ALLOCS] = { "alloctop_live_allocs", "gauge", "Blocks allocated while traced and not yet freed" },
	[PM_FRAG] = { "alloctop_heap_fragmentation_ratio", "gauge",
		      "Free bytes inside the heap over the heap's resident bytes, at the last heap pass" },
	[PM_PROBE_SECONDS] = { "alloctop_probe_cpu_seconds_total", "counter",
			       "CPU time alloctop's probes took from the process (measured cost x calls)" },
	[PM_PROBE_SHARE] = { "alloctop_probe_cpu_ratio", "gauge",
			     "Share of the process's CPU time its probes took over the last interval" },
	[PM_SLOWDOWN] = { "alloctop_probe_slowdown_ratio", "gauge",
			  "How much longer the process's work took over the last interval because of the probes" },
};

/* false when the process has no such value now (no heap pass, no CPU time read yet) */
static bool pm_value(const struct at_report_ctx *c, const struct at_proc_view *p, enum pm k, double *v)
{
	const struct at_heap_proc *hp;

	switch (k) {
	case PM_ALLOCS: *v = (double)p->s.allocs; return true;
	case PM_FREES: *v = (double)p->s.frees; return true;
	case PM_ALLOC_BYTES: *v = (double)p->s.alloc_bytes; return true;
	case PM_FREE_BYTES: *v = (double)p->s.free_bytes; return true;
	case PM_LIVE_BYTES: *v = (double)p->s.live_bytes; return true;
	case PM_LIVE_ALLOCS: *v = (double)p->s.live_allocs; return true;
	case PM_FRAG:
		hp = at_model_heap_proc(c->model, p->pid);
		*v = hp ? hp->frag.ratio : 0;
		return hp != NULL;
	case PM_PROBE_SECONDS: *v = p->ov.probe_ns / 1e9; return p->ov.known;
	case PM_PROBE_SHARE: *v = p->ov.cpu_share; return p->ov.cpu_known;
	case PM_SLOWDOWN: *v = p->ov.slowdown; return p->ov.cpu_known && p->ov.slowdown > 0;
	default: return false;
	}
}

/* Whole numbers exactly (counts up to 2^64), others with 17 digits. */
static void put_number(FILE *out, double v, bool whole, __u64 exact)
{
	if (whole)
		fprintf(out, " %llu\n", (unsigned long long)exact);
	else
		fprintf(out, " %.17g\n", v);
}

static __s64 pm_exact(const struct at_proc_view *p, enum pm k)
{
	switch (k) {
	case PM_ALLOCS: return (__s64)p->s.allocs;
	case PM_FREES: return (__s64)p->s.frees;
	case PM_ALLOC_BYTES: return (__s64)p->s.alloc_bytes;
	case PM_FREE_BYTES: return (__s64)p->s.free_bytes;
	case PM_LIVE_BYTES: return p->s.live_bytes;
	case PM_LIVE_ALLOCS: return p->s.live_allocs;
	default: return 0;
	}
}

static void write_proc_scalars(const struct at_metrics *m, const struct at_report_ctx *c, FILE *out, bool om)
{
	const struct at_snapshot *snap = at_model_cur(c->model);

	for (int k = 0; k < PM_NR; k++) {
		bool whole = k <= PM_LIVE_ALLOCS;

		family(out, om, pm_defs[k].name, pm_defs[k].type, pm_defs[k].help);
		for (size_t i = 0; i < snap->nr_procs; i++) {
			const struct at_proc_view *p = &snap->procs[i];
			struct proc_labels l = labels_of(m, p);
			double v;

			if (!pm_value(c, p, (enum pm)k, &v))
				continue;
			fputs(pm_defs[k].name, out);
			put_proc(out, &l, NULL);
			if (whole && pm_exact(p, (enum pm)k) < 0)	/* a gauge read mid-update */
				fprintf(out, " %lld\n", (long long)pm_exact(p, (enum pm)k));
			else
				put_number(out, v, whole, (__u64)pm_exact(p, (enum pm)k));
		}
	}
}

struct hist {
	const char *name;
	const __u64 *counts;
	unsigned int nr;
	bool seconds;		/* nanoseconds shown as seconds */
	bool has_sum;
	__u64 sum;
};

/* The cumulative buckets (the last log2 bucket is open-ended: +Inf), _count and _sum. */
static void write_hist(FILE *out, const struct proc_labels *l, const struct hist *h)
{
	__u64 cum = 0;

	for (unsigned int b = 0; b < h->nr; b++) {
		unsigned long long hi = at_hist_hi(b, h->nr);
		char le[64];

		cum += h->counts[b];
		/* the inclusive upper bound, exactly (nanoseconds written as seconds) */
		if (b + 1 == h->nr)
			snprintf(le, sizeof(le), ",le=\"+Inf\"");
		else if (h->seconds)
			snprintf(le, sizeof(le), ",le=\"%llu.%09llu\"", hi / 1000000000ull, hi % 1000000000ull);
		else
			snprintf(le, sizeof(le), ",le=\"%llu\"", hi);
		fprintf(out, "%s_bucket", h->name);
		put_proc(out, l, le);
		fprintf(out, " %llu\n", (unsigned long long)cum);
	}
	fprintf(out, "%s_count", h->name);
	put_proc(out, l, NULL);
	fprintf(out, " %llu\n", (unsigned long long)cum);
	if (h->has_sum) {
		fprintf(out, "%s_sum", h->name);
		put_proc(out, l, NULL);
		fprintf(out, " %llu\n", (unsigned long long)h->sum);
	}
}

static void write_proc_hists(const struct at_metrics *m, const struct at_report_ctx *c, FILE *out, bool om)
{
	const struct at_snapshot *snap = at_model_cur(c->model);

	family(out, om, "alloctop_allocation_size_bytes", "histogram",
	       "Requested sizes of the allocations since attach (log2 buckets)");
	for (size_t i = 0; i < snap->nr_procs; i++) {
		const struct at_proc_view *p = &snap->procs[i];
		struct proc_labels l = labels_of(m, p);
		struct hist h = { "alloctop_allocation_size_bytes", p->s.size_count, AT_SIZE_BUCKETS, false, true, 0 };

		for (unsigned int b = 0; b < AT_SIZE_BUCKETS; b++)
			h.sum += p->s.size_bytes[b];
		write_hist(out, &l, &h);
	}
	/* lifetimes are kept in buckets only: no _sum */
	family(out, om, "alloctop_allocation_lifetime_seconds", "histogram",
	       "How long the freed blocks lived, allocation to free (log2 buckets; no _sum)");
	for (size_t i = 0; i < snap->nr_procs; i++) {
		const struct at_proc_view *p = &snap->procs[i];
		struct proc_labels l = labels_of(m, p);
		struct hist h = { "alloctop_allocation_lifetime_seconds", p->s.lifetime, AT_LT_BUCKETS, true, false, 0 };

		write_hist(out, &l, &h);
	}
}

static void put_site(FILE *out, const char *name, const struct at_metsite_row *r, __s64 v)
{
	fprintf(out, "%s{caller=\"", name);
	put_value(out, r->caller);
	fputs("\",module=\"", out);
	put_value(out, r->module);
	fprintf(out, "\"} %lld\n", (long long)v);
}

static void write_sites(const struct at_metrics *m, FILE *out, bool om)
{
	static const struct {
		const char *name, *type, *help;
	} defs[] = {
		{ "alloctop_site_allocs_total", "counter", "Allocations by direct caller and module (the rest as other)" },
		{ "alloctop_site_alloc_bytes_total", "counter", "Bytes allocated by direct caller and module" },
		{ "alloctop_site_frees_total", "counter", "Frees of blocks allocated by direct caller and module" },
		{ "alloctop_site_live_bytes", "gauge", "Bytes not yet freed by direct caller and module" },
	};
	const struct at_metsite_row *named, *other;
	size_t n = at_metsites__rows(m->sites, &named, &other);

	for (size_t k = 0; k < AT_ARRAY_SIZE(defs); k++) {
		family(out, om, defs[k].name, defs[k].type, defs[k].help);
		for (size_t i = 0; i <= n; i++) {
			const struct at_metsite_row *r = i < n ? &named[i] : other;
			__s64 v = k == 0 ? (__s64)r->allocs : k == 1 ? (__s64)r->alloc_bytes :
				  k == 2 ? (__s64)r->frees : r->live_bytes;

			put_site(out, defs[k].name, r, v);
		}
	}
}

static void write_globals(const struct at_report_ctx *c, const struct at_push_stats *const push[AT_NR_ENGINES],
			  FILE *out, bool om)
{
	const struct at_snapshot *snap = at_model_cur(c->model);
	double duty = at_model_duty(c->model);

	family(out, om, "alloctop_duty_cycle_ratio", "gauge",
	       "Share of the time the allocation probes were attached (1: every call counted)");
	fprintf(out, "alloctop_duty_cycle_ratio %.17g\n", duty);
	family(out, om, "alloctop_estimated", "gauge", "1 when the counts are scaled estimates (--max-overhead)");
	fprintf(out, "alloctop_estimated %d\n", at_model_max_overhead(c->model) > 0);
	family(out, om, "alloctop_dropped_events_total", "counter", "Events the kernel side could not record");
	for (int d = 0; d < AT_NR_DROPS; d++)
		fprintf(out, "alloctop_dropped_events_total{reason=\"%s\"} %llu\n", at_drop_name(d),
			(unsigned long long)snap->drops[d]);
	family(out, om, "alloctop_processes", "gauge", "Processes traced and listed");
	fprintf(out, "alloctop_processes %zu\n", snap->nr_procs);
	family(out, om, "alloctop_refresh_timestamp_seconds", "gauge", "When these figures were read (Unix time)");
	fprintf(out, "alloctop_refresh_timestamp_seconds %.3f\n", at_now_real());
	if (!push)
		return;
	family(out, om, "alloctop_pushes_total", "counter",
	       "Profile pushes: sent (accepted), failed (attempts), dropped (given up)");
	for (int e = 0; e < AT_NR_ENGINES; e++) {
		if (!push[e])
			continue;
		fprintf(out, "alloctop_pushes_total{engine=\"%s\",result=\"sent\"} %llu\n", at_engine_name(e),
			(unsigned long long)push[e]->sent);
		fprintf(out, "alloctop_pushes_total{engine=\"%s\",result=\"failed\"} %llu\n", at_engine_name(e),
			(unsigned long long)push[e]->failed);
		fprintf(out, "alloctop_pushes_total{engine=\"%s\",result=\"dropped\"} %llu\n", at_engine_name(e),
			(unsigned long long)push[e]->dropped);
	}
}

int at_metrics__write(const struct at_metrics *m, const struct at_report_ctx *c,
		      const struct at_push_stats *const push[AT_NR_ENGINES], FILE *out, bool openmetrics)
{
	write_globals(c, push, out, openmetrics);
	write_proc_scalars(m, c, out, openmetrics);
	write_proc_hists(m, c, out, openmetrics);
	write_sites(m, out, openmetrics);
	if (openmetrics)
		fputs("# EOF\n", out);
	return ferror(out) ? -1 : 0;
}
