/* log2 buckets, the same rule as the BPF side: bucket 0 holds 0, bucket k >= 1 holds
 * [2^(k-1), 2^k - 1]; the last bucket is open-ended. */
#ifndef AT_HIST_H
#define AT_HIST_H

#include <linux/types.h>

unsigned int at_hist_bucket(__u64 v, unsigned int nr);
__u64 at_hist_lo(unsigned int b);
__u64 at_hist_hi(unsigned int b, unsigned int nr);	/* inclusive; UINT64_MAX for the last */
/* The value below which half of the counts lie (upper bound of that bucket), 0 if none. */
__u64 at_hist_median_u32(const __u32 *counts, unsigned int nr);
/* Human units: "1.5K", "12M" for bytes; "850ns", "3.2ms", "4.0m" for nanoseconds. */
const char *at_fmt_bytes(__u64 v, char *buf, unsigned int sz);
const char *at_fmt_ns(__u64 ns, char *buf, unsigned int sz);

#endif
