/* The site maps, shared by the tracer's object and the site reader (bpf/reader): one
 * declaration, so the two cannot disagree on the layout the reader's fd reuse needs. */
#ifndef AT_SITEMAPS_BPF_H
#define AT_SITEMAPS_BPF_H

/* Per-site counters. Each value holds one struct at_site_stats per possible CPU (see
 * at_site_mine), laid out as userspace reads a per-CPU map's values, but in a plain
 * hash: a preallocated per-CPU hash makes one per-CPU allocation an entry (0.1 s of
 * every start for 132k sites), a plain one allocates them all at once (~10 ms). Still
 * preallocated: a non-preallocated map's inserts come from per-CPU caches refilled
 * asynchronously, and a burst of new sites then fails as if the map were full (seen as
 * stack_map_full drops). Userspace sets the value size (site_cpus copies); no BTF
 * types, so that it may. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__uint(key_size, sizeof(struct at_site_key));
	__uint(value_size, sizeof(struct at_site_stats));
} sites SEC(".maps") __weak;

/* Room past the preallocated maps: stacks (bpf/stacks.bpf.h) and sites that find them
 * full go here, allocated as they come (kernel memory follows the targets, up to
 * userspace's cap). A burst may find the kernel's element cache dry and be counted as
 * full, which beats preallocating for the largest target. Off (at_more_room false)
 * under --max-stacks. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 1);
	__uint(key_size, sizeof(struct at_site_key));
	__uint(value_size, sizeof(struct at_site_stats));
} sites_more SEC(".maps") __weak;

#endif
