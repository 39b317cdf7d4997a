/* Which mapped file serves a process's malloc, found the way the dynamic linker
 * resolves it; shared by the probe planner and the heap pass. */
#ifndef AT_ALLOCATOR_H
#define AT_ALLOCATOR_H

#include <stdbool.h>
#include "binary/elf.h"
#include "lib/family.h"
#include "binary/elfcache.h"
#include "binary/procmaps.h"

bool at_elf_defines_allocator(const struct at_elf *e);	/* malloc and free */

#define AT_PREFIX_MAX 32
/* A family found in a file, under a prefix ("" for none, "je_", "_rjem_", any). */
struct at_found_family {
	enum at_family_id fam;
	char prefix[AT_PREFIX_MAX];
};
#define AT_FOUND_MAX 8
/* The families e defines: each family's anchor and partner under one prefix (only
 * unprefixed for libc and C++). Returns how many, at most max, into out. */
int at_elf_families(const struct at_elf *e, struct at_found_family *out, int max);
/* Does e define an allocator no family describes: malloc, free, realloc and calloc
 * under a prefix no family of e claims (dlmalloc, rpmalloc, ...)? Its prefix in out. */
bool at_elf_unknown_allocator(const struct at_elf *e, const struct at_found_family *known, int nr_known,
			      char *out, size_t len);
bool at_path_is_libc(const char *path);
bool at_path_is_loader(const char *path);			/* the dynamic linker */
/* The exec mapping of the main executable: /proc/PID/exe names its inode. */
bool at_vma_is_exe(int pid, const struct at_vma *v);
/* The executable if it defines malloc (static or custom), else a preloaded or linked
 * allocator library, else libc; *elf its ELF. NULL if none. */
const struct at_vma *at_allocator_pick(struct at_elfcache *ec, int pid, const struct at_maps *m,
				       const struct at_elf **elf);
/* Does glibc's malloc serve this process, and no other allocator beside it (so every
 * block's chunk layout is known)? */
bool at_uses_glibc_malloc(struct at_elfcache *ec, int pid, const struct at_maps *m);

#endif
