// SPDX-License-Identifier: GPL-2.0
/* The application's own anonymous mmap/munmap. Calls made by the allocator (nested in
 * a malloc-family call, or issued from the allocator's text, like free's munmap of a
 * large block) are not application calls. */
#include "common.bpf.h"

#define AT_MAP_ANONYMOUS 0x20
#define AT_PAGE 4096ULL

static __always_inline bool from_allocator(struct pt_regs *ctx, __u32 tgid, struct at_thread *t)
{
	__u64 sp = PT_REGS_SP(ctx), ra;
	struct at_range *r;

	at_check_missed_return(t, sp);
	if (t->depth)
		return true;
	r = bpf_map_lookup_elem(&alloc_text, &tgid);
	if (!r)
		return false;
	ra = at_return_address(sp);
	return ra >= r->lo && ra < r->hi;
}

SEC("uprobe")
int BPF_KPROBE(mmap_entry, void *addr, __u64 len, int prot, int flags)
{
	__u32 tgid, tid;
	struct at_thread *t;

	t = at_thread_for(&tgid, &tid);
	if (!t)
		return 0;
	t->mmap_len = 0;
	if (from_allocator(ctx, tgid, t))
		return 0;
	t->mmap_len = (len + AT_PAGE - 1) & ~(AT_PAGE - 1);
	t->mmap_flags = (__u32)flags;
	if (!t->mmap_len)	/* mmap(len 0) fails; still an application call */
		t->mmap_len = 1;
	return 0;
}

SEC("uretprobe")
int BPF_KRETPROBE(mmap_return, void *ret)
{
	__u32 tgid, tid;
	struct at_block_key k = { .addr = (__u64)ret };
	struct at_mapping m;
	struct at_proc_stats *p;
	struct at_thread *t;

	t = at_thread_for(&tgid, &tid);
	if (!t || !t->mmap_len)
		return 0;
	k.pid = tgid;
	k.pad = at_image_gen(t);
	m.len = t->mmap_len;
	m.ts_ns = bpf_ktime_get_ns();
	t->mmap_len = 0;
	p = at_proc_get(tgid);
	if (!p)
		return 0;
	at_add(&p->calls[AT_MMAP], 1);
	if ((long)ret == -1 || !(t->mmap_flags & AT_MAP_ANONYMOUS) || m.len < AT_PAGE)
		return 0;
	if (bpf_map_update_elem(&mappings, &k, &m, BPF_ANY)) {
		at_drop(AT_DROP_MMAP_FULL);
		return 0;
	}
	at_add(&p->mmaps, 1);
	at_add(&p->mmap_live_bytes, m.len);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(munmap_entry, void *addr, __u64 len)
{
	__u32 tgid, tid;
	struct at_block_key k = { .addr = (__u64)addr };
	struct at_mapping *m, rest;
	struct at_proc_stats *p;
	struct at_thread *t;
	__u64 gone;

	t = at_thread_for(&tgid, &tid);
	if (!t || from_allocator(ctx, tgid, t))
		return 0;
	k.pid = tgid;
	k.pad = at_image_gen(t);
	p = at_proc_get(tgid);
	if (!p)
		return 0;
	at_add(&p->calls[AT_MUNMAP], 1);
	/* Tracked: unmaps that start at a mapping's start; a head-only unmap keeps the tail. */
	m = bpf_map_lookup_elem(&mappings, &k);
	if (!m)
		return 0;
	len = (len + AT_PAGE - 1) & ~(AT_PAGE - 1);
	if (!len)
		return 0;
	gone = m->len;
	if (len < m->len) {
		rest.len = m->len - len;
		rest.ts_ns = m->ts_ns;
		gone = len;
		k.addr += len;
		bpf_map_update_elem(&mappings, &k, &rest, BPF_ANY);
		k.addr -= len;
	}
	bpf_map_delete_elem(&mappings, &k);
	at_add(&p->munmaps, 1);
	at_add(&p->mmap_live_bytes, -(__s64)gone);
	return 0;
}
