// SPDX-License-Identifier: GPL-2.0
/* --per FUNC: the scope of a user function's calls on each thread, and what was
 * allocated inside (struct at_per_stats). The function's index in --per is the probe's
 * cookie. Only the outermost call of a function counts as a call. */
#include "common.bpf.h"

static __always_inline struct at_per_stats *per_get(__u32 tgid, __u32 f)
{
	struct at_per_key k = { .pid = tgid, .func = f };
	struct at_per_stats zero = {}, *v = bpf_map_lookup_elem(&per_calls, &k);

	if (v)
		return v;
	bpf_map_update_elem(&per_calls, &k, &zero, BPF_NOEXIST);
	return bpf_map_lookup_elem(&per_calls, &k);
}

SEC("uprobe")
int per_enter(struct pt_regs *ctx)
{
	__u32 f = (__u32)bpf_get_attach_cookie(ctx), tgid, tid;
	struct at_thread *t = at_thread_for(&tgid, &tid);
	struct at_per_stats *v;

	asm volatile("" : "+r"(f));
	if (!t || f >= AT_MAX_PER)
		return 0;
	if (t->per_depth[f]++)
		return 0;	/* nested or recursive: one call */
	t->per_active |= 1U << f;
	v = per_get(tgid, f);
	if (v)
		at_add(&v->calls, 1);
	return 0;
}

SEC("uretprobe")
int per_exit(struct pt_regs *ctx)
{
	__u32 f = (__u32)bpf_get_attach_cookie(ctx), tgid, tid;
	struct at_thread *t = at_thread_for(&tgid, &tid);

	asm volatile("" : "+r"(f));
	if (!t || f >= AT_MAX_PER || !t->per_depth[f])
		return 0;
	if (!--t->per_depth[f])
		t->per_active &= ~(1U << f);
	return 0;
}

/* An allocation of size bytes on a thread inside calls of --per functions. */
__noinline int at_per_count(__u32 tgid, __u32 active, __u64 size)
{
	for (__u32 f = 0; f < AT_MAX_PER; f++) {
		struct at_per_stats *v;

		if (!(active & (1U << f)))
			continue;
		v = per_get(tgid, f);
		if (!v)
			continue;
		at_add(&v->allocs, 1);
		at_add(&v->alloc_bytes, size);
	}
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
