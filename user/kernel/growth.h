/* --growth: the BPF side of memory growth (bpf/growth.bpf.c) as the tracer loads,
 * attaches and reads it. No allocator probe is loaded or attached in this mode. */
#ifndef AT_GROWTH_H
#define AT_GROWTH_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
#include "alloctop.h"

struct alloctop_bpf;
struct bpf_link;

#define AT_GROWTH_LINKS 16

/* Before the load: with growth, only the growth and lifecycle programs load (no
 * uprobe program at all), and the system call ones only with calls (--growth-calls);
 * without, the growth programs stay out. Sizes its maps. */
void at_growth_prepare(struct alloctop_bpf *skel, bool growth, bool calls, __u32 max_procs, __u32 max_sites);
/* Attaches the loaded growth programs (page faults, RSS, exec; the memory system calls
 * with --growth-calls): 0, or -errno after a one-line error naming what the kernel lacks. */
int at_growth_attach(struct alloctop_bpf *skel, struct bpf_link **links, size_t max);
/* Reads every traced process's break and mappings now (bpf/growth.bpf.c's
 * growth_refresh): 0 or -errno. */
int at_growth_refresh(struct alloctop_bpf *skel);
/* A process's and a site's counters; false when there are none (all zero then). */
bool at_growth_proc_read(int fd, int pid, struct at_growth_proc *g);
bool at_growth_site_read(int fd, int pid, __u64 stack_id, struct at_growth_site *g);
/* Every brk/mmap calling stack (map "growth_sites"): a new array in *out (the caller
 * frees it), its length returned. */
struct at_growth_call {
	struct at_site_key key;
	struct at_growth_site g;
};
size_t at_growth_calls_read(int fd, struct at_growth_call **out);
/* How much the program break moved, and the private writable mappings besides the heap
 * (anonymous mmap, mostly) grew, since first seen, in bytes. */
__s64 at_growth_brk_bytes(const struct at_growth_proc *g);
__s64 at_growth_mmap_bytes(const struct at_growth_proc *g);
/* How much the resident set (file + anonymous + shared memory pages) changed since
 * first seen, in bytes. */
__s64 at_growth_rss_bytes(const struct at_growth_proc *g);

#endif
