/* The kernel's per-site counters (map "sites") mirrored in userspace, summed over CPUs
 * and sorted by (pid, stack_id). A refresh reads only the sites the BPF side marked as
 * changed (map "site_dirty", see at_site_slot) and the new ones it announced (ring
 * buffer "site_news"); it reads the whole map only when that is cheaper (most sites
 * changed) or when an announcement was lost. Why: the kernel hands out about 0.4 us a
 * site in batches, so reading 100k sites every second would cost 4% of a core alone.
 * Lifetime histograms stay in the kernel until a site is shown. */
#ifndef AT_SITETAB_H
#define AT_SITETAB_H

#include <stdbool.h>
#include <stddef.h>
#include "alloctop.h"
#include "lib/radix.h"
#include "kernel/sitereader.h"
#include "kernel/tracer.h"

struct at_site_view {
	int pid;
	__u64 stack_id;
	struct at_site_counts s;
	__u64 samples;		/* --max-overhead: allocations seen, before scaling */
};

/* A site's lifetime histogram as a refresh read it, summed over CPUs. */
struct at_site_life {
	int pid;
	__u64 stack_id;
	__u32 lt[AT_LT_BUCKETS];
};

struct at_sitetab {
	struct at_map_fds fds;
	int ncpus;
	struct at_site_view *v;		/* listed sites (a counter is not 0), sorted by key */
	size_t n, cap;
	struct at_site_key *idle;	/* known sites still empty (reserved unknown sites) */
	size_t nr_idle, cap_idle;
	struct at_site_key *news;	/* announced since the last refresh */
	size_t nr_news, cap_news;
	size_t *pick;			/* listed sites to read again */
	size_t cap_pick;
	__u64 *dirty_map;		/* site_dirty, mapped: fds.site_slots bytes */
	__u64 *dirty;			/* what this refresh cleared from it */
	__u32 *dwords;			/* ... the words of it that were set */
	size_t nr_dwords;
	struct at_kv *by_slot;		/* (slot, index in v), sorted: sites of a dirty slot */
	size_t cap_slot;
	bool slots_stale;		/* v changed since by_slot was built */
	struct ring_buffer *rb;		/* site_news */
	__u64 lost_seen;		/* *fds.site_news_lost at the last whole read */
	bool synced;			/* the whole map was read once */
	struct at_site_stats *val;	/* one site's per-CPU values */
	struct at_sitereader reader;	/* many sites a syscall, when the kernel can */
	int reader_state;		/* 0 not tried yet, 1 open, -1 unavailable */
	bool want_lives;		/* read every site's lifetimes with its counters */
	struct at_site_life *lives;	/* ... those of the sites the last refresh read */
	size_t nr_lives, cap_lives;
	size_t reads;			/* sites the last refresh read */
	size_t stacks_freed;		/* stacks deleted as their processes went (at_sitetab_forget) */
	bool whole;			/* ... by reading the whole map */
};

/* 0 or -errno (the dirty map cannot be mapped, no ring buffer). */
int at_sitetab__init(struct at_sitetab *t, const struct at_map_fds *fds, int ncpus);
void at_sitetab__fini(struct at_sitetab *t);
/* Whether each refresh keeps the lifetimes of the sites it reads (t->lives); turned
 * on, the next refresh reads the whole map. */
void at_sitetab_want_lives(struct at_sitetab *t, bool on);
/* Brings t->v up to date. 0 or -errno. */
int at_sitetab_refresh(struct at_sitetab *t);
/* Drops the sites of these processes, whose kernel entries were deleted (pids sorted),
 * and the stacks no other site uses. */
void at_sitetab_forget(struct at_sitetab *t, const int *pids, int n);
/* One site's lifetime histogram from the kernel, summed over CPUs (u32 like the BPF
 * side's counters, wrapping alike); false if the site is not in the map. */
bool at_sitetab_lifetimes(struct at_sitetab *t, int pid, __u64 stack_id, __u32 lt[AT_LT_BUCKETS]);
/* The site of key (pid, stack_id) in a sorted array, or NULL. */
const struct at_site_view *at_site_find(const struct at_site_view *v, size_t n, int pid, __u64 stack_id);
int at_site_cmp(const void *a, const void *b);	/* by (pid, stack_id) */

#endif
