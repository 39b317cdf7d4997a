// SPDX-License-Identifier: GPL-2.0
/* --max-overhead: how much of each traced process's own work fell in windows. A timer
 * (perf cpu-clock, every CPU) samples what runs. A sample in user mode of a process
 * alloctop counts is its own work, not the probes' (traps, handlers and the return
 * trampoline run in the kernel); it adds its period (ns) to "on" or "off" as the windows
 * stand. The share of a process's allocations alloctop saw is then on / (on + off),
 * with no cost model. */
#include "common.bpf.h"

struct at_ticks {
	__u64 on_ns, off_ns;	/* user-mode time estimated in and out of windows */
	__u64 on_n, off_n;	/* samples */
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, struct at_ticks);
} user_ticks SEC(".maps");

volatile bool at_win_on = false;	/* every probe is in (set after the attach, cleared before the detach) */

/* A timer interrupt held off while a trap is handled fires as the thread resumes user
 * mode, where the probe hit: in the allocator's text or the uprobes page (single-step
 * slots, the return trampoline). Samples there do not count, in windows or out alike. */
static __always_inline bool at_probe_skid(__u32 tgid, __u64 ip)
{
	struct task_struct *task = bpf_get_current_task_btf();
	unsigned long xol = BPF_CORE_READ(task, mm, uprobes_state.xol_area, vaddr);
	struct at_range *r;

	if (xol && ip >= xol && ip < xol + 4096)
		return true;
	r = bpf_map_lookup_elem(&alloc_text, &tgid);
	return r && ip >= r->lo && ip < r->hi;
}

SEC("perf_event")
int user_tick(struct bpf_perf_event_data *ctx)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	__u64 period = ctx->sample_period;
	bool on = at_win_on;
	struct at_ticks *v, z = {};

	/* csx: the whole 8-byte word (the context is read 8 bytes at a time) */
	if (!tgid || (ctx->regs.csx & 3) != 3 || !bpf_map_lookup_elem(&procs, &tgid) || at_probe_skid(tgid, ctx->regs.ip))
		return 0;
	v = bpf_map_lookup_elem(&user_ticks, &tgid);
	if (!v) {
		bpf_map_update_elem(&user_ticks, &tgid, &z, BPF_NOEXIST);
		v = bpf_map_lookup_elem(&user_ticks, &tgid);
		if (!v)
			return 0;
	}
	if (on) {
		__sync_fetch_and_add(&v->on_ns, period);
		__sync_fetch_and_add(&v->on_n, 1);
	} else {
		__sync_fetch_and_add(&v->off_ns, period);
		__sync_fetch_and_add(&v->off_n, 1);
	}
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
