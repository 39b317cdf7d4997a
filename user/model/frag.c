#include "model/frag.h"
#include "lib/hist.h"

#include <string.h>

struct at_span at_block_span(enum at_layout l, __u64 addr, __u64 size)
{
	struct at_span s = { addr, addr + size };
	__u64 chunk;

	if (l == AT_LAYOUT_GLIBC) {
		/* request2size: size + 8 rounded up to 16, at least 32; the chunk starts 16
		 * bytes before the block (prev_size and size fields) */
		chunk = (size + 8 + 15) & ~15ULL;
		if (chunk < 32)
			chunk = 32;
		s.start = addr - 16;
		s.end = s.start + chunk;
		/* an mmapped chunk (large blocks) takes whole pages */
		if (size >= 128 * 1024 && !((addr - 16) & (AT_PAGE_SIZE - 1)))
			s.end = (s.start + size + 16 + AT_PAGE_SIZE - 1) & ~(AT_PAGE_SIZE - 1);
	}
	return s;
}

static void add_hole(struct at_frag *f, __u64 bytes)
{
	unsigned int b;

	if (!bytes)
		return;
	b = at_hist_bucket(bytes, AT_HOLE_BUCKETS);
	f->hole_count[b]++;
	f->hole_bytes[b] += bytes;
}

/* Live bytes of each resident page of one region, then the sparse ones. */
static void sparse_pages(const struct at_region *r, const struct at_span *sp, size_t n, struct at_frag *f)
{
	__u64 pages = (r->end - r->start) / AT_PAGE_SIZE;
	size_t i = 0;

	if (!r->resident)
		return;
	for (__u64 p = 0; p < pages; p++) {
		__u64 lo = r->start + p * AT_PAGE_SIZE, hi = lo + AT_PAGE_SIZE, live = 0;

		if (!r->resident[p])
			continue;
		while (i < n && sp[i].end <= lo)
			i++;
		for (size_t j = i; j < n && sp[j].start < hi; j++)
			live += (sp[j].end < hi ? sp[j].end : hi) - (sp[j].start > lo ? sp[j].start : lo);
		if (live * 100 < AT_PAGE_SIZE * AT_SPARSE_PCT) {
			f->sparse_pages++;
			f->sparse_bytes += AT_PAGE_SIZE;
		}
	}
}

void at_frag_compute(const struct at_region *regions, size_t nr_regions, const struct at_span *spans,
		     size_t nr_spans, struct at_frag *f)
{
	size_t s = 0;

	memset(f, 0, sizeof(*f));
	for (size_t ri = 0; ri < nr_regions; ri++) {
		const struct at_region *r = &regions[ri];
		size_t first, last;
		__u64 cursor = r->start;

		while (s < nr_spans && spans[s].start < r->start)
			s++;
		first = s;
		while (s < nr_spans && spans[s].start < r->end)
			s++;
		last = s;
		if (first == last && !r->known)
			continue;	/* no live block here: not (known) heap */
		f->regions++;
		f->heap_bytes += r->end - r->start;
		for (size_t i = first; i < last; i++) {
			__u64 a = spans[i].start > cursor ? spans[i].start : cursor;
			__u64 b = spans[i].end < r->end ? spans[i].end : r->end;

			add_hole(f, spans[i].start > cursor ? spans[i].start - cursor : 0);
			if (b > a)
				f->used_bytes += b - a;
			if (b > cursor)
				cursor = b;
		}
		add_hole(f, r->end > cursor ? r->end - cursor : 0);	/* the top */
		if (r->resident)
			for (__u64 p = 0; p < (r->end - r->start) / AT_PAGE_SIZE; p++)
				f->resident_bytes += r->resident[p] ? AT_PAGE_SIZE : 0;
		sparse_pages(r, spans + first, last - first, f);
	}
	f->free_bytes = f->heap_bytes - f->used_bytes;
	f->ratio = f->heap_bytes ? (double)f->free_bytes / (double)f->heap_bytes : 0;
}
