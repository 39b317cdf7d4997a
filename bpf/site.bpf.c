// SPDX-License-Identifier: GPL-2.0
/* New per-site entries, out of line: inlined, the insert's and the ring buffer's
 * branches multiplied the paths the verifier walked in every caller. */
#include "common.bpf.h"

/* Inserts an empty site; when it is new, tells userspace its key. 0 or -errno. */
static __always_inline long at_site_add(const struct at_site_key *k, const void *zero)
{
	long err = bpf_map_update_elem(&sites, k, zero, BPF_NOEXIST);

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
	if (!at_site_add(&k, zero) || bpf_map_lookup_elem(&sites, &k))
		return 0;
	at_drop(AT_DROP_STACKS_FULL);
	/* keep the numbers whole: account under this process's unknown site */
	k.stack_id = 0;
	at_site_add(&k, zero);
	return 1;
}

char LICENSE[] SEC("license") = "GPL";
