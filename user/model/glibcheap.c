#include "model/glibcheap.h"
#include "binary/procmaps.h"
#include "lib/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define PG 4096ULL
#define SLOTS 2048		/* pages cached (8 MiB): direct-mapped by page number */
#define BATCH 64		/* pages one miss reads */
/* A non-main heap is aligned to its maximum size, 2 * DEFAULT_MMAP_THRESHOLD_MAX on
 * 64-bit (a macro, absent from DWARF); each heap found this way must name its arena
 * (ar_ptr), so a libc built otherwise is reported, not misread. */
#define HEAP_MAX (64ULL << 20)
#define TRIES 5			/* reads of a heap that changed under the walk */
#define PREV_INUSE 1ULL
#define IS_MMAPPED 2ULL
#define SIZE_BITS 7ULL
#define ALIGN 16ULL
#define AGAIN 1			/* walk result: inconsistent, read again */

struct walk {
	int mem;			/* /proc/PID/mem */
	__u64 *tag;			/* page number + 1 each slot holds, 0 = none */
	__u8 *pages;			/* SLOTS pages */
	__u8 *buf;			/* BATCH pages */
	__u64 last_miss;
	const struct at_glibc_layout *l;
	const struct at_maps *maps;	/* read before the arenas: every region must lie in it */
	__u64 bias, tkey;
	struct at_gheap *g;
	__u64 *fast;			/* the arena's fastbin chunks, sorted */
	size_t nfast, cap_fast, fi;
	__u64 avail, nblocks;		/* the arena's free bytes and free chunks, top included */
	char *why;
	size_t why_len;
};

static int peek(struct walk *w, __u64 addr, void *dst, size_t n)
{
	return pread(w->mem, dst, n, (off_t)addr) == (ssize_t)n ? 0 : -1;
}

/* BATCH pages from page first on (fewer at a mapping's end: the read is partial). */
static int fill(struct walk *w, __u64 first)
{
	ssize_t got = pread(w->mem, w->buf, BATCH * PG, (off_t)(first * PG));

	if (got < (ssize_t)PG)
		return -1;
	for (__u64 i = 0; i < (__u64)got / PG; i++) {
		size_t slot = (first + i) % SLOTS;

		w->tag[slot] = first + i + 1;
		memcpy(w->pages + slot * PG, w->buf + i * PG, PG);
	}
	return 0;
}

/* An aligned word through the page cache. The chunk walk goes up, a fastbin list
 * (freed in address order) mostly down: a miss reads the batch on that side. */
static int rd(struct walk *w, __u64 addr, __u64 *v)
{
	__u64 pg = addr / PG;
	size_t slot = pg % SLOTS;

	if (w->tag[slot] != pg + 1) {
		bool down = pg < w->last_miss && pg >= BATCH - 1;

		w->last_miss = pg;
		if (down)	/* partial before pg when a gap lies between: then from pg */
			fill(w, pg - (BATCH - 1));
		if (w->tag[slot] != pg + 1 && fill(w, pg))
			return -1;
	}
	memcpy(v, w->pages + slot * PG + addr % PG, 8);
	return 0;
}

/* A member of f.size bytes (little-endian, at most 8). */
static int field(struct walk *w, __u64 base, struct at_field f, __u64 *v)
{
	*v = 0;
	return f.size > 8 ? -1 : peek(w, base + f.off, v, f.size);
}

static int inconsistent(struct walk *w, const char *what, __u64 addr)
{
	snprintf(w->why, w->why_len, "%s at 0x%llx", what, (unsigned long long)addr);
	return AGAIN;
}

static void push(struct at_span **a, size_t *n, size_t *cap, __u64 start, __u64 end)
{
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 1024;
		*a = at_xrealloc(*a, *cap, sizeof(**a));
	}
	(*a)[(*n)++] = (struct at_span){ start, end };
}

/* Whether [start, end) lies in mappings with no gap between them. */
static bool mapped(const struct at_maps *m, __u64 start, __u64 end)
{
	const struct at_vma *v = at_maps_find(m, start);

	if (!v || end <= start)
		return false;
	while (v->end < end) {
		if (v + 1 >= m->v + m->n || v[1].start != v->end)
			return false;
		v++;
	}
	return true;
}

/* A region read from the allocator's state; one outside the maps (a state being
 * changed, or not glibc's) is read again, never trusted. */
static int add_region(struct walk *w, __u64 start, __u64 end)
{
	struct at_gheap *g = w->g;

	if (!mapped(w->maps, start, end))
		return inconsistent(w, "heap region outside the mappings", start);
	if (g->nr_regions == g->cap_regions) {
		g->cap_regions = g->cap_regions ? g->cap_regions * 2 : 16;
		g->regions = at_xrealloc(g->regions, g->cap_regions, sizeof(*g->regions));
	}
	g->regions[g->nr_regions++] = (struct at_region){ .start = start, .end = end, .known = true };
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	__u64 x = *(const __u64 *)a, y = *(const __u64 *)b;

	return x < y ? -1 : x > y;
}

/* The fastbins' chunks: free, though their in-use bits say otherwise. Their links are
 * safe-linked: stored as next ^ (address of the link >> 12). */
static int fastbins(struct walk *w, __u64 arena, __u64 sys, __u64 *fastavail)
{
	const struct at_glibc_layout *l = w->l;
	__u64 p, link, hdr, n = 0, max = sys / (2 * ALIGN) + 1;	/* more is a loop */

	w->nfast = w->fi = 0;
	for (__u32 i = 0; i < l->ms_fastbins.size / 8; i++) {
		if (peek(w, arena + l->ms_fastbins.off + 8 * i, &p, 8))
			return inconsistent(w, "unreadable fastbin", arena);
		while (p) {
			if ((p & (ALIGN - 1)) || ++n > max || rd(w, p + l->mc_size.off, &hdr) ||
			    rd(w, p + l->mc_fd.off, &link))
				return inconsistent(w, "bad fastbin chunk", p);
			if (w->nfast == w->cap_fast) {
				w->cap_fast = w->cap_fast ? w->cap_fast * 2 : 256;
				w->fast = at_xrealloc(w->fast, w->cap_fast, sizeof(*w->fast));
			}
			w->fast[w->nfast++] = p;
			*fastavail += hdr & ~SIZE_BITS;
			p = ((p + l->mc_fd.off) >> 12) ^ link;
		}
	}
	if (w->nfast)	/* qsort must not see NULL */
		qsort(w->fast, w->nfast, sizeof(*w->fast), cmp_u64);
	w->g->mi.smblks += w->nfast;
	return 0;
}

/* An in-use chunk: a fastbin's, a tcache's (its key word holds tcache_key, as glibc's
 * own double-free check reads it), or the program's. */
static int in_use(struct walk *w, __u64 p, __u64 sz)
{
	__u64 key;

	while (w->fi < w->nfast && w->fast[w->fi] < p)
		w->fi++;
	if (w->fi < w->nfast && w->fast[w->fi] == p)
		return 0;
	if (sz >= w->l->mc_fd.off + w->l->te_key.off + 8) {
		if (rd(w, p + w->l->mc_fd.off + w->l->te_key.off, &key))
			return inconsistent(w, "unreadable chunk", p);
		if (key == w->tkey) {
			w->g->mi.tcache_count++;
			w->g->mi.tcache_bytes += sz;
			return 0;
		}
	}
	push(&w->g->live, &w->g->nr_live, &w->g->cap_live, p, p + sz);
	return 0;
}

/* The chunks of one heap from start up to top or the fenceposts that close an old heap
 * (a 16-byte chunk, then one of size 0); what follows those is libc's, up to end. */
static int walk_heap(struct walk *w, __u64 start, __u64 end, __u64 top)
{
	__u64 p = start, hdr, nhdr, sz, so = w->l->mc_size.off;
	int err;

	if (rd(w, p + so, &hdr))
		return inconsistent(w, "unreadable heap", p);
	while (p != top && p < end) {
		sz = hdr & ~SIZE_BITS;
		if (!sz) {
			if (top >= start && top < end)	/* a heap with top ends there only */
				return inconsistent(w, "heap ends before its top (a main arena not grown by brk?)", p);
			push(&w->g->meta, &w->g->nr_meta, &w->g->cap_meta, p, end);
			return 0;
		}
		if ((sz & (ALIGN - 1)) || p + sz > end || rd(w, p + sz + so, &nhdr))
			return inconsistent(w, "bad chunk size", p);
		if (sz < 2 * ALIGN)
			push(&w->g->meta, &w->g->nr_meta, &w->g->cap_meta, p, p + sz);
		else if (nhdr & PREV_INUSE) {
			if ((err = in_use(w, p, sz)))
				return err;
		} else {
			w->avail += sz;
			w->nblocks++;
		}
		p += sz;
		hdr = nhdr;
	}
	if (p != top)
		return inconsistent(w, "heap ends without its top", p);
	sz = hdr & ~SIZE_BITS;
	if (top + sz > end)
		return inconsistent(w, "top beyond its heap", top);
	w->avail += sz;
	w->nblocks++;
	return 0;
}

/* A non-main arena's heaps: the newest holds top, each names the one before. */
static int arena_heaps(struct walk *w, __u64 a, __u64 top)
{
	const struct at_glibc_layout *l = w->l;
	__u64 h = top & ~(HEAP_MAX - 1), ar, prev, size, start;
	int err, n = 0;

	while (h) {
		if (field(w, h, l->hi_ar_ptr, &ar) || field(w, h, l->hi_prev, &prev) || field(w, h, l->hi_size, &size))
			return inconsistent(w, "unreadable arena heap", h);
		if (ar != a || size > HEAP_MAX || ++n > 1 << 20) {
			snprintf(w->why, w->why_len, "arena heap at 0x%llx does not name its arena (not a 64 MiB heap?)",
				 (unsigned long long)h);
			return -1;
		}
		/* the arena's first heap holds its malloc_state after the heap_info */
		start = h + l->hi_sizeof == a ? a + l->ms_size : h + l->hi_sizeof;
		start = (start + ALIGN - 1) & ~(ALIGN - 1);
		push(&w->g->meta, &w->g->nr_meta, &w->g->cap_meta, h, start);
		if ((err = add_region(w, h, h + size)) || (err = walk_heap(w, start, h + size, top)))
			return err;
		h = prev;
	}
	return 0;
}

/* The main arena's heap: the brk area from sbrk_base to the end of top. */
static int main_heap(struct walk *w, __u64 top)
{
	__u64 base, hdr;
	int err;

	if (field(w, w->bias + w->l->mp, w->l->mp_sbrk_base, &base))
		return inconsistent(w, "unreadable mp_", w->bias + w->l->mp);
	if (!base)
		return 0;	/* malloc never used the brk heap */
	if (top < base) {
		snprintf(w->why, w->why_len, "main arena's top 0x%llx is not in its brk heap (a main arena not on brk?)",
			 (unsigned long long)top);
		return -1;
	}
	if (peek(w, top + w->l->mc_size.off, &hdr, 8))
		return inconsistent(w, "unreadable top", top);
	if (top + (hdr & ~SIZE_BITS) < top)
		return inconsistent(w, "top's size wraps", top);
	if ((err = add_region(w, base & ~(AT_PAGE_SIZE - 1), top + (hdr & ~SIZE_BITS))))
		return err;
	w->g->mi.keepcost = hdr & ~SIZE_BITS;
	return walk_heap(w, (base + ALIGN - 1) & ~(ALIGN - 1), top + (hdr & ~SIZE_BITS), top);
}

/* One arena, summed as glibc's int_mallinfo does. */
static int read_arena(struct walk *w, __u64 a, bool is_main)
{
	struct at_mallinfo *mi = &w->g->mi;
	__u64 top, sys, fastavail = 0;
	int err;

	if (field(w, a, w->l->ms_top, &top) || field(w, a, w->l->ms_system_mem, &sys))
		return inconsistent(w, "unreadable arena", a);
	w->avail = w->nblocks = 0;
	if ((err = fastbins(w, a, sys, &fastavail)))
		return err;
	if ((err = is_main ? main_heap(w, top) : arena_heaps(w, a, top)))
		return err;
	if (!sys)
		w->avail = w->nblocks = 0;	/* not initialised: glibc sums nothing real either */
	w->avail += fastavail;
	mi->ordblks += w->nblocks;
	mi->fordblks += w->avail;
	mi->uordblks += sys - w->avail;
	mi->arena += sys;
	mi->fsmblks += fastavail;
	mi->arenas++;
	return 0;
}

static bool in_regions(const struct at_gheap *g, __u64 start, __u64 end)
{
	for (size_t i = 0; i < g->nr_regions; i++)
		if (start < g->regions[i].end && g->regions[i].start < end)
			return true;
	return false;
}

/* The size of the mmapped chunk at a (its mapping: the alignment correction in
 * prev_size, then the chunk, ending on a page), 0 if a holds none. */
static __u64 mmapped_at(struct walk *w, __u64 a, __u64 end)
{
	__u64 ps, sz, total;

	if (peek(w, a + w->l->mc_prev_size.off, &ps, 8) || peek(w, a + w->l->mc_size.off, &sz, 8))
		return 0;
	total = ps + (sz & ~SIZE_BITS);
	if ((sz & SIZE_BITS) != IS_MMAPPED || (ps & (ALIGN - 1)) || ps >= AT_PAGE_SIZE || total < AT_PAGE_SIZE ||
	    (total & (AT_PAGE_SIZE - 1)) || a + total > end)
		return 0;
	return total;
}

/* Mmapped chunks: in private anonymous mappings, a chunk header marked IS_MMAPPED (and
 * no other bit) at a page start. Adjacent mappings merge, so a chunk may lie anywhere
 * in one: pages are tried one by one until as many chunks as mp_.n_mmaps counts are
 * found (most sit at a mapping's start, found first). */
static void mmapped(struct walk *w, const struct at_maps *m)
{
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < m->n && w->g->mmapped_found < w->g->mi.hblks; i++) {
			const struct at_vma *v = &m->v[i];
			__u64 a = v->start, total;

			if (v->path || !v->writable || v->shared || in_regions(w->g, v->start, v->end))
				continue;
			while (a < v->end && w->g->mmapped_found < w->g->mi.hblks) {
				if ((total = mmapped_at(w, a, v->end))) {
					push(&w->g->live, &w->g->nr_live, &w->g->cap_live, a, a + total);
					add_region(w, a, a + total);
					w->g->mmapped_found++;
					a += total;
				} else if (pass) {
					a += AT_PAGE_SIZE;
				} else {
					break;	/* first pass: chunks at mapping starts only */
				}
			}
		}
}

static int cmp_span(const void *a, const void *b)
{
	const struct at_span *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

static int cmp_region(const void *a, const void *b)
{
	const struct at_region *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/* Every arena from main_arena through next, then mp_'s mmapped totals. */
static int read_arenas(struct walk *w)
{
	const struct at_glibc_layout *l = w->l;
	__u64 main = w->bias + l->main_arena, a = main, v;
	int err, n = 0;

	if (peek(w, w->bias + l->tcache_key, &w->tkey, 8))
		return inconsistent(w, "unreadable tcache_key", w->bias + l->tcache_key);
	do {
		if ((err = read_arena(w, a, a == main)))
			return err;
		if (field(w, a, l->ms_next, &a) || ++n > 1 << 16)
			return inconsistent(w, "bad arena list", a);
	} while (a && a != main);
	if (field(w, w->bias + l->mp, l->mp_n_mmaps, &v))
		return inconsistent(w, "unreadable mp_", w->bias + l->mp);
	w->g->mi.hblks = (__u64)(int)v;	/* an int in glibc */
	if (field(w, w->bias + l->mp, l->mp_mmapped_mem, &w->g->mi.hblkhd))
		return inconsistent(w, "unreadable mp_", w->bias + l->mp);
	mmapped(w, w->maps);
	return 0;
}

/* The maps first (the regions are checked against them), then the allocator's state. */
static int read_all(struct walk *w, int pid)
{
	struct at_maps m;
	int err;

	if ((err = at_maps__read(pid, &m))) {
		snprintf(w->why, w->why_len, "cannot read /proc/%d/maps: %s", pid, strerror(-err));
		return -1;
	}
	w->maps = &m;
	err = read_arenas(w);
	w->maps = NULL;
	at_maps__fini(&m);
	if (err)
		return err;
	if (w->g->nr_live)	/* qsort must not see NULL */
		qsort(w->g->live, w->g->nr_live, sizeof(*w->g->live), cmp_span);
	if (w->g->nr_meta)
		qsort(w->g->meta, w->g->nr_meta, sizeof(*w->g->meta), cmp_span);
	if (w->g->nr_regions)
		qsort(w->g->regions, w->g->nr_regions, sizeof(*w->g->regions), cmp_region);
	return 0;
}

void at_gheap_free(struct at_gheap *g)
{
	free(g->live);
	free(g->meta);
	for (size_t i = 0; i < g->nr_regions; i++)
		free((void *)g->regions[i].resident);
	free(g->regions);
	memset(g, 0, sizeof(*g));
}

int at_gheap_read(int pid, const struct at_glibc_layout *l, __u64 bias, struct at_gheap *g, char *why,
		  size_t why_len)
{
	struct walk w = { .l = l, .bias = bias, .g = g, .why = why, .why_len = why_len };
	char path[64];
	int err = -1;

	memset(g, 0, sizeof(*g));
	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	w.mem = open(path, O_RDONLY | O_CLOEXEC);
	if (w.mem < 0) {
		snprintf(why, why_len, "cannot read %s: %s", path, strerror(errno));
		return -1;
	}
	/* mapped, not malloc'd (the tags say which pages hold data): after the first free of
	 * one, glibc raises its mmap threshold and the next process's 8 MiB came from the
	 * heap, cleared and given back every pass (the agent's RSS crept) */
	w.pages = mmap(NULL, SLOTS * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (w.pages == MAP_FAILED) {
		snprintf(why, why_len, "cannot map %llu KiB to read the heap: %s", SLOTS * PG / 1024, strerror(errno));
		close(w.mem);
		return -1;
	}
	w.buf = at_xcalloc(BATCH, PG);
	w.tag = at_xcalloc(SLOTS, sizeof(*w.tag));
	for (int t = 0; t < TRIES; t++) {
		memset(w.tag, 0, SLOTS * sizeof(*w.tag));	/* each try reads afresh */
		w.last_miss = 0;
		at_gheap_free(g);
		if ((err = read_all(&w, pid)) != AGAIN)
			break;
	}
	if (err)
		at_gheap_free(g);
	if (err == AGAIN)
		snprintf(why + strlen(why), why_len - strlen(why), " (heap changing: %d reads)", TRIES);
	free(w.fast);
	free(w.tag);
	munmap(w.pages, SLOTS * PG);
	free(w.buf);
	close(w.mem);
	return err ? -1 : 0;
}
