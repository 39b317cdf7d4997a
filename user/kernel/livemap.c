#include "kernel/livemap.h"
#include "alloctop.h"
#include "lib/util.h"

#include <bpf/bpf.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

/* The table is read through mmap a window at a time: mapping it whole would count
 * every page of it (92 MB by default) in alloctop's RSS. Windows of 4096 buckets are
 * whole pages, so each starts on a page boundary. */
#define WINDOW_BUCKETS 4096
_Static_assert(WINDOW_BUCKETS * sizeof(struct at_live_bucket) % 4096 == 0, "live windows page-aligned");

typedef int (*window_fn)(struct at_live_bucket *b, size_t n, void *ctx);

static int tier_windows(int fd, bool writable, window_fn fn, void *ctx)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	int err = 0;

	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return -errno;
	if (info.value_size != sizeof(struct at_live_bucket))
		return -EINVAL;
	for (size_t first = 0; first < info.max_entries && !err; first += WINDOW_BUCKETS) {
		size_t n = info.max_entries - first < WINDOW_BUCKETS ? info.max_entries - first : WINDOW_BUCKETS;
		size_t bytes = (n * sizeof(struct at_live_bucket) + 4095) / 4096 * 4096;
		void *m = mmap(NULL, bytes, PROT_READ | (writable ? PROT_WRITE : 0), MAP_SHARED, fd,
			       first * sizeof(struct at_live_bucket));

		if (m == MAP_FAILED)
			return -errno;
		err = fn(m, n, ctx);
		munmap(m, bytes);
	}
	return err;
}

/* Every tier of the table (outer map fd), in order, a window at a time. */
static int each_window(int fd, bool writable, window_fn fn, void *ctx)
{
	int err = 0;

	for (__u32 t = 0; t < AT_LIVE_TIERS && !err; t++) {
		__u32 id;
		int tfd;

		if (bpf_map_lookup_elem(fd, &t, &id))
			break;	/* not grown that far */
		tfd = bpf_map_get_fd_by_id(id);
		if (tfd < 0)
			return -errno;
		err = tier_windows(tfd, writable, fn, ctx);
		close(tfd);
	}
	return err;
}

struct reader {
	struct at_block_key *keys;
	struct at_block *vals;
	size_t n, cap;
	at_map_chunk_fn fn;
	void *ctx;
};

/* Copies slot w of b; false when it holds no block. */
static bool read_slot(struct at_live_bucket *b, int w, struct at_block_key *k, struct at_block *v)
{
	/* the BPF side writes a slot's fields before its address */
	__u64 addr = __atomic_load_n(&b->addr[w], __ATOMIC_ACQUIRE);

	if (addr <= AT_LIVE_BUSY)
		return false;
	*k = (struct at_block_key){ .pid = b->pid[w], .pad = b->gen[w], .addr = addr };
	*v = (struct at_block){ .size = b->size[w], .ts_ns = b->ts_ns[w], .stack_id = b->stack_id[w],
				.tid = b->tid[w] };
	/* freed and taken again while read: the fields may be another block's */
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	return __atomic_load_n(&b->addr[w], __ATOMIC_RELAXED) == addr;
}

static int read_window(struct at_live_bucket *b, size_t n, void *ctx)
{
	struct reader *r = ctx;
	int err;

	for (size_t i = 0; i < n; i++)
		for (int w = 0; w < AT_LIVE_WAYS; w++) {
			if (!read_slot(&b[i], w, &r->keys[r->n], &r->vals[r->n]) || ++r->n < r->cap)
				continue;
			if ((err = r->fn(r->ctx, r->keys, r->vals, r->n)))
				return err;
			r->n = 0;
		}
	return 0;
}

int at_live_read_chunks(int fd, size_t chunk, at_map_chunk_fn fn, void *ctx)
{
	struct reader r = { .cap = chunk ? chunk : 1, .fn = fn, .ctx = ctx };
	int err;

	r.keys = at_xcalloc(r.cap, sizeof(*r.keys));
	r.vals = at_xcalloc(r.cap, sizeof(*r.vals));
	err = each_window(fd, false, read_window, &r);
	if (!err && r.n)
		err = fn(ctx, r.keys, r.vals, r.n);
	free(r.keys);
	free(r.vals);
	return err;
}

struct forgetter {
	const int *pids;
	int n;
};

static int forget_window(struct at_live_bucket *b, size_t n, void *ctx)
{
	struct forgetter *f = ctx;

	for (size_t i = 0; i < n; i++)
		for (int w = 0; w < AT_LIVE_WAYS; w++) {
			__u64 addr = __atomic_load_n(&b[i].addr[w], __ATOMIC_ACQUIRE);
			int pid = (int)b[i].pid[w];

			/* the same compare-and-swap as the BPF side's free, so a slot that
			 * changed meanwhile is left alone */
			if (addr > AT_LIVE_BUSY && bsearch(&pid, f->pids, f->n, sizeof(int), at_int_cmp))
				__atomic_compare_exchange_n(&b[i].addr[w], &addr, AT_LIVE_FREE, false,
							    __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
		}
	return 0;
}

void at_live_forget(int fd, const int *pids, int n)
{
	struct forgetter f = { .pids = pids, .n = n };

	if (n > 0)
		each_window(fd, true, forget_window, &f);
}
