// SPDX-License-Identifier: GPL-2.0
/* --max-overhead: how much of each traced process's own work fell in windows. A timer
 * (perf cpu-clock, on the targets' threads or on every CPU) samples what runs. A sample
 * of a process alloctop counts is its own work unless it is the probes': in the kernel,
 * a stack through the uprobe trap and return paths (their text ranges from
 * /proc/kallsyms, set by userspace); in user mode, where a trap resumes (below). Own
 * samples count "on" or "off" as the windows stand (struct at_ticks); userspace weighs
 * each side by its timer's period (model/model_window.c), with no cost model. Without
 * the kernel ranges (kallsyms hidden), only user-mode samples count. */
#include "common.bpf.h"


struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, struct at_ticks);
} user_ticks SEC(".maps");

volatile bool at_win_on = false;	/* every probe is in (set after the attach, cleared before the detach) */
const volatile __u64 tick_on_ns = 1;	/* the windows' timer period (on only then) */
const volatile __u64 tick_off_ns = 1;	/* the always-on timer's */

#define AT_PROBE_TEXT 16	/* kernel functions of the uprobe paths */
#define AT_KSTACK 24		/* kernel frames looked at */
const volatile __u64 probe_lo[AT_PROBE_TEXT] = {};	/* [lo, hi): a function's text */
const volatile __u64 probe_hi[AT_PROBE_TEXT] = {};
const volatile __u32 nr_probe_text = 0;

struct at_kstack {
	__u64 ips[AT_KSTACK];
	long n;
	bool hit;
};

static long at_probe_frame(__u32 i, void *ctx)
{
	struct at_kstack *k = ctx;
	__u64 ip;

	if (i >= AT_KSTACK || i >= k->n)
		return 1;
	ip = k->ips[i];
	for (__u32 j = 0; j < AT_PROBE_TEXT && j < nr_probe_text; j++)
		if (ip >= probe_lo[j] && ip < probe_hi[j]) {
			k->hit = true;
			return 1;
		}
	return 0;
}

/* A kernel-mode sample in the probes' own kernel paths (trap entry, handlers, programs,
 * the return syscall). The frames are walked with bpf_loop: the verifier checks the
 * callback once instead of every pair of the two nested loops (39 ms of a census's
 * start). */
static __always_inline bool at_in_probe_path(struct bpf_perf_event_data *ctx)
{
	struct at_kstack k = {};

	k.n = bpf_get_stack(ctx, k.ips, sizeof(k.ips), 0);
	if (k.n <= 0)
		return false;
	k.n /= 8;
	bpf_loop(AT_KSTACK, at_probe_frame, &k, 0);
	return k.hit;
}

/* A timer interrupt held off while a trap is handled fires as the thread resumes user
 * mode, where the probe hit: in the allocator's text or the uprobes page (single-step
 * slots, the return trampoline). Samples there are not own work in windows, and are
 * left out of windows too: the share in windows is then of the same work both sides
 * (the allocator's excluded). */
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
	__u64 period = ctx->sample_period;	/* which timer */
	bool on = at_win_on, user = (ctx->regs.csx & 3) == 3;	/* csx: the context is read 8 bytes at a time */
	struct at_ticks *v, z = {};
	bool own;

	/* each state counts its own timer only: the slow one runs in windows too */
	if (period != (on ? tick_on_ns : tick_off_ns) || !tgid || !bpf_map_lookup_elem(&procs, &tgid))
		return 0;
	own = user ? !at_probe_skid(tgid, ctx->regs.ip) : nr_probe_text && !at_in_probe_path(ctx);
	v = bpf_map_lookup_elem(&user_ticks, &tgid);
	if (!v) {
		bpf_map_update_elem(&user_ticks, &tgid, &z, BPF_NOEXIST);
		v = bpf_map_lookup_elem(&user_ticks, &tgid);
		if (!v)
			return 0;
	}
	if (on) {
		__sync_fetch_and_add(&v->on_all, 1);
		if (own)
			__sync_fetch_and_add(&v->on_n, 1);
	} else {
		__sync_fetch_and_add(&v->off_all, 1);
		if (own)
			__sync_fetch_and_add(&v->off_n, 1);
	}
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
