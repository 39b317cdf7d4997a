#include "probe/attach.h"
#include "probe/probesite.h"
#include "binary/allocator.h"
#include "binary/procmaps.h"
#include "lib/names.h"
#include "lib/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* mmap and munmap: the application's own mappings, looked for in libc */
static const struct at_family_sym mmap_syms[] = { { AT_MMAP, "mmap" }, { AT_MUNMAP, "munmap" } };

/* The module holding the application's mmap/munmap: the allocator's file if it has
 * them (static binaries, libc), else libc. */
static const struct at_vma *pick_mmap(struct at_elfcache *ec, int pid, const struct at_maps *m,
				      const struct at_elf *alloc_elf, const struct at_vma *alloc)
{
	if (alloc && alloc_elf && at_elf_func(alloc_elf, "mmap") && at_elf_func(alloc_elf, "munmap"))
		return alloc;
	for (size_t i = 0; i < m->n; i++) {
		const struct at_vma *v = &m->v[i];
		const struct at_elf *e;

		if (!v->exec || !at_vma_is_file(v) || !at_path_is_libc(v->path))
			continue;
		e = at_elfcache_get(ec, pid, v);
		if (e && at_elf_func(e, "mmap") && at_elf_func(e, "munmap"))
			return v;
	}
	return NULL;
}

/* The module whose operator new/delete form sym the dynamic linker binds: the
 * executable's (static libstdc++), the allocator's (jemalloc, tcmalloc and mimalloc
 * define most forms), else the C++ runtime's (mimalloc has no nothrow delete: the
 * program gets libstdc++'s, which calls mimalloc's free). */
static const struct at_vma *pick_cxx(struct at_elfcache *ec, int pid, const struct at_maps *m, const char *sym,
				     const struct at_vma *alloc, const struct at_elf *alloc_elf, const struct at_elf **elf)
{
	const struct at_vma *found = NULL;

	if (alloc && alloc_elf && at_elf_func(alloc_elf, sym) && !at_vma_is_exe(pid, alloc)) {
		found = alloc;
		*elf = alloc_elf;
	}
	for (size_t i = 0; i < m->n; i++) {
		const struct at_vma *v = &m->v[i];
		const struct at_elf *e;

		if (!v->exec || !at_vma_is_file(v) || at_path_is_loader(v->path) || at_path_is_libc(v->path))
			continue;
		if (found && !at_vma_is_exe(pid, v))
			continue;	/* only the executable comes before the allocator */
		e = at_elfcache_get(ec, pid, v);
		if (!e || !at_elf_func(e, sym))
			continue;
		if (at_vma_is_exe(pid, v) || !found) {
			*elf = e;
			found = v;
		}
		if (at_vma_is_exe(pid, v))
			break;
	}
	return found;
}

static void text_range(const struct at_maps *m, const struct at_vma *mod, struct at_range *r)
{
	r->lo = r->hi = 0;
	for (size_t i = 0; i < m->n; i++) {
		const struct at_vma *v = &m->v[i];

		if (v->ino != mod->ino || v->dev != mod->dev || !v->exec)
			continue;
		if (!r->lo || v->start < r->lo)
			r->lo = v->start;
		if (v->end > r->hi)
			r->hi = v->end;
	}
}

/* The probe already on the code at p's offset in p's file, or -1. */
static int probe_at(const struct at_plan *plan, const struct at_probe *p)
{
	for (int i = 0; i < plan->nr_probes; i++)
		if (plan->probes[i].file == p->file && plan->probes[i].ret_off == p->ret_off)
			return i;
	return -1;
}

/* The kind of hit the probe at vaddr gets, from its instruction (the cost model's key). */
static enum at_hit_kind site_kind(const struct at_elf *e, __u64 vaddr)
{
	size_t avail;
	const uint8_t *code = at_elf_code(e, vaddr, &avail);

	return code ? at_probe_kind(code, avail < 16 ? avail : 16) : AT_HIT_STEPPED;
}

/* Where in s to probe for f, and how a hit there is handled: disassembled once a file
 * (a census plans every process mapping the same libc). */
static __u64 probe_site(const struct at_elf *e, const struct at_sym *s, enum at_func f, enum at_hit_kind *kind)
{
	__u64 v = at_elf_memo_get(e, s->addr, f), site;

	if (v) {
		*kind = (enum at_hit_kind)(v >> 32);
		return (__u32)v - 1;
	}
	site = at_probe_site(e, s, f);
	*kind = site_kind(e, s->addr + site);
	at_elf_memo_put(e, s->addr, f, (site + 1) | (__u64)*kind << 32);
	return site;
}

/* Another name for the code probe q is on: calls through its GOT slots count as f. */
static void add_alias(struct at_plan *plan, int q, enum at_func f, const char *sym)
{
	struct at_probe *o = &plan->probes[q];

	if (o->func == f)
		return;		/* the same entry point under another family's list */
	if (!at_entry_same_roles(o->func, f) || plan->nr_aliases == AT_MAX_ALIASES) {
		at_debug("pid %d: %s shares the code of %s but not its arguments: counted as %s", plan->pid, sym,
			 at_func_name(o->func), at_func_name(o->func));
		return;
	}
	o->cookie |= AT_CK_ALIASED;
	snprintf(plan->aliases[plan->nr_aliases].sym, sizeof(plan->aliases[0].sym), "%s", sym);
	plan->aliases[plan->nr_aliases].func = f;
	plan->aliases[plan->nr_aliases++].probe = q;
	at_debug("pid %d: %s is an alias of %s", plan->pid, sym, at_func_name(o->func));
}

/* Probes the symbols of a family (or mmap's list) under prefix in plan file `file`. */
static void add_syms(struct at_plan *plan, int file, const struct at_elf *e, const struct at_family_sym *syms,
		     size_t nr, const char *prefix)
{
	for (size_t i = 0; i < nr && plan->nr_probes < AT_MAX_PROBES; i++) {
		enum at_func f = syms[i].func;
		struct at_probe *p = &plan->probes[plan->nr_probes];
		const struct at_sym *s;
		char name[sizeof(plan->aliases[0].sym)];
		__u64 off;
		int q;

		snprintf(name, sizeof(name), "%s%s", prefix, at_family_sym_name(&syms[i]));
		s = at_elf_func(e, name);
		if (!s || at_elf_vaddr_to_off(e, s->addr, &off))
			continue;	/* e.g. an allocator without pvalloc */
		p->func = f;
		p->cookie = at_entry_cookie(f);
		p->file = file;
		p->has_ret = at_entry_of(f)->kind == AT_KIND_ALLOC || at_entry_of(f)->kind == AT_KIND_RESIZE ||
			     f == AT_MMAP;
		/* the return probe shares the site: rsp is unchanged there */
		p->entry_off = p->ret_off = off + probe_site(e, s, f, &p->entry_kind);
		if ((q = probe_at(plan, p)) >= 0) {
			add_alias(plan, q, f, name);
			continue;
		}
		plan->nr_probes++;
		at_debug("pid %d: %s at %s+0x%llx, probe at +%llu (%s)", plan->pid, name, plan->files[file].path,
			 (unsigned long long)off, (unsigned long long)(p->entry_off - off),
			 at_hit_kind_name(p->entry_kind));
	}
}

static void add_family(struct at_plan *plan, int file, const struct at_elf *e, const struct at_found_family *ff)
{
	const struct at_family *fam = at_family_of(ff->fam);

	add_syms(plan, file, e, fam->syms, fam->nr_syms, ff->prefix);
}

/* The plan file for mapping v (or the forced library), opened once per file. -1 if it
 * cannot be opened or no slot is left (an error said so unless quiet). */
static int plan_file(struct at_plan *plan, const struct at_vma *v, const char *lib, bool quiet)
{
	struct at_plan_file *pf = &plan->files[plan->nr_files];
	struct stat st;
	__u64 dev = v ? v->dev : 0, ino = v ? v->ino : 0;

	if (lib && !stat(lib, &st)) {
		dev = st.st_dev;
		ino = st.st_ino;
	}
	for (int i = 0; i < plan->nr_files; i++)
		if (plan->files[i].dev == dev && plan->files[i].ino == ino)
			return i;
	if (plan->nr_files == AT_PLAN_FILES)
		return -1;
	snprintf(pf->path, sizeof(pf->path), "%s", lib ? lib : v->path);
	pf->fd = lib ? open(lib, O_RDONLY | O_CLOEXEC) : at_open_mapped(plan->pid, v);
	if (pf->fd < 0) {
		if (!quiet)
			at_err("cannot open %s of process %d: %s", pf->path, plan->pid, strerror(errno));
		pf->fd = -1;
		return -1;
	}
	pf->dev = dev;
	pf->ino = ino;
	return plan->nr_files++;
}

/* A census tries every process and says nothing about those it cannot trace. */
#define PLAN_ERR(...) do { if (!quiet) at_err(__VA_ARGS__); } while (0)
#define PLAN_WARN(...) do { if (!quiet) at_warn(__VA_ARGS__); } while (0)

static void say_found(const struct at_plan *plan, const char *path, const struct at_found_family *ff)
{
	at_debug("pid %d: allocator %s%s%s%s in %s", plan->pid, at_family_of(ff->fam)->name,
		 *ff->prefix ? " (prefix " : "", ff->prefix, *ff->prefix ? ")" : "", path);
}

/* Probes the families of mapping v (or the forced library). The module serving malloc
 * gets all of them; any other only those it holds beside the C names (a static
 * jemalloc with a prefix in a Rust executable, a library embedding one): libc's
 * malloc there serves nobody, and operator new is planned apart. Returns the number
 * of families probed. */
static int plan_module(struct at_plan *plan, const struct at_vma *v, const char *lib, const struct at_elf *e,
		       bool server, bool quiet)
{
	struct at_found_family ff[AT_FOUND_MAX];
	int n = at_elf_families(e, ff, AT_FOUND_MAX), used = 0, file = -1;
	char unknown[AT_PREFIX_MAX];

	for (int i = 0; i < n; i++) {
		if (ff[i].fam == AT_FAM_CXX || (!server && ff[i].fam == AT_FAM_LIBC))
			continue;
		if (file < 0 && (file = plan_file(plan, v, lib, quiet)) < 0)
			return 0;
		add_family(plan, file, e, &ff[i]);
		say_found(plan, lib ? lib : v->path, &ff[i]);
		used++;
	}
	if (!quiet && (lib || !at_path_is_libc(v->path)) && at_elf_unknown_allocator(e, ff, n, unknown, sizeof(unknown)))
		at_warn("process %d: %s defines %smalloc, %sfree, %srealloc and %scalloc, an allocator alloctop "
			"does not know: what it serves is not traced", plan->pid, lib ? lib : v->path, unknown, unknown,
			unknown, unknown);
	return used;
}

/* Every mapped module with an allocator family: the one serving malloc (as the dynamic
 * linker resolves it) and any other holding jemalloc, mimalloc or tcmalloc names. */
static int plan_modules(struct at_plan *plan, struct at_elfcache *ec, const struct at_maps *m, bool quiet,
			const struct at_vma **server, const struct at_elf **server_elf)
{
	int used = 0;

	*server = at_allocator_pick(ec, plan->pid, m, server_elf);
	for (size_t i = 0; i < m->n; i++) {
		const struct at_vma *v = &m->v[i];
		bool seen = false;

		if (!v->exec || !at_vma_is_file(v) || at_path_is_loader(v->path))
			continue;
		for (size_t j = 0; j < i && !seen; j++)
			seen = m->v[j].exec && m->v[j].ino == v->ino && m->v[j].dev == v->dev;
		if (seen)
			continue;
		if (*server && v->ino == (*server)->ino && v->dev == (*server)->dev)
			used += plan_module(plan, *server, NULL, *server_elf, true, quiet);
		else
			used += plan_module(plan, v, NULL, at_elfcache_get(ec, plan->pid, v), false, quiet);
	}
	return used;
}

/* --lib: the forced file (mapped or not) serves malloc. */
static int plan_lib(struct at_plan *plan, struct at_elfcache *ec, const struct at_maps *m, const char *lib,
		    bool quiet, const struct at_vma **alloc, const struct at_elf **elf)
{
	struct stat st;

	*elf = at_elfcache_get_path(ec, lib);
	*alloc = NULL;
	for (size_t i = 0; i < m->n && !*alloc; i++)
		if (!stat(lib, &st) && m->v[i].ino == st.st_ino && m->v[i].dev == st.st_dev && m->v[i].exec)
			*alloc = &m->v[i];
	if (!*elf || !plan_module(plan, NULL, lib, *elf, true, quiet)) {
		PLAN_ERR("--lib %s: %s", lib, *elf ? "no malloc and free in it, nor jemalloc's, mimalloc's or tcmalloc's "
						      "own names (is it an allocator library?)"
						   : "not an ELF file (give an allocator library such as libc.so.6)");
		return -EINVAL;
	}
	return 0;
}

int at_plan__make(struct at_elfcache *ec, int pid, const char *lib, struct at_plan *plan)
{
	return at_plan__make_quiet(ec, pid, lib, plan, false);
}

/* mmap/munmap (libc's) and operator new/delete (where defined). */
static void plan_extras(struct at_plan *plan, struct at_elfcache *ec, const struct at_maps *m, bool quiet,
			const struct at_vma *alloc, const struct at_elf *elf, bool forced)
{
	const struct at_vma *mm = pick_mmap(ec, plan->pid, m, elf, forced ? NULL : alloc);
	const struct at_family *cxx = at_family_of(AT_FAM_CXX);
	int f;

	if (mm && (f = plan_file(plan, mm, NULL, quiet)) >= 0)
		add_syms(plan, f, mm == alloc ? elf : at_elfcache_get(ec, plan->pid, mm), mmap_syms, 2, "");
	else
		PLAN_WARN("process %d: no libc mmap/munmap found; application mmaps are not traced", plan->pid);
	for (size_t i = 0; i < cxx->nr_syms; i++) {
		const struct at_elf *e = NULL;
		const struct at_vma *v = pick_cxx(ec, plan->pid, m, cxx->syms[i].sym, forced ? NULL : alloc, elf, &e);

		if (v && (f = plan_file(plan, v, NULL, quiet)) >= 0)
			add_syms(plan, f, e, &cxx->syms[i], 1, "");
	}
}

int at_plan__make_quiet(struct at_elfcache *ec, int pid, const char *lib, struct at_plan *plan, bool quiet)
{
	const struct at_vma *alloc = NULL;
	const struct at_elf *elf = NULL;
	struct at_maps m;
	int err;

	memset(plan, 0, sizeof(*plan));
	plan->pid = pid;
	for (int i = 0; i < AT_PLAN_FILES; i++)
		plan->files[i].fd = -1;
	err = at_maps__read(pid, &m);
	if (err) {
		if (err == -ENOENT || err == -ESRCH)
			PLAN_ERR("process %d not found or has no memory (a kernel thread or zombie): check the PID", pid);
		else
			PLAN_ERR("cannot read /proc/%d/maps: %s (run as root)", pid, strerror(-err));
		return err == -ENOENT ? -ESRCH : err;
	}
	if (lib)
		err = plan_lib(plan, ec, &m, lib, quiet, &alloc, &elf);
	else if (!plan_modules(plan, ec, &m, quiet, &alloc, &elf))
		err = plan->nr_files ? -EIO : -EAGAIN;	/* nothing found, or a file that would not open */
	if (err)
		goto out;
	/* calls from the allocator's own text are not the application's mmaps; a static
	 * binary is one module, so there only nesting tells */
	if (alloc && !at_vma_is_exe(pid, alloc))
		text_range(&m, alloc, &plan->text);
	plan_extras(plan, ec, &m, quiet, alloc, elf, lib != NULL);
out:
	at_maps__fini(&m);
	if (err)
		at_plan__fini(plan);
	return err;
}

struct alias_ctx {
	const struct at_plan *plan;
	__u64 bias;
	void (*add)(void *ctx, __u64 slot, enum at_func f);
	void *ctx;
};

static void alias_reloc(void *ctx, const char *name, __u64 slot)
{
	struct alias_ctx *a = ctx;

	for (int i = 0; i < a->plan->nr_aliases; i++)
		if (!strcmp(name, a->plan->aliases[i].sym))
			a->add(a->ctx, a->bias + slot, a->plan->aliases[i].func);
}

void at_plan_alias_slots(struct at_elfcache *ec, const struct at_plan *plan,
			 void (*add)(void *ctx, __u64 slot, enum at_func f), void *ctx)
{
	struct alias_ctx a = { .plan = plan, .add = add, .ctx = ctx };
	struct at_maps m;

	if (!plan->nr_aliases || at_maps__read(plan->pid, &m))
		return;
	for (size_t i = 0; i < m.n; i++) {
		const struct at_vma *v = &m.v[i];
		const struct at_elf *e;
		__u64 vaddr;

		/* one pass per module: its first mapping gives the load bias */
		if (!at_vma_is_file(v) || (i && m.v[i - 1].ino == v->ino && m.v[i - 1].dev == v->dev))
			continue;
		e = at_elfcache_get(ec, plan->pid, v);
		if (!e || at_elf_off_to_vaddr(e, v->pgoff, &vaddr))
			continue;
		a.bias = v->start - vaddr;
		at_elf_relocs(e, alias_reloc, &a);
	}
	at_maps__fini(&m);
}

void at_plan__fini(struct at_plan *plan)
{
	for (int i = 0; i < AT_PLAN_FILES; i++) {
		if (plan->files[i].fd >= 0)
			close(plan->files[i].fd);
		plan->files[i].fd = -1;
	}
}
