// SPDX-License-Identifier: GPL-2.0
/* Allocator probes: the malloc family's entries and returns, and free.
 * Only the outermost allocator call on a thread counts; calls the allocator makes to
 * itself (realloc(NULL, n) -> malloc, memalign -> malloc, ...) are nested and ignored. */
#include "common.bpf.h"
#include "live.bpf.h"

static __always_inline __s32 at_s32(const __u8 *b)
{
	return (__s32)(b[0] | b[1] << 8 | b[2] << 16 | (__u32)b[3] << 24);
}

/* Which name the caller used, for functions the allocator exports under several: the
 * call before the return address goes through a GOT slot, either directly
 * (call *slot(%rip), -fno-plt) or through a PLT stub (jmp *slot(%rip), possibly behind
 * endbr64 and bnd prefixes). Userspace maps slots to names from relocations. */
static __always_inline __u32 at_alias(__u32 tgid, __u64 ra, __u32 f)
{
	struct at_block_key k = { .pid = tgid };
	__u8 b[6], s[15];
	__u64 stub;
	__u32 *v;

	if (bpf_probe_read_user(b, sizeof(b), (void *)(ra - 6)))
		return f;
	if (b[0] == 0xff && b[1] == 0x15) {
		k.addr = ra + at_s32(&b[2]);
	} else if (b[1] == 0xe8) {
		stub = ra + at_s32(&b[2]);
		if (bpf_probe_read_user(s, sizeof(s), (void *)stub))
			return f;
		if (s[0] == 0xff && s[1] == 0x25)
			k.addr = stub + 6 + at_s32(&s[2]);
		else if (s[0] == 0xf2 && s[1] == 0xff && s[2] == 0x25)
			k.addr = stub + 7 + at_s32(&s[3]);
		else if (s[0] == 0xf3 && s[1] == 0x0f && s[2] == 0x1e && s[3] == 0xfa && s[4] == 0xff && s[5] == 0x25)
			k.addr = stub + 10 + at_s32(&s[6]);
		else if (s[0] == 0xf3 && s[1] == 0x0f && s[2] == 0x1e && s[3] == 0xfa && s[4] == 0xf2 && s[5] == 0xff &&
			 s[6] == 0x25)
			k.addr = stub + 11 + at_s32(&s[7]);
	}
	if (!k.addr)
		return f;
	v = bpf_map_lookup_elem(&alias_got, &k);
	return v && *v < AT_NR_FUNCS ? *v : f;
}

static __always_inline int on_entry(struct pt_regs *ctx, enum at_func f, __u64 size, __u64 ptr)
{
	__u64 sp = PT_REGS_SP(ctx);
	struct at_thread *t;
	__u32 tgid, tid;

	t = at_thread_for(&tgid, &tid);
	if (!t)
		return 0;
	t->skip_free = 0;
	at_check_missed_return(t, sp);
	if (t->depth++)
		return 0;
	/* the rarely used aligned functions are the ones allocators alias */
	if (f == AT_ALIGNED_ALLOC || f == AT_MEMALIGN || f == AT_VALLOC || f == AT_PVALLOC)
		f = at_alias(tgid, at_return_address(sp), f);
	t->func = f;
	t->epoch = at_epoch;
	t->size = size;
	t->ptr = ptr;
	t->sp = sp;
	t->stack_id = at_capture_stack(ctx, t, tgid);
	return 0;
}

/* Account one freed block of process tgid; called for free() and realloc's old block. */
static __always_inline void account_free(struct at_thread *t, struct at_proc_stats *p, __u32 tgid,
					 __u32 tid, __u64 addr)
{
	struct at_block_key k = { .pid = tgid, .pad = at_image_gen(t), .addr = addr };
	struct at_block blk, *b = &blk;
	enum at_take_result r = at_live_take(&k, b);
	__u64 age, size, stack_id;
	__u32 lb;
	bool temp;

	if (r == AT_TAKE_NONE) {
		at_add(&p->untracked_frees, 1);
		return;
	}
	if (r == AT_TAKE_LOST)
		return;	/* another thread freed it first: a double free, not ours to count */
	size = b->size;
	stack_id = b->stack_id;
	age = bpf_ktime_get_ns() - b->ts_ns;
	temp = b->tid == tid && t->last_alloc == addr;
	if (temp)
		t->last_alloc = 0;
	lb = at_bucket(age, AT_LT_BUCKETS);
	at_add(&p->frees, 1);
	at_add(&p->free_bytes, size);
	at_add(&p->live_allocs, -1);
	at_add(&p->live_bytes, -(__s64)size);
	at_hist_add64(p->lifetime, lb, AT_LT_BUCKETS, 1);
	if (temp)
		at_add(&p->temp_allocs, 1);
	{
		struct at_site_delta d = { .c = { .frees = 1, .free_bytes = size, .live_allocs = -1,
						 .live_bytes = -(__s64)size, .temp_allocs = temp },
					   .lt_bucket = lb };

		at_site_count(tgid, stack_id, &d);
	}
}

/* Undo the live contribution of a block whose free was never seen. */
static __always_inline void forget_block(__u32 tgid, struct at_proc_stats *p, struct at_block *old)
{
	struct at_site_delta d = { .c = { .live_allocs = -1, .live_bytes = -(__s64)old->size },
				   .lt_bucket = AT_LT_BUCKETS };

	at_add(&p->live_allocs, -1);
	at_add(&p->live_bytes, -(__s64)old->size);
	at_site_count(tgid, old->stack_id, &d);
}

static __always_inline void account_alloc(struct at_thread *t, struct at_proc_stats *p, __u32 tgid,
					  __u32 tid, __u64 addr, __u64 size)
{
	struct at_block_key k = { .pid = tgid, .pad = at_image_gen(t), .addr = addr };
	struct at_block v = { .size = size, .ts_ns = bpf_ktime_get_ns(), .stack_id = t->stack_id, .tid = tid };
	struct at_site_delta d = { .c = { .allocs = 1, .alloc_bytes = size }, .lt_bucket = AT_LT_BUCKETS };
	struct at_block old;
	bool tracked = true;
	__u32 sb = at_bucket(size, AT_SIZE_BUCKETS);

	switch (at_live_add(&k, &v, &old)) {
	case AT_LIVE_REPLACED:
		forget_block(tgid, p, &old);
		break;
	case AT_LIVE_NO_ROOM:
		at_drop(AT_DROP_LIVE_FULL);
		tracked = false;
		break;
	default:
		break;
	}
	t->last_alloc = addr;
	at_add(&p->allocs, 1);
	at_add(&p->alloc_bytes, size);
	at_hist_add64(p->size_count, sb, AT_SIZE_BUCKETS, 1);
	at_hist_add64(p->size_bytes, sb, AT_SIZE_BUCKETS, size);
	if (tracked) {
		at_add(&p->live_allocs, 1);
		at_add(&p->live_bytes, size);
		d.c.live_allocs = 1;
		d.c.live_bytes = size;
	}
	at_site_count(tgid, t->stack_id, &d);
	if (t->per_active)
		at_per_count(tgid, t->per_active, size);
}

SEC("uretprobe")
int BPF_KRETPROBE(alloc_return, void *ret)
{
	__u64 addr = (__u64)ret;
	struct at_proc_stats *p;
	struct at_thread *t;
	__u32 tgid, tid;

	t = at_thread_for(&tgid, &tid);
	if (!t || !t->depth || --t->depth)
		return 0;
	p = at_proc_get(tgid);
	if (!p)
		return 0;
	if (t->func < AT_NR_FUNCS)
		at_add(&p->calls[t->func], 1);

	switch (t->func) {
	case AT_POSIX_MEMALIGN:
		if ((long)ret != 0)
			return 0;
		addr = 0;
		bpf_probe_read_user(&addr, sizeof(addr), (void *)t->ptr);
		break;
	case AT_REALLOC:
	case AT_REALLOCARRAY:
		/* success frees the old block; glibc's realloc(p, 0) frees p and returns NULL */
		if (t->ptr && (addr || t->size == 0))
			account_free(t, p, tgid, tid, t->ptr);
		break;
	default:
		break;
	}
	if (addr)
		account_alloc(t, p, tgid, tid, addr, t->size);
	return 0;
}

/* free and operator delete: entry probes only. delete calls free (or a plain delete
 * tail-calls the sized one): the first of the chain accounts, the others see the
 * pointer in skip_free and stand aside. */
static __always_inline int on_free(struct pt_regs *ctx, enum at_func f, __u64 ptr)
{
	struct at_proc_stats *p;
	struct at_thread *t;
	__u32 tgid, tid;

	t = at_thread_for(&tgid, &tid);
	if (!t)
		return 0;
	at_check_missed_return(t, PT_REGS_SP(ctx));
	if (t->depth)
		return 0;	/* free inside realloc etc.: accounted by the outer call */
	if (ptr && ptr == t->skip_free)
		return 0;
	t->skip_free = f == AT_FREE ? 0 : ptr;
	p = at_proc_get(tgid);
	if (!p)
		return 0;
	at_hist_add64(p->calls, f, AT_NR_FUNCS, 1);	/* f comes from a cookie: bounds the verifier sees */
	if (ptr)
		account_free(t, p, tgid, tid, ptr);
	return 0;
}

/* free, operator delete and delete[], one program: the attach cookie says which. */
SEC("uprobe")
int BPF_KPROBE(free_entry, void *ptr)
{
	__u64 f = bpf_get_attach_cookie(ctx);

	if (f != AT_DELETE && f != AT_DELETE_ARRAY)
		f = AT_FREE;
	return on_free(ctx, f, (__u64)ptr);
}

/* An overflowing n * size fails in the allocator; it must not wrap to 0 here, or the
 * NULL return would read as realloc(p, 0), which frees p. */
static __always_inline __u64 at_mul_sat(__u64 n, __u64 size)
{
	__u64 max;

	if (!size)
		return 0;
	max = ~0ULL / size;
	asm volatile("" : "+r"(max));	/* keep clang from a 128-bit multiply BPF lacks */
	return n > max ? ~0ULL : n * size;
}

/* Every allocating function (malloc family, operator new and new[]), one program: the
 * attach cookie is the enum at_func of the probed function, which says where its size
 * and pointer arguments are. One program verifies once, not once per function. */
SEC("uprobe")
int BPF_KPROBE(alloc_entry, __u64 a0, __u64 a1, __u64 a2)
{
	__u64 f = bpf_get_attach_cookie(ctx), size = a0, ptr = 0;

	switch (f) {
	case AT_CALLOC:
		size = at_mul_sat(a0, a1);
		break;
	case AT_REALLOC:
		size = a1;
		ptr = a0;
		break;
	case AT_REALLOCARRAY:
		size = at_mul_sat(a1, a2);
		ptr = a0;
		break;
	case AT_POSIX_MEMALIGN:	/* (memptr, align, size) */
		size = a2;
		ptr = a0;
		break;
	case AT_ALIGNED_ALLOC:
	case AT_MEMALIGN:	/* (align, size) */
		size = a1;
		break;
	case AT_MALLOC:
	case AT_VALLOC:
	case AT_PVALLOC:
	case AT_NEW:
	case AT_NEW_ARRAY:
		break;
	default:
		return 0;	/* not a cookie the loader gives */
	}
	return on_entry(ctx, f, size, ptr);
}

char LICENSE[] SEC("license") = "GPL";
