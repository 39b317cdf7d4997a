#include "unwind/unwind.h"
#include "alloctop.h"
#include "binary/cfi.h"
#include "binary/dwarf.h"
#include "binary/elfcache.h"
#include "lib/hash.h"
#include "binary/procmaps.h"
#include "unwind/unwind_pre.h"
#include "lib/util.h"

#include <bpf/bpf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

struct module {
	size_t info;		/* index in infos */
	__u32 id;		/* index in the modules map; 0 = walk frame pointers */
};

struct at_unwinder {
	struct at_unwinder_opts o;
	struct at_unwind_row *rows;	/* the row map, mmap'ed */
	__u32 nr_rows;
	struct at_hash by_file;		/* (dev, ino) -> struct module */
	struct at_unwind_info *infos;	/* one per module, in the order first seen */
	size_t nr_mods;
	bool warned_rows, warned_maps;
	__u32 gen;			/* of the last process table written */
};

struct at_unwinder *at_unwinder__new(const struct at_unwinder_opts *opts)
{
	struct at_unwinder *u = at_xcalloc(1, sizeof(*u));
	void *rows;

	memcpy(&u->o, opts, opts->sz < sizeof(u->o) ? opts->sz : sizeof(u->o));
	rows = mmap(NULL, (size_t)u->o.max_rows * sizeof(struct at_unwind_row), PROT_READ | PROT_WRITE, MAP_SHARED,
		    u->o.rows_fd, 0);
	if (rows == MAP_FAILED) {
		at_err("cannot map the unwind row map: %s", strerror(errno));
		at_unwind_pre__free(u->o.pre);
		free(u);
		return NULL;
	}
	u->rows = rows;
	return u;
}

struct at_unwind_row at_unwind_pack_row(const struct at_cfi_row *r)
{
	struct at_unwind_row p = { .pc = r->pc, .cfa_type = r->cfa_type };
	__s32 rbp = r->rbp_rule == AT_RBP_OFFSET ? r->rbp_off : 0;

	if (r->cfa_type == AT_CFA_NONE || r->cfa_type == AT_CFA_END)
		return p;
	if ((r->cfa_off & 7) || r->cfa_off / 8 != (__s16)(r->cfa_off / 8) || (rbp & 7) ||
	    rbp / 8 != (__s8)(rbp / 8) || (r->rbp_rule == AT_RBP_OFFSET && !rbp)) {
		p.cfa_type = AT_CFA_NONE;
		return p;
	}
	p.cfa_words = (__s16)(r->cfa_off / 8);
	p.rbp_words = (__s8)(rbp / 8);
	return p;
}

/* Packs rows into the row map at u->nr_rows, merging rows packing made identical;
 * returns how many were written. */
static __u32 pack_rows(struct at_unwinder *u, const struct at_cfi *c)
{
	struct at_unwind_row *out = u->rows + u->nr_rows;
	__u32 n = 0;

	for (size_t i = 0; i < c->nr; i++) {
		struct at_unwind_row p = at_unwind_pack_row(&c->rows[i]);

		if (n && out[n - 1].cfa_type == p.cfa_type && out[n - 1].cfa_words == p.cfa_words &&
		    out[n - 1].rbp_words == p.rbp_words)
			continue;
		out[n++] = p;
	}
	return n;
}

/* Copies a module's rows into the shared row map; its id, or 0 when it does not fit. */
static __u32 load_rows(struct at_unwinder *u, struct at_unwind_info *info, const struct at_cfi *c)
{
	struct at_unwind_module um = { .first = u->nr_rows, .nr = (__u32)c->nr };
	__u32 id = (__u32)u->nr_mods;	/* this module's info is the last one: ids start at 1 */

	if (id >= u->o.max_modules || c->nr > u->o.max_rows - u->nr_rows) {
		info->why = id >= u->o.max_modules ? "module map full" : "row map full";
		if (!u->warned_rows)
			at_warn("unwind tables full at %s: its stacks use frame pointers (raise --unwind-rows)",
				info->path);
		u->warned_rows = true;
		return 0;
	}
	um.nr = pack_rows(u, c);
	info->rows = um.nr;
	/* the rows are in place before the module entry makes them reachable */
	if (bpf_map_update_elem(u->o.modules_fd, &id, &um, BPF_ANY)) {
		info->why = "module map update failed";
		return 0;
	}
	u->nr_rows += (__u32)c->nr;
	return id;
}

static const char *source_name(int source)
{
	switch (source) {
	case AT_CFI_SRC_EH_FRAME:
		return "eh_frame";
	case AT_CFI_SRC_DEBUG_FRAME:
		return "debug_frame";
	case AT_CFI_SRC_EH_FRAME | AT_CFI_SRC_DEBUG_FRAME:
		return "eh_frame+debug_frame";
	default:
		return NULL;
	}
}

/* The module's table: compiled ahead (user/unwind/unwind_pre.c) or now. 0 or -errno. */
static int compile(struct at_unwinder *u, int pid, const struct at_vma *v, const struct at_elf *e, struct at_cfi *c,
		   double *build_s)
{
	struct at_elf *dbg = NULL;
	double t0 = at_now_mono();
	int err;

	if (!at_unwind_pre__take(u->o.pre, v->dev, v->ino, c, build_s))
		return 0;
	if (!at_elf_has_dwarf(e))
		dbg = at_debugfile_find(pid, v->path, e, v->dev, v->ino);
	err = at_cfi__build(e, dbg, c);
	at_elf__close(dbg);
	*build_s = at_now_mono() - t0;
	return err;
}

static struct module *module_get(struct at_unwinder *u, int pid, const struct at_vma *v, const struct at_elf *e)
{
	struct module *m = at_hash_get(&u->by_file, v->dev, v->ino);
	struct at_unwind_info *info;
	struct at_cfi c = { 0 };

	if (m)
		return m;
	m = at_xcalloc(1, sizeof(*m));
	m->info = u->nr_mods;
	u->infos = at_xrealloc(u->infos, ++u->nr_mods, sizeof(*u->infos));
	info = &u->infos[m->info];
	*info = (struct at_unwind_info){ .path = at_xstrdup(v->path), .source = "frame_pointer", .why = "no CFI" };
	if (!compile(u, pid, v, e, &c, &info->build_s) && c.nr && source_name(c.source)) {
		m->id = load_rows(u, info, &c);
		if (m->id) {
			info->source = source_name(c.source);
			info->why = NULL;
		}
	}
	at_debug("unwind: %s: %s, %u rows in %.3f s", info->path, info->source, info->rows, info->build_s);
	at_cfi__fini(&c);
	at_hash_put(&u->by_file, v->dev, v->ino, m);
	return m;
}

/* One executable mapping as the BPF side sees it; file-backed ones get their module. */
static void describe(struct at_unwinder *u, int pid, const struct at_vma *v, struct at_unwind_map *out)
{
	const struct at_elf *e;
	struct module *m;
	__u64 bias;

	out->start = v->start;
	out->end = v->end;
	if (!at_vma_is_file(v))
		return;		/* JIT code, the vdso: frame pointers */
	e = at_elfcache_get(u->o.ec, pid, v);
	if (!e || at_elf_map_bias(e, v->pgoff, v->end - v->start, v->start, &bias))
		return;
	m = module_get(u, pid, v, e);
	out->module = m->id;
	out->bias = bias;
}

int at_unwinder__add_pid(struct at_unwinder *u, int pid)
{
	struct at_unwind_proc *p = at_xcalloc(1, sizeof(*p));
	__u32 key = (__u32)pid;
	struct at_maps maps;
	int err = at_maps__read(pid, &maps);

	for (size_t i = 0; !err && i < maps.n; i++) {
		if (!maps.v[i].exec)
			continue;
		if (p->nr == AT_UNWIND_MAPS) {
			if (!u->warned_maps)
				at_warn("pid %d has more than %d executable mappings: stacks through the others "
					"use frame pointers", pid, AT_UNWIND_MAPS);
			u->warned_maps = true;
			break;
		}
		describe(u, pid, &maps.v[i], &p->m[p->nr++]);
	}
	p->gen = ++u->gen ? u->gen : ++u->gen;	/* never 0: an empty cache slot's */
	if (!err && bpf_map_update_elem(u->o.procs_fd, &key, p, BPF_ANY))
		err = -errno;
	if (!err && u->o.gen)
		*u->o.gen = p->gen;	/* after the table: a thread then drops rules cached before it */
	if (!err)
		at_debug("unwind: pid %d: %u executable mappings", pid, p->nr);
	at_maps__fini(&maps);
	free(p);
	return err;
}

int at_unwinder__refresh(struct at_unwinder *u)
{
	__u32 key, next, pids[256];
	double t0 = at_now_mono();
	int n = 0, i;

	/* collect first: deleting while walking the keys would restart the walk */
	for (int err = bpf_map_get_next_key(u->o.stale_fd, NULL, &next); !err && n < 256;
	     err = bpf_map_get_next_key(u->o.stale_fd, &key, &next)) {
		pids[n++] = next;
		key = next;
	}
	/* a census start can flag hundreds at once: spend at most ~0.2 s a refresh, the
	 * rest stay flagged for the next one */
	for (i = 0; i < n && at_now_mono() - t0 < 0.2; i++) {
		bpf_map_delete_elem(u->o.stale_fd, &pids[i]);
		at_unwinder__add_pid(u, (int)pids[i]);
	}
	return i;
}

size_t at_unwinder__modules(const struct at_unwinder *u, const struct at_unwind_info **mods)
{
	*mods = u->infos;
	return u->nr_mods;
}

void at_unwinder__free(struct at_unwinder *u)
{
	struct at_hash_ent *e;

	if (!u)
		return;
	at_hash_for_each(&u->by_file, e)
		free(e->val);
	at_hash_clear(&u->by_file);
	for (size_t i = 0; i < u->nr_mods; i++)
		free(u->infos[i].path);
	free(u->infos);
	munmap(u->rows, (size_t)u->o.max_rows * sizeof(struct at_unwind_row));
	at_unwind_pre__free(u->o.pre);
	free(u);
}
