// SPDX-License-Identifier: GPL-2.0
/* The empty-program floor: programs that do nothing, attached by bench/floor.c at the
 * very sites alloctop probes, the same way (uprobe_multi links, filtered by PID). What
 * a traced pair costs with these is the price of the uprobes themselves (trap, return
 * trampoline, BPF dispatch); anything alloctop costs above it is its own work. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

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

char LICENSE[] SEC("license") = "GPL";
