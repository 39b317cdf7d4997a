/* Bucket math must agree with the BPF side's rule, and formatting must be stable. */
#include "unit.h"
#include "lib/hist.h"
#include "alloctop.h"
#include <stdint.h>

static void test_buckets(void)
{
	CHECK_EQ_U(at_hist_bucket(0, 64), 0);
	CHECK_EQ_U(at_hist_bucket(1, 64), 1);
	CHECK_EQ_U(at_hist_bucket(2, 64), 2);
	CHECK_EQ_U(at_hist_bucket(3, 64), 2);
	CHECK_EQ_U(at_hist_bucket(4, 64), 3);
	CHECK_EQ_U(at_hist_bucket(1023, 64), 10);
	CHECK_EQ_U(at_hist_bucket(1024, 64), 11);
	CHECK_EQ_U(at_hist_bucket(UINT64_MAX, 64), 63);
	CHECK_EQ_U(at_hist_bucket(1ULL << 50, AT_LT_BUCKETS), AT_LT_BUCKETS - 1);
}

static void test_bounds_cover_every_value(void)
{
	/* every v lies in [lo, hi] of its own bucket, and buckets tile without gaps */
	for (unsigned int b = 0; b + 1 < 64; b++)
		CHECK_EQ_U(at_hist_hi(b, 64) + 1, at_hist_lo(b + 1));
	for (unsigned long long v = 0; v < 5000; v += 7) {
		unsigned int b = at_hist_bucket(v, 64);

		CHECK(v >= at_hist_lo(b) && v <= at_hist_hi(b, 64));
	}
	CHECK_EQ_U(at_hist_hi(63, 64), UINT64_MAX);
}

static void test_median(void)
{
	__u32 c[AT_LT_BUCKETS] = { 0 };

	CHECK_EQ_U(at_hist_median_u32(c, AT_LT_BUCKETS), 0);
	c[3] = 1;	/* [4, 7] */
	c[10] = 3;	/* [512, 1023] */
	CHECK_EQ_U(at_hist_median_u32(c, AT_LT_BUCKETS), 1023);
	c[3] = 5;
	CHECK_EQ_U(at_hist_median_u32(c, AT_LT_BUCKETS), 7);
}

static void test_format(void)
{
	char b[16];

	CHECK_STR(at_fmt_bytes(0, b, sizeof(b)), "0B");
	CHECK_STR(at_fmt_bytes(1023, b, sizeof(b)), "1023B");
	CHECK_STR(at_fmt_bytes(1536, b, sizeof(b)), "1.5K");
	CHECK_STR(at_fmt_bytes(200ULL << 20, b, sizeof(b)), "200M");
	CHECK_STR(at_fmt_ns(850, b, sizeof(b)), "850ns");
	CHECK_STR(at_fmt_ns(3200000, b, sizeof(b)), "3.2ms");
	CHECK_STR(at_fmt_ns(240ULL * 1000000000, b, sizeof(b)), "4.0m");
}

int main(void)
{
	RUN(test_buckets);
	RUN(test_bounds_cover_every_value);
	RUN(test_median);
	RUN(test_format);
	return UNIT_DONE();
}
