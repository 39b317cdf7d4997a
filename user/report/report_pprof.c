/* pprof profiles (profile.proto, gzipped) of every allocation site. */
#include "report/report.h"
#include "lib/hash.h"
#include "lib/util.h"
#include "pprof/profile.pb-c.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

typedef Perftools__Profiles__Profile Profile;
typedef Perftools__Profiles__ValueType ValueType;
typedef Perftools__Profiles__Sample Sample;
typedef Perftools__Profiles__Label Label;
typedef Perftools__Profiles__Mapping Mapping;
typedef Perftools__Profiles__Location Location;
typedef Perftools__Profiles__Line Line;
typedef Perftools__Profiles__Function Function;

/* A growable array of pointers. */
struct vec {
	void **v;
	size_t n, cap;
};

static size_t push(struct vec *a, void *p)
{
	if (a->n == a->cap) {
		a->cap = a->cap ? a->cap * 2 : 64;
		a->v = at_xrealloc(a->v, a->cap, sizeof(*a->v));
	}
	a->v[a->n++] = p;
	return a->n;	/* ids are 1-based */
}

struct builder {
	const struct at_report_ctx *c;
	struct vec strs, maps, locs, funcs, samples;
	struct at_hash str_ids;		/* string hashes -> id + 1 */
	struct at_hash map_ids;		/* (pid, start) -> id */
	struct at_hash loc_ids;		/* (pid, addr) -> id */
	struct at_hash func_ids;	/* (name, system_name << 32 | filename) -> id */
	/* deltas: (pid, stack_id) -> struct at_pprof_mark of the previous profile, and of this one */
	const struct at_hash *prev;
	struct at_hash *next;
};

#define ID_PTR(id) ((void *)(uintptr_t)(id))
#define PTR_ID(p) ((uint64_t)(uintptr_t)(p))

/* Index of s in the string table (0 is ""), as valid UTF-8 (proto3 strings must be). */
static int64_t str_id(struct builder *b, const char *s)
{
	size_t sz = s ? strlen(s) * 3 + 5 : 0;
	char *clean;
	__u64 k1, k2;
	void *p;

	if (!s || !*s)
		return 0;
	clean = at_xcalloc(sz, 1);
	at_utf8_clean(s, clean, sz);
	at_hash_str(clean, &k1, &k2);
	p = at_hash_get(&b->str_ids, k1, k2);
	if (p) {
		free(clean);
		return (int64_t)PTR_ID(p) - 1;
	}
	push(&b->strs, clean);
	at_hash_put(&b->str_ids, k1, k2, ID_PTR(b->strs.n));	/* index + 1 */
	return (int64_t)b->strs.n - 1;
}

static uint64_t function_id(struct builder *b, const char *name, const char *system_name, const char *file)
{
	int64_t n = str_id(b, name), sn = str_id(b, system_name), fn = str_id(b, file);
	void *p = at_hash_get(&b->func_ids, (__u64)n, (__u64)sn << 32 | (__u64)fn);
	Function *f;

	if (p)
		return PTR_ID(p);
	f = at_xcalloc(1, sizeof(*f));
	perftools__profiles__function__init(f);
	f->name = n;
	f->system_name = sn;
	f->filename = fn;
	f->id = push(&b->funcs, f);
	at_hash_put(&b->func_ids, (__u64)n, (__u64)sn << 32 | (__u64)fn, ID_PTR(f->id));
	return f->id;
}

static Mapping *mapping(struct builder *b, int pid, const struct at_frame *f)
{
	void *p;
	Mapping *m;

	if (!f->map_end)
		return NULL;	/* no mapping holds the address */
	p = at_hash_get(&b->map_ids, (__u64)pid, f->map_start);
	if (p)
		return b->maps.v[PTR_ID(p) - 1];
	m = at_xcalloc(1, sizeof(*m));
	perftools__profiles__mapping__init(m);
	m->memory_start = f->map_start;
	m->memory_limit = f->map_end;
	m->file_offset = f->map_offset;
	m->filename = str_id(b, f->module);
	m->build_id = str_id(b, f->build_id);
	m->id = push(&b->maps, m);
	at_hash_put(&b->map_ids, (__u64)pid, f->map_start, ID_PTR(m->id));
	return m;
}

/* One location per (pid, address), with one line per frame: inlined ones first. sf's
 * return address i, or the unknown stack's location without sf. */
static uint64_t location_id(struct builder *b, int pid, const struct at_site_frames *sf, __u32 i)
{
	__u64 addr = sf ? sf->ips[i] : 0;
	const struct at_frame *f = sf ? &sf->f[i ? sf->ip_end[i - 1] : 0] : NULL;
	char name[1024];
	void *p = at_hash_get(&b->loc_ids, (__u64)pid, addr);
	Location *l;
	Mapping *m;
	int n;

	if (p)
		return PTR_ID(p);
	l = at_xcalloc(1, sizeof(*l));
	perftools__profiles__location__init(l);
	l->id = push(&b->locs, l);
	at_hash_put(&b->loc_ids, (__u64)pid, addr, ID_PTR(l->id));
	if (!addr) {	/* the site of allocations whose stack could not be read */
		l->n_line = 1;
		l->line = at_xcalloc(1, sizeof(*l->line));
		l->line[0] = at_xcalloc(1, sizeof(Line));
		perftools__profiles__line__init(l->line[0]);
		l->line[0]->function_id = (int64_t)function_id(b, "[unknown stack]", NULL, NULL);
		return l->id;
	}
	n = (int)(sf->ip_end[i] - (i ? sf->ip_end[i - 1] : 0));
	m = mapping(b, pid, &f[0]);
	l->address = addr;
	l->mapping_id = m ? m->id : 0;
	l->n_line = (size_t)n;
	l->line = at_xcalloc((size_t)n, sizeof(*l->line));
	for (int i = 0; i < n; i++) {
		Line *ln = at_xcalloc(1, sizeof(*ln));

		perftools__profiles__line__init(ln);
		/* unnamed code is still named, by module and offset, as in folded output */
		ln->function_id = (int64_t)function_id(b, at_frame_name(&f[i], name, sizeof(name)),
						       f[i].raw_symbol ? f[i].raw_symbol : name, f[i].file);
		ln->line = f[i].line;
		l->line[i] = ln;
		if (m) {
			m->has_functions |= f[i].symbol != NULL;
			m->has_filenames |= f[i].file != NULL;
			m->has_line_numbers |= f[i].line != 0;
			m->has_inline_frames |= f[i].inlined;
		}
	}
	return l->id;
}

static void add_sample(struct builder *b, const struct at_site_view *sv)
{
	const struct at_site_frames *sf = at_model_frames(b->c->model, sv->pid, sv->stack_id);
	const struct at_target *t = at_model_target(b->c->model, sv->pid);
	int64_t v[4] = { (int64_t)sv->s.allocs, (int64_t)sv->s.alloc_bytes,
			 sv->s.live_allocs > 0 ? sv->s.live_allocs : 0, sv->s.live_bytes > 0 ? sv->s.live_bytes : 0 };
	Sample *s;

	if (b->next) {	/* a delta profile: what was allocated since the previous one */
		const struct at_pprof_mark *was = b->prev ? at_hash_get(b->prev, (__u64)sv->pid, sv->stack_id) : NULL;
		struct at_pprof_mark *now = at_xcalloc(1, sizeof(*now));

		now->allocs = sv->s.allocs;
		now->alloc_bytes = sv->s.alloc_bytes;
		at_hash_put(b->next, (__u64)sv->pid, sv->stack_id, now);
		/* fewer than before: the pid is another process now, all of it is new */
		if (was && was->allocs <= now->allocs && was->alloc_bytes <= now->alloc_bytes) {
			v[0] -= (int64_t)was->allocs;
			v[1] -= (int64_t)was->alloc_bytes;
		}
	}

	if (!v[0] && !v[1] && !v[2] && !v[3])
		return;
	s = at_xcalloc(1, sizeof(*s));
	perftools__profiles__sample__init(s);
	s->n_value = 4;
	s->value = at_xcalloc(4, sizeof(*s->value));
	memcpy(s->value, v, sizeof(v));
	s->n_location_id = sf ? sf->nr_ips : 1;
	s->location_id = at_xcalloc(s->n_location_id, sizeof(*s->location_id));
	for (size_t i = 0; i < s->n_location_id; i++)	/* leaf first, as captured */
		s->location_id[i] = location_id(b, sv->pid, sf, (__u32)i);
	s->n_label = 2;
	s->label = at_xcalloc(2, sizeof(*s->label));
	for (int i = 0; i < 2; i++) {
		s->label[i] = at_xcalloc(1, sizeof(Label));
		perftools__profiles__label__init(s->label[i]);
	}
	s->label[0]->key = str_id(b, "pid");
	s->label[0]->num = sv->pid;
	s->label[1]->key = str_id(b, "comm");
	s->label[1]->str = str_id(b, t && t->comm[0] ? t->comm : "?");
	push(&b->samples, s);
}

static void free_builder(struct builder *b)
{
	for (size_t i = 0; i < b->strs.n; i++)
		free(b->strs.v[i]);
	for (size_t i = 0; i < b->locs.n; i++) {
		Location *l = b->locs.v[i];

		for (size_t j = 0; j < l->n_line; j++)
			free(l->line[j]);
		free(l->line);
		free(l);
	}
	for (size_t i = 0; i < b->samples.n; i++) {
		Sample *s = b->samples.v[i];

		for (size_t j = 0; j < s->n_label; j++)
			free(s->label[j]);
		free(s->label);
		free(s->value);
		free(s->location_id);
		free(s);
	}
	for (size_t i = 0; i < b->maps.n; i++)
		free(b->maps.v[i]);
	for (size_t i = 0; i < b->funcs.n; i++)
		free(b->funcs.v[i]);
	free(b->strs.v);
	free(b->maps.v);
	free(b->locs.v);
	free(b->funcs.v);
	free(b->samples.v);
	at_hash_clear(&b->str_ids);
	at_hash_clear(&b->map_ids);
	at_hash_clear(&b->loc_ids);
	at_hash_clear(&b->func_ids);
}

/* data gzipped into a new buffer (gzip framing, as pprof files and /debug/pprof serve it). */
static int gzip_mem(const void *data, size_t len, uint8_t **out, size_t *out_len)
{
	z_stream z = {};
	size_t cap;
	uint8_t *buf;
	int rc;

	if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return -1;
	cap = deflateBound(&z, len) + 64;	/* with room for the gzip header and trailer */
	buf = at_xcalloc(cap, 1);
	z.next_in = (Bytef *)data;
	z.next_out = buf;
	rc = Z_OK;
	/* avail_* are 32-bit: feed and drain in chunks */
	for (size_t in_off = 0; rc == Z_OK;) {
		size_t in_chunk = len - in_off > (1u << 30) ? 1u << 30 : len - in_off;
		size_t out_left = cap - (size_t)(z.next_out - buf);

		z.avail_in = (uInt)in_chunk;
		z.avail_out = out_left > (1u << 30) ? 1u << 30 : (uInt)out_left;
		rc = deflate(&z, in_off + in_chunk == len ? Z_FINISH : Z_NO_FLUSH);
		in_off += in_chunk - z.avail_in;
	}
	deflateEnd(&z);
	if (rc != Z_STREAM_END) {
		free(buf);
		return -1;
	}
	*out = buf;
	*out_len = (size_t)(z.next_out - buf);
	return 0;
}

static int write_file(const char *path, const void *data, size_t len)
{
	size_t tlen = strlen(path) + 5;
	char *tmp = at_xcalloc(tlen, 1);
	FILE *f;
	int ok;

	snprintf(tmp, tlen, "%s.tmp", path);
	f = fopen(tmp, "wb");
	ok = f && fwrite(data, 1, len, f) == len;
	if (f && fclose(f))
		ok = 0;
	if (ok && rename(tmp, path))
		ok = 0;
	if (!ok) {
		at_err("cannot write the pprof profile %s: %s", path, errno ? strerror(errno) : "write error");
		unlink(tmp);
	}
	free(tmp);
	return ok ? 0 : -1;
}

static int pprof_gz(const struct at_report_ctx *c, struct at_hash *marks, double since, uint8_t **gz,
		    size_t *gz_len);

/* The builder's tables into p, packed and gzipped. */
static int pack_gz(Profile *p, struct builder *b, uint8_t **gz, size_t *gz_len)
{
	uint8_t *buf;
	size_t len;
	int rc;

	p->n_sample = b->samples.n;
	p->sample = (Sample **)b->samples.v;
	p->n_mapping = b->maps.n;
	p->mapping = (Mapping **)b->maps.v;
	p->n_location = b->locs.n;
	p->location = (Location **)b->locs.v;
	p->n_function = b->funcs.n;
	p->function = (Function **)b->funcs.v;
	p->n_string_table = b->strs.n;
	p->string_table = (char **)b->strs.v;
	len = perftools__profiles__profile__get_packed_size(p);
	buf = at_xcalloc(len ? len : 1, 1);
	perftools__profiles__profile__pack(p, buf);
	rc = gzip_mem(buf, len, gz, gz_len);
	free(buf);
	return rc;
}

int at_report_pprof_gz(const struct at_report_ctx *c, uint8_t **gz, size_t *gz_len)
{
	return pprof_gz(c, NULL, 0, gz, gz_len);
}

int at_report_pprof_gz_delta(const struct at_report_ctx *c, struct at_hash *marks, double since, uint8_t **gz,
			     size_t *gz_len)
{
	return pprof_gz(c, marks, since, gz, gz_len);
}

/* marks: NULL for a cumulative profile, else the delta's table, since its start (Unix s) */
static int pprof_gz(const struct at_report_ctx *c, struct at_hash *marks, double since, uint8_t **gz,
		    size_t *gz_len)
{
	static const char *const alloc_types[4][2] = {
		{ "alloc_objects", "count" }, { "alloc_space", "bytes" },
		{ "inuse_objects", "count" }, { "inuse_space", "bytes" },
	};
	/* --growth: the same counters are pages made resident and their bytes */
	static const char *const growth_types[4][2] = {
		{ "fault_pages", "count" }, { "fault_bytes", "bytes" },
		{ "resident_pages", "count" }, { "resident_bytes", "bytes" },
	};
	const char *const (*types)[2] = c->opts->growth ? growth_types : alloc_types;
	static const char *const by_weight[AT_NR_WEIGHTS] = {
		[AT_WEIGHT_LIVE_BYTES] = "inuse_space",
		[AT_WEIGHT_ALLOC_BYTES] = "alloc_space",
		[AT_WEIGHT_ALLOCS] = "alloc_objects",
		[AT_WEIGHT_FAULT_BYTES] = "fault_bytes",
	};
	const struct at_snapshot *snap = at_model_cur(c->model);
	struct at_hash next = {};
	struct builder b = { .c = c, .prev = marks, .next = marks ? &next : NULL };
	const struct at_site_view **sites;
	ValueType st[4], *stp[4], period = PERFTOOLS__PROFILES__VALUE_TYPE__INIT;
	Profile p = PERFTOOLS__PROFILES__PROFILE__INIT;
	double elapsed = snap->mono - at_model_start(c->model);
	int64_t comment;
	size_t n;
	int rc;

	push(&b.strs, at_xstrdup(""));
	for (int i = 0; i < 4; i++) {
		perftools__profiles__value_type__init(&st[i]);
		st[i].type = str_id(&b, types[i][0]);
		st[i].unit = str_id(&b, types[i][1]);
		stp[i] = &st[i];
	}
	period.type = str_id(&b, "space");
	period.unit = str_id(&b, "bytes");
	comment = str_id(&b, c->opts->growth ? "alloctop --growth: pages page faults made resident, by the faulting "
				   "stack, cumulative since attach" : marks ? "alloctop: exact counts (not sampled); alloc = "
				   "since the previous profile, inuse = still allocated" : "alloctop: exact counts (not "
				   "sampled), cumulative since attach; inuse = still allocated");
	if (marks)	/* the delta's window */
		elapsed = at_now_real() - since;
	n = 0;	/* every site, in --sort order */
	sites = at_model_top_sites(c->model, c->opts->sort, 0, &n);
	for (size_t i = 0; i < n; i++)
		add_sample(&b, sites[i]);
	free(sites);

	p.n_sample_type = 4;
	p.sample_type = stp;
	p.default_sample_type = str_id(&b, by_weight[c->opts->weight < AT_NR_WEIGHTS ? c->opts->weight : 0]);
	p.period_type = &period;
	p.period = 1;
	p.time_nanos = (int64_t)((at_now_real() - elapsed) * 1e9);
	p.duration_nanos = (int64_t)(elapsed * 1e9);
	p.n_comment = 1;
	p.comment = &comment;
	rc = pack_gz(&p, &b, gz, gz_len);
	free_builder(&b);
	if (marks) {	/* this profile's marks replace the previous ones: only live sites stay */
		at_hash_free_all(marks);
		*marks = next;
	}
	return rc;
}

int at_report_pprof(const char *path, const struct at_report_ctx *c)
{
	uint8_t *gz;
	size_t len;
	int rc;

	if (at_report_pprof_gz(c, &gz, &len)) {
		at_err("cannot compress the pprof profile %s", path);
		return -1;
	}
	errno = 0;
	rc = write_file(path, gz, len);
	free(gz);
	return rc;
}
