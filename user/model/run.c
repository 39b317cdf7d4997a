#include "model/run.h"
#include "lib/util.h"
#include "pprof/profile.pb-c.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* The whole file, inflated if gzipped (zlib reads plain files as they are). */
static char *slurp(const char *path, size_t *len)
{
	gzFile f = gzopen(path, "rb");
	size_t cap = 1 << 16, n = 0;
	char *buf;
	int r;

	if (!f)
		return NULL;
	buf = at_xcalloc(1, cap + 1);
	while ((r = gzread(f, buf + n, (unsigned int)(cap - n))) > 0) {
		n += (size_t)r;
		if (n == cap) {
			cap *= 2;
			buf = at_xrealloc(buf, cap + 1, 1);
		}
	}
	gzclose(f);
	if (r < 0) {
		free(buf);
		return NULL;
	}
	buf[n] = 0;
	*len = n;
	return buf;
}

/* The site of these frames, made if new. */
static struct at_run_site *site_of(struct at_run *r, char **frames, int n)
{
	size_t len = 1;
	struct at_run_site *s;
	__u64 k1, k2;
	char *key;
	void *idx;

	for (int i = 0; i < n; i++)
		len += strlen(frames[i]) + 1;
	key = at_xcalloc(1, len);
	for (int i = 0; i < n; i++) {
		strcat(key, frames[i]);
		if (i + 1 < n)
			strcat(key, ";");
	}
	at_hash_str(key, &k1, &k2);
	if ((idx = at_hash_get(&r->by_key, k1, k2))) {
		free(key);
		for (int i = 0; i < n; i++)
			free(frames[i]);
		free(frames);
		return &r->sites[(size_t)idx - 1];
	}
	if (r->nr_sites == r->cap_sites) {
		r->cap_sites = r->cap_sites ? 2 * r->cap_sites : 64;
		r->sites = at_xrealloc(r->sites, r->cap_sites, sizeof(*r->sites));
	}
	s = &r->sites[r->nr_sites++];
	memset(s, 0, sizeof(*s));
	s->key = key;
	s->frames = frames;
	s->nr_frames = n;
	at_hash_put(&r->by_key, k1, k2, (void *)r->nr_sites);
	return s;
}

static __s64 jint(json_object *o, const char *k)
{
	json_object *v;

	return json_object_object_get_ex(o, k, &v) ? json_object_get_int64(v) : 0;
}

/* A frame's name: its function, else its module (an address alone differs per run). */
static char *frame_name(json_object *f)
{
	json_object *sym, *mod;
	const char *s = json_object_object_get_ex(f, "symbol", &sym) ? json_object_get_string(sym) : NULL;
	char buf[512];

	if (s)
		return at_xstrdup(s);
	s = json_object_object_get_ex(f, "module", &mod) ? json_object_get_string(mod) : NULL;
	snprintf(buf, sizeof(buf), "[%s]", s && strrchr(s, '/') ? strrchr(s, '/') + 1 : s ? s : "unknown");
	return at_xstrdup(buf);
}

static void json_site(struct at_run *r, json_object *h)
{
	json_object *fr;
	int n = json_object_object_get_ex(h, "frames", &fr) ? (int)json_object_array_length(fr) : 0;
	char **frames = at_xcalloc(n ? n : 1, sizeof(char *));
	struct at_run_site *s;

	for (int i = 0; i < n; i++)
		frames[i] = frame_name(json_object_array_get_idx(fr, i));
	s = site_of(r, frames, n);
	s->allocs += jint(h, "allocs");
	s->alloc_bytes += jint(h, "alloc_bytes");
	s->live_allocs += jint(h, "live_allocs");
	s->live_bytes += jint(h, "live_bytes");
}

static void json_proc(struct at_run *r, json_object *p)
{
	struct at_run_proc *d;
	json_object *v, *pk;

	r->procs = at_xrealloc(r->procs, r->nr_procs + 1, sizeof(*r->procs));
	d = &r->procs[r->nr_procs++];
	memset(d, 0, sizeof(*d));
	d->pid = (int)jint(p, "pid");
	if (json_object_object_get_ex(p, "comm", &v))
		snprintf(d->comm, sizeof(d->comm), "%s", json_object_get_string(v));
	d->exited = json_object_object_get_ex(p, "exited", &v) && json_object_get_boolean(v);
	d->allocs = jint(p, "allocs");
	d->frees = jint(p, "frees");
	d->alloc_bytes = jint(p, "alloc_bytes");
	d->live_allocs = jint(p, "live_allocs");
	d->live_bytes = jint(p, "live_bytes");
	d->peak_bytes = -1;
	if (json_object_object_get_ex(p, "peak", &pk) && pk) {
		d->peak_bytes = jint(pk, "live_bytes");
		d->peak_t = json_object_object_get_ex(pk, "t", &v) ? json_object_get_double(v) : 0;
	}
}

static void load_doc(struct at_run *r, json_object *doc)
{
	json_object *hot, *procs, *v;

	r->elapsed_s = json_object_object_get_ex(doc, "elapsed_s", &v) ? json_object_get_double(v) : 0;
	r->final = json_object_object_get_ex(doc, "final", &v) && json_object_get_boolean(v);
	if (json_object_object_get_ex(doc, "processes", &procs))
		for (size_t i = 0; i < json_object_array_length(procs); i++)
			json_proc(r, json_object_array_get_idx(procs, i));
	json_object_object_get_ex(doc, "hotspots", &hot);
	for (size_t i = 0; i < json_object_array_length(hot); i++)
		json_site(r, json_object_array_get_idx(hot, i));
	r->kind = "alloctop";
}

int at_run_parse_doc(struct at_run *r, const char *line, const char *label)
{
	json_object *o = json_tokener_parse(line), *hot;

	memset(r, 0, sizeof(*r));
	r->path = label;
	if (!o || !json_object_object_get_ex(o, "hotspots", &hot)) {
		json_object_put(o);
		return -1;
	}
	load_doc(r, o);
	json_object_put(o);
	return 0;
}

/* The last line of buf that is an alloctop document (it has "hotspots"). */
static int load_json(struct at_run *r, char *buf)
{
	json_object *last = NULL, *hot;

	for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
		json_object *o = json_tokener_parse(line);

		if (o && json_object_object_get_ex(o, "hotspots", &hot)) {
			json_object_put(last);
			last = o;
		} else {
			json_object_put(o);
		}
	}
	if (!last)
		return -1;
	load_doc(r, last);
	json_object_put(last);
	return 0;
}

static const char *pstr(const Perftools__Profiles__Profile *p, int64_t i)
{
	return i >= 0 && (size_t)i < p->n_string_table ? p->string_table[i] : "";
}

/* The function names of a pprof location, inlined frames first (pprof's order). */
static int location_names(const Perftools__Profiles__Profile *p, struct at_hash *fn,
			  const Perftools__Profiles__Location *loc, char **out, int max)
{
	int n = 0;

	for (size_t i = 0; i < loc->n_line && n < max; i++) {
		const Perftools__Profiles__Function *f = at_hash_get(fn, (__u64)loc->line[i]->function_id, 0);

		out[n++] = at_xstrdup(f && *pstr(p, f->name) ? pstr(p, f->name) : "[unknown]");
	}
	if (!n && n < max) {
		char buf[32];

		snprintf(buf, sizeof(buf), "0x%llx", (unsigned long long)loc->address);
		out[n++] = at_xstrdup(buf);
	}
	return n;
}

#define AT_RUN_MAX_FRAMES 512

static void pprof_sample(struct at_run *r, const Perftools__Profiles__Profile *p, struct at_hash *locs,
			 struct at_hash *fns, const Perftools__Profiles__Sample *s, const int idx[4])
{
	char **frames = at_xcalloc(AT_RUN_MAX_FRAMES, sizeof(char *));
	struct at_run_site *site;
	__s64 *dst[4];
	int n = 0;

	for (size_t i = 0; i < s->n_location_id && n < AT_RUN_MAX_FRAMES; i++) {
		const Perftools__Profiles__Location *loc = at_hash_get(locs, s->location_id[i], 0);

		if (loc)
			n += location_names(p, fns, loc, frames + n, AT_RUN_MAX_FRAMES - n);
	}
	site = site_of(r, frames, n);
	dst[0] = &site->allocs, dst[1] = &site->alloc_bytes, dst[2] = &site->live_allocs, dst[3] = &site->live_bytes;
	for (int k = 0; k < 4; k++)
		if (idx[k] >= 0 && (size_t)idx[k] < s->n_value)
			*dst[k] += s->value[idx[k]];
}

static int load_pprof(struct at_run *r, const char *buf, size_t len)
{
	static const char *const types[4] = { "alloc_objects", "alloc_space", "inuse_objects", "inuse_space" };
	Perftools__Profiles__Profile *p = perftools__profiles__profile__unpack(NULL, len, (const uint8_t *)buf);
	struct at_hash locs = { 0 }, fns = { 0 };
	int idx[4] = { -1, -1, -1, -1 };

	if (!p || !p->n_sample_type) {	/* any bytes may parse as unknown fields */
		if (p)
			perftools__profiles__profile__free_unpacked(p, NULL);
		return -1;
	}
	for (size_t i = 0; i < p->n_sample_type; i++)
		for (int k = 0; k < 4; k++)
			if (!strcmp(pstr(p, p->sample_type[i]->type), types[k]))
				idx[k] = (int)i;
	for (size_t i = 0; i < p->n_location; i++)
		at_hash_put(&locs, p->location[i]->id, 0, p->location[i]);
	for (size_t i = 0; i < p->n_function; i++)
		at_hash_put(&fns, p->function[i]->id, 0, p->function[i]);
	for (size_t i = 0; i < p->n_sample; i++)
		pprof_sample(r, p, &locs, &fns, p->sample[i], idx);
	at_hash_clear(&locs);
	at_hash_clear(&fns);
	perftools__profiles__profile__free_unpacked(p, NULL);
	r->kind = "pprof";
	return 0;
}

int at_run_load(const char *path, struct at_run *r)
{
	size_t len = 0, i = 0;
	char *buf;
	int err;

	memset(r, 0, sizeof(*r));
	r->path = path;
	buf = slurp(path, &len);
	if (!buf) {
		at_err("diff: cannot read '%s': %s (give a recording, -o json output or a pprof file)", path,
		       strerror(errno ? errno : EIO));
		return -1;
	}
	while (i < len && (buf[i] == ' ' || buf[i] == '\n'))
		i++;
	err = i < len && buf[i] == '{' ? load_json(r, buf) : load_pprof(r, buf, len);
	free(buf);
	if (err)
		at_err("diff: '%s' is neither an alloctop recording / JSON report nor a pprof profile", path);
	return err;
}

void at_run_free(struct at_run *r)
{
	for (size_t i = 0; i < r->nr_sites; i++) {
		for (int j = 0; j < r->sites[i].nr_frames; j++)
			free(r->sites[i].frames[j]);
		free(r->sites[i].frames);
		free(r->sites[i].key);
	}
	free(r->sites);
	free(r->procs);
	at_hash_clear(&r->by_key);
}
