/* The live-block table's tiers (map "live"): tier 0 sized to the targets at attach,
 * each next one made, four times bigger, when the BPF side finds the last crowded
 * (ring buffer "live_grow"), until the tiers hold --max-live slots in all. Blocks never
 * move: a block stays in the tier it was added to, frees look through them in order. */
#ifndef AT_LIVEGROW_H
#define AT_LIVEGROW_H

#include <stddef.h>
#include <linux/types.h>

struct at_livegrow_opts {
	size_t sz;		/* sizeof(struct at_livegrow_opts) */
	int outer_fd;		/* map "live" (array of maps) */
	int ring_fd;		/* map "live_grow" */
	volatile __u32 *nb;	/* the BPF side's at_live_nb[AT_LIVE_TIERS] */
	volatile __u64 *wanted;	/* the BPF side's at_live_grow_wanted */
	__u32 initial;		/* slots of tier 0 */
	__u32 max_live;		/* slots of every tier together, at most */
};

struct at_livegrow;

/* Starts the thread that makes tier 0, then the others. NULL after a one-line error. */
struct at_livegrow *at_livegrow__new(const struct at_livegrow_opts *opts);
/* Waits for tier 0: before the first probe. 0, or -errno after a one-line error. */
int at_livegrow__wait(struct at_livegrow *g);
/* Slots of the tiers made so far. */
__u64 at_livegrow__slots(const struct at_livegrow *g);
void at_livegrow__free(struct at_livegrow *g);

/* Buckets of tier `tier` when the tiers before it hold `used` slots: 0 when the cap
 * (max_live slots) leaves no bucket for it. */
__u32 at_live_tier_buckets(__u32 initial, __u32 max_live, __u64 used, int tier);

#endif
