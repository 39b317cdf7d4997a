// SPDX-License-Identifier: GPL-2.0
/* Process lifecycle: exits (so a long census keeps its maps bounded), forks (so --follow
 * traces a target's descendants from their first instruction, and a child knows its
 * parent's allocator text and alias slots) and execs (the old image's blocks go). */
#include "common.bpf.h"

#define AT_FORK_ALIASES 16	/* alias slots copied to a child; a process has a few */

/* Traced processes that exec'd; userspace drains it (re-plans, drops old blocks). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct at_exec_rec);
} execd SEC(".maps");

/* Filled by userspace for one run of drop_old_images: tgid -> its latest exec. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct at_exec_rec);
} sweep SEC(".maps");

static long drop_alias(struct bpf_map *map, struct at_block_key *k, __u32 *f, __u32 *tgid)
{
	struct at_block_key key = *k;

	if (key.pid == *tgid)
		bpf_map_delete_elem(map, &key);
	return 0;
}

/* Forgets what alloctop planned for the process's program (or a child inherited). */
static __always_inline void forget_process_info(__u32 tgid)
{
	bool planned = !bpf_map_delete_elem(&alloc_text, &tgid);

	/* its mappings are gone too: unwind by frame pointers until userspace re-reads them */
	bpf_map_delete_elem(&unwind_procs, &tgid);
	bpf_map_delete_elem(&unwind_stale, &tgid);
	/* a static binary has no text range; any other process without one has no slots */
	if (planned || bpf_map_lookup_elem(&procs, &tgid))
		bpf_for_each_map_elem(&alias_got, drop_alias, &tgid, 0);
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(proc_exit, struct task_struct *task)
{
	__u32 tgid = BPF_CORE_READ(task, tgid);
	struct at_exit_rec e = {};

	/* the last thread of the group is leaving */
	if (BPF_CORE_READ(task, signal, live.counter) != 0)
		return 0;
	bpf_map_delete_elem(&followed, &tgid);
	/* here too, not only when userspace forgets the exit: a census plans, and children
	 * inherit, processes that never allocate, whose exits it never sees */
	forget_process_info(tgid);
	if (!bpf_map_lookup_elem(&procs, &tgid))
		return 0;
	e.ts_ns = bpf_ktime_get_ns();
	BPF_CORE_READ_STR_INTO(&e.comm, task, group_leader, comm);
	bpf_map_update_elem(&exited, &tgid, &e, BPF_ANY);
	return 0;
}

struct alias_copy {
	__u32 from;
	__u32 n;
	__u64 slot[AT_FORK_ALIASES];
	__u32 func[AT_FORK_ALIASES];
};

static long collect_alias(struct bpf_map *map, struct at_block_key *k, __u32 *f, struct alias_copy *c)
{
	__u32 i = c->n;

	if (k->pid != c->from)
		return 0;
	if (i >= AT_FORK_ALIASES)
		return 1;
	c->slot[i] = k->addr;
	c->func[i] = *f;
	c->n = i + 1;
	return 0;
}

/* A child is a copy of its parent's address space: the same allocator text and GOT
 * slots, known from the first instruction instead of the next census rescan. */
static __always_inline void inherit_process_info(__u32 ptgid, __u32 ctgid)
{
	struct at_range *r = bpf_map_lookup_elem(&alloc_text, &ptgid);
	struct alias_copy c = { .from = ptgid };
	struct at_unwind_proc *u = bpf_map_lookup_elem(&unwind_procs, &ptgid);

	/* the child maps everything where its parent did: its stacks unwind at once */
	if (u)
		bpf_map_update_elem(&unwind_procs, &ctgid, u, BPF_ANY);
	if (!r)
		return;	/* a process alloctop never planned */
	bpf_map_update_elem(&alloc_text, &ctgid, r, BPF_ANY);
	bpf_for_each_map_elem(&alias_got, collect_alias, &c, 0);
	for (__u32 i = 0; i < AT_FORK_ALIASES; i++) {
		struct at_block_key k = { .pid = ctgid };

		if (i >= c.n)
			break;
		k.addr = c.slot[i];
		bpf_map_update_elem(&alias_got, &k, &c.func[i], BPF_ANY);
	}
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(proc_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 ptgid = BPF_CORE_READ(parent, tgid), ctgid = BPF_CORE_READ(child, tgid);
	__u8 one = 1;

	/* new threads share the tgid; only new processes matter */
	if (ptgid == ctgid)
		return 0;
	if (filter_followed) {
		if (!bpf_map_lookup_elem(&followed, &ptgid))
			return 0;
		bpf_map_update_elem(&followed, &ctgid, &one, BPF_ANY);
	}
	inherit_process_info(ptgid, ctgid);
	return 0;
}

/* exec keeps the task but replaces the program: per-thread state about calls in the old
 * image (nesting, a pending mmap) means nothing in the new one, nor do its allocator text
 * and GOT slots. Userspace learns of the exec from "execd". */
SEC("tp_btf/sched_process_exec")
int BPF_PROG(proc_exec, struct task_struct *task)
{
	__u32 tgid = BPF_CORE_READ(task, tgid);
	struct at_exec_rec e = {};

	bpf_task_storage_delete(&threads, task);
	if (tgid == self_tgid)
		return 0;
	/* traced: counted, planned, or followed */
	if (!bpf_map_lookup_elem(&procs, &tgid) && !bpf_map_lookup_elem(&alloc_text, &tgid) &&
	    !(filter_followed && bpf_map_lookup_elem(&followed, &tgid)))
		return 0;
	forget_process_info(tgid);
	e.ts_ns = bpf_ktime_get_ns();
	e.gen = (__u32)BPF_CORE_READ(task, self_exec_id);
	BPF_CORE_READ_STR_INTO(&e.comm, task, comm);
	bpf_map_update_elem(&execd, &tgid, &e, BPF_ANY);
	return 0;
}

/* Is this key of an image that an exec in "sweep" replaced? */
static __always_inline bool old_image(const struct at_block_key *k, __u64 ts_ns)
{
	struct at_exec_rec *e = bpf_map_lookup_elem(&sweep, &k->pid);

	/* the time check keeps a later process that got the same pid out */
	return e && k->pad != e->gen && ts_ns < e->ts_ns;
}

/* Slot i of a live-table bucket: dropped when its image was replaced. Only this sweep
 * and userspace's forget (never at the same time) free a replaced image's slot, so the
 * fields read before the compare-and-swap are still the block's when it wins. */
static __always_inline void drop_slot(struct at_live_bucket *bk, __u32 i)
{
	__u64 addr = *(volatile __u64 *)&bk->addr[i];
	struct at_block_key key = { .pid = bk->pid[i], .pad = bk->gen[i], .addr = addr };
	struct at_site_key sk = { .pid = key.pid, .stack_id = bk->stack_id[i] };
	__u64 size = bk->size[i];
	struct at_proc_stats *p;
	struct at_site_stats *s;

	if (addr <= AT_LIVE_BUSY || !old_image(&key, bk->ts_ns[i]) ||
	    __sync_val_compare_and_swap(&bk->addr[i], addr, AT_LIVE_FREE) != addr)
		return;
	/* gone with its address space: no longer live, and not a free either */
	p = bpf_map_lookup_elem(&procs, &key.pid);
	if (p) {
		at_add(&p->live_allocs, -1);
		at_add(&p->live_bytes, -(__s64)size);
	}
	s = at_site_mine(at_site_lookup(&sk));
	if (s) {
		struct at_peak *pk = at_peak_before(key.pid, s);

		at_add(&s->c.live_allocs, -1);
		at_add(&s->c.live_bytes, -(__s64)size);
		at_peak_after(pk, -1, -(__s64)size);
		at_site_touched(&sk);	/* userspace rereads only touched sites */
	}
}

static long drop_way(__u32 i, void *ctx)
{
	struct at_live_bucket *bk = *(struct at_live_bucket **)ctx;

	if (i < AT_LIVE_WAYS)
		drop_slot(bk, i);
	return 0;
}

/* The ways by bpf_loop: the verifier checks drop_slot once, not once a way (8 ms of
 * every start). */
static long drop_bucket(struct bpf_map *map, __u32 *idx, struct at_live_bucket *bk, void *ctx)
{
	bpf_loop(AT_LIVE_WAYS, drop_way, &bk, 0);
	return 0;
}

static long drop_mapping(struct bpf_map *map, struct at_block_key *k, struct at_mapping *m, void *ctx)
{
	struct at_block_key key = *k;
	__u64 len = m->len;
	struct at_proc_stats *p;

	if (!old_image(&key, m->ts_ns) || bpf_map_delete_elem(map, &key))
		return 0;
	p = bpf_map_lookup_elem(&procs, &key.pid);
	if (p)
		at_add(&p->mmap_live_bytes, -(__s64)len);
	return 0;
}

/* Run by userspace (BPF_PROG_TEST_RUN) after it filled "sweep": drops the live blocks and
 * mappings of replaced images and takes them out of the live figures, atomically with
 * the probes (per-CPU counters are only ever changed with atomic adds). Cumulative
 * counters stay. Nothing else touches these keys any more: their image is gone. */
SEC("syscall")
int drop_old_images(void *ctx)
{
	for (__u32 t = 0; t < AT_LIVE_TIERS; t++) {
		void *tier = bpf_map_lookup_elem(&live, &t);

		if (!tier)
			break;
		bpf_for_each_map_elem(tier, drop_bucket, NULL, 0);
	}
	bpf_for_each_map_elem(&mappings, drop_mapping, NULL, 0);
	return 0;
}
