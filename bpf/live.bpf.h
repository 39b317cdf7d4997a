/* SPDX-License-Identifier: GPL-2.0 */
/* The live-block table (bpf/live.bpf.c): blocks (pid, image, addr) in map "live", an
 * array of struct at_live_bucket. Global subprograms: the verifier checks each once, on
 * its own, instead of once per path of every caller. */
#ifndef AT_LIVE_BPF_H
#define AT_LIVE_BPF_H

#include "common.bpf.h"

enum at_live_result {
	AT_LIVE_ADDED,		/* a new block */
	AT_LIVE_REPLACED,	/* the slot held a block at that key whose free was missed */
	AT_LIVE_NO_ROOM,	/* both buckets full */
};

enum at_take_result {
	AT_TAKE_NONE,		/* no such block */
	AT_TAKE_LOST,		/* another thread removed it at the same time (a double free) */
	AT_TAKE_OK,
};

/* Adds block k (pid, pad = image generation, addr) described by v. A stale block with
 * that key (its free was never seen) is overwritten and returned in old. Returns enum
 * at_live_result. */
int at_live_add(const struct at_block_key *k, const struct at_block *v, struct at_block *old);
/* Removes block k into out. Returns enum at_take_result. */
int at_live_take(const struct at_block_key *k, struct at_block *out);

#endif /* AT_LIVE_BPF_H */
