// SPDX-License-Identifier: GPL-2.0
/* Per-site accounting, out of line: inlined in the probes, the site insert's, the ring
 * buffer's and the CPU copy's branches multiplied the paths the verifier walked in
 * every caller (alloc_return's ~30 ms of every start). */
#include "common.bpf.h"

/* Inserts an empty site; when it is new, tells userspace its key. 0 or -errno. */
static __always_inline long at_site_add(const struct at_site_key *k, const void *zero)
{
	long err = bpf_map_update_elem(&sites, k, zero, BPF_NOEXIST);

	if (err == -AT_E2BIG && at_more_room)	/* full, not there already */
		err = bpf_map_update_elem(&sites_more, k, zero, BPF_NOEXIST);

	if (!err && bpf_ringbuf_output(&site_news, (void *)k, sizeof(*k), BPF_RB_NO_WAKEUP))
		__sync_fetch_and_add(&at_site_news_lost, 1);
	return err;
}

__noinline int at_site_new(__u32 tgid, __u64 stack_id)
{
	struct at_site_key k = { .pid = tgid, .stack_id = stack_id };
	__u32 zk = 0;
	void *zero = bpf_map_lookup_elem(&zero_site, &zk);

	if (!zero)
		return 0;
	if (!at_site_add(&k, zero) || at_site_lookup(&k))
		return 0;
	at_drop(AT_DROP_STACKS_FULL);
	/* keep the numbers whole: account under this process's unknown site */
	k.stack_id = 0;
	at_site_add(&k, zero);
	return 1;
}

/* This CPU's counters of site k, made if new; when the map is full, of the process's
 * unknown site (k's stack_id becomes 0). */
static __always_inline struct at_site_stats *at_site_get(struct at_site_key *k)
{
	void *v = at_site_lookup(k);

	if (!v) {
		if (at_site_new(k->pid, k->stack_id))
			k->stack_id = 0;	/* full: the unknown site keeps the numbers whole */
		v = at_site_lookup(k);
	}
	return at_site_mine(v);
}

__noinline int at_site_count(__u32 tgid, __u64 stack_id, const struct at_site_delta *d)
{
	struct at_site_key k = { .pid = tgid, .stack_id = stack_id };
	struct at_site_stats *s = at_site_get(&k);
	struct at_peak *pk = NULL;

	if (!s || !d)
		return 0;
	if (d->c.live_bytes)
		pk = at_peak_before(tgid, s);
	if (d->c.allocs)
		at_add(&s->c.allocs, d->c.allocs);
	if (d->c.alloc_bytes)
		at_add(&s->c.alloc_bytes, d->c.alloc_bytes);
	if (d->c.frees)
		at_add(&s->c.frees, d->c.frees);
	if (d->c.free_bytes)
		at_add(&s->c.free_bytes, d->c.free_bytes);
	if (d->c.live_allocs)
		at_add(&s->c.live_allocs, d->c.live_allocs);
	if (d->c.live_bytes)
		at_add(&s->c.live_bytes, d->c.live_bytes);
	if (d->c.temp_allocs)
		at_add(&s->c.temp_allocs, d->c.temp_allocs);
	at_hist_add32(s->lifetime, d->lt_bucket, AT_LT_BUCKETS);
	at_peak_after(pk, d->c.live_allocs, d->c.live_bytes);
	at_site_touched(&k);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
