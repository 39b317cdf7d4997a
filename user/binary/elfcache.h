/* ELF files by (device, inode), loaded once and shared by every process mapping them. */
#ifndef AT_ELFCACHE_H
#define AT_ELFCACHE_H

#include "binary/elf.h"
#include "binary/procmaps.h"

struct at_elfcache;

struct at_elfcache *at_elfcache__new(void);
void at_elfcache__free(struct at_elfcache *c);
/* The ELF mapped by v in process pid, opened through the process (once it has exited:
 * the same path on the host if it is still that device and inode); NULL if it cannot
 * be read (remembered too). */
const struct at_elf *at_elfcache_get(struct at_elfcache *c, int pid, const struct at_vma *v);
/* The same for a file named by path in alloctop's own namespace. */
const struct at_elf *at_elfcache_get_path(struct at_elfcache *c, const char *path);

#endif
