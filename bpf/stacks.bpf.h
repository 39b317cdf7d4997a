/* SPDX-License-Identifier: GPL-2.0 */
/* Stacks: captured by the unwinder (bpf/unwind.bpf.c) into the thread's scratch, stored
 * once by their hash in "stacks", or past its preallocated room in "stacks_more" (see
 * at_more_room, bpf/common.bpf.h). */
#ifndef AT_STACKS_BPF_H
#define AT_STACKS_BPF_H

#include "common.bpf.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, struct at_stack);
} stacks SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 1);
	__type(key, __u64);
	__type(value, struct at_stack);
} stacks_more SEC(".maps") __weak;

/* Fills t->scratch: ips[0] the return address at sp (an allocator's entry), then the
 * callers, by the unwind tables or frame pointers (bpf/unwind.bpf.c). Returns the number
 * of frames, 0 if not even the return address could be read. */
extern int at_unwind(__u32 tgid, __u64 sp, __u64 bp, struct at_thread *t);
/* The same from any instruction (a faulting one, --growth): ips[0] is ip itself, the walk
 * starts from the registers there. */
extern int at_unwind_regs(__u32 tgid, __u64 ip, __u64 sp, __u64 bp, struct at_thread *t);

/* The id (hash) of the stack in t->scratch, stored in map "stacks" if new; 0 if the map
 * is full. */
static __always_inline __u64 at_stack_commit(struct at_thread *t)
{
	__u64 h = 0xcbf29ce484222325ULL;
	struct at_stack *st = &t->scratch;
	__u32 n = st->nr, i;

	if (st->flags & AT_STACK_TRUNCATED)
		at_drop(AT_DROP_STACK_TRUNCATED);
	for (i = 0; i < AT_MAX_FRAMES; i++) {
		if (i >= n)
			break;
		h = (h ^ st->ips[i]) * 0x100000001b3ULL;
		h ^= h >> 29;
	}
	h ^= n | (__u64)st->flags << 32;
	if (!h)
		h = 1;
	i = h & (AT_KNOWN_STACKS - 1);
	if (t->known_stacks[i] == h)
		return h;
	if (!bpf_map_lookup_elem(&stacks, &h) &&
	    bpf_map_update_elem(&stacks, &h, st, BPF_NOEXIST) && !bpf_map_lookup_elem(&stacks, &h) &&
	    (!at_more_room || (!bpf_map_lookup_elem(&stacks_more, &h) &&
			       bpf_map_update_elem(&stacks_more, &h, st, BPF_NOEXIST) &&
			       !bpf_map_lookup_elem(&stacks_more, &h)))) {
		at_drop(AT_DROP_STACKS_FULL);
		return 0;
	}
	t->known_stacks[i] = h;
	return h;
}

/* Capture the user stack at an allocator's entry: frames[0] is the return address at sp
 * (the direct caller); the caller's frame starts at sp + 8 with the registers as they
 * are. Returns the stack id (hash), 0 if unknown. */
static __always_inline __u64 at_capture_stack(struct pt_regs *ctx, struct at_thread *t, __u32 tgid)
{
	/* fills ips[0] (the return address at sp) and the callers */
	if (!at_unwind(tgid, PT_REGS_SP(ctx), PT_REGS_FP(ctx), t)) {
		at_drop(AT_DROP_STACK_FAILED);
		return 0;
	}
	return at_stack_commit(t);
}

#endif /* AT_STACKS_BPF_H */
