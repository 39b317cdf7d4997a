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

/* Tier t's buckets for block (pid, addr); false when tier t is not there (yet). */
static __always_inline bool at_live_pick(__u32 t, __u32 pid, __u64 addr, struct at_live_bucket **a,
					 struct at_live_bucket **b)
{
	__u64 h = (addr ^ ((__u64)pid << 40 | pid)) * 0x9E3779B97F4A7C15ULL;
	void *tier = bpf_map_lookup_elem(&live, &t);
	__u32 nb, ka, kb;

	if (!tier)
		return false;
	nb = at_live_nb[t & (AT_LIVE_TIERS - 1)];	/* written before the tier was put in */
	h ^= h >> 29;
	h *= 0xBF58476D1CE4E5B9ULL;
	h ^= h >> 32;
	/* multiply-shift maps 32 bits onto [0, nb) without a division */
	ka = (__u32)(((h & 0xffffffffULL) * nb) >> 32);
	kb = (__u32)(((h >> 32) * nb) >> 32);
	*a = bpf_map_lookup_elem(tier, &ka);
	*b = bpf_map_lookup_elem(tier, &kb);
	return *a && *b;
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

/* Block k replaced in place in tier t if there (its free was missed): AT_LIVE_REPLACED,
 * else AT_LIVE_NO_ROOM; -1 when tier t is not there. */
__noinline int at_live_replace_in(__u32 t, const struct at_block_key *k, const struct at_block *v,
				  struct at_block *old)
{
	struct at_live_bucket *a, *b, *s;
	__u32 i;

	if (!k || !v || !old || !at_live_pick(t, k->pid, k->addr, &a, &b))
		return -1;
	s = a;
	i = at_live_find(a, k);
	if (i == AT_LIVE_WAYS && a != b) {
		s = b;
		i = at_live_find(b, k);
	}
	if (i >= AT_LIVE_WAYS || __sync_val_compare_and_swap(&s->addr[i], k->addr, AT_LIVE_BUSY) != k->addr)
		return AT_LIVE_NO_ROOM;
	at_live_read(s, i, old);
	at_live_fill(s, i, k, v);
	at_barrier();
	AT_READ(s->addr[i]) = k->addr;
	return AT_LIVE_REPLACED;
}

/* The last tier is crowding: ask userspace for the next one, once, early (a quarter
 * full) so that a burst has the rest of the tier, up to ~70%, while the thread adds it. */
static __always_inline void at_live_grow(__u32 t)
{
	__u32 next = t + 1;

	if (next >= AT_LIVE_TIERS || at_live_nb[next & (AT_LIVE_TIERS - 1)] || at_live_grow_wanted ||
	    __sync_val_compare_and_swap(&at_live_grow_wanted, 0, 1))
		return;
	bpf_ringbuf_output(&live_grow, &t, sizeof(t), BPF_RB_FORCE_WAKEUP);
}

/* Block k put in the emptier of its two buckets in tier t: AT_LIVE_ADDED or
 * AT_LIVE_NO_ROOM; -1 when tier t is not there. */
__noinline int at_live_claim_in(__u32 t, const struct at_block_key *k, const struct at_block *v)
{
	struct at_live_bucket *a, *b, *s;
	__u32 fa, fb;

	if (!k || !v || !at_live_pick(t, k->pid, k->addr, &a, &b))
		return -1;
	fa = at_live_free_slots(a);
	fb = a != b ? at_live_free_slots(b) : 0;
	if (fb > fa) {
		s = a;
		a = b;
		b = s;
		fa = fb;
	}
	if (fa <= AT_LIVE_WAYS - 3)	/* 3 taken in the emptier: the tier is about a quarter full */
		at_live_grow(t);
	if (at_live_claim(a, k, v) || (a != b && at_live_claim(b, k, v)))
		return AT_LIVE_ADDED;
	return AT_LIVE_NO_ROOM;
}

/* Block k taken out of tier t into out: enum at_take_result; -1 when tier t is not there. */
__noinline int at_live_take_in(__u32 t, const struct at_block_key *k, struct at_block *out)
{
	struct at_live_bucket *a, *b;
	__u32 i;

	if (!k || !out || !at_live_pick(t, k->pid, k->addr, &a, &b))
		return -1;
	i = at_live_find(a, k);
	if (i == AT_LIVE_WAYS && a != b) {
		a = b;
		i = at_live_find(b, k);
	}
	if (i >= AT_LIVE_WAYS)
		return AT_TAKE_NONE;
	at_live_read(a, i, out);
	return __sync_val_compare_and_swap(&a->addr[i], k->addr, AT_LIVE_FREE) == k->addr ? AT_TAKE_OK : AT_TAKE_LOST;
}

/* A block lives in one tier: the first that had room when it was added. */
__noinline int at_live_add(const struct at_block_key *k, const struct at_block *v, struct at_block *old)
{
	int r;

	if (!k || !v || !old || k->addr <= AT_LIVE_BUSY)
		return AT_LIVE_NO_ROOM;	/* not an address a slot can hold */
	for (__u32 t = 0; t < AT_LIVE_TIERS; t++) {
		r = at_live_replace_in(t, k, v, old);
		if (r < 0)
			break;
		if (r == AT_LIVE_REPLACED)
			return r;
	}
	for (__u32 t = 0; t < AT_LIVE_TIERS; t++) {
		r = at_live_claim_in(t, k, v);
		if (r < 0)
			break;
		if (r == AT_LIVE_ADDED)
			return r;
	}
	return AT_LIVE_NO_ROOM;
}

__noinline int at_live_take(const struct at_block_key *k, struct at_block *out)
{
	int r;

	if (!k || !out || k->addr <= AT_LIVE_BUSY)
		return AT_TAKE_NONE;
	for (__u32 t = 0; t < AT_LIVE_TIERS; t++) {
		r = at_live_take_in(t, k, out);
		if (r < 0)
			break;
		if (r != AT_TAKE_NONE)
			return r;
	}
	return AT_TAKE_NONE;
}

char LICENSE[] SEC("license") = "GPL";
