#include "export/agentlog.h"
#include "lib/hash.h"
#include "lib/names.h"
#include "lib/util.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct at_agentlog {
	bool all;			/* --agent: every event; else the pushes' only */
	struct at_hash procs;		/* pid -> its comm (malloc'd): the processes listed */
	__u64 drops[AT_NR_DROPS];
	bool failing[AT_NR_ENGINES];
	__u64 dropped[AT_NR_ENGINES];
};

static void logline(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void logline(const char *fmt, ...)
{
	char ts[32];
	time_t now = time(NULL);
	struct tm tm;
	va_list ap;

	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
	fprintf(stderr, "%s alloctop: ", ts);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

struct at_agentlog *at_agentlog__new(const struct at_opts *o)
{
	struct at_agentlog *l = at_xcalloc(1, sizeof(*l));

	l->all = o->agent;
	return l;
}

void at_agentlog__free(struct at_agentlog *l)
{
	if (!l)
		return;
	at_hash_free_all(&l->procs);
	free(l);
}

static void log_procs(struct at_agentlog *l, const struct at_snapshot *snap)
{
	__u64 *gone = at_xcalloc(l->procs.len + 1, sizeof(*gone));
	struct at_hash_ent *e;
	size_t n = 0;

	for (size_t i = 0; i < snap->nr_procs; i++) {
		const struct at_proc_view *p = &snap->procs[i];
		const char *comm = p->target && p->target->comm[0] ? p->target->comm : "?";

		if (at_hash_get(&l->procs, (__u64)p->pid, 0))
			continue;
		at_hash_put(&l->procs, (__u64)p->pid, 0, at_xstrdup(comm));
		logline("tracing pid %d (%s)", p->pid, comm);
	}
	at_hash_for_each(&l->procs, e)
		if (!at_snapshot_proc(snap, (int)e->k1))
			gone[n++] = e->k1;
	for (size_t i = 0; i < n; i++) {
		char *comm = at_hash_del(&l->procs, gone[i], 0);

		logline("pid %d (%s) is gone", (int)gone[i], comm);
		free(comm);
	}
	free(gone);
}

static void log_pushes(struct at_agentlog *l, const struct at_push_stats *const ps[AT_NR_ENGINES],
		       char errs[AT_NR_ENGINES][256])
{
	for (int e = 0; e < AT_NR_ENGINES; e++) {
		bool failing;

		if (!ps[e])
			continue;
		failing = errs[e][0] != 0;
		if (failing && !l->failing[e])
			logline("push to %s failing: %s (retrying with backoff)", at_engine_name(e), errs[e]);
		else if (!failing && l->failing[e])
			logline("push to %s works again (%llu profiles sent)", at_engine_name(e),
				(unsigned long long)ps[e]->sent);
		if (ps[e]->dropped > l->dropped[e])
			logline("push to %s: %llu profile(s) given up, %llu so far", at_engine_name(e),
				(unsigned long long)(ps[e]->dropped - l->dropped[e]),
				(unsigned long long)ps[e]->dropped);
		l->failing[e] = failing;
		l->dropped[e] = ps[e]->dropped;
	}
}

void at_agentlog__refresh(struct at_agentlog *l, const struct at_report_ctx *c,
			  const struct at_push_stats *const ps[AT_NR_ENGINES], char errs[AT_NR_ENGINES][256])
{
	const struct at_snapshot *snap = at_model_cur(c->model);

	log_pushes(l, ps, errs);
	if (!l->all)
		return;
	log_procs(l, snap);
	for (int d = 0; d < AT_NR_DROPS; d++) {
		if (snap->drops[d] > l->drops[d])
			logline("%llu event(s) dropped (%s), %llu so far", (unsigned long long)(snap->drops[d] - l->drops[d]),
				at_drop_name(d), (unsigned long long)snap->drops[d]);
		l->drops[d] = snap->drops[d];
	}
}
