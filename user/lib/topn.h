/* The k best of many items without sorting them all: a bounded heap keeps the best k
 * seen so far, O(n log k). Items rank by a 64-bit value computed once per item, larger
 * first; equal values by a comparator. Pure logic. */
#ifndef AT_TOPN_H
#define AT_TOPN_H

#include <stddef.h>
#include <linux/types.h>

struct at_topn_item {
	__u64 value;
	const void *item;
};

struct at_topn {
	struct at_topn_item *heap;	/* after at_topn_finish: the best first */
	size_t k, n;
	int (*tie)(const void *a, const void *b);	/* equal values: < 0 if a ranks first */
};

void at_topn__init(struct at_topn *t, size_t k, int (*tie)(const void *a, const void *b));
void at_topn_offer(struct at_topn *t, __u64 value, const void *item);
/* Cheap test before at_topn_offer: false when the item cannot be kept. */
static inline int at_topn_may_keep(const struct at_topn *t, __u64 value)
{
	return t->n < t->k || (t->k && value >= t->heap[0].value);
}
/* Orders what was kept, best first; returns how many (at most k). */
size_t at_topn_finish(struct at_topn *t);
void at_topn__fini(struct at_topn *t);

#endif
