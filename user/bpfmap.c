#include "bpfmap.h"
#include "util.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdbool.h>
#include <string.h>

/* Reads a whole hash map: batched where the kernel allows, key by key otherwise.
 * vsz is the value size as the syscall returns it (ncpus copies for per-CPU maps). */
int at_map_read_all(int fd, size_t ksz, size_t vsz, void **keys, void **vals, size_t *n)
{
	size_t cap = 1024, got = 0;
	char token[64], next_tok[64];
	bool first = true;
	int err;

	*keys = at_xcalloc(cap, ksz);
	*vals = at_xcalloc(cap, vsz);
	for (;;) {
		__u32 count = 256;
		LIBBPF_OPTS(bpf_map_batch_opts, bo);

		if (got + count > cap) {
			cap *= 2;
			*keys = at_xrealloc(*keys, cap, ksz);
			*vals = at_xrealloc(*vals, cap, vsz);
		}
		err = bpf_map_lookup_batch(fd, first ? NULL : token, next_tok, (char *)*keys + got * ksz,
					   (char *)*vals + got * vsz, &count, &bo);
		if (err && errno != ENOENT)
			break;
		got += count;
		if (err)
			goto done;	/* ENOENT: the last batch */
		memcpy(token, next_tok, sizeof(token));
		first = false;
	}
	if (errno == ENOSPC) {
		/* a bucket larger than the batch: fall back to walking keys */
	} else if (errno != EINVAL && errno != ENOTSUP && errno != EOPNOTSUPP) {
		return -errno;
	}
	got = 0;
	{
		char cur[64], next[64];
		bool have = false;

		while (!bpf_map_get_next_key(fd, have ? cur : NULL, next)) {
			memcpy(cur, next, ksz);
			have = true;
			if (got == cap) {
				cap *= 2;
				*keys = at_xrealloc(*keys, cap, ksz);
				*vals = at_xrealloc(*vals, cap, vsz);
			}
			if (!bpf_map_lookup_elem(fd, cur, (char *)*vals + got * vsz))
				memcpy((char *)*keys + got++ * ksz, cur, ksz);
		}
	}
done:
	*n = got;
	return 0;
}

