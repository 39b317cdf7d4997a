/* Sorting many (key, value) pairs of 64-bit words by key, in place: an MSD radix sort
 * (American flag sort), 8 bits a level, skipping the levels at which every key has the
 * same byte (high address bytes), insertion sort for small buckets. A million heap
 * blocks sort in tens of ms, several times faster than qsort, with no scratch array (a
 * heap pass would need 16 MB more). Not stable. Pure. */
#ifndef AT_RADIX_H
#define AT_RADIX_H

#include <stddef.h>
#include <linux/types.h>

struct at_kv {
	__u64 key;
	__u64 val;
};

/* Sorts a[0..n) by key, ascending. */
void at_radix_sort(struct at_kv *a, size_t n);

#endif
