#include "kernel/bpfmap.h"
#include "lib/util.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct chunk_buf {
	char *keys, *vals;
	size_t cap;
};

static void chunk_grow(struct chunk_buf *b, size_t cap, size_t ksz, size_t vsz)
{
	if (cap <= b->cap)
		return;
	b->keys = at_xrealloc(b->keys, cap, ksz);
	b->vals = at_xrealloc(b->vals, cap, vsz);
	b->cap = cap;
}

/* Without batch support: key by key, handed out in chunks all the same. */
static int walk_keys(int fd, size_t ksz, size_t vsz, struct chunk_buf *b, at_map_chunk_fn fn, void *ctx)
{
	char cur[64], next[64];
	bool have = false;
	size_t got = 0;
	int err = 0;

	while (!err && !bpf_map_get_next_key(fd, have ? cur : NULL, next)) {
		memcpy(cur, next, ksz);
		have = true;
		if (!bpf_map_lookup_elem(fd, cur, b->vals + got * vsz))
			memcpy(b->keys + got++ * ksz, cur, ksz);
		if (got == b->cap) {
			err = fn(ctx, b->keys, b->vals, got);
			got = 0;
		}
	}
	return err ? err : got ? fn(ctx, b->keys, b->vals, got) : 0;
}

int at_map_read_chunks(int fd, size_t ksz, size_t vsz, size_t chunk, at_map_chunk_fn fn, void *ctx)
{
	struct chunk_buf b = { 0 };
	char token[64], next_tok[64];
	bool first = true;
	int err = 0;

	chunk_grow(&b, chunk ? chunk : 1, ksz, vsz);
	for (;;) {
		__u32 count = (__u32)b.cap;
		LIBBPF_OPTS(bpf_map_batch_opts, bo);
		int rc = bpf_map_lookup_batch(fd, first ? NULL : token, next_tok, b.keys, b.vals, &count, &bo);

		if (rc && errno == ENOSPC && !count) {
			/* a bucket holds more entries than a chunk: retry it with room for them */
			chunk_grow(&b, b.cap * 2, ksz, vsz);
			continue;
		}
		if (rc && errno != ENOENT) {
			err = first && (errno == EINVAL || errno == ENOTSUP || errno == EOPNOTSUPP) ?
			      walk_keys(fd, ksz, vsz, &b, fn, ctx) : -errno;
			break;
		}
		if (count && (err = fn(ctx, b.keys, b.vals, count)))
			break;
		if (rc)
			break;	/* ENOENT: that was the last batch */
		memcpy(token, next_tok, sizeof(token));
		first = false;
	}
	free(b.keys);
	free(b.vals);
	return err;
}

struct all_ctx {
	size_t ksz, vsz, n, cap;
	void *keys, *vals;
};

static int append_all(void *ctx, const void *keys, const void *vals, size_t n)
{
	struct all_ctx *a = ctx;

	if (a->n + n > a->cap) {
		a->cap = (a->n + n) * 2;
		a->keys = at_xrealloc(a->keys, a->cap, a->ksz);
		a->vals = at_xrealloc(a->vals, a->cap, a->vsz);
	}
	memcpy((char *)a->keys + a->n * a->ksz, keys, n * a->ksz);
	memcpy((char *)a->vals + a->n * a->vsz, vals, n * a->vsz);
	a->n += n;
	return 0;
}

int at_map_read_all(int fd, size_t ksz, size_t vsz, void **keys, void **vals, size_t *n)
{
	struct all_ctx a = { .ksz = ksz, .vsz = vsz };
	int err = at_map_read_chunks(fd, ksz, vsz, 256, append_all, &a);

	if (err) {
		free(a.keys);
		free(a.vals);
		return err;
	}
	*keys = a.keys ? a.keys : at_xcalloc(1, ksz);
	*vals = a.vals ? a.vals : at_xcalloc(1, vsz);
	*n = a.n;
	return 0;
}

struct pid_keys {
	const int *set;		/* sorted */
	int n;
	size_t ksz, nk, cap;
	char *keys;		/* the matching keys */
};

static int collect_pid_keys(void *ctx, const void *keys, const void *vals, size_t n)
{
	struct pid_keys *pk = ctx;

	(void)vals;
	for (size_t i = 0; i < n; i++) {
		const char *k = (const char *)keys + i * pk->ksz;
		int pid = *(const __u32 *)k;

		if (!bsearch(&pid, pk->set, pk->n, sizeof(int), at_int_cmp))
			continue;
		if (pk->nk == pk->cap) {
			pk->cap = pk->cap ? pk->cap * 2 : 1024;
			pk->keys = at_xrealloc(pk->keys, pk->cap, pk->ksz);
		}
		memcpy(pk->keys + pk->nk++ * pk->ksz, k, pk->ksz);
	}
	return 0;
}

/* Deletes every key of map fd whose leading u32 (the pid) is in the sorted set: one
 * batched read that keeps only those keys, then batched deletes. (Walking get_next_key
 * and deleting as it goes restarts the walk after each delete: minutes for a million
 * blocks.) */
void at_map_delete_pids(int fd, size_t ksz, size_t vsz, const int *set, int n)
{
	struct pid_keys pk = { .set = set, .n = n, .ksz = ksz };

	if (at_map_read_chunks(fd, ksz, vsz, 4096, collect_pid_keys, &pk)) {
		free(pk.keys);
		return;
	}
	for (size_t done = 0; done < pk.nk;) {
		__u32 count = pk.nk - done > 4096 ? 4096 : (__u32)(pk.nk - done);
		LIBBPF_OPTS(bpf_map_batch_opts, bo);

		if (bpf_map_delete_batch(fd, pk.keys + done * ksz, &count, &bo) && !count) {
			/* no batch support: one by one */
			for (; done < pk.nk; done++)
				bpf_map_delete_elem(fd, pk.keys + done * ksz);
			break;
		}
		done += count ? count : 1;
	}
	free(pk.keys);
}

int at_map_lookup_either(int fd, int more_fd, const void *k, void *v)
{
	if (!bpf_map_lookup_elem(fd, k, v))
		return 0;
	if (errno != ENOENT || more_fd < 0)
		return -errno;
	return bpf_map_lookup_elem(more_fd, k, v) ? -errno : 0;
}
