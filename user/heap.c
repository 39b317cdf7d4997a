#include "heap.h"
#include "alloctop.h"
#include "attach.h"
#include "bpfmap.h"
#include "procmaps.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct live_ent {
	struct at_block_key k;
	struct at_block v;
};

static int cmp_live(const void *a, const void *b)
{
	const struct live_ent *x = a, *y = b;

	if (x->k.pid != y->k.pid)
		return x->k.pid < y->k.pid ? -1 : 1;
	return (x->k.addr > y->k.addr) - (x->k.addr < y->k.addr);
}

static void free_hash(struct at_hash *h)
{
	struct at_hash_ent *e;

	at_hash_for_each(h, e)
		free(e->val);
	at_hash_clear(h);
}

void at_heap_fini(struct at_heap *h)
{
	free_hash(&h->procs);
	free_hash(&h->sites);
}

/* Heap candidates: the brk heap and private anonymous writable mappings (allocator
 * arenas, mmapped chunks). Only those that hold a live block will count. */
static bool heap_candidate(const struct at_vma *v)
{
	if (v->path)
		return !strcmp(v->path, "[heap]");
	return true;
}

/* Residency of [start, end) from /proc/PID/pagemap: one byte per page. */
static __u8 *residency(int pagemap, __u64 start, __u64 end)
{
	__u64 pages = (end - start) / AT_PAGE_SIZE, buf[512];
	__u8 *res = at_xcalloc(pages, 1);

	for (__u64 p = 0; p < pages;) {
		size_t n = pages - p < 512 ? pages - p : 512;
		ssize_t got = pread(pagemap, buf, n * 8, (off_t)((start / AT_PAGE_SIZE + p) * 8));

		if (got <= 0)
			break;
		for (size_t i = 0; i < (size_t)got / 8; i++)
			res[p + i] = (buf[i] >> 63) & 1;	/* bit 63: present in RAM */
		p += got / 8;
	}
	return res;
}

static void analyze_pid(struct at_heap *h, struct at_elfcache *ec, int pid, const struct live_ent *b, size_t n)
{
	struct at_heap_proc *hp = at_xcalloc(1, sizeof(*hp));
	struct at_region *regions;
	struct at_span *spans;
	size_t nr = 0;
	struct at_maps m;
	char path[64];
	int pm;

	at_hash_put(&h->procs, pid, 0, hp);
	if (at_maps_read(pid, &m))
		return;	/* gone: nothing to measure against */
	hp->glibc = at_uses_glibc_malloc(ec, pid, &m);
	snprintf(path, sizeof(path), "/proc/%d/pagemap", pid);
	pm = open(path, O_RDONLY | O_CLOEXEC);
	regions = at_xcalloc(m.n, sizeof(*regions));
	for (size_t i = 0; i < m.n; i++) {
		const struct at_vma *v = &m.v[i];

		if (!v->writable || v->shared || !heap_candidate(v))
			continue;
		regions[nr].start = v->start;
		regions[nr].end = v->end;
		nr++;
	}
	spans = at_xcalloc(n, sizeof(*spans));
	for (size_t i = 0; i < n; i++)
		spans[i] = at_block_span(hp->glibc ? AT_LAYOUT_GLIBC : AT_LAYOUT_EXACT, b[i].k.addr, b[i].v.size);
	/* residency only where blocks live: read pagemap for regions holding one */
	for (size_t r = 0, s = 0; r < nr && pm >= 0; r++) {
		while (s < n && spans[s].start < regions[r].start)
			s++;
		if (s < n && spans[s].start < regions[r].end)
			regions[r].resident = residency(pm, regions[r].start, regions[r].end);
	}
	at_frag_compute(regions, nr, spans, n, &hp->frag);
	for (size_t r = 0; r < nr; r++)
		free((void *)regions[r].resident);
	if (pm >= 0)
		close(pm);
	free(regions);
	free(spans);
	at_maps_free(&m);
}

static void account_ages(struct at_heap *h, const struct live_ent *b, __u64 now, __u64 min_age)
{
	__u64 age = now > b->v.ts_ns ? now - b->v.ts_ns : 0;
	struct at_heap_site *s = at_hash_get(&h->sites, b->k.pid, b->v.stack_id);

	if (!s) {
		s = at_xcalloc(1, sizeof(*s));
		at_hash_put(&h->sites, b->k.pid, b->v.stack_id, s);
	}
	if (age > s->oldest_ns)
		s->oldest_ns = age;
	if (age >= min_age) {
		s->old_allocs++;
		s->old_bytes += b->v.size;
	}
}

int at_heap_analyze(struct at_heap *h, int live_fd, struct at_elfcache *ec, __u64 min_age_ns)
{
	double t0 = at_now_mono();
	struct timespec ts;
	struct live_ent *ents;
	void *keys, *vals;
	size_t n;
	__u64 now;
	int err;

	err = at_map_read_all(live_fd, sizeof(struct at_block_key), sizeof(struct at_block), &keys, &vals, &n);
	if (err)
		return err;
	clock_gettime(CLOCK_MONOTONIC, &ts);	/* the clock bpf_ktime_get_ns reads */
	now = ts.tv_sec * 1000000000ULL + ts.tv_nsec;
	ents = at_xcalloc(n, sizeof(*ents));
	for (size_t i = 0; i < n; i++) {
		ents[i].k = ((struct at_block_key *)keys)[i];
		ents[i].v = ((struct at_block *)vals)[i];
	}
	free(keys);
	free(vals);
	qsort(ents, n, sizeof(*ents), cmp_live);
	at_heap_fini(h);
	for (size_t i = 0, j; i < n; i = j) {
		for (j = i; j < n && ents[j].k.pid == ents[i].k.pid; j++)
			account_ages(h, &ents[j], now, min_age_ns);
		analyze_pid(h, ec, ents[i].k.pid, &ents[i], j - i);
	}
	free(ents);
	h->blocks = n;
	h->analyzed_at = at_now_mono();
	h->took_s = h->analyzed_at - t0;
	return 0;
}

const struct at_heap_proc *at_heap_proc(const struct at_heap *h, int pid)
{
	return at_hash_get(&h->procs, pid, 0);
}

const struct at_heap_site *at_heap_site(const struct at_heap *h, int pid, __u64 stack_id)
{
	return at_hash_get(&h->sites, pid, stack_id);
}
