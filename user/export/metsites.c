#include "export/metsites.h"
#include "lib/hash.h"
#include "lib/util.h"

#include <stdlib.h>
#include <string.h>

struct at_metsites {
	int max_named;
	struct at_metsite_row *rows;	/* max_named + 1: the last one is "other" */
	int nr_named;
	struct at_hash ids;		/* hash of "caller\0module" -> row index + 1 */
};

struct at_metsites *at_metsites__new(int max_named)
{
	struct at_metsites *ms = at_xcalloc(1, sizeof(*ms));

	ms->max_named = max_named;
	ms->rows = at_xcalloc((size_t)max_named + 1, sizeof(*ms->rows));
	ms->rows[max_named].caller = at_xstrdup("other");
	ms->rows[max_named].module = at_xstrdup("");
	return ms;
}

void at_metsites__free(struct at_metsites *ms)
{
	if (!ms)
		return;
	for (int i = 0; i < ms->nr_named; i++) {
		free(ms->rows[i].caller);
		free(ms->rows[i].module);
	}
	free(ms->rows[ms->max_named].caller);
	free(ms->rows[ms->max_named].module);
	free(ms->rows);
	at_hash_clear(&ms->ids);
	free(ms);
}

static const char *base_name(const char *path)
{
	const char *s = path ? strrchr(path, '/') : NULL;

	return s ? s + 1 : path ? path : "";
}

/* The site's direct caller (the innermost function at the first frame, as the JSON's
 * frames[0]) and its module's base name. */
static void site_key(const struct at_report_ctx *c, const struct at_site_view *sv, char *caller, size_t csz,
		     char *module, size_t msz)
{
	const struct at_site_frames *sf = at_model_frames(c->model, sv->pid, sv->stack_id);
	const struct at_frame *f = sf && sf->nr ? &sf->f[0] : NULL;

	if (!f) {
		snprintf(caller, csz, "[unknown stack]");
		module[0] = 0;
		return;
	}
	at_frame_name(f, caller, (unsigned int)csz);
	snprintf(module, msz, "%s", base_name(f->module));
}

static struct at_metsite_row *row_of(struct at_metsites *ms, const char *caller, const char *module)
{
	size_t sz = strlen(caller) + strlen(module) + 2;
	char *key = at_xcalloc(sz, 1);
	struct at_metsite_row *r;
	__u64 k1, k2;
	void *p;

	snprintf(key, sz, "%s\x01%s", caller, module);	/* \x01 is in no name */
	at_hash_str(key, &k1, &k2);
	free(key);
	p = at_hash_get(&ms->ids, k1, k2);
	if (p)
		return &ms->rows[(uintptr_t)p - 1];
	if (ms->nr_named == ms->max_named)
		return &ms->rows[ms->max_named];	/* "other" */
	r = &ms->rows[ms->nr_named++];
	r->caller = at_xstrdup(caller);
	r->module = at_xstrdup(module);
	at_hash_put(&ms->ids, k1, k2, (void *)(uintptr_t)ms->nr_named);
	return r;
}

void at_metsites__update(struct at_metsites *ms, const struct at_report_ctx *c)
{
	const struct at_site_view **sites;
	size_t n = 0;

	for (int i = 0; i <= ms->max_named; i++) {
		struct at_metsite_row *r = &ms->rows[i];

		r->allocs = r->alloc_bytes = r->frees = r->free_bytes = 0;
		r->live_allocs = r->live_bytes = 0;
	}
	/* the biggest first: while slots remain, they go to the top sites */
	sites = at_model_top_sites(c->model, AT_SORT_ALLOC_BYTES, 0, &n);
	for (size_t i = 0; i < n; i++) {
		const struct at_site_counts *s = &sites[i]->s;
		char caller[512], module[256];
		struct at_metsite_row *r;

		site_key(c, sites[i], caller, sizeof(caller), module, sizeof(module));
		r = row_of(ms, caller, module);
		r->allocs += s->allocs;
		r->alloc_bytes += s->alloc_bytes;
		r->frees += s->frees;
		r->free_bytes += s->free_bytes;
		r->live_allocs += s->live_allocs;
		r->live_bytes += s->live_bytes;
	}
	free(sites);
}

size_t at_metsites__rows(const struct at_metsites *ms, const struct at_metsite_row **named,
			const struct at_metsite_row **other)
{
	*named = ms->rows;
	*other = &ms->rows[ms->max_named];
	return (size_t)ms->nr_named;
}
