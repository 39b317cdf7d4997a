// SPDX-License-Identifier: GPL-2.0
/* The empty-program floor: programs that do nothing, attached by bench/floor.c at the
 * very sites alloctop probes, the same way (uprobe_multi links, filtered by PID). What
 * a traced pair costs with these is the price of the uprobes themselves (trap, return
 * trampoline, BPF dispatch); anything alloctop costs above it is its own work.
 *
 * The prims_ programs (bench-floor --prims) do only what no exact tracer of sizes, stacks
 * and lifetimes can skip: find the thread's state (per-thread task storage), keep an
 * allocation's size and read the return address its stack starts from (one read of user
 * memory), and read the clock when a block is born and when it dies. What they cost above
 * the empty programs bounds from below what such a tracer costs at these sites. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

SEC("uprobe")
int floor_entry(void *ctx)
{
	return 0;
}

SEC("uretprobe")
int floor_return(void *ctx)
{
	return 0;
}

struct prims_thread {
	__u64 size, ra, ts;
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct prims_thread);
} prims_threads SEC(".maps");

static __always_inline struct prims_thread *prims_thread(void)
{
	return bpf_task_storage_get(&prims_threads, bpf_get_current_task_btf(), 0,
				    BPF_LOCAL_STORAGE_GET_F_CREATE);
}

/* Attach cookie 1: an allocating function's entry; 0: a free's. */
SEC("uprobe")
int prims_entry(struct pt_regs *ctx)
{
	struct prims_thread *t = prims_thread();

	if (!t)
		return 0;
	if (bpf_get_attach_cookie(ctx)) {
		t->size = PT_REGS_PARM1(ctx);
		bpf_probe_read_user(&t->ra, sizeof(t->ra), (void *)PT_REGS_SP(ctx));
	} else {
		t->ts = bpf_ktime_get_ns();	/* when the freed block died */
	}
	return 0;
}

SEC("uretprobe")
int prims_return(struct pt_regs *ctx)
{
	struct prims_thread *t = prims_thread();

	if (t)
		t->ts = bpf_ktime_get_ns();	/* when the new block was born */
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
