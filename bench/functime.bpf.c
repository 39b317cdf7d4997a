// SPDX-License-Identifier: GPL-2.0
/* Wall time of functions of one process, from outside: an entry and a return uprobe on
 * each (bench/functime.c attaches them; the cookie is the function's index). Used by the
 * bench to time alloctop's own refresh, heap analysis and report. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#define FT_MAX_FUNCS 16

struct ft_stat {
	__u64 count, total_ns, max_ns;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);	/* tid << 8 | function index */
	__type(value, __u64);	/* entry time */
} starts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, FT_MAX_FUNCS);
	__type(key, __u32);
	__type(value, struct ft_stat);
} stats SEC(".maps");

static __always_inline __u64 ft_key(void *ctx)
{
	return (__u64)(__u32)bpf_get_current_pid_tgid() << 8 | (bpf_get_attach_cookie(ctx) & 0xff);
}

SEC("uprobe")
int ft_entry(void *ctx)
{
	__u64 k = ft_key(ctx), t = bpf_ktime_get_ns();

	bpf_map_update_elem(&starts, &k, &t, BPF_ANY);
	return 0;
}

SEC("uretprobe")
int ft_return(void *ctx)
{
	__u64 k = ft_key(ctx), *t0 = bpf_map_lookup_elem(&starts, &k), d;
	__u32 i = bpf_get_attach_cookie(ctx) & 0xff;
	struct ft_stat *s;

	if (!t0)
		return 0;
	d = bpf_ktime_get_ns() - *t0;
	bpf_map_delete_elem(&starts, &k);
	s = bpf_map_lookup_elem(&stats, &i);
	if (!s)
		return 0;
	__sync_fetch_and_add(&s->count, 1);
	__sync_fetch_and_add(&s->total_ns, d);
	if (d > s->max_ns)
		s->max_ns = d;	/* one writer in practice: alloctop refreshes on one thread */
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
