#include "binary/allocator.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

bool at_elf_defines_allocator(const struct at_elf *e)
{
	return e && at_elf_func(e, "malloc") && at_elf_func(e, "free");
}

static const char *base(const char *p)
{
	const char *s = strrchr(p, '/');

	return s ? s + 1 : p;
}

bool at_path_is_libc(const char *p)
{
	return !strncmp(base(p), "libc.so", 7) || !strncmp(base(p), "libc-", 5);
}

bool at_path_is_loader(const char *p)
{
	return !strncmp(base(p), "ld-linux", 8) || !strncmp(base(p), "ld.so", 5) || !strncmp(base(p), "ld-musl", 7);
}

/* The exec mapping of the main executable: /proc/PID/exe names its inode. */
bool at_vma_is_exe(int pid, const struct at_vma *v)
{
	char path[64];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	return !stat(path, &st) && st.st_ino == v->ino && st.st_dev == v->dev;
}

/* Picks the file that serves malloc the way the dynamic linker resolves it: the
 * executable if it defines malloc (static or custom), else a preloaded or linked
 * allocator library, else libc. */
const struct at_vma *at_allocator_pick(struct at_elfcache *ec, int pid, const struct at_maps *m,
				       const struct at_elf **elf)
{
	const struct at_vma *libc = NULL, *exe = NULL;
	const struct at_elf *libc_elf = NULL;

	for (size_t i = 0; i < m->n; i++) {
		const struct at_vma *v = &m->v[i];
		const struct at_elf *e;

		if (!v->exec || !at_vma_is_file(v) || at_path_is_loader(v->path))
			continue;
		if (!exe && at_vma_is_exe(pid, v)) {
			exe = v;
			if (at_elf_defines_allocator(*elf = at_elfcache_get(ec, pid, v)))
				return v;
			continue;
		}
		e = at_elfcache_get(ec, pid, v);
		if (!at_elf_defines_allocator(e))
			continue;
		if (at_path_is_libc(v->path)) {
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

bool at_uses_glibc_malloc(struct at_elfcache *ec, int pid, const struct at_maps *m)
{
	const struct at_elf *e;
	const struct at_vma *v = at_allocator_pick(ec, pid, m, &e);

	return v && at_path_is_libc(v->path);
}
