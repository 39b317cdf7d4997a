#include "attach.h"
#include "probesite.h"
#include "procmaps.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const func_names[AT_NR_FUNCS] = {
	[AT_MALLOC] = "malloc", [AT_CALLOC] = "calloc", [AT_REALLOC] = "realloc",
	[AT_REALLOCARRAY] = "reallocarray", [AT_FREE] = "free",
	[AT_POSIX_MEMALIGN] = "posix_memalign", [AT_ALIGNED_ALLOC] = "aligned_alloc",
	[AT_MEMALIGN] = "memalign", [AT_VALLOC] = "valloc", [AT_PVALLOC] = "pvalloc",
	[AT_MMAP] = "mmap", [AT_MUNMAP] = "munmap",
};

const char *at_func_name(enum at_func f)
{
	return f < AT_NR_FUNCS ? func_names[f] : "?";
}

static bool defines_allocator(const struct at_elf *e)
{
	return e && at_elf_func(e, "malloc") && at_elf_func(e, "free");
}

static const char *base(const char *p)
{
	const char *s = strrchr(p, '/');

	return s ? s + 1 : p;
}

static bool is_libc(const char *p)
{
	return !strncmp(base(p), "libc.so", 7) || !strncmp(base(p), "libc-", 5);
}

static bool is_loader(const char *p)
{
	return !strncmp(base(p), "ld-linux", 8) || !strncmp(base(p), "ld.so", 5) || !strncmp(base(p), "ld-musl", 7);
}

/* The exec mapping of the main executable: /proc/PID/exe names its inode. */
static bool is_exe(int pid, const struct at_vma *v)
{
	char path[64];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	return !stat(path, &st) && st.st_ino == v->ino && st.st_dev == v->dev;
}

/* Picks the file that serves malloc the way the dynamic linker resolves it: the
 * executable if it defines malloc (static or custom), else a preloaded or linked
 * allocator library, else libc. */
static const struct at_vma *pick_allocator(struct at_elfcache *ec, int pid, const struct at_maps *m,
					   const struct at_elf **elf)
{
	const struct at_vma *libc = NULL, *exe = NULL;
	const struct at_elf *libc_elf = NULL;

	for (size_t i = 0; i < m->n; i++) {
		const struct at_vma *v = &m->v[i];
		const struct at_elf *e;

		if (!v->exec || !at_vma_is_file(v) || is_loader(v->path))
			continue;
		if (!exe && is_exe(pid, v)) {
			exe = v;
			if (defines_allocator(*elf = at_elfcache_get(ec, pid, v)))
				return v;
			continue;
		}
		e = at_elfcache_get(ec, pid, v);
		if (!defines_allocator(e))
			continue;
		if (is_libc(v->path)) {
			libc = v;
			libc_elf = e;
			continue;
		}
		*elf = e;
		return v;
	}
	*elf = libc_elf;
	return libc;
}

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

		if (!v->exec || !at_vma_is_file(v) || !is_libc(v->path))
			continue;
		e = at_elfcache_get(ec, pid, v);
		if (e && at_elf_func(e, "mmap") && at_elf_func(e, "munmap"))
			return v;
	}
	return NULL;
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

static int add_probes(struct at_plan *plan, int file, const struct at_elf *e, int first, int last)
{
	for (int f = first; f <= last; f++) {
		const struct at_sym *s = at_elf_func(e, func_names[f]);
		struct at_probe *p = &plan->probes[plan->nr_probes];
		__u64 off;

		if (!s || at_elf_vaddr_to_off(e, s->addr, &off))
			continue;	/* e.g. an allocator without pvalloc */
		p->func = f;
		p->file = file;
		p->has_ret = f != AT_FREE && f != AT_MUNMAP;
		/* the return probe shares the site: rsp is unchanged there */
		p->entry_off = p->ret_off = off + at_probe_site(e, s, f);
		if (alias_of(plan, p) >= 0) {
			plan->aliased |= 1U << f | 1U << plan->probes[alias_of(plan, p)].func;
			at_debug("pid %d: %s is an alias of %s: counted under that name", plan->pid, func_names[f],
				 func_names[plan->probes[alias_of(plan, p)].func]);
			continue;
		}
		plan->nr_probes++;
		at_debug("pid %d: %s at %s+0x%llx, probe at +%llu", plan->pid, func_names[f],
			 plan->files[file].path, (unsigned long long)off, (unsigned long long)(p->entry_off - off));
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

int at_plan_make(struct at_elfcache *ec, int pid, const char *lib, struct at_plan *plan)
{
	return at_plan_make_quiet(ec, pid, lib, plan, false);
}

int at_plan_make_quiet(struct at_elfcache *ec, int pid, const char *lib, struct at_plan *plan, bool quiet)
{
	const struct at_vma *alloc = NULL, *mm;
	const struct at_elf *elf = NULL;
	struct at_maps m;
	int err;

	memset(plan, 0, sizeof(*plan));
	plan->pid = pid;
	plan->files[0].fd = plan->files[1].fd = -1;
	err = at_maps_read(pid, &m);
	if (err) {
		if (err == -ENOENT || err == -ESRCH)
			PLAN_ERR("process %d not found or has no memory (a kernel thread or zombie): check the PID", pid);
		else
			PLAN_ERR("cannot read /proc/%d/maps: %s (run as root)", pid, strerror(-err));
		return err == -ENOENT ? -ESRCH : err;
	}
	if (lib) {
		elf = at_elfcache_get_path(ec, lib);
		if (!defines_allocator(elf)) {
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
		alloc = pick_allocator(ec, pid, &m, &elf);
		if (!alloc) {
			err = -EAGAIN;
			goto out;
		}
	}
	if ((err = open_plan_file(&plan->files[0], pid, alloc, lib))) {
		PLAN_ERR("cannot open the allocator %s of process %d: %s", lib ? lib : alloc->path, pid, strerror(-err));
		goto out;
	}
	add_probes(plan, 0, elf, AT_MALLOC, AT_PVALLOC);
	/* calls from the allocator's own text are not the application's mmaps; a static
	 * binary is one module, so there only nesting tells */
	if (alloc && !is_exe(pid, alloc))
		text_range(&m, alloc, &plan->text);
	mm = pick_mmap(ec, pid, &m, elf, lib ? NULL : alloc);
	if (mm && mm == alloc && !lib) {
		add_probes(plan, 0, elf, AT_MMAP, AT_MUNMAP);
	} else if (mm && !open_plan_file(&plan->files[1], pid, mm, NULL)) {
		add_probes(plan, 1, at_elfcache_get(ec, pid, mm), AT_MMAP, AT_MUNMAP);
	} else {
		PLAN_WARN("process %d: no libc mmap/munmap found; application mmaps are not traced", pid);
	}
out:
	at_maps_free(&m);
	if (err)
		at_plan_free(plan);
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
		if ((a->plan->aliased & 1U << f) && !strcmp(name, func_names[f]))
			a->add(a->ctx, a->bias + slot, f);
}

void at_plan_alias_slots(struct at_elfcache *ec, const struct at_plan *plan,
			 void (*add)(void *ctx, __u64 slot, enum at_func f), void *ctx)
{
	struct alias_ctx a = { .plan = plan, .add = add, .ctx = ctx };
	struct at_maps m;

	if (!plan->aliased || at_maps_read(plan->pid, &m))
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
	at_maps_free(&m);
}

void at_plan_free(struct at_plan *plan)
{
	for (int i = 0; i < 2; i++) {
		if (plan->files[i].fd >= 0)
			close(plan->files[i].fd);
		plan->files[i].fd = -1;
	}
}
