// SPDX-License-Identifier: GPL-2.0
/* Userspace's reader of changed sites, run with BPF_PROG_TEST_RUN: one syscall sums
 * the per-CPU counters of up to AT_READ_BATCH sites, where a lookup per site costs a
 * syscall each (2 to 4 us in a VM, most of alloctop's refresh). Not attached anywhere;
 * its own object, so the tracer's programs are untouched. The site map is the
 * tracer's (userspace hands its fd in): a plain hash whose values hold nr_cpus
 * struct at_site_stats, one per CPU (bpf/sitemaps.bpf.h). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "alloctop.h"

#define AT_READ_MAX_CPUS 1024

#include "../sitemaps.bpf.h"

const volatile bool more_room = false;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, AT_READ_BATCH);
	__type(key, __u32);
	__type(value, struct at_site_read);
} reqs SEC(".maps");

const volatile __u32 nr_cpus = 1;

static void add(struct at_site_read *r, const struct at_site_stats *s, __u32 lives)
{
	r->found = 1;
	at_site_counts_add(&r->c, &s->c);
	if (!lives)
		return;
#pragma unroll
	for (int b = 0; b < AT_LT_BUCKETS; b++)
		r->lifetime[b] += s->lifetime[b];
}

static long read_one(__u32 i, void *ctx)
{
	const struct at_read_args *args = ctx;
	struct at_site_read *r = bpf_map_lookup_elem(&reqs, &i);
	const struct at_site_stats *s;
	struct at_site_key k;

	if (!r)
		return 1;
	k = r->key;
	__builtin_memset(&r->found, 0, sizeof(*r) - sizeof(r->key));
	s = bpf_map_lookup_elem(&sites, &k);
	if (!s && more_room)
		s = bpf_map_lookup_elem(&sites_more, &k);
	if (!s)
		return 0;	/* no such site */
	for (__u32 c = 0; c < AT_READ_MAX_CPUS && c < nr_cpus; c++)
		add(r, &s[c], args->lives);
	return 0;
}

SEC("syscall")
int read_sites(struct at_read_args *args)
{
	struct at_read_args a = *args;

	bpf_loop(a.n < AT_READ_BATCH ? a.n : AT_READ_BATCH, read_one, &a, 0);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
