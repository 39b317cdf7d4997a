// SPDX-License-Identifier: GPL-2.0
/* --max-overhead: how much of each traced process's own work fell in windows. A timer
 * (perf cpu-clock, every CPU) samples what runs; a sample in user mode of a process
 * alloctop counts is its own work, never the probes' (traps, handlers and the return
 * trampoline run in the kernel), and goes to "on" or "off" as the windows stand. The
 * share of its allocations alloctop saw is then on / (on + off), with no cost model. */
#include "common.bpf.h"

struct at_ticks {
	__u64 on, off;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, struct at_ticks);
} user_ticks SEC(".maps");

volatile bool at_win_on = false;	/* every probe is in (set after the attach, cleared before the detach) */

SEC("perf_event")
int user_tick(struct bpf_perf_event_data *ctx)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct at_ticks *v, z = {};

	/* csx: the whole 8-byte word (the context is read 8 bytes at a time) */
	if (!tgid || (ctx->regs.csx & 3) != 3 || !bpf_map_lookup_elem(&procs, &tgid))
		return 0;
	v = bpf_map_lookup_elem(&user_ticks, &tgid);
	if (!v) {
		bpf_map_update_elem(&user_ticks, &tgid, &z, BPF_NOEXIST);
		v = bpf_map_lookup_elem(&user_ticks, &tgid);
		if (!v)
			return 0;
	}
	__sync_fetch_and_add(at_win_on ? &v->on : &v->off, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
