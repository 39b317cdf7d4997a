// SPDX-License-Identifier: GPL-2.0
/* User stack unwinding at an allocation probe. Where a module has unwind rows (compiled
 * from its .eh_frame by userspace, user/cfi.c), each frame is found from the CFI: CFA from
 * rsp or rbp, the return address at CFA - 8, the caller's rbp where the row says it was
 * saved. Elsewhere (no rows, JIT code, a gap in the CFI) the frame-pointer chain is
 * followed. One global function, verified once and shared by every entry program. */
#include "common.bpf.h"

#define AT_MAP_SEARCH 9		/* log2(AT_UNWIND_MAPS) + 1 */
#define AT_ROW_SEARCH 25	/* enough for 16M rows in one module */

struct at_uw {
	struct at_stack *st;
	struct at_unwind_proc *proc;	/* NULL: userspace has not described this process */
	__u64 pc, sp, bp;
	__u32 n;
	bool stale;			/* a pc outside every known mapping */
};

static const struct at_unwind_map *at_find_map(const struct at_unwind_proc *p, __u64 pc)
{
	__u32 lo = 0, hi = p->nr, mid;

	if (hi > AT_UNWIND_MAPS)
		hi = AT_UNWIND_MAPS;
	for (int k = 0; k < AT_MAP_SEARCH && lo < hi; k++) {
		mid = (lo + hi) / 2;
		if (mid >= AT_UNWIND_MAPS)
			break;
		if (pc < p->m[mid].start)
			hi = mid;
		else if (pc >= p->m[mid].end)
			lo = mid + 1;
		else
			return &p->m[mid];
	}
	return 0;
}

/* The last row at or below pc in the module's slice of the row array. */
static const struct at_unwind_row *at_find_row(__u32 module, __u64 pc)
{
	const struct at_unwind_module *mod = bpf_map_lookup_elem(&unwind_modules, &module);
	const struct at_unwind_row *r;
	__u32 lo, hi, mid;

	if (!mod || !mod->nr || pc > 0xffffffffULL)
		return 0;
	lo = mod->first;
	hi = mod->first + mod->nr;
	for (int k = 0; k < AT_ROW_SEARCH && lo < hi; k++) {
		mid = lo + (hi - lo) / 2;
		r = bpf_map_lookup_elem(&unwind_rows, &mid);
		if (!r)
			return 0;
		if (r->pc <= (__u32)pc)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == mod->first)
		return 0;
	mid = lo - 1;
	return bpf_map_lookup_elem(&unwind_rows, &mid);
}

/* One frame by its CFI row: the caller's return address, or 0 to stop. */
static __u64 at_step_cfi(struct at_uw *u, const struct at_unwind_row *r)
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
static __u64 at_step_fp(struct at_uw *u)
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

static int at_unwind_step(__u32 i, void *ctx)
{
	struct at_uw *u = ctx;
	const struct at_unwind_map *m = 0;
	const struct at_unwind_row *r = 0;
	struct at_stack *st = u->st;
	__u64 ra;
	__u32 n;

	if (unwind_cfi) {
		if (u->proc)
			m = at_find_map(u->proc, u->pc);
		if (!m)
			u->stale = true;
		else if (m->module)
			/* a return address follows its call: look up the call itself */
			r = at_find_row(m->module, u->pc - 1 - m->bias);
	}
	ra = r && r->cfa_type != AT_CFA_NONE ? at_step_cfi(u, r) : at_step_fp(u);
	if (!ra)
		return 1;
	n = u->n;
	if (n >= stack_depth || n >= AT_MAX_FRAMES) {
		st->flags |= AT_STACK_TRUNCATED;
		return 1;
	}
	st->ips[n] = ra;
	u->n = n + 1;
	u->pc = ra;
	return 0;
}

__noinline int at_unwind(__u32 tgid, __u64 pc, __u64 sp, __u64 bp, struct at_stack *st)
{
	struct at_uw u = { .pc = pc, .sp = sp, .bp = bp, .n = 1 };
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
