#include "model/heap.h"
#include "alloctop.h"
#include "binary/allocator.h"
#include "lib/bigbuf.h"
#include "model/heapsites.h"
#include "kernel/livemap.h"
#include "binary/procmaps.h"
#include "lib/radix.h"
#include "lib/util.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define AT_LIVE_CHUNK 8192	/* live blocks per batched read */

/* One process's blocks during a pass: (address, requested size) pairs. */
struct pid_blocks {
	struct at_bigbuf buf;
	size_t n;
};

struct pass {
	struct at_heap *h;
	__u64 now, min_age;
	struct at_hash pids;		/* pid -> struct pid_blocks */
	struct pid_blocks *last;	/* of last_pid: blocks come mostly from one process */
	int last_pid;
	struct at_heap_tally tally;
};

/* What one pass found; the layouts stay. */
static void heap_reset(struct at_heap *h)
{
	at_hash_free_all(&h->procs);
	free(h->sites);
	free(h->suspects);
	h->sites = NULL;
	h->suspects = NULL;
	h->nr_sites = h->nr_suspects = 0;
}

void at_heap__fini(struct at_heap *h)
{
	heap_reset(h);
	at_hash_free_all(&h->last_good);
	at_glibc_cache_fini(&h->glibc);
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

static size_t heap_regions(const struct at_maps *m, struct at_region *regions)
{
	size_t nr = 0;

	for (size_t i = 0; i < m->n; i++) {
		const struct at_vma *v = &m->v[i];

		if (!v->writable || v->shared || !heap_candidate(v))
			continue;
		regions[nr].start = v->start;
		regions[nr].end = v->end;
		nr++;
	}
	return nr;
}

/* Residency only where blocks live: pagemap is read for regions holding one. */
static void read_residency(int pid, struct at_region *regions, size_t nr, const struct at_span *spans, size_t n)
{
	char path[64];
	int pm;

	snprintf(path, sizeof(path), "/proc/%d/pagemap", pid);
	pm = open(path, O_RDONLY | O_CLOEXEC);
	if (pm < 0)
		return;
	for (size_t r = 0, s = 0; r < nr; r++) {
		while (s < n && spans[s].start < regions[r].start)
			s++;
		if ((s < n && spans[s].start < regions[r].end) || regions[r].known)
			regions[r].resident = residency(pm, regions[r].start, regions[r].end);
	}
	close(pm);
}

/* The allocator's own chunks (live and libc's) against its own heaps. */
static void allocator_frag(int pid, struct at_heap_proc *hp, struct at_gheap *g)
{
	size_t n = g->nr_live + g->nr_meta, i = 0, j = 0, k = 0;
	struct at_span *all = at_xcalloc(n ? n : 1, sizeof(*all));

	while (k < n)	/* merge: both lists are sorted */
		all[k++] = j >= g->nr_meta || (i < g->nr_live && g->live[i].start < g->meta[j].start) ? g->live[i++]
												 : g->meta[j++];
	read_residency(pid, g->regions, g->nr_regions, all, n);
	at_frag_compute(g->regions, g->nr_regions, all, n, &hp->frag);
	free(all);
}

/* Blocks seen since attach against the heap regions of the maps: glibc's state unknown. */
static void tracked_frag(int pid, const struct at_maps *m, struct at_heap_proc *hp, struct pid_blocks *pb)
{
	struct at_kv *kv = pb->buf.p;
	struct at_span *spans = pb->buf.p;
	struct at_region *regions;
	size_t nr;

	for (size_t i = 0; i < pb->n; i++) {
		/* footprints start at or just below the address: the order holds */
		struct at_span sp = at_block_span(hp->glibc ? AT_LAYOUT_GLIBC : AT_LAYOUT_EXACT, kv[i].key, kv[i].val);

		memcpy(&spans[i], &sp, sizeof(sp));
	}
	regions = at_xcalloc(m->n ? m->n : 1, sizeof(*regions));
	nr = heap_regions(m, regions);
	read_residency(pid, regions, nr, spans, pb->n);
	at_frag_compute(regions, nr, spans, pb->n, &hp->frag);
	for (size_t r = 0; r < nr; r++)
		free((void *)regions[r].resident);
	free(regions);
}

static void keep_good(struct at_heap *h, int pid, const struct at_heap_proc *hp)
{
	struct at_heap_proc *c = at_hash_get(&h->last_good, pid, 0);

	if (!c) {
		c = at_xcalloc(1, sizeof(*c));
		at_hash_put(&h->last_good, pid, 0, c);
	}
	*c = *hp;
}

/* Last good reads of processes this pass did not see (gone) go. Collected first: a
 * deletion shifts entries under an iteration. */
static void forget_gone(struct at_heap *h)
{
	__u64 *gone = at_xcalloc(h->last_good.len ? h->last_good.len : 1, sizeof(*gone));
	struct at_hash_ent *e;
	size_t n = 0;

	at_hash_for_each(&h->last_good, e)
		if (!at_hash_get(&h->procs, e->k1, 0))
			gone[n++] = e->k1;
	for (size_t i = 0; i < n; i++)
		free(at_hash_del(&h->last_good, gone[i], 0));
	free(gone);
}

/* Why the heap is not read: the allocator named (its state is read for glibc only). */
static void not_glibc(struct at_elfcache *ec, int pid, const struct at_maps *m, struct at_heap_proc *hp)
{
	const struct at_elf *e;
	const struct at_vma *v = at_allocator_pick(ec, pid, m, &e);

	snprintf(hp->why, sizeof(hp->why), "the allocator (%s) is not glibc's malloc: its heap state is not read",
		 v && v->path ? v->path : "unknown");
}

/* Sorts one process's blocks by address and measures its heap: from glibc's own state
 * when it can be read, else from the blocks seen since attach. */
static void analyze_pid(struct at_heap *h, struct at_elfcache *ec, int pid, struct pid_blocks *pb, bool from_start)
{
	struct at_heap_proc *hp = at_xcalloc(1, sizeof(*hp));
	const struct at_heap_proc *last;
	struct at_gheap g;
	struct at_maps m;

	at_hash_put(&h->procs, pid, 0, hp);
	if (at_maps__read(pid, &m))
		return;	/* gone: nothing to measure against */
	hp->glibc = at_uses_glibc_malloc(ec, pid, &m);
	at_radix_sort(pb->buf.p, pb->n);
	if (hp->glibc && at_heap_glibc(&h->glibc, ec, pid, &m, pb->buf.p, pb->n, hp, &g)) {
		allocator_frag(pid, hp, &g);
		at_gheap_free(&g);
		keep_good(h, pid, hp);
	} else if (hp->read_failed && (last = at_hash_get(&h->last_good, pid, 0))) {
		*hp = *last;	/* a busy heap read mid-change: the last good figures beat none */
		hp->stale = true;
	} else {
		tracked_frag(pid, &m, hp, pb);
		hp->partial = !from_start;
		if (!hp->glibc)
			not_glibc(ec, pid, &m, hp);
	}
	at_maps__fini(&m);
}

static void keep_block(struct pass *p, const struct at_block_key *k, const struct at_block *b)
{
	struct pid_blocks *pb = p->last && p->last_pid == (int)k->pid ? p->last : at_hash_get(&p->pids, k->pid, 0);
	struct at_kv *kv;

	if (!pb) {
		pb = at_xcalloc(1, sizeof(*pb));
		at_hash_put(&p->pids, k->pid, 0, pb);
	}
	p->last = pb;
	p->last_pid = (int)k->pid;
	kv = at_bigbuf_reserve(&pb->buf, (pb->n + 1) * sizeof(*kv));
	kv[pb->n++] = (struct at_kv){ k->addr, b->size };
}

static int take_blocks(void *ctx, const void *keys, const void *vals, size_t n)
{
	struct pass *p = ctx;
	const struct at_block_key *k = keys;
	const struct at_block *b = vals;

	at_tally_blocks(&p->tally, k, b, n, p->now, p->min_age);
	for (size_t i = 0; i < n; i++)
		keep_block(p, &k[i], &b[i]);
	p->h->blocks += n;
	return 0;
}

static int cmp_suspect(const void *a, const void *b)
{
	const struct at_heap_site *x = *(const struct at_heap_site *const *)a;
	const struct at_heap_site *y = *(const struct at_heap_site *const *)b;

	if (x->old_bytes != y->old_bytes)
		return x->old_bytes > y->old_bytes ? -1 : 1;
	return at_heap_site_cmp(x, y);
}

/* Sites sorted by key for lookups; the suspects ordered once per pass. */
static void order_sites(struct at_heap *h, struct at_heap_tally *tally)
{
	h->sites = at_tally_finish(tally, &h->nr_sites);
	h->suspects = at_xcalloc(h->nr_sites ? h->nr_sites : 1, sizeof(*h->suspects));
	for (size_t i = 0; i < h->nr_sites; i++)
		if (h->sites[i].old_allocs)
			h->suspects[h->nr_suspects++] = &h->sites[i];
	qsort(h->suspects, h->nr_suspects, sizeof(*h->suspects), cmp_suspect);
}

int at_heap_analyze(struct at_heap *h, int live_fd, struct at_elfcache *ec, __u64 min_age_ns, const int *pids,
		    size_t nr_pids, bool from_start)
{
	struct pass p = { .h = h, .min_age = min_age_ns };
	double t0 = at_now_mono();
	struct at_hash_ent *e;
	struct timespec ts;
	int err;

	clock_gettime(CLOCK_MONOTONIC, &ts);	/* the clock bpf_ktime_get_ns reads */
	p.now = ts.tv_sec * 1000000000ULL + ts.tv_nsec;
	heap_reset(h);
	h->blocks = 0;
	err = at_live_read_chunks(live_fd, AT_LIVE_CHUNK, take_blocks, &p);
	for (size_t i = 0; i < nr_pids; i++)	/* targets with no block since attach */
		if (!at_hash_get(&p.pids, pids[i], 0))
			at_hash_put(&p.pids, pids[i], 0, at_xcalloc(1, sizeof(struct pid_blocks)));
	at_hash_for_each(&p.pids, e) {
		struct pid_blocks *pb = e->val;

		if (!err)
			analyze_pid(h, ec, (int)e->k1, pb, from_start);
		at_bigbuf__fini(&pb->buf);
		free(pb);
	}
	at_hash_clear(&p.pids);
	forget_gone(h);
	order_sites(h, &p.tally);
	/* the pass's tables came and went through malloc: hand the freed pages back */
	malloc_trim(0);
	h->analyzed_at = at_now_mono();
	h->took_s = h->analyzed_at - t0;
	return err;
}

const struct at_heap_proc *at_heap_proc(const struct at_heap *h, int pid)
{
	return at_hash_get(&h->procs, pid, 0);
}

const struct at_heap_site *at_heap_site(const struct at_heap *h, int pid, __u64 stack_id)
{
	struct at_heap_site key = { .pid = pid, .stack_id = stack_id };

	return h->nr_sites ? bsearch(&key, h->sites, h->nr_sites, sizeof(key), at_heap_site_cmp) : NULL;
}
