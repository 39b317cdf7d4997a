// SPDX-License-Identifier: GPL-2.0
/* The cost model's calibration (user/probecost.c): programs that do nothing, attached
 * to alloctop's own calibration functions, so that what a call costs with them minus
 * what it costs without is the price of one probe hit alone (trap, emulation or
 * single-step, return trampoline, BPF dispatch). Its own object: the tracer's programs
 * are untouched. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

SEC("uprobe")
int calib_entry(void *ctx)
{
	return 0;
}

SEC("uretprobe")
int calib_return(void *ctx)
{
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
