/* The userspace side of the live-block table: reading it window by window through mmap
 * (tables smaller than, equal to and larger than a window) in chunks, and forgetting
 * processes. Needs root (it creates a BPF array map); without, those tests count as skipped. */
#include "unit.h"
#include "kernel/livegrow.h"
#include "kernel/livemap.h"
#include "alloctop.h"

#include <bpf/bpf.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

/* Tier t (nb buckets) of the table *outer (made with tier 0), mapped at *m. */
static int add_tier(int *outer, __u32 t, __u32 nb, struct at_live_bucket **m, size_t *bytes)
{
	LIBBPF_OPTS(bpf_map_create_opts, o, .map_flags = BPF_F_MMAPABLE | BPF_F_INNER_MAP);
	long page = sysconf(_SC_PAGESIZE);
	int fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "live_test", 4, sizeof(struct at_live_bucket), nb, &o);

	if (fd < 0)
		return fd;
	if (*outer < 0) {
		LIBBPF_OPTS(bpf_map_create_opts, oo, .inner_map_fd = fd);

		*outer = bpf_map_create(BPF_MAP_TYPE_ARRAY_OF_MAPS, "live_outer", 4, 4, AT_LIVE_TIERS, &oo);
	}
	if (*outer < 0 || bpf_map_update_elem(*outer, &t, &fd, BPF_ANY)) {
		close(fd);
		return -1;
	}
	*bytes = ((size_t)nb * sizeof(**m) + page - 1) / page * page;
	*m = mmap(NULL, *bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);	/* the table and the mapping hold it */
	return *m == MAP_FAILED ? -1 : 0;
}

/* A table of one tier of nb buckets: the outer map's fd. */
static int make_table(__u32 nb, struct at_live_bucket **m, size_t *bytes)
{
	int outer = -1;

	if (add_tier(&outer, 0, nb, m, bytes) < 0) {
		if (outer >= 0)
			close(outer);
		return -1;
	}
	return outer;
}

/* Puts block k of n, of pid, in slot k % 8 of a bucket spread over the whole table
 * (every window), the last one in the last bucket. Its image is pid + k. */
static void put(struct at_live_bucket *m, __u32 nb, __u32 k, __u32 n, __u32 pid)
{
	struct at_live_bucket *b = &m[k == n - 1 ? nb - 1 : (__u64)k * nb / n];
	int w = k % AT_LIVE_WAYS;

	b->pid[w] = pid;
	b->gen[w] = pid + k;
	b->tid[w] = 2 * k;
	b->size[w] = k + 1;
	b->ts_ns[w] = 3 * k;
	b->stack_id[w] = 1000 + k;
	b->addr[w] = 0x10000 + 16ULL * k;
}

struct seen {
	size_t n, calls, max_chunk;
	__u64 sum;
	__u32 pids[2];		/* blocks of pid 7, of pid 9 */
	int bad;
};

static int take(void *ctx, const void *keys, const void *vals, size_t n)
{
	struct seen *s = ctx;

	s->calls++;
	if (n > s->max_chunk)
		s->max_chunk = n;
	for (size_t i = 0; i < n; i++) {
		const struct at_block_key *k = (const struct at_block_key *)keys + i;
		const struct at_block *v = (const struct at_block *)vals + i;
		__u32 j = (k->addr - 0x10000) / 16;

		s->bad += k->pid != (j % 2 ? 7u : 9u) || k->pad != k->pid + j || v->size != j + 1 ||
			  v->stack_id != 1000 + j || v->tid != 2 * j || v->ts_ns != 3 * j;
		s->pids[k->pid == 9]++;
		s->sum += j;
		s->n++;
	}
	return 0;
}

static void check_table(__u32 nb)
{
	struct at_live_bucket *m;
	struct seen s = {};
	size_t bytes;
	int fd = make_table(nb, &m, &bytes), forget[] = { 7 };
	__u32 nblocks = nb < 50 ? nb : 50;

	CHECK(fd >= 0);
	if (fd < 0)
		return;
	for (__u32 k = 0; k < nblocks; k++)
		put(m, nb, k, nblocks, k % 2 ? 7 : 9);
	m[nb - 1].addr[AT_LIVE_WAYS - 1] = AT_LIVE_BUSY;	/* a slot being written is no block */
	CHECK(!at_live_read_chunks(fd, 7, take, &s));
	CHECK_EQ_U(s.n, nblocks);
	CHECK_EQ_U(s.bad, 0);
	CHECK(s.max_chunk <= 7);
	CHECK_EQ_U(s.calls, (nblocks + 6) / 7);
	CHECK_EQ_U(s.sum, (__u64)nblocks * (nblocks - 1) / 2);
	at_live_forget(fd, forget, 1);
	s = (struct seen){};
	CHECK(!at_live_read_chunks(fd, 4096, take, &s));
	CHECK_EQ_U(s.n, (nblocks + 1) / 2);
	CHECK_EQ_U(s.pids[0], 0);	/* pid 7's are gone */
	CHECK_EQ_U(s.bad, 0);
	munmap(m, bytes);
	close(fd);
}

static int stop_at_first(void *ctx, const void *keys, const void *vals, size_t n)
{
	(void)keys;
	(void)vals;
	*(size_t *)ctx += n;
	return -42;
}

/* What the callback returns stops the read and comes back. */
static void test_callback_stops(void)
{
	struct at_live_bucket *m;
	size_t bytes, got = 0;
	int fd = make_table(3 * 4096, &m, &bytes);

	CHECK(fd >= 0);
	if (fd < 0)
		return;
	for (__u32 k = 0; k < 30; k++)
		put(m, 3 * 4096, k, 30, 7);
	CHECK_EQ_U(at_live_read_chunks(fd, 4, stop_at_first, &got), (unsigned long long)-42);
	CHECK_EQ_U(got, 4);
	munmap(m, bytes);
	close(fd);
}

static void test_one_bucket(void) { check_table(1); }
static void test_small_table(void) { check_table(100); }
static void test_table_of_windows(void) { check_table(3 * 4096 + 17); }

/* Blocks in every tier are read, and forgotten. */
static void test_tiers(void)
{
	struct at_live_bucket *m0, *m1;
	struct seen s = {};
	size_t b0, b1;
	int fd = make_table(10, &m0, &b0), forget[] = { 7 };

	CHECK(fd >= 0);
	if (fd < 0)
		return;
	CHECK(!add_tier(&fd, 1, 40, &m1, &b1));
	for (__u32 k = 0; k < 10; k++)	/* blocks 0..9 in tier 0, 10..39 in tier 1 */
		put(m0, 10, k, 10, k % 2 ? 7 : 9);
	for (__u32 k = 10; k < 40; k++)
		put(m1, 40, k, 40, k % 2 ? 7 : 9);
	CHECK(!at_live_read_chunks(fd, 16, take, &s));
	CHECK_EQ_U(s.n, 40);
	CHECK_EQ_U(s.bad, 0);
	at_live_forget(fd, forget, 1);
	s = (struct seen){};
	CHECK(!at_live_read_chunks(fd, 16, take, &s));
	CHECK_EQ_U(s.n, 20);
	CHECK_EQ_U(s.pids[0], 0);	/* pid 7's are gone from both */
	munmap(m0, b0);
	munmap(m1, b1);
	close(fd);
}

static void test_tier_buckets(void)
{
	CHECK_EQ_U(at_live_tier_buckets(16, 16, 0, 0), 2);	/* --max-live 16: at most 16 blocks */
	CHECK_EQ_U(at_live_tier_buckets(1 << 16, 20, 0, 0), 2);	/* the cap wins over the start */
	CHECK_EQ_U(at_live_tier_buckets(1, 1, 0, 0), 1);
	CHECK_EQ_U(at_live_tier_buckets(1 << 16, 16, 16, 1), 0);	/* nothing left */
	/* 64k slots, then four times each tier, the last one what the cap leaves */
	CHECK_EQ_U(at_live_tier_buckets(1 << 16, 1 << 21, 0, 0), 1 << 13);
	CHECK_EQ_U(at_live_tier_buckets(1 << 16, 1 << 21, 1 << 16, 1), 1 << 15);
	CHECK_EQ_U(at_live_tier_buckets(1 << 16, 1 << 21, 5 << 16, 2), 1 << 17);
	CHECK_EQ_U(at_live_tier_buckets(1 << 16, 1 << 21, 21 << 16, 3), (32 - 21) << 13);
	CHECK_EQ_U(at_live_tier_buckets(1 << 16, 1 << 21, 1 << 21, 4), 0);
	CHECK_EQ_U(at_live_tier_buckets(8, 1 << 21, 8, AT_LIVE_TIERS - 1), ((1 << 21) - 8) / 8);
}

int main(void)
{
	RUN(test_tier_buckets);
	if (geteuid()) {
		/* they create a BPF map: counted as skipped, a failure under ALLOCTOP_NO_SKIP */
		SKIP(test_one_bucket, "needs root");
		SKIP(test_small_table, "needs root");
		SKIP(test_table_of_windows, "needs root");
		SKIP(test_callback_stops, "needs root");
		SKIP(test_tiers, "needs root");
	} else {
		RUN(test_one_bucket);
		RUN(test_small_table);
		RUN(test_table_of_windows);
		RUN(test_tiers);
		RUN(test_callback_stops);
	}
	return UNIT_DONE();
}
