/* Reading whole BPF hash maps from userspace. */
#ifndef AT_BPFMAP_H
#define AT_BPFMAP_H

#include <stddef.h>

/* Gets n entries at a time: keys and vals are arrays of n. 0 goes on, anything else
 * stops the read and is returned. */
typedef int (*at_map_chunk_fn)(void *ctx, const void *keys, const void *vals, size_t n);

/* Hands every entry of hash map fd to fn in chunks of up to `chunk` entries: batched
 * where the kernel allows, key by key otherwise. Only one chunk is held at a time, so a
 * big map costs little memory. vsz is the value size as the syscall returns it (ncpus
 * copies for per-CPU maps). 0, -errno, or what fn returned. */
int at_map_read_chunks(int fd, size_t ksz, size_t vsz, size_t chunk, at_map_chunk_fn fn, void *ctx);
/* A key's value in map fd or, failing that, in its overflow more_fd (-1: none); 0 or
 * -errno (-ENOENT in neither). */
int at_map_lookup_either(int fd, int more_fd, const void *k, void *v);

/* Reads every entry of hash map fd into new arrays *keys and *vals (the caller frees
 * them). 0 or -errno. */
int at_map_read_all(int fd, size_t ksz, size_t vsz, void **keys, void **vals, size_t *n);

/* Deletes every key of map fd whose leading u32 (a pid) is in the sorted set of n. */
void at_map_delete_pids(int fd, size_t ksz, size_t vsz, const int *set, int n);

#endif
