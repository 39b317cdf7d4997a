// SPDX-License-Identifier: GPL-2.0
/* Process lifecycle: exits (so a long census keeps its maps bounded) and forks (so
 * --follow traces a target's descendants from their first instruction). */
#include "common.bpf.h"

SEC("tp_btf/sched_process_exit")
int BPF_PROG(proc_exit, struct task_struct *task)
{
	__u32 tgid = BPF_CORE_READ(task, tgid);
	struct at_exit_rec e = {};

	/* the last thread of the group is leaving */
	if (BPF_CORE_READ(task, signal, live.counter) != 0)
		return 0;
	bpf_map_delete_elem(&followed, &tgid);
	bpf_map_delete_elem(&alloc_text, &tgid);
	bpf_map_delete_elem(&unwind_procs, &tgid);
	bpf_map_delete_elem(&unwind_stale, &tgid);
	if (!bpf_map_lookup_elem(&procs, &tgid))
		return 0;
	e.ts_ns = bpf_ktime_get_ns();
	BPF_CORE_READ_STR_INTO(&e.comm, task, group_leader, comm);
	bpf_map_update_elem(&exited, &tgid, &e, BPF_ANY);
	return 0;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(proc_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 ptgid = BPF_CORE_READ(parent, tgid), ctgid = BPF_CORE_READ(child, tgid);
	struct at_unwind_proc *u;
	struct at_range *r;
	__u8 one = 1;

	/* new threads share the tgid; only new processes matter */
	if (!filter_followed || ptgid == ctgid || !bpf_map_lookup_elem(&followed, &ptgid))
		return 0;
	bpf_map_update_elem(&followed, &ctgid, &one, BPF_ANY);
	/* the child maps the allocator where its parent did */
	r = bpf_map_lookup_elem(&alloc_text, &ptgid);
	if (r)
		bpf_map_update_elem(&alloc_text, &ctgid, r, BPF_ANY);
	/* ... and everything else, so its stacks unwind before userspace looks at it */
	u = bpf_map_lookup_elem(&unwind_procs, &ptgid);
	if (u)
		bpf_map_update_elem(&unwind_procs, &ctgid, u, BPF_ANY);
	return 0;
}

/* exec keeps the task but replaces the program: per-thread state about calls in the old
 * image (nesting, a pending mmap) means nothing in the new one. */
SEC("tp_btf/sched_process_exec")
int BPF_PROG(proc_exec, struct task_struct *task)
{
	__u32 tgid = BPF_CORE_READ(task, tgid);

	bpf_task_storage_delete(&threads, task);
	/* the old mappings are gone: unwind by frame pointers until userspace re-reads them */
	bpf_map_delete_elem(&unwind_procs, &tgid);
	return 0;
}
