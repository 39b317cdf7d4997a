// SPDX-License-Identifier: GPL-2.0
/* The live-block table: blocks (pid, image, addr) in an array of buckets (struct
 * at_live_bucket), each block in the emptier of two buckets picked by a hash, its slot
 * claimed with a compare-and-swap. A hash map insert or delete took a bucket lock and a
 * freelist lock, about 110 ns each on the bench VM, two of them per malloc+free pair;
 * here a pair is a few array lookups (inlined by the verifier) and two CAS.
 *
 * Slot protocol (x86-64: stores are seen in order, so a reader that sees addr also
 * sees the fields written before it): claim addr FREE -> BUSY, write the fields,
 * publish addr; remove by CAS addr -> FREE (the winner accounts the block). With two
 * choices and 8 slots a bucket, the first block that finds both buckets full comes at
 * about 70% occupancy (random addresses). The image is not hashed: a new image's block
 * and a not yet swept old one at the same address share buckets, in two slots. */
#include "live.bpf.h"

#define at_barrier() asm volatile("" ::: "memory")
#define AT_READ(x) (*(volatile typeof(x) *)&(x))

const volatile __u32 live_buckets = 1;	/* entries of map live */

static __always_inline void at_live_pick(__u32 pid, __u64 addr, __u32 *b0, __u32 *b1)
{
	__u64 h = (addr ^ ((__u64)pid << 40 | pid)) * 0x9E3779B97F4A7C15ULL;
	__u32 nb = live_buckets;

	h ^= h >> 29;
	h *= 0xBF58476D1CE4E5B9ULL;
	h ^= h >> 32;
	/* multiply-shift maps 32 bits onto [0, nb) without a division */
	*b0 = (__u32)(((h & 0xffffffffULL) * nb) >> 32);
	*b1 = (__u32)(((h >> 32) * nb) >> 32);
}

static __always_inline void at_live_fill(struct at_live_bucket *bk, __u32 i, const struct at_block_key *k,
					 const struct at_block *v)
{
	bk->pid[i] = k->pid;
	bk->gen[i] = k->pad;
	bk->tid[i] = v->tid;
	bk->size[i] = v->size;
	bk->ts_ns[i] = v->ts_ns;
	bk->stack_id[i] = v->stack_id;
}

static __always_inline void at_live_read(const struct at_live_bucket *bk, __u32 i, struct at_block *out)
{
	out->tid = bk->tid[i];
	out->size = bk->size[i];
	out->ts_ns = bk->ts_ns[i];
	out->stack_id = bk->stack_id[i];
}

/* Slot of block k in bk, or AT_LIVE_WAYS. */
static __always_inline __u32 at_live_find(const struct at_live_bucket *bk, const struct at_block_key *k)
{
	for (__u32 i = 0; i < AT_LIVE_WAYS; i++)
		if (AT_READ(bk->addr[i]) == k->addr && AT_READ(bk->pid[i]) == k->pid && AT_READ(bk->gen[i]) == k->pad)
			return i;
	return AT_LIVE_WAYS;
}

/* 1 if x is 0, without a branch: a branch per slot would give the verifier 2^8 paths. */
static __always_inline __u32 at_is_zero(__u64 x)
{
	__u64 y = x | -x;	/* top bit set unless x is 0 */

	asm volatile("" : "+r"(y));	/* or clang turns it back into a compare */
	return (__u32)(y >> 63) ^ 1;
}

static __always_inline __u32 at_live_free_slots(const struct at_live_bucket *bk)
{
	__u32 n = 0;

	for (__u32 i = 0; i < AT_LIVE_WAYS; i++)
		n += at_is_zero(AT_READ(bk->addr[i]));	/* AT_LIVE_FREE is 0 */
	return n;
}

/* Claims a free slot of bk for the block and publishes it; false if none was had. */
static __always_inline bool at_live_claim(struct at_live_bucket *bk, const struct at_block_key *k,
					  const struct at_block *v)
{
	for (__u32 i = 0; i < AT_LIVE_WAYS; i++) {
		if (AT_READ(bk->addr[i]) != AT_LIVE_FREE ||
		    __sync_val_compare_and_swap(&bk->addr[i], AT_LIVE_FREE, AT_LIVE_BUSY) != AT_LIVE_FREE)
			continue;
		at_live_fill(bk, i, k, v);
		at_barrier();
		AT_READ(bk->addr[i]) = k->addr;
		return true;
	}
	return false;
}

__noinline int at_live_add(const struct at_block_key *k, const struct at_block *v, struct at_block *old)
{
	struct at_live_bucket *a, *b, *s;
	__u32 ka, kb, i;

	if (!k || !v || !old || k->addr <= AT_LIVE_BUSY)
		return AT_LIVE_NO_ROOM;	/* not an address a slot can hold */
	at_live_pick(k->pid, k->addr, &ka, &kb);
	a = bpf_map_lookup_elem(&live, &ka);
	b = bpf_map_lookup_elem(&live, &kb);
	if (!a || !b)
		return AT_LIVE_NO_ROOM;
	s = a;
	i = at_live_find(a, k);
	if (i == AT_LIVE_WAYS && ka != kb) {
		s = b;
		i = at_live_find(b, k);
	}
	if (i < AT_LIVE_WAYS && __sync_val_compare_and_swap(&s->addr[i], k->addr, AT_LIVE_BUSY) == k->addr) {
		at_live_read(s, i, old);
		at_live_fill(s, i, k, v);
		at_barrier();
		AT_READ(s->addr[i]) = k->addr;
		return AT_LIVE_REPLACED;
	}
	if (ka != kb && at_live_free_slots(b) > at_live_free_slots(a)) {
		s = a;
		a = b;
		b = s;
	}
	if (at_live_claim(a, k, v) || (ka != kb && at_live_claim(b, k, v)))
		return AT_LIVE_ADDED;
	return AT_LIVE_NO_ROOM;
}

__noinline int at_live_take(const struct at_block_key *k, struct at_block *out)
{
	struct at_live_bucket *a;
	__u32 ka, kb, i;

	if (!k || !out || k->addr <= AT_LIVE_BUSY)
		return AT_TAKE_NONE;
	at_live_pick(k->pid, k->addr, &ka, &kb);
	a = bpf_map_lookup_elem(&live, &ka);
	if (!a)
		return AT_TAKE_NONE;
	i = at_live_find(a, k);
	if (i == AT_LIVE_WAYS && ka != kb) {
		a = bpf_map_lookup_elem(&live, &kb);
		if (!a)
			return AT_TAKE_NONE;
		i = at_live_find(a, k);
	}
	if (i >= AT_LIVE_WAYS)
		return AT_TAKE_NONE;
	at_live_read(a, i, out);
	return __sync_val_compare_and_swap(&a->addr[i], k->addr, AT_LIVE_FREE) == k->addr ? AT_TAKE_OK : AT_TAKE_LOST;
}

char LICENSE[] SEC("license") = "GPL";
