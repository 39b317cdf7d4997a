/* Reading whole BPF hash maps from userspace. */
#ifndef AT_BPFMAP_H
#define AT_BPFMAP_H

#include <stddef.h>

/* Reads every entry of hash map fd into new arrays *keys and *vals (the caller frees
 * them): batched where the kernel allows, key by key otherwise. vsz is the value size
 * as the syscall returns it (ncpus copies for per-CPU maps). 0 or -errno. */
int at_map_read_all(int fd, size_t ksz, size_t vsz, void **keys, void **vals, size_t *n);

#endif
