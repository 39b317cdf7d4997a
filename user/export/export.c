#include "export/export.h"
#include "export/agentlog.h"
#include "export/httpc.h"
#include "export/metrics.h"
#include "export/push.h"
#include "export/server.h"
#include "lib/util.h"

#include <stdlib.h>
#include <string.h>

struct at_export {
	const struct at_opts *o;
	struct at_server *srv;
	struct at_metrics *met;
	struct at_pusher *push[AT_NR_ENGINES];
	struct at_agentlog *log;
	double since;			/* Unix time the next pushed profile starts at */
	struct at_hash marks;		/* the sites' alloc counts at the last push */
	__u64 refreshes;
};

bool at_export_wanted(const struct at_opts *o)
{
	return o->listen || o->push_pyroscope || o->push_parca;
}

/* "k=v,k=v" into labels (the options checked the syntax). */
static size_t parse_labels(const char *s, struct at_label *out, size_t max)
{
	char *copy = at_xstrdup(s ? s : ""), *save = NULL, *tok;
	size_t n = 0;

	for (tok = strtok_r(copy, ",", &save); tok && n < max; tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');

		if (!eq)
			continue;
		*eq = 0;
		out[n].name = at_xstrdup(tok);
		out[n++].value = at_xstrdup(eq + 1);
	}
	free(copy);
	return n;
}

static int start_pushers(struct at_export *x)
{
	const char *urls[AT_NR_ENGINES] = { [AT_ENGINE_PYROSCOPE] = x->o->push_pyroscope,
					    [AT_ENGINE_PARCA] = x->o->push_parca };
	struct at_label labels[AT_MAX_LABELS];
	size_t n = parse_labels(x->o->labels, labels, AT_MAX_LABELS);
	int rc = 0;

	for (int e = 0; e < AT_NR_ENGINES && !rc; e++) {
		struct at_pusher_opts po = { .sz = sizeof(po), .engine = e, .url = urls[e], .app = x->o->app,
					     .labels = labels, .nr_labels = n };

		if (urls[e] && !(x->push[e] = at_pusher__new(&po)))
			rc = -1;
	}
	for (size_t i = 0; i < n; i++) {
		free(labels[i].name);
		free(labels[i].value);
	}
	return rc;
}

struct at_export *at_export__new(const struct at_opts *o)
{
	struct at_export *x = at_xcalloc(1, sizeof(*x));

	x->o = o;
	x->since = at_now_real();
	x->met = at_metrics__new(o->site_series);
	if (o->listen && !(x->srv = at_server__new(o->listen))) {
		at_export__free(x);
		return NULL;
	}
	if (start_pushers(x)) {
		at_export__free(x);
		return NULL;
	}
	if (o->agent || ((o->push_pyroscope || o->push_parca) && o->output != AT_OUT_TUI))
		x->log = at_agentlog__new(o);
	return x;
}

void at_export__free(struct at_export *x)
{
	if (!x)
		return;
	at_server__free(x->srv);
	for (int e = 0; e < AT_NR_ENGINES; e++)
		at_pusher__free(x->push[e]);
	at_metrics__free(x->met);
	at_agentlog__free(x->log);
	at_hash_free_all(&x->marks);
	free(x);
}

/* The exposition in one format, in a new buffer. */
static char *render(struct at_export *x, const struct at_report_ctx *c, const struct at_push_stats *const *ps,
		    bool om, size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);

	if (!f)
		return NULL;
	at_metrics__write(x->met, c, ps, f, om);
	fclose(f);
	return buf;
}

/* The engines get what was allocated since the previous push (and what is live now),
 * as Go's profilers push: an engine sums the profiles of a time range. */
static void push(struct at_export *x, const struct at_report_ctx *c, double now)
{
	uint8_t *gz;
	size_t len;

	if (at_report_pprof_gz_delta(c, &x->marks, x->since, &gz, &len))
		return;
	for (int e = 0; e < AT_NR_ENGINES; e++)
		if (x->push[e])
			at_pusher__submit(x->push[e], gz, len, x->since, now);
	x->since = now;
	free(gz);
}

void at_export__refresh(struct at_export *x, const struct at_report_ctx *c)
{
	struct at_push_stats st[AT_NR_ENGINES];
	const struct at_push_stats *ps[AT_NR_ENGINES] = { NULL };
	char errs[AT_NR_ENGINES][256] = { "" };
	struct at_bodies b = {};
	double now = at_now_real();

	x->refreshes++;
	for (int e = 0; e < AT_NR_ENGINES; e++)
		if (x->push[e]) {
			at_pusher__stats(x->push[e], &st[e], errs[e], sizeof(errs[e]));
			ps[e] = &st[e];
		}
	if (x->srv) {
		at_metrics__update(x->met, c);
		b.prom = render(x, c, ps, false, &b.prom_len);
		b.om = render(x, c, ps, true, &b.om_len);
	}
	if (x->srv && at_report_pprof_gz(c, &b.pprof, &b.pprof_len))
		b.pprof_len = 0;	/* served empty */
	if (x->push[AT_ENGINE_PYROSCOPE] || x->push[AT_ENGINE_PARCA])
		push(x, c, now);
	if (x->srv)
		at_server__publish(x->srv, &b);	/* takes the buffers */
	if (x->log)
		at_agentlog__refresh(x->log, c, ps, errs);
}
