#include "symbolize.h"
#include "hash.h"
#include "procmaps.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct proc_maps {
	struct at_maps maps;
	double read_at;
};

struct resolved {
	const char *symbol;
	__u64 offset;
	char *module;
};

struct at_symbolizer {
	struct at_elfcache *ec;
	struct at_hash procs;	/* pid -> struct proc_maps */
	struct at_hash cache;	/* (pid, addr) -> struct resolved */
};

struct at_symbolizer *at_symbolizer_new(struct at_elfcache *ec)
{
	struct at_symbolizer *s = at_xcalloc(1, sizeof(*s));

	s->ec = ec;
	return s;
}

void at_symbolizer_free(struct at_symbolizer *s)
{
	struct at_hash_ent *e;

	if (!s)
		return;
	at_hash_for_each(&s->procs, e) {
		at_maps_free(&((struct proc_maps *)e->val)->maps);
		free(e->val);
	}
	at_hash_for_each(&s->cache, e) {
		free(((struct resolved *)e->val)->module);
		free(e->val);
	}
	at_hash_clear(&s->procs);
	at_hash_clear(&s->cache);
	free(s);
}

static struct proc_maps *read_maps(struct at_symbolizer *s, int pid)
{
	struct proc_maps *pm = at_hash_get(&s->procs, pid, 0);
	struct at_maps m;

	if (at_maps_read(pid, &m))
		return pm;	/* gone: keep what was seen last */
	if (!pm) {
		pm = at_xcalloc(1, sizeof(*pm));
		at_hash_put(&s->procs, pid, 0, pm);
	} else {
		at_maps_free(&pm->maps);
	}
	pm->maps = m;
	pm->read_at = at_now_mono();
	return pm;
}

void at_symbolizer_note_pid(struct at_symbolizer *s, int pid)
{
	read_maps(s, pid);
}

static void resolve(struct at_symbolizer *s, int pid, __u64 addr, struct resolved *r)
{
	struct proc_maps *pm = at_hash_get(&s->procs, pid, 0);
	const struct at_vma *v = pm ? at_maps_find(&pm->maps, addr) : NULL;
	const struct at_elf *e;
	const struct at_sym *sym;
	__u64 off, vaddr, soff;

	if (!v && (!pm || at_now_mono() - pm->read_at > 0.2)) {
		pm = read_maps(s, pid);	/* a library loaded since the last look */
		v = pm ? at_maps_find(&pm->maps, addr) : NULL;
	}
	if (!v) {
		r->module = at_xstrdup("[unknown]");
		r->offset = addr;
		return;
	}
	off = addr - v->start + v->pgoff;
	r->module = at_xstrdup(v->path ? v->path : "[anon]");
	r->offset = v->path && at_vma_is_file(v) ? off : addr - v->start;
	e = at_elfcache_get(s->ec, pid, v);
	if (!e || at_elf_off_to_vaddr(e, off, &vaddr))
		return;
	/* a return address may sit just past a call at a function's end */
	sym = at_elf_lookup(e, vaddr - 1, &soff);
	if (sym) {
		r->symbol = sym->name;
		r->offset = vaddr - sym->addr;
	}
}

void at_symbolize(struct at_symbolizer *s, int pid, __u64 addr, struct at_frame *out)
{
	struct resolved *r = at_hash_get(&s->cache, pid, addr);

	if (!r) {
		r = at_xcalloc(1, sizeof(*r));
		resolve(s, pid, addr, r);
		at_hash_put(&s->cache, pid, addr, r);
	}
	out->addr = addr;
	out->symbol = r->symbol;
	out->offset = r->offset;
	out->module = r->module;
}

const char *at_frame_str(const struct at_frame *f, char *buf, unsigned int sz)
{
	const char *m = strrchr(f->module, '/');

	if (f->symbol)
		snprintf(buf, sz, "%s+0x%llx", f->symbol, (unsigned long long)f->offset);
	else
		snprintf(buf, sz, "%s+0x%llx", m ? m + 1 : f->module, (unsigned long long)f->offset);
	return buf;
}
