// SPDX-License-Identifier: GPL-2.0
/* User stack unwinding at an allocation probe. Where a module has unwind rows (compiled
 * from its .eh_frame by userspace, user/cfi.c), each frame is found from the CFI: CFA from
 * rsp or rbp, the return address at CFA - 8, the caller's rbp where the row says it was
 * saved. Elsewhere (no rows, JIT code, a gap in the CFI) the frame-pointer chain is
 * followed. Global functions (at_unwind and the searches and step under it), each
 * verified once per program, not once per path through its caller: the searches'
 * loops inlined made the entry program the slowest part of alloctop's start. */
#include "common.bpf.h"

#define AT_MAP_SEARCH 9		/* log2(AT_UNWIND_MAPS) + 1 */
#define AT_ROW_SEARCH 25	/* enough for 16M rows in one module */
#define AT_NO_ROW 0xffffffffU	/* no row index */

struct at_frame {			/* a frame's registers, as far as unwinding needs them */
	__u64 pc, sp, bp;
};

struct at_uw {
	struct at_stack *st;
	struct at_unwind_proc *proc;	/* NULL: userspace has not described this process */
	struct at_frame f;
	__u32 n;
	bool stale;			/* a pc outside every known mapping */
};

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

/* One frame by its CFI row: the caller's return address, or 0 to stop. */
static __always_inline __u64 at_step_cfi(struct at_frame *u, const struct at_unwind_row *r)
{
	__u64 cfa = 0, ra = 0;

	switch (r->cfa_type) {
	case AT_CFA_RSP:
		cfa = u->sp + 8 * (__s64)r->cfa_words;
		break;
	case AT_CFA_RBP:
		cfa = u->bp + 8 * (__s64)r->cfa_words;
		break;
	case AT_CFA_RBP_DEREF:
		if (bpf_probe_read_user(&cfa, sizeof(cfa), (void *)(u->bp + 8 * (__s64)r->cfa_words)))
			return 0;
		break;
	default:		/* AT_CFA_END: the outermost frame */
		return 0;
	}
	/* the stack grows down: each caller's frame lies above, and near */
	if (cfa <= u->sp || cfa - u->sp > AT_STACK_WINDOW)
		return 0;
	if (r->rbp_words == -2) {
		/* rbp pushed first (every frame-pointer prologue): one read for both */
		__u64 frame[2];

		if (bpf_probe_read_user(frame, sizeof(frame), (void *)(cfa - 16)))
			return 0;
		u->bp = frame[0];
		ra = frame[1];
	} else {
		if (bpf_probe_read_user(&ra, sizeof(ra), (void *)(cfa - 8)))
			return 0;
		if (r->rbp_words &&
		    bpf_probe_read_user(&u->bp, sizeof(u->bp), (void *)(cfa + 8 * (__s64)r->rbp_words)))
			return 0;
	}
	u->sp = cfa;
	return ra;
}

/* One frame by the frame-pointer chain: rbp points at the saved rbp, then the return
 * address; a sane rbp lies at or above sp, aligned, near. */
static __always_inline __u64 at_step_fp(struct at_frame *u)
{
	__u64 frame[2];

	if (u->bp < u->sp || u->bp - u->sp > AT_STACK_WINDOW || (u->bp & 7))
		return 0;
	if (bpf_probe_read_user(frame, sizeof(frame), (void *)u->bp))
		return 0;
	u->sp = u->bp + 16;
	u->bp = frame[0];
	return frame[1];
}

/* One frame, by row ri (AT_NO_ROW: none) where it has CFI, else by frame pointer: the
 * caller's return address, or 0 to stop. Global, verified once, like the searches. */
__noinline __u64 at_step(struct at_frame *f, __u32 ri)
{
	const struct at_unwind_row *r = 0;

	if (!f)
		return 0;
	if (ri != AT_NO_ROW)
		r = bpf_map_lookup_elem(&unwind_rows, &ri);
	return r && r->cfa_type != AT_CFA_NONE ? at_step_cfi(f, r) : at_step_fp(f);
}

static int at_unwind_step(__u32 i, void *ctx)
{
	struct at_uw *u = ctx;
	const struct at_unwind_map *m = 0;
	struct at_stack *st = u->st;
	__u32 n, ri = AT_NO_ROW;
	__u64 ra;

	if (unwind_cfi) {
		__u32 mi = u->proc ? at_find_map(u->proc, u->f.pc) : AT_UNWIND_MAPS;

		if (mi < AT_UNWIND_MAPS)
			m = &u->proc->m[mi];
		if (!m)
			u->stale = true;
		else if (m->module)
			/* a return address follows its call: look up the call itself */
			ri = at_find_row(m->module, u->f.pc - 1 - m->bias);
	}
	ra = at_step(&u->f, ri);
	if (!ra)
		return 1;
	n = u->n;
	if (n >= stack_depth || n >= AT_MAX_FRAMES) {
		st->flags |= AT_STACK_TRUNCATED;
		return 1;
	}
	st->ips[n] = ra;
	u->n = n + 1;
	u->f.pc = ra;
	return 0;
}

__noinline int at_unwind(__u32 tgid, __u64 pc, __u64 sp, __u64 bp, struct at_stack *st)
{
	struct at_uw u = { .f = { .pc = pc, .sp = sp, .bp = bp }, .n = 1 };
	static const __u8 one = 1;

	if (!st)
		return 0;
	u.st = st;
	if (unwind_cfi)
		u.proc = bpf_map_lookup_elem(&unwind_procs, &tgid);
	bpf_loop(stack_depth, at_unwind_step, &u, 0);
	st->nr = u.n;
	if (u.stale && !bpf_map_lookup_elem(&unwind_stale, &tgid))
		bpf_map_update_elem(&unwind_stale, &tgid, &one, BPF_ANY);
	return u.n;
}
