#include "symbolize/symbolize.h"
#include "binary/demangle.h"
#include "binary/dwarf.h"
#include "lib/hash.h"
#include "binary/procmaps.h"
#include "lib/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct proc_maps {
	struct at_maps maps;
	double read_at;
	struct proc_maps *older;	/* the programs it ran before its execs, newest first */
};

#define AT_MAX_IMAGES 8		/* programs remembered per process (one exec loop must not grow it) */

/* One source frame of an address, shared by every process mapping the module. */
struct sframe {
	char *symbol;		/* demangled, or the raw name when it is not mangled */
	char *raw;
	char *file;
	unsigned int line;
	bool inlined;
	bool has_offset;
	__u64 offset;		/* from the function's start (real frames) */
};

/* What a module's link-time address resolves to: n frames, innermost first. n == 0
 * when nothing names it. */
struct addr_info {
	int n;
	struct sframe f[];
};

/* An ELF file (or every file with its build-id) and what has been learnt about it. */
struct module {
	const struct at_elf *elf;	/* the mapped file, owned by the elfcache */
	struct at_elf *dbg;		/* its separate debug file, NULL if none */
	struct at_dwarf *dw;		/* from elf or dbg, opened on first use */
	bool dw_tried;
	char *build_id;			/* hex, NULL if none */
	struct at_hash addrs;		/* (link-time address, 0) -> struct addr_info */
};

/* One (pid, address). */
/* How old a process's maps may be before an address outside them has them read again:
 * short enough that each report sees the libraries mapped since the last one, long
 * enough that the misses of one report share one read. */
#define AT_MAPS_FRESH_S 0.05

struct resolved {
	const struct addr_info *ai;
	char *module;
	__u64 offset;		/* file offset (or offset in an anonymous mapping) */
	__u64 map_start, map_end, map_offset;
	const char *build_id;
	double unknown_at;	/* > 0: in no mapping then, so looked up again later */
};

struct at_symbolizer {
	struct at_elfcache *ec;
	struct at_hash procs;	/* pid -> struct proc_maps */
	struct at_hash cache;	/* (pid, addr) -> struct resolved */
	struct at_hash by_file;	/* (dev, ino) -> struct module (or &no_module) */
	struct at_hash by_bid;	/* build-id hashes -> struct module */
	struct module **mods;	/* every module, owned */
	size_t nr_mods;
};

static const struct addr_info no_info;
static struct module no_module;	/* marks a file that cannot be read */

struct at_symbolizer *at_symbolizer__new(struct at_elfcache *ec)
{
	struct at_symbolizer *s = at_xcalloc(1, sizeof(*s));

	s->ec = ec;
	return s;
}

static void free_module(struct module *m)
{
	struct at_hash_ent *e;

	at_hash_for_each(&m->addrs, e) {
		struct addr_info *ai = e->val;

		for (int i = 0; i < ai->n; i++) {
			free(ai->f[i].symbol);
			free(ai->f[i].raw);
			free(ai->f[i].file);
		}
		free(ai);
	}
	at_hash_clear(&m->addrs);
	at_dwarf__close(m->dw);
	at_elf__close(m->dbg);
	free(m->build_id);
	free(m);
}

static void free_proc_maps(struct proc_maps *pm)
{
	while (pm) {
		struct proc_maps *o = pm->older;

		at_maps__fini(&pm->maps);
		free(pm);
		pm = o;
	}
}

void at_symbolizer__free(struct at_symbolizer *s)
{
	struct at_hash_ent *e;

	if (!s)
		return;
	at_hash_for_each(&s->procs, e)
		free_proc_maps(e->val);
	at_hash_for_each(&s->cache, e) {
		free(((struct resolved *)e->val)->module);
		free(e->val);
	}
	for (size_t i = 0; i < s->nr_mods; i++)
		free_module(s->mods[i]);
	free(s->mods);
	at_hash_clear(&s->procs);
	at_hash_clear(&s->cache);
	at_hash_clear(&s->by_file);
	at_hash_clear(&s->by_bid);
	free(s);
}

static struct proc_maps *read_maps(struct at_symbolizer *s, int pid)
{
	struct proc_maps *pm = at_hash_get(&s->procs, pid, 0);
	struct at_maps m;

	if (at_maps__read(pid, &m))
		return pm;	/* gone: keep what was seen last */
	if (!pm) {
		pm = at_xcalloc(1, sizeof(*pm));
		at_hash_put(&s->procs, pid, 0, pm);
	} else {
		at_maps__fini(&pm->maps);
	}
	pm->maps = m;
	pm->read_at = at_now_mono();
	return pm;
}

/* Two independent 64-bit hashes of a build-id (FNV-1a with two bases). */
static void bid_key(const unsigned char *b, size_t len, __u64 *k1, __u64 *k2)
{
	__u64 h1 = 0xcbf29ce484222325ULL, h2 = 0x84222325cbf29ce4ULL ^ len;

	for (size_t i = 0; i < len; i++) {
		h1 = (h1 ^ b[i]) * 0x100000001b3ULL;
		h2 = (h2 ^ b[i]) * 0x100000001b3ULL;
		h2 ^= h2 >> 29;
	}
	*k1 = h1;
	*k2 = h2;
}

/* The module of the file v maps in pid; NULL if v maps no readable ELF file. */
static struct module *get_module(struct at_symbolizer *s, int pid, const struct at_vma *v)
{
	const unsigned char *bid;
	const struct at_elf *e;
	struct module *m;
	size_t bid_len;
	__u64 k1 = 0, k2 = 0;

	if (!at_vma_is_file(v))
		return NULL;
	m = at_hash_get(&s->by_file, v->dev, v->ino);
	if (m)
		return m == &no_module ? NULL : m;
	e = at_elfcache_get(s->ec, pid, v);
	if (!e) {
		at_hash_put(&s->by_file, v->dev, v->ino, &no_module);
		return NULL;
	}
	bid = at_elf_build_id(e, &bid_len);
	if (bid) {
		bid_key(bid, bid_len, &k1, &k2);
		m = at_hash_get(&s->by_bid, k1, k2);
		if (m) {	/* the same build seen through another file */
			at_hash_put(&s->by_file, v->dev, v->ino, m);
			return m;
		}
	}
	m = at_xcalloc(1, sizeof(*m));
	m->elf = e;
	if (bid) {
		m->build_id = at_xcalloc(2 * bid_len + 1, 1);
		for (size_t i = 0; i < bid_len; i++)
			snprintf(m->build_id + 2 * i, 3, "%02x", bid[i]);
	}
	if (!at_elf_has_dwarf(e))
		m->dbg = at_debugfile_find(pid, v->path, e, v->dev, v->ino);
	s->mods = at_xrealloc(s->mods, s->nr_mods + 1, sizeof(*s->mods));
	s->mods[s->nr_mods++] = m;
	at_hash_put(&s->by_file, v->dev, v->ino, m);
	if (bid)
		at_hash_put(&s->by_bid, k1, k2, m);
	return m;
}

void at_symbolizer_note_maps(struct at_symbolizer *s, int pid)
{
	read_maps(s, pid);
}

void at_symbolizer_load_files(struct at_symbolizer *s, int pid)
{
	struct proc_maps *pm = at_hash_get(&s->procs, pid, 0);

	/* open the code files now, while the process (and its root) can be reached */
	for (size_t i = 0; pm && i < pm->maps.n; i++)
		if (pm->maps.v[i].exec)
			get_module(s, pid, &pm->maps.v[i]);
}

void at_symbolizer_note_pid(struct at_symbolizer *s, int pid)
{
	read_maps(s, pid);
	at_symbolizer_load_files(s, pid);
}

void at_symbolizer_exec(struct at_symbolizer *s, int pid)
{
	struct proc_maps *pm = at_hash_get(&s->procs, pid, 0), *old;
	int depth = 1;

	if (!pm) {
		at_symbolizer_note_pid(s, pid);
		return;
	}
	/* the maps seen so far are the old program's: keep them for its stacks */
	old = at_xcalloc(1, sizeof(*old));
	*old = *pm;
	memset(&pm->maps, 0, sizeof(pm->maps));
	pm->older = old;
	for (struct proc_maps *o = old; o; o = o->older, depth++)
		if (depth == AT_MAX_IMAGES) {
			free_proc_maps(o->older);
			o->older = NULL;
		}
	at_symbolizer_note_pid(s, pid);
}

void at_symbolizer_forget_pid(struct at_symbolizer *s, int pid)
{
	struct proc_maps *pm = at_hash_del(&s->procs, (__u64)pid, 0);
	struct at_hash_ent *e;
	__u64 *addrs = NULL;
	size_t n = 0, cap = 0;

	free_proc_maps(pm);
	at_hash_for_each(&s->cache, e) {	/* collect first: deleting moves entries */
		if (e->k1 != (__u64)pid)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			addrs = at_xrealloc(addrs, cap, sizeof(*addrs));
		}
		addrs[n++] = e->k2;
	}
	for (size_t i = 0; i < n; i++) {
		struct resolved *r = at_hash_del(&s->cache, (__u64)pid, addrs[i]);

		if (r) {
			free(r->module);
			free(r);
		}
	}
	free(addrs);
}

static struct at_dwarf *module_dwarf(struct module *m)
{
	size_t sz;
	void *img;

	if (m->dw_tried)
		return m->dw;
	m->dw_tried = true;
	if (at_elf_has_dwarf(m->elf))
		img = at_elf_image(m->elf, &sz);
	else if (m->dbg && at_elf_has_dwarf(m->dbg))
		img = at_elf_image(m->dbg, &sz);
	else
		return NULL;
	m->dw = at_dwarf__open(img, sz);
	return m->dw;
}

static void set_name(struct sframe *f, const char *raw)
{
	if (!raw)
		return;
	f->raw = at_xstrdup(raw);
	f->symbol = at_demangle(raw);
	if (!f->symbol)
		f->symbol = at_xstrdup(raw);
}

/* Frames of a link-time address (a return address), resolved once per module. */
static const struct addr_info *module_addr(struct module *m, __u64 vaddr)
{
	struct at_src_frame src[AT_MAX_INLINE];
	const struct at_sym *sym;
	struct addr_info *ai = at_hash_get(&m->addrs, vaddr, 0);
	struct at_dwarf *dw;
	__u64 soff;
	int n = 0;

	if (ai)
		return ai;
	/* a return address may sit just past a call at a function's end: look up the call */
	sym = at_elf_lookup(m->elf, vaddr - 1, &soff);
	if (!sym && m->dbg)
		sym = at_elf_lookup(m->dbg, vaddr - 1, &soff);
	dw = module_dwarf(m);
	if (dw)
		n = at_dwarf_frames(dw, vaddr - 1, src, AT_MAX_INLINE);
	if (n == 1 && !src[0].name && !src[0].file && !src[0].line)
		n = 0;
	ai = at_xcalloc(1, sizeof(*ai) + (size_t)(n ? n : 1) * sizeof(ai->f[0]));
	if (!n) {
		if (sym) {
			ai->n = 1;
			set_name(&ai->f[0], sym->name);
			ai->f[0].has_offset = true;
			ai->f[0].offset = vaddr - sym->addr;
		}
	} else {
		ai->n = n;
		for (int i = 0; i < n; i++) {
			struct sframe *f = &ai->f[i];

			f->inlined = src[i].inlined;
			f->file = src[i].file ? at_xstrdup(src[i].file) : NULL;
			f->line = src[i].line;
			if (f->inlined) {
				set_name(f, src[i].name);
			} else if (sym) {	/* the symbol table names the real function */
				set_name(f, sym->name);
				f->has_offset = true;
				f->offset = vaddr - sym->addr;
			} else {
				set_name(f, src[i].name);
				f->has_offset = src[i].has_entry;
				f->offset = vaddr - src[i].entry;
			}
		}
	}
	at_hash_put(&m->addrs, vaddr, 0, ai);
	return ai;
}

static void resolve(struct at_symbolizer *s, int pid, __u64 addr, struct resolved *r)
{
	struct proc_maps *pm = at_hash_get(&s->procs, pid, 0);
	const struct at_vma *v = pm ? at_maps_find(&pm->maps, addr) : NULL;
	struct module *m;
	__u64 off, vaddr;

	r->ai = &no_info;
	if (!v && (!pm || at_now_mono() - pm->read_at > AT_MAPS_FRESH_S)) {
		pm = read_maps(s, pid);	/* a library loaded since the last look */
		v = pm ? at_maps_find(&pm->maps, addr) : NULL;
	}
	/* an address of a program the process exec'd away from (its stacks outlive it) */
	for (const struct proc_maps *o = pm ? pm->older : NULL; !v && o; o = o->older)
		v = at_maps_find(&o->maps, addr);
	if (!v) {
		r->module = at_xstrdup("[unknown]");
		r->offset = addr;
		r->unknown_at = at_now_mono();
		return;
	}
	off = addr - v->start + v->pgoff;
	r->module = at_xstrdup(v->path ? v->path : "[anon]");
	r->offset = v->path && at_vma_is_file(v) ? off : addr - v->start;
	r->map_start = v->start;
	r->map_end = v->end;
	r->map_offset = v->pgoff;
	m = get_module(s, pid, v);
	if (!m)
		return;
	r->build_id = m->build_id;
	if (!at_elf_off_to_vaddr(m->elf, off, &vaddr))
		r->ai = module_addr(m, vaddr);
}

static const struct resolved *lookup(struct at_symbolizer *s, int pid, __u64 addr)
{
	struct resolved *r = at_hash_get(&s->cache, pid, addr);

	/* an address in no mapping yet may be in a library mapped since: not a final answer */
	if (r && r->unknown_at && at_now_mono() - r->unknown_at > AT_MAPS_FRESH_S) {
		free(r->module);
		memset(r, 0, sizeof(*r));
		resolve(s, pid, addr, r);
	}
	if (!r) {
		r = at_xcalloc(1, sizeof(*r));
		resolve(s, pid, addr, r);
		at_hash_put(&s->cache, pid, addr, r);
	}
	return r;
}

static void fill(const struct resolved *r, __u64 addr, const struct sframe *f, struct at_frame *out)
{
	*out = (struct at_frame){
		.addr = addr, .offset = r->offset, .module = r->module,
		.map_start = r->map_start, .map_end = r->map_end, .map_offset = r->map_offset,
		.build_id = r->build_id,
	};
	if (!f)
		return;
	out->symbol = f->symbol;
	out->raw_symbol = f->raw;
	out->file = f->file;
	out->line = f->line;
	out->inlined = f->inlined;
	if (f->symbol)
		out->offset = f->has_offset ? f->offset : 0;
}

void at_symbolize(struct at_symbolizer *s, int pid, __u64 addr, struct at_frame *out)
{
	const struct resolved *r = lookup(s, pid, addr);

	fill(r, addr, r->ai->n ? &r->ai->f[r->ai->n - 1] : NULL, out);
}

int at_symbolize_full(struct at_symbolizer *s, int pid, __u64 addr, struct at_frame *out, int max)
{
	const struct resolved *r = lookup(s, pid, addr);
	int n = r->ai->n, k;

	if (max <= 0)
		return 0;
	if (!n) {
		fill(r, addr, NULL, out);
		return 1;
	}
	k = n < max ? n : max;
	for (int i = 0; i < k; i++)
		fill(r, addr, &r->ai->f[i == k - 1 ? n - 1 : i], &out[i]);
	return k;
}
