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

/* Where each function is looked for, and under which symbols. */
enum at_group { AT_GROUP_ALLOC, AT_GROUP_MMAP, AT_GROUP_CXX };

static const struct {
	enum at_func func;
	enum at_group group;
	const char *sym;
} probe_syms[] = {
	{ AT_MALLOC, AT_GROUP_ALLOC, "malloc" },
	{ AT_CALLOC, AT_GROUP_ALLOC, "calloc" },
	{ AT_REALLOC, AT_GROUP_ALLOC, "realloc" },
	{ AT_REALLOCARRAY, AT_GROUP_ALLOC, "reallocarray" },
	{ AT_FREE, AT_GROUP_ALLOC, "free" },
	{ AT_POSIX_MEMALIGN, AT_GROUP_ALLOC, "posix_memalign" },
	{ AT_ALIGNED_ALLOC, AT_GROUP_ALLOC, "aligned_alloc" },
	{ AT_MEMALIGN, AT_GROUP_ALLOC, "memalign" },
	{ AT_VALLOC, AT_GROUP_ALLOC, "valloc" },
	{ AT_PVALLOC, AT_GROUP_ALLOC, "pvalloc" },
	{ AT_MMAP, AT_GROUP_MMAP, "mmap" },
	{ AT_MUNMAP, AT_GROUP_MMAP, "munmap" },
	/* operator new/delete and their sized, aligned and nothrow forms (Itanium ABI) */
	{ AT_NEW, AT_GROUP_CXX, "_Znwm" },
	{ AT_NEW, AT_GROUP_CXX, "_ZnwmRKSt9nothrow_t" },
	{ AT_NEW, AT_GROUP_CXX, "_ZnwmSt11align_val_t" },
	{ AT_NEW, AT_GROUP_CXX, "_ZnwmSt11align_val_tRKSt9nothrow_t" },
	{ AT_NEW_ARRAY, AT_GROUP_CXX, "_Znam" },
	{ AT_NEW_ARRAY, AT_GROUP_CXX, "_ZnamRKSt9nothrow_t" },
	{ AT_NEW_ARRAY, AT_GROUP_CXX, "_ZnamSt11align_val_t" },
	{ AT_NEW_ARRAY, AT_GROUP_CXX, "_ZnamSt11align_val_tRKSt9nothrow_t" },
	{ AT_DELETE, AT_GROUP_CXX, "_ZdlPv" },
	{ AT_DELETE, AT_GROUP_CXX, "_ZdlPvm" },
	{ AT_DELETE, AT_GROUP_CXX, "_ZdlPvRKSt9nothrow_t" },
	{ AT_DELETE, AT_GROUP_CXX, "_ZdlPvSt11align_val_t" },
	{ AT_DELETE, AT_GROUP_CXX, "_ZdlPvmSt11align_val_t" },
	{ AT_DELETE, AT_GROUP_CXX, "_ZdlPvSt11align_val_tRKSt9nothrow_t" },
	{ AT_DELETE_ARRAY, AT_GROUP_CXX, "_ZdaPv" },
	{ AT_DELETE_ARRAY, AT_GROUP_CXX, "_ZdaPvm" },
	{ AT_DELETE_ARRAY, AT_GROUP_CXX, "_ZdaPvRKSt9nothrow_t" },
	{ AT_DELETE_ARRAY, AT_GROUP_CXX, "_ZdaPvSt11align_val_t" },
	{ AT_DELETE_ARRAY, AT_GROUP_CXX, "_ZdaPvmSt11align_val_t" },
	{ AT_DELETE_ARRAY, AT_GROUP_CXX, "_ZdaPvSt11align_val_tRKSt9nothrow_t" },
};

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

/* The module serving operator new: the first of the executable (static libstdc++),
 * the allocator (jemalloc and tcmalloc define new/delete) and the C++ runtime. */
static const struct at_vma *pick_cxx(struct at_elfcache *ec, int pid, const struct at_maps *m,
				     const struct at_vma *alloc, const struct at_elf *alloc_elf, const struct at_elf **elf)
{
	const struct at_vma *found = NULL;

	if (alloc && alloc_elf && at_elf_func(alloc_elf, "_Znwm")) {
		*elf = alloc_elf;
		return alloc;
	}
	for (size_t i = 0; i < m->n; i++) {
		const struct at_vma *v = &m->v[i];
		const struct at_elf *e;

		if (!v->exec || !at_vma_is_file(v) || at_path_is_loader(v->path) || at_path_is_libc(v->path))
			continue;
		e = at_elfcache_get(ec, pid, v);
		if (!e || !at_elf_func(e, "_Znwm"))
			continue;
		if (at_vma_is_exe(pid, v)) {
			*elf = e;
			return v;
		}
		if (!found) {
			found = v;
			*elf = e;
		}
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

/* Two names for one function (glibc's aligned_alloc is memalign): probe it once. */
static int alias_of(const struct at_plan *plan, const struct at_probe *p)
{
	for (int i = 0; i < plan->nr_probes; i++)
		if (plan->probes[i].file == p->file && plan->probes[i].ret_off == p->ret_off)
			return i;
	return -1;
}

static bool entry_only(enum at_func f)
{
	return f == AT_FREE || f == AT_MUNMAP || f == AT_DELETE || f == AT_DELETE_ARRAY;
}

/* The kind of hit the probe at vaddr gets, from its instruction (the cost model's key). */
static enum at_hit_kind site_kind(const struct at_elf *e, __u64 vaddr)
{
	size_t avail;
	const uint8_t *code = at_elf_code(e, vaddr, &avail);

	return code ? at_probe_kind(code, avail < 16 ? avail : 16) : AT_HIT_STEPPED;
}

static int add_probes(struct at_plan *plan, int file, const struct at_elf *e, enum at_group group)
{
	for (size_t i = 0; i < AT_ARRAY_SIZE(probe_syms) && plan->nr_probes < AT_MAX_PROBES; i++) {
		enum at_func f = probe_syms[i].func;
		const struct at_sym *s = probe_syms[i].group == group ? at_elf_func(e, probe_syms[i].sym) : NULL;
		struct at_probe *p = &plan->probes[plan->nr_probes];
		__u64 off;

		if (!s || at_elf_vaddr_to_off(e, s->addr, &off))
			continue;	/* e.g. an allocator without pvalloc */
		p->func = f;
		p->file = file;
		p->has_ret = !entry_only(f);
		/* the return probe shares the site: rsp is unchanged there */
		p->entry_off = p->ret_off = off + at_probe_site(e, s, f);
		p->entry_kind = site_kind(e, s->addr + (p->entry_off - off));
		if (alias_of(plan, p) >= 0) {
			if (plan->probes[alias_of(plan, p)].func != f)
				plan->aliased |= 1U << f | 1U << plan->probes[alias_of(plan, p)].func;
			at_debug("pid %d: %s is an alias of %s", plan->pid, probe_syms[i].sym,
				 at_func_name(plan->probes[alias_of(plan, p)].func));
			continue;
		}
		plan->nr_probes++;
		at_debug("pid %d: %s at %s+0x%llx, probe at +%llu (%s)", plan->pid, probe_syms[i].sym,
			 plan->files[file].path, (unsigned long long)off, (unsigned long long)(p->entry_off - off),
			 at_hit_kind_name(p->entry_kind));
	}
	return 0;
}

static int open_plan_file(struct at_plan_file *pf, int pid, const struct at_vma *v, const char *lib)
{
	snprintf(pf->path, sizeof(pf->path), "%s", lib ? lib : v->path);
	pf->fd = lib ? open(lib, O_RDONLY | O_CLOEXEC) : at_open_mapped(pid, v);
	return pf->fd < 0 ? pf->fd : 0;
}

/* A census tries every process and says nothing about those it cannot trace. */
#define PLAN_ERR(...) do { if (!quiet) at_err(__VA_ARGS__); } while (0)
#define PLAN_WARN(...) do { if (!quiet) at_warn(__VA_ARGS__); } while (0)

int at_plan__make(struct at_elfcache *ec, int pid, const char *lib, struct at_plan *plan)
{
	return at_plan__make_quiet(ec, pid, lib, plan, false);
}

int at_plan__make_quiet(struct at_elfcache *ec, int pid, const char *lib, struct at_plan *plan, bool quiet)
{
	const struct at_vma *alloc = NULL, *mm;
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
	if (lib) {
		elf = at_elfcache_get_path(ec, lib);
		if (!at_elf_defines_allocator(elf)) {
			PLAN_ERR("--lib %s: %s", lib, elf ? "no malloc and free symbols in it (is it an allocator library?)"
							: "not an ELF file (give an allocator library such as libc.so.6)");
			err = -EINVAL;
			goto out;
		}
		for (size_t i = 0; i < m.n && !alloc; i++) {
			struct stat st;

			if (!stat(lib, &st) && m.v[i].ino == st.st_ino && m.v[i].dev == st.st_dev && m.v[i].exec)
				alloc = &m.v[i];
		}
	} else {
		alloc = at_allocator_pick(ec, pid, &m, &elf);
		if (!alloc) {
			err = -EAGAIN;
			goto out;
		}
	}
	if ((err = open_plan_file(&plan->files[0], pid, alloc, lib))) {
		PLAN_ERR("cannot open the allocator %s of process %d: %s", lib ? lib : alloc->path, pid, strerror(-err));
		goto out;
	}
	add_probes(plan, 0, elf, AT_GROUP_ALLOC);
	/* calls from the allocator's own text are not the application's mmaps; a static
	 * binary is one module, so there only nesting tells */
	if (alloc && !at_vma_is_exe(pid, alloc))
		text_range(&m, alloc, &plan->text);
	mm = pick_mmap(ec, pid, &m, elf, lib ? NULL : alloc);
	if (mm && mm == alloc && !lib) {
		add_probes(plan, 0, elf, AT_GROUP_MMAP);
	} else if (mm && !open_plan_file(&plan->files[1], pid, mm, NULL)) {
		add_probes(plan, 1, at_elfcache_get(ec, pid, mm), AT_GROUP_MMAP);
	} else {
		PLAN_WARN("process %d: no libc mmap/munmap found; application mmaps are not traced", pid);
	}
	{
		const struct at_elf *cxx_elf = NULL;
		const struct at_vma *cxx = pick_cxx(ec, pid, &m, lib ? NULL : alloc, elf, &cxx_elf);

		if (cxx && cxx == alloc && !lib)
			add_probes(plan, 0, elf, AT_GROUP_CXX);
		else if (cxx && !open_plan_file(&plan->files[2], pid, cxx, NULL))
			add_probes(plan, 2, cxx_elf, AT_GROUP_CXX);
	}
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

	for (int f = 0; f < AT_NR_FUNCS; f++)
		if ((a->plan->aliased & 1U << f) && !strcmp(name, at_func_name(f)))
			a->add(a->ctx, a->bias + slot, f);
}

void at_plan_alias_slots(struct at_elfcache *ec, const struct at_plan *plan,
			 void (*add)(void *ctx, __u64 slot, enum at_func f), void *ctx)
{
	struct alias_ctx a = { .plan = plan, .add = add, .ctx = ctx };
	struct at_maps m;

	if (!plan->aliased || at_maps__read(plan->pid, &m))
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
