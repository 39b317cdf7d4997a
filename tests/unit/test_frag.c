/* Fragmentation math on hand-built heaps whose answers are known. */
#include "unit.h"
#include "model/frag.h"
#include "lib/hist.h"

static void test_glibc_span(void)
{
	struct at_span s = at_block_span(AT_LAYOUT_GLIBC, 0x1010, 1);

	CHECK_EQ_U(s.start, 0x1000);
	CHECK_EQ_U(s.end - s.start, 32);		/* minimum chunk */
	s = at_block_span(AT_LAYOUT_GLIBC, 0x1010, 24);
	CHECK_EQ_U(s.end - s.start, 32);		/* 24 + 8 fits 32 */
	s = at_block_span(AT_LAYOUT_GLIBC, 0x1010, 25);
	CHECK_EQ_U(s.end - s.start, 48);
	s = at_block_span(AT_LAYOUT_EXACT, 0x1010, 25);
	CHECK_EQ_U(s.start, 0x1010);
	CHECK_EQ_U(s.end, 0x1010 + 25);
}

static void test_compact_heap(void)
{
	/* one page-sized region full of back-to-back blocks: no holes, nothing free */
	struct at_region r = { 0x10000, 0x11000, NULL, false };
	struct at_span sp[4];
	struct at_frag f;

	for (int i = 0; i < 4; i++)
		sp[i] = (struct at_span){ 0x10000 + i * 1024, 0x10000 + (i + 1) * 1024 };
	at_frag_compute(&r, 1, sp, 4, &f);
	CHECK_EQ_U(f.heap_bytes, 4096);
	CHECK_EQ_U(f.used_bytes, 4096);
	CHECK_EQ_U(f.free_bytes, 0);
	CHECK(f.ratio == 0);
	for (int b = 0; b < AT_HOLE_BUCKETS; b++)
		CHECK_EQ_U(f.hole_count[b], 0);
}

static void test_every_other_block_freed(void)
{
	/* 2 pages: 64-byte blocks at every other slot -> 63 holes of 64 bytes + top of 64 */
	static __u8 res[2] = { 1, 1 };
	struct at_region r = { 0x20000, 0x22000, res, false };
	struct at_span sp[64];
	struct at_frag f;

	for (int i = 0; i < 64; i++)
		sp[i] = (struct at_span){ 0x20000 + i * 128, 0x20000 + i * 128 + 64 };
	at_frag_compute(&r, 1, sp, 64, &f);
	CHECK_EQ_U(f.heap_bytes, 8192);
	CHECK_EQ_U(f.used_bytes, 4096);
	CHECK_EQ_U(f.free_bytes, 4096);
	CHECK(f.ratio == 0.5);
	CHECK_EQ_U(f.hole_count[7], 64);	/* 64 bytes: bucket [64, 127] */
	CHECK_EQ_U(f.hole_bytes[7], 64 * 64);
	CHECK_EQ_U(f.resident_bytes, 8192);
	CHECK_EQ_U(f.sparse_pages, 0);		/* each page is half live */
}

static void test_sparse_and_regions_without_blocks(void)
{
	/* region A: 4 resident pages, one 100-byte block on page 0 only; region B: no block */
	static __u8 res[4] = { 1, 1, 0, 1 };
	struct at_region r[2] = { { 0x40000, 0x44000, res, false }, { 0x50000, 0x60000, NULL, false } };
	struct at_span sp[1] = { { 0x40000, 0x40064 } };
	struct at_frag f;

	at_frag_compute(r, 2, sp, 1, &f);
	CHECK_EQ_U(f.regions, 1);
	CHECK_EQ_U(f.heap_bytes, 4 * 4096);
	CHECK_EQ_U(f.resident_bytes, 3 * 4096);
	CHECK_EQ_U(f.sparse_pages, 3);		/* pages 0, 1 and 3; page 2 not resident */
	CHECK_EQ_U(f.hole_count[at_hist_bucket(4 * 4096 - 100, AT_HOLE_BUCKETS)], 1);
	/* the allocator's own region counts even with no live block: all free */
	r[1].known = true;
	at_frag_compute(r, 2, sp, 1, &f);
	CHECK_EQ_U(f.regions, 2);
	CHECK_EQ_U(f.heap_bytes, 4 * 4096 + 0x10000);
	CHECK_EQ_U(f.free_bytes, 4 * 4096 - 100 + 0x10000);
	CHECK_EQ_U(f.hole_count[at_hist_bucket(0x10000, AT_HOLE_BUCKETS)], 1);
}

int main(void)
{
	RUN(test_glibc_span);
	RUN(test_compact_heap);
	RUN(test_every_other_block_freed);
	RUN(test_sparse_and_regions_without_blocks);
	return UNIT_DONE();
}
