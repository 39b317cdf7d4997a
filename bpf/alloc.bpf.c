// SPDX-License-Identifier: GPL-2.0
/* Allocator probes: entries and returns of every allocating or resizing function, and
 * the frees, of every family (libc, jemalloc, mimalloc, tcmalloc, operator new). One
 * program per kind: the attach cookie says which function it is and where its
 * arguments are (alloctop.h, user/lib/family.c). Only the outermost allocator call on a
 * thread counts; calls the allocator makes to itself (realloc(NULL, n) -> malloc,
 * memalign -> malloc, mi_free_size -> mi_free, ...) are nested and ignored. */
#include "common.bpf.h"
#include "stacks.bpf.h"
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

static __always_inline int on_entry(struct pt_regs *ctx, __u64 ck, __u64 size, __u64 ptr, __u64 extra)
{
	__u64 sp = PT_REGS_SP(ctx);
	struct at_thread *t;
	__u32 tgid, tid, f = AT_CK_FUNC(ck);

	if (at_win_closing)
		return 0;
	t = at_thread_for(&tgid, &tid);
	if (!t)
		return 0;
	t->skip_free = 0;
	at_check_missed_return(t, sp);
	if (t->depth++)
		return 0;
	/* a function exported under several names: the one the caller used */
	if (ck & AT_CK_ALIASED)
		f = at_alias(tgid, at_return_address(sp), f);
	t->func = f;
	t->cookie = ck;
	t->epoch = at_epoch;
	t->size = size;
	t->ptr = ptr;
	t->extra = extra;
	t->sp = sp;
	t->stack_id = at_capture_stack(ctx, t, tgid);
	return 0;
}

/* --max-overhead: block b of tgid, born before this window, met its fate at now. */
static __always_inline void at_gap(__u32 tgid, const struct at_block *b, __u32 kind, __u64 now)
{
	struct at_gap_event *e = bpf_ringbuf_reserve(&gaps, sizeof(*e), 0);

	if (!e) {
		__sync_fetch_and_add(&at_gaps_lost, 1);
		return;
	}
	e->pid = tgid;
	e->kind = kind;
	e->stack_id = b->stack_id;
	e->size = b->size;
	e->birth_ns = b->ts_ns;
	e->event_ns = now;
	bpf_ringbuf_submit(e, 0);
}

/* Account one freed block of process tgid; called for free() and realloc's old block. */
static __always_inline void account_free(struct at_thread *t, struct at_proc_stats *p, __u32 tgid,
					 __u32 tid, __u64 addr)
{
	struct at_block_key k = { .pid = tgid, .pad = at_image_gen(t), .addr = addr };
	struct at_block blk, *b = &blk;
	enum at_take_result r = at_live_take(&k, b);
	__u64 age, size, stack_id, now;
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
	now = bpf_ktime_get_ns();
	age = now - b->ts_ns;
	temp = b->tid == tid && t->last_alloc == addr;
	if (temp)
		t->last_alloc = 0;
	lb = at_bucket(age, AT_LT_BUCKETS);
	if (b->ts_ns < at_win_start_ns) {
		/* born in an earlier window: it may have died in a gap and its address
		 * been handed out again; its lifetime is an interval, bounded in userspace */
		at_gap(tgid, b, AT_GAP_FREED, now);
		lb = AT_LT_BUCKETS;
	}
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

/* Undo the live contribution of a block whose free was never seen: with windows, it
 * was freed in a gap. */
static __always_inline void forget_block(__u32 tgid, struct at_proc_stats *p, struct at_block *old)
{
	if (at_win_start_ns && old->ts_ns < at_win_start_ns)
		at_gap(tgid, old, AT_GAP_REUSED, bpf_ktime_get_ns());
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

/* xallocx: resized in place when the usable size it returns covers size; the block
 * then holds size bytes, or up to size + extra when more fit. */
static __always_inline __u64 inplace_size(const struct at_thread *t, __u64 usable)
{
	__u64 want = t->size + t->extra;

	if (want < t->size)
		want = ~0ULL;	/* size + extra wrapped */
	return usable < want ? usable : want;
}

SEC("uretprobe")
int BPF_KRETPROBE(alloc_return, void *ret)
{
	__u64 addr = (__u64)ret, ck, size;
	struct at_proc_stats *p;
	struct at_thread *t;
	__u32 tgid, tid;

	t = at_thread_for(&tgid, &tid);
	if (!t || !t->depth || --t->depth)
		return 0;
	p = at_proc_get(tgid);
	if (!p)
		return 0;
	at_hist_add64(p->calls, t->func, AT_NR_FUNCS, 1);
	ck = t->cookie;
	size = t->size;
	switch (AT_CK_RESULT(ck)) {
	case AT_RES_RC_OUT:
		if ((long)ret != 0)
			return 0;
		addr = 0;
		bpf_probe_read_user(&addr, sizeof(addr), (void *)t->ptr);
		break;
	case AT_RES_USABLE:
		if (!t->ptr || addr < size)
			return 0;	/* not resized: the block is as it was */
		size = inplace_size(t, addr);
		addr = t->ptr;
		break;
	default:
		break;
	}
	/* a resize that succeeded frees the old block (moved or not); glibc's realloc(p, 0)
	 * frees p and returns NULL, and reallocf frees p when it fails */
	if (AT_CK_KIND(ck) == AT_KIND_RESIZE && t->ptr &&
	    (addr || (ck & AT_CK_FAIL_FREES) || ((ck & AT_CK_ZERO_FREES) && size == 0)))
		account_free(t, p, tgid, tid, t->ptr);
	if (addr)
		account_alloc(t, p, tgid, tid, addr, size);
	return 0;
}

/* Frees (free, operator delete, sdallocx, mi_free_size, tc_free_sized, ...) and
 * queries (sallocx, ...): entry probes only. A free may call another (delete calls
 * free, mi_free_size calls mi_free): the first of the chain accounts, the others see
 * the pointer in skip_free and stand aside. free itself calls no other. */
static __always_inline int on_free(struct pt_regs *ctx, __u64 ck, __u64 ptr)
{
	struct at_proc_stats *p;
	struct at_thread *t;
	__u32 tgid, tid, f = AT_CK_FUNC(ck);

	t = at_thread_for(&tgid, &tid);
	if (!t)
		return 0;
	at_check_missed_return(t, PT_REGS_SP(ctx));
	if (t->depth)
		return 0;	/* free inside realloc etc.: accounted by the outer call */
	if (AT_CK_KIND(ck) == AT_KIND_FREE && ptr && ptr == t->skip_free)
		return 0;
	if (ck & AT_CK_ALIASED)
		f = at_alias(tgid, at_return_address(PT_REGS_SP(ctx)), f);
	p = at_proc_get(tgid);
	if (!p)
		return 0;
	at_hist_add64(p->calls, f, AT_NR_FUNCS, 1);	/* f comes from a cookie: bounds the verifier sees */
	if (AT_CK_KIND(ck) != AT_KIND_FREE)
		return 0;	/* a query allocates nothing */
	t->skip_free = f == AT_FREE ? 0 : ptr;
	if (ptr)
		account_free(t, p, tgid, tid, ptr);
	return 0;
}

/* The argument registers of a function at its entry, by the x86-64 calling convention.
 * Loaded once each at fixed offsets: the verifier refuses a context read at an offset
 * computed from the cookie. */
struct at_args {
	__u64 a[6];
};

static __always_inline void at_args_load(struct pt_regs *ctx, struct at_args *r)
{
	r->a[0] = PT_REGS_PARM1(ctx);
	r->a[1] = PT_REGS_PARM2(ctx);
	r->a[2] = PT_REGS_PARM3(ctx);
	r->a[3] = PT_REGS_PARM4(ctx);
	r->a[4] = PT_REGS_PARM5(ctx);
	r->a[5] = ctx->r9;	/* this libbpf has no PT_REGS_PARM6 */
}

/* Argument i (0..5), 0 for AT_ARG_NONE. */
static __always_inline __u64 at_arg(const struct at_args *r, __u32 i)
{
	asm volatile("" : "+r"(i));	/* the bound below must be on the register used */
	return i < 6 ? r->a[i] : 0;
}

/* Every free and query, one program: the cookie says where the pointer is. */
SEC("uprobe")
int BPF_KPROBE(free_entry)
{
	__u64 ck = bpf_get_attach_cookie(ctx);
	struct at_args r;

	if (AT_CK_KIND(ck) != AT_KIND_FREE && AT_CK_KIND(ck) != AT_KIND_QUERY)
		return 0;	/* not a cookie the loader gives */
	at_args_load(ctx, &r);
	return on_free(ctx, ck, at_arg(&r, AT_CK_PTR(ck)));
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

/* Every allocating or resizing function of every family, one program: the attach
 * cookie names the function and the arguments holding the size, the count it is
 * multiplied by, the old block or out-pointer and xallocx's extra bytes. One program
 * verifies once, not once per function. */
SEC("uprobe")
int BPF_KPROBE(alloc_entry)
{
	__u64 ck = bpf_get_attach_cookie(ctx), size;
	struct at_args r;

	if (AT_CK_KIND(ck) != AT_KIND_ALLOC && AT_CK_KIND(ck) != AT_KIND_RESIZE)
		return 0;	/* not a cookie the loader gives */
	at_args_load(ctx, &r);
	size = at_arg(&r, AT_CK_SIZE(ck));
	if (AT_CK_COUNT(ck) != AT_ARG_NONE)
		size = at_mul_sat(at_arg(&r, AT_CK_COUNT(ck)), size);
	return on_entry(ctx, ck, size, at_arg(&r, AT_CK_PTR(ck)), at_arg(&r, AT_CK_EXTRA(ck)));
}

char LICENSE[] SEC("license") = "GPL";
