// SPDX-License-Identifier: GPL-2.0
/* User stack unwinding at an allocation probe. Where a module has unwind rows (compiled
 * from its .eh_frame by userspace, user/binary/cfi.c), each frame is found from the CFI: CFA from
 * rsp or rbp, the return address at CFA - 8, the caller's rbp where the row says it was
 * saved. Elsewhere (no rows, JIT code, a gap in the CFI) the frame-pointer chain is
 * followed. Global functions (at_unwind and the searches and step under it), each
 * verified once per program, not once per path through its caller: the searches'
 * loops inlined made the entry program the slowest part of alloctop's start. */
#include "common.bpf.h"
#include "stacks.bpf.h"

#define AT_MAP_SEARCH 9		/* log2(AT_UNWIND_MAPS) + 1 */
#define AT_ROW_SEARCH 25	/* enough for 16M rows in one module */
#define AT_NO_ROW 0xffffffffU	/* no row index */

struct at_frame {			/* a frame's registers, as far as unwinding needs them */
	__u64 pc, sp, bp;
};

/* A walk's state; no pointers, so that a global function (at_unwind_next) can take it:
 * the thread's stack, window and rule cache come with its struct at_thread. */
struct at_uw {
	struct at_frame f;
	__u32 n, gen, tgid;
	bool stale;			/* a pc outside every known mapping */
	bool ri_read;			/* ri holds the next pending uretprobe return */
	__u64 ri;			/* struct return_instance * */
};

struct at_uw_ctx {			/* the bpf_loop callback's */
	struct at_thread *t;
	struct at_uw u;
};

struct at_vma_range {
	__u64 lo, hi;
};

static long at_vma_bounds(struct task_struct *task, struct vm_area_struct *vma, void *ctx)
{
	struct at_vma_range *r = ctx;

	r->lo = vma->vm_start;
	r->hi = vma->vm_end;
	return 0;
}

/* Reloads the window from addr: as much of AT_WIN_BYTES as the thread's stack mapping
 * holds above addr (a read that crosses its end would fail whole), else to the end of
 * addr's page. Global: the rare path, verified once. 1 if loaded. */
__noinline int at_win_load(struct at_stack_win *w, __u64 addr)
{
	__u64 len = AT_WIN_BYTES;

	if (!w)
		return 0;

	if (addr < w->stack_lo || addr >= w->stack_hi) {
		/* a new thread, or the stack moved (sigaltstack, coroutines): ask the kernel */
		struct at_vma_range r = {};

		bpf_find_vma(bpf_get_current_task_btf(), addr, at_vma_bounds, &r, 0);
		w->stack_lo = r.lo;
		w->stack_hi = r.hi;
	}
	if (addr >= w->stack_lo && addr < w->stack_hi) {
		if (w->stack_hi - addr < len)
			len = w->stack_hi - addr;
	} else {
		len = 4096 - (addr & 4095);
	}
	asm volatile("" : "+r"(len));	/* clang would bound a copy, not what the read uses */
	if (len > AT_WIN_BYTES)
		len = AT_WIN_BYTES;
	w->len = 0;
	if (len < 16)
		return 0;
	if (bpf_probe_read_user(w->buf, len, (void *)addr)) {
		w->stack_lo = w->stack_hi = 0;	/* the mapping may have changed: ask again next time */
		return 0;
	}
	w->lo = addr;
	w->len = len;
	return 1;
}

/* Reads 8 bytes of the user stack at addr, through the window. */
static __always_inline bool at_uread(struct at_stack_win *w, __u64 addr, __u64 *out)
{
	__u64 off = addr - w->lo;

	if (addr < w->lo || off + 8 > w->len) {
		if (!at_win_load(w, addr)) {
			/* not readable as a window (a page never touched in between): just these bytes */
			return !bpf_probe_read_user(out, 8, (void *)addr);
		}
		off = 0;
	}
	if (off > AT_WIN_BYTES - 8)
		return false;
	*out = *(__u64 *)&w->buf[off];
	return true;
}

struct at_map_search {
	const struct at_unwind_proc *p;
	__u64 pc;
	__u32 lo, hi, found;
};

/* One step of the binary search over the mappings. A bpf_loop callback, verified as one
 * body: the same loop open-coded had the verifier walk every path through its nine
 * steps (lo and hi index the mappings, so no two paths looked alike). */
static long at_map_search_step(__u32 i, void *ctx)
{
	struct at_map_search *s = ctx;
	__u64 mid = ((__u64)s->lo + s->hi) / 2;

	/* the very register bounded here indexes (see at_site_mine) */
	asm volatile("" : "+r"(mid));
	if (s->lo >= s->hi || mid >= AT_UNWIND_MAPS)
		return 1;
	asm volatile("" : "+r"(mid));
	if (s->pc < s->p->m[mid].start) {
		s->hi = mid;
	} else if (s->pc >= s->p->m[mid].end) {
		s->lo = mid + 1;
	} else {
		s->found = mid;
		return 1;
	}
	return 0;
}

/* The index of the mapping holding pc, or AT_UNWIND_MAPS. This and at_find_row are
 * global: verified once each, not again on every path through the step calling them. */
__noinline __u32 at_find_map(const struct at_unwind_proc *p, __u64 pc)
{
	struct at_map_search s = { .p = p, .pc = pc, .found = AT_UNWIND_MAPS };

	if (!p)
		return AT_UNWIND_MAPS;
	s.hi = p->nr < AT_UNWIND_MAPS ? p->nr : AT_UNWIND_MAPS;
	bpf_loop(AT_MAP_SEARCH, at_map_search_step, &s, 0);
	return s.found;
}

/* The index of the last row at or below pc in the module's slice of the row array, or
 * AT_NO_ROW. */
__noinline __u32 at_find_row(__u32 module, __u64 pc)
{
	const struct at_unwind_module *mod = bpf_map_lookup_elem(&unwind_modules, &module);
	const struct at_unwind_row *r;
	__u32 lo, hi, mid;

	if (!mod || !mod->nr || pc > 0xffffffffULL)
		return AT_NO_ROW;
	lo = mod->first;
	hi = mod->first + mod->nr;
	for (int k = 0; k < AT_ROW_SEARCH && lo < hi; k++) {
		mid = lo + (hi - lo) / 2;
		r = bpf_map_lookup_elem(&unwind_rows, &mid);
		if (!r)
			return AT_NO_ROW;
		if (r->pc <= (__u32)pc)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo == mod->first ? AT_NO_ROW : lo - 1;
}

/* A rule packed in a scalar for the global step: cfa_type, rbp_words, cfa_words. */
static __always_inline __u32 at_rule_pack(const struct at_uw_rule *r)
{
	return r->cfa_type | (__u32)(__u8)r->rbp_words << 8 | (__u32)(__u16)r->cfa_words << 16;
}

/* One frame by its CFI rule: the caller's return address, or 0 to stop. */
static __always_inline __u64 at_step_cfi(struct at_frame *u, struct at_stack_win *w, __u32 rule)
{
	__s64 cfa_words = (__s16)(rule >> 16), rbp_words = (__s8)(rule >> 8);
	__u64 cfa = 0, ra = 0;

	switch (rule & 0xff) {
	case AT_CFA_RSP:
		cfa = u->sp + 8 * cfa_words;
		break;
	case AT_CFA_RBP:
		cfa = u->bp + 8 * cfa_words;
		break;
	case AT_CFA_RBP_DEREF:
		if (!at_uread(w, u->bp + 8 * cfa_words, &cfa))
			return 0;
		break;
	default:		/* AT_CFA_END: the outermost frame */
		return 0;
	}
	/* the stack grows down: each caller's frame lies above, and near */
	if (cfa <= u->sp || cfa - u->sp > AT_STACK_WINDOW)
		return 0;
	if (!at_uread(w, cfa - 8, &ra))
		return 0;
	if (rbp_words && !at_uread(w, cfa + 8 * rbp_words, &u->bp))
		return 0;
	u->sp = cfa;
	return ra;
}

/* One frame by the frame-pointer chain: rbp points at the saved rbp, then the return
 * address; a sane rbp lies at or above sp, aligned, near. */
static __always_inline __u64 at_step_fp(struct at_frame *u, struct at_stack_win *w)
{
	__u64 bp, ra;

	if (u->bp < u->sp || u->bp - u->sp > AT_STACK_WINDOW || (u->bp & 7))
		return 0;
	if (!at_uread(w, u->bp, &bp) || !at_uread(w, u->bp + 8, &ra))
		return 0;
	u->sp = u->bp + 16;
	u->bp = bp;
	return ra;
}

/* One frame by a packed rule (AT_CFA_NONE: none) where there is CFI, else by frame
 * pointer: the caller's return address, or 0 to stop. Global, verified once, like the
 * searches. */
__noinline __u64 at_step(struct at_frame *f, struct at_stack_win *w, __u32 rule)
{
	if (!f || !w)
		return 0;
	return (rule & 0xff) != AT_CFA_NONE ? at_step_cfi(f, w, rule) : at_step_fp(f, w);
}

/* A return address that a uretprobe (anyone's) replaced with its trampoline: the original,
 * from the thread's pending returns, innermost first (chained ones, tail calls, share one
 * slot); 0 if pc is not the trampoline. Only on a pc outside every module: no cost to the
 * common path. */
static __always_inline __u64 at_uretprobe_orig(struct at_uw *u, __u64 pc)
{
	struct return_instance *ri;
	__u64 orig;

	if (pc != at_uretprobe_trampoline())
		return 0;
	if (!u->ri_read) {
		u->ri = (__u64)BPF_CORE_READ(bpf_get_current_task_btf(), utask, return_instances);
		u->ri_read = true;
	}
	ri = (struct return_instance *)u->ri;
	if (!ri)
		return 0;
	orig = BPF_CORE_READ(ri, orig_ret_vaddr);
	for (int i = 0; i < 8 && ri && BPF_CORE_READ(ri, chained); i++)
		ri = BPF_CORE_READ(ri, next);
	u->ri = ri ? (__u64)BPF_CORE_READ(ri, next) : 0;
	return orig;
}

/* The rule for pc, from the thread's cache or searched and cached; NULL: walk the frame
 * pointer (no table for this process yet, or a pc in no known mapping). */
static __always_inline const struct at_uw_rule *at_rule(struct at_uw *u, struct at_thread *t, __u64 pc)
{
	const struct at_unwind_row *r = 0;
	const struct at_unwind_proc *proc;
	const struct at_unwind_map *m;
	struct at_uw_rule *c;
	__u32 mi, ri;

	c = &t->rules[(pc ^ pc >> 6 ^ pc >> 12) & (AT_UW_CACHE - 1)];
	if (u->gen && c->pc == pc && c->gen == u->gen)
		return c;
	/* a miss: only now the process's table (NULL: not described yet, no caching) */
	proc = bpf_map_lookup_elem(&unwind_procs, &u->tgid);
	if (!proc)
		return 0;
	mi = at_find_map(proc, pc);
	if (mi >= AT_UNWIND_MAPS) {
		__u64 orig = at_uretprobe_orig(u, pc);
		__u32 last = u->n - 1;

		if (orig && last < AT_MAX_FRAMES) {
			/* the frame is the original return address's; its rule is too */
			t->scratch.ips[last] = orig;
			u->f.pc = pc = orig;
			mi = at_find_map(proc, pc);
		}
	}
	asm volatile("" : "+r"(mi));	/* the check below bounds the very register that indexes */
	if (mi >= AT_UNWIND_MAPS) {
		u->stale = true;
		return 0;
	}
	m = &proc->m[mi];
	if (m->module) {
		/* a return address follows its call: look up the call itself */
		ri = at_find_row(m->module, pc - 1 - m->bias);
		if (ri != AT_NO_ROW)
			r = bpf_map_lookup_elem(&unwind_rows, &ri);
	}
	c->pc = pc;
	c->gen = u->gen;
	c->cfa_type = r ? r->cfa_type : AT_CFA_NONE;
	c->cfa_words = r ? r->cfa_words : 0;
	c->rbp_words = r ? r->rbp_words : 0;
	return c;
}

/* One frame more: 0 to go on, 1 when the walk ends. Global: verified once, not once for
 * every state the bpf_loop callback is entered with (about 57 times as a static body,
 * 0.1 s of every start). */
__noinline int at_unwind_next(struct at_thread *t, struct at_uw *u)
{
	const struct at_uw_rule *r;
	__u64 ra;
	__u32 n;

	if (!t || !u)
		return 1;
	r = unwind_cfi ? at_rule(u, t, u->f.pc) : 0;
	ra = at_step(&u->f, &t->win, r ? at_rule_pack(r) : AT_CFA_NONE);
	if (!ra)
		return 1;
	n = u->n;
	if (n >= stack_depth || n >= AT_MAX_FRAMES) {
		t->scratch.flags |= AT_STACK_TRUNCATED;
		return 1;
	}
	t->scratch.ips[n] = ra;
	u->n = n + 1;
	u->f.pc = ra;
	return 0;
}

static int at_unwind_step(__u32 i, void *ctx)
{
	struct at_uw_ctx *c = ctx;

	return at_unwind_next(c->t, &c->u) ? 1 : 0;	/* a global's result is any scalar */
}

/* The walk from the frame in c->u, ips[0] filled; the number of frames. */
static __always_inline int at_unwind_walk(struct at_uw_ctx *c, __u32 tgid)
{
	static const __u8 one = 1;

	bpf_loop(stack_depth, at_unwind_step, c, 0);
	c->t->scratch.nr = c->u.n;
	if (c->u.stale && !bpf_map_lookup_elem(&unwind_stale, &tgid))
		bpf_map_update_elem(&unwind_stale, &tgid, &one, BPF_ANY);
	return c->u.n;
}

__noinline int at_unwind(__u32 tgid, __u64 sp, __u64 bp, struct at_thread *t)
{
	struct at_uw_ctx c = { .t = t, .u = { .f = { .sp = sp, .bp = bp }, .n = 1, .tgid = tgid, .gen = at_unwind_gen } };

	if (!t)
		return 0;
	t->win.len = 0;	/* the stack changed since the last call */
	t->scratch.flags = 0;
	if (!at_uread(&t->win, sp, &c.u.f.pc) || !c.u.f.pc)
		return 0;
	t->scratch.ips[0] = c.u.f.pc;
	c.u.f.sp = sp + 8;	/* the caller's frame, as the call left it */
	return at_unwind_walk(&c, tgid);
}

/* From a faulting instruction: its rule is looked up at ip itself, which at_rule does for
 * pc = ip + 1 (it looks up a return address's call at pc - 1), so the first byte of a
 * function (a push growing the stack) still finds its own row. */
__noinline int at_unwind_regs(__u32 tgid, __u64 ip, __u64 sp, __u64 bp, struct at_thread *t)
{
	struct at_uw_ctx c = { .t = t,
			       .u = { .f = { .pc = ip + 1, .sp = sp, .bp = bp }, .n = 1, .tgid = tgid, .gen = at_unwind_gen } };

	if (!t || !ip)
		return 0;
	t->win.len = 0;
	t->scratch.flags = 0;
	t->scratch.ips[0] = ip;
	return at_unwind_walk(&c, tgid);
}
