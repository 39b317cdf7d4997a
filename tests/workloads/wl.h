/* Shared code for the alloctop test workloads: the stdin/stdout protocol and an
 * exact model of what alloctop must report (the "truth").
 *
 * Protocol (see tests/integration/harness.py):
 *   setup; "ready <pid>\n" on stdout; wait for a "go" line; measured phase;
 *   one line of JSON truth on stdout (or to --truth FILE); wait for "exit"/EOF.
 * --nowait skips the handshake (launch mode: the whole process is traced, so the
 * model is active from the start and pre-attach blocks count as tracked);
 * --from-start keeps the handshake but counts from the start likewise (a program
 * exec'd by a traced process).
 *
 * Rules for everything in this file: it must never allocate (no stdio streams, no
 * strdup, no qsort...). Formatting goes through snprintf into static buffers and
 * write(2); input is read(2). The model lives in static arrays.
 *
 * Each workload records every allocator call it makes with the wl_* functions,
 * right after the real call (wl_alloc) or right before it (wl_take), from inside a
 * noipa "site_*" function that calls the allocator directly.
 */
#ifndef WL_H
#define WL_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* noipa = noinline + noclone + no_icf: the function keeps its own name (no
 * ".constprop"/".isra" clones) and is not merged with an identical twin. */
#define NOIPA __attribute__((noipa))
/* Every helper is static and some workloads use only part of them. */
#define WL_FN static __attribute__((unused))
/* An optimisation barrier after an allocator call: the call can't become a tail jump. */
#define WL_BARRIER() __asm__ volatile("" ::: "memory")

/* Hide a value from the optimiser (no constant folding of realloc(NULL, n) into
 * malloc(n), no deletion of free(NULL), no malloc+free elision). */
static inline size_t wl_opq(size_t v)
{
	__asm__ volatile("" : "+r"(v));
	return v;
}
static inline void *wl_opqp(void *p)
{
	__asm__ volatile("" : "+r"(p));
	return p;
}

enum wl_fn {
	WL_MALLOC, WL_CALLOC, WL_REALLOC, WL_REALLOCARRAY, WL_FREE, WL_POSIX_MEMALIGN,
	WL_ALIGNED_ALLOC, WL_MEMALIGN, WL_VALLOC, WL_PVALLOC, WL_MMAP, WL_MUNMAP, WL_NR_FN,
};
static const char *const wl_fn_names[WL_NR_FN] = {
	"malloc", "calloc", "realloc", "reallocarray", "free", "posix_memalign",
	"aligned_alloc", "memalign", "valloc", "pvalloc", "mmap", "munmap",
};

#define WL_PAGE 4096UL
#define WL_TABLE (1u << 17)	/* live-block table slots (power of two) */
#define WL_SITES 128
#define WL_MAPS 64
#define WL_BUCKETS 65		/* size histogram by bit length: 0 -> size 0, k -> [2^(k-1), 2^k) */

struct wl_block {
	uintptr_t ptr;		/* 0 = empty slot */
	size_t size;
	unsigned long seq;	/* the allocating thread's alloc sequence number */
	int tid;		/* model thread id */
	int site;
	int tracked;		/* allocated while the model was active */
};

struct wl_site {
	const char *name;
	unsigned long long allocs, alloc_bytes;
	long long live_allocs, live_bytes;
};

struct wl_map {
	uintptr_t start;	/* 0 = empty */
	size_t len;		/* page-rounded */
};

static struct {
	pthread_mutex_t lock;
	int active;		/* counting (after "go", or from the start with --nowait) */
	int nowait;
	const char *truth_path;
	unsigned long long allocs, frees, alloc_bytes, free_bytes, untracked_frees, temp_allocs;
	long long live_allocs, live_bytes;
	unsigned long long calls[WL_NR_FN];
	unsigned long long maps, unmaps;
	long long map_live;
	unsigned long long hist_count[WL_BUCKETS], hist_bytes[WL_BUCKETS];
	struct wl_block table[WL_TABLE];
	unsigned used;
	struct wl_site sites[WL_SITES];
	int nsites;
	struct wl_map mapv[WL_MAPS];
	int next_tid;
	unsigned long thread_seq[64];	/* per model thread: seq of its last alloc */
} wl = { .lock = PTHREAD_MUTEX_INITIALIZER };

static __thread int wl_tid;	/* model thread id; main = 0 */

/* ---- output without allocation ---- */

WL_FN void wl_write_all(int fd, const char *s, size_t n)
{
	while (n) {
		ssize_t w = write(fd, s, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			_exit(3);
		s += w;
		n -= (size_t)w;
	}
}

WL_FN void wl_die(const char *msg)
{
	char buf[256];
	int n = snprintf(buf, sizeof(buf), "workload error: %s\n", msg);

	wl_write_all(2, buf, (size_t)n);
	_exit(4);
}

static char wl_out[1 << 16];
static size_t wl_outn;

__attribute__((format(printf, 1, 2), unused))
static void wl_emit(const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(wl_out + wl_outn, sizeof(wl_out) - wl_outn, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(wl_out) - wl_outn)
		wl_die("truth buffer overflow");
	wl_outn += (size_t)n;
}

/* Read one line from stdin with read(2). Returns 0 at EOF. */
WL_FN int wl_read_line(char *buf, size_t cap)
{
	size_t n = 0;

	for (;;) {
		char c;
		ssize_t r = read(0, &c, 1);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			buf[n] = 0;
			return n > 0;
		}
		if (c == '\n')
			break;
		if (n + 1 < cap)
			buf[n++] = c;
	}
	buf[n] = 0;
	return 1;
}

/* ---- the model ---- */

WL_FN void wl_lock(void)
{
	pthread_mutex_lock(&wl.lock);
}

WL_FN void wl_unlock(void)
{
	pthread_mutex_unlock(&wl.lock);
}

WL_FN unsigned wl_hash(uintptr_t p)
{
	uint64_t h = (uint64_t)p * 0x9E3779B97F4A7C15ULL;

	return (unsigned)(h >> 40) & (WL_TABLE - 1);
}

/* Called with the lock held. */
WL_FN struct wl_block *wl_find(uintptr_t p)
{
	unsigned i = wl_hash(p);

	while (wl.table[i].ptr) {
		if (wl.table[i].ptr == p)
			return &wl.table[i];
		i = (i + 1) & (WL_TABLE - 1);
	}
	return NULL;
}

WL_FN void wl_insert(const struct wl_block *b)
{
	unsigned i = wl_hash(b->ptr);

	if (wl.used + 1 >= WL_TABLE / 2)
		wl_die("live-block table full");
	while (wl.table[i].ptr) {
		if (wl.table[i].ptr == b->ptr)
			wl_die("allocator returned an address that is still live");
		i = (i + 1) & (WL_TABLE - 1);
	}
	wl.table[i] = *b;
	wl.used++;
}

/* Linear probing with backward-shift deletion. */
WL_FN void wl_remove(struct wl_block *slot)
{
	unsigned i = (unsigned)(slot - wl.table), j = i;

	for (;;) {
		unsigned k;

		wl.table[i].ptr = 0;
		for (;;) {
			j = (j + 1) & (WL_TABLE - 1);
			if (!wl.table[j].ptr)
				goto done;
			k = wl_hash(wl.table[j].ptr);
			/* move j back to i unless its home k lies cyclically in (i, j] */
			if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
				continue;
			break;
		}
		wl.table[i] = wl.table[j];
		i = j;
	}
done:
	wl.used--;
}

WL_FN int wl_site_id(const char *name)
{
	int i;

	for (i = 0; i < wl.nsites; i++)
		if (!strcmp(wl.sites[i].name, name))
			return i;
	if (wl.nsites == WL_SITES)
		wl_die("too many sites");
	wl.sites[wl.nsites].name = name;
	return wl.nsites++;
}

WL_FN int wl_bucket(size_t v)
{
	int b = 0;

	while (v) {
		b++;
		v >>= 1;
	}
	return b;
}

/* Lock held. A successful allocation of size bytes at p from site. */
WL_FN void wl_alloc_locked(void *p, size_t size, const char *site)
{
	struct wl_block b = { .ptr = (uintptr_t)p, .size = size, .tid = wl_tid,
			      .site = wl_site_id(site), .tracked = wl.active };
	int k = wl_bucket(size);

	if (!p)
		wl_die("wl_alloc(NULL)");
	if (wl.active) {
		struct wl_site *s = &wl.sites[b.site];

		b.seq = ++wl.thread_seq[wl_tid];
		wl.allocs++;
		wl.alloc_bytes += size;
		wl.live_allocs++;
		wl.live_bytes += (long long)size;
		wl.hist_count[k]++;
		wl.hist_bytes[k] += size;
		s->allocs++;
		s->alloc_bytes += size;
		s->live_allocs++;
		s->live_bytes += (long long)size;
	}
	wl_insert(&b);
}

/* Lock held. A block that the application freed (free or realloc's old block). */
WL_FN void wl_free_block_locked(const struct wl_block *b)
{
	struct wl_site *s = &wl.sites[b->site];

	if (!wl.active)
		return;
	if (!b->tracked) {
		wl.untracked_frees++;
		return;
	}
	wl.frees++;
	wl.free_bytes += b->size;
	wl.live_allocs--;
	wl.live_bytes -= (long long)b->size;
	s->live_allocs--;
	s->live_bytes -= (long long)b->size;
	/* temporary: freed by its own thread before that thread allocated again */
	if (b->tid == wl_tid && b->seq == wl.thread_seq[wl_tid])
		wl.temp_allocs++;
}

WL_FN void wl_call_locked(enum wl_fn f)
{
	if (wl.active)
		wl.calls[f]++;
}

/* Record a call of f (failed or not) that returned p (NULL: failed) for size bytes. */
__attribute__((noinline, unused))
static void wl_alloc(enum wl_fn f, void *p, size_t size, const char *site)
{
	wl_lock();
	wl_call_locked(f);
	if (p)
		wl_alloc_locked(p, size, site);
	wl_unlock();
}

/* Take a block out of the model before the application frees or reallocs it (so
 * another thread that gets the same address back is not confused).
 * Returns 1 and fills *out if the block was known. */
__attribute__((noinline, unused))
static int wl_take(void *p, struct wl_block *out)
{
	struct wl_block *b;
	int found = 0;

	if (!p)
		return 0;
	wl_lock();
	b = wl_find((uintptr_t)p);
	if (b) {
		*out = *b;
		wl_remove(b);
		found = 1;
	}
	wl_unlock();
	if (!found)
		wl_die("free of a block the model does not know");
	return found;
}

/* free(p): call before the real free. */
__attribute__((noinline, unused))
static void wl_free(void *p)
{
	struct wl_block b;
	int had = wl_take(p, &b);

	wl_lock();
	wl_call_locked(WL_FREE);
	if (had)
		wl_free_block_locked(&b);
	wl_unlock();
}

/* realloc/reallocarray(old, ...) = res, size = requested bytes (n*size for
 * reallocarray; meaningless if it overflowed). had/b: from wl_take(old) before the
 * call. glibc: success frees old (if any) and allocates size; realloc(old, 0) frees
 * old and returns NULL; failure leaves old live. */
__attribute__((noinline, unused))
static void wl_realloc(enum wl_fn f, int had, const struct wl_block *b, void *res, size_t size,
		       int zero_frees, const char *site)
{
	wl_lock();
	wl_call_locked(f);
	if (had) {
		if (res || zero_frees)
			wl_free_block_locked(b);
		else
			wl_insert(b);	/* failed: the old block stays live, unchanged */
	}
	if (res)
		wl_alloc_locked(res, size, site);
	wl_unlock();
}

/* mmap(len, flags) = res. */
__attribute__((noinline, unused))
static void wl_mmap(void *res, size_t len, int flags)
{
	int i;

	wl_lock();
	wl_call_locked(WL_MMAP);
	if (wl.active && res != MAP_FAILED && (flags & MAP_ANONYMOUS)) {
		size_t r = (len + WL_PAGE - 1) & ~(WL_PAGE - 1);

		for (i = 0; i < WL_MAPS && wl.mapv[i].start; i++)
			;
		if (i == WL_MAPS)
			wl_die("too many mappings");
		wl.mapv[i].start = (uintptr_t)res;
		wl.mapv[i].len = r;
		wl.maps++;
		wl.map_live += (long long)r;
	}
	wl_unlock();
}

/* munmap(addr, len): call before the real munmap. Counted as an unmap when addr is a
 * tracked mapping's start; a shorter length unmaps the head, the tail stays tracked. */
__attribute__((noinline, unused))
static void wl_munmap(void *addr, size_t len)
{
	size_t r = (len + WL_PAGE - 1) & ~(WL_PAGE - 1);
	int i;

	wl_lock();
	wl_call_locked(WL_MUNMAP);
	for (i = 0; wl.active && r && i < WL_MAPS; i++) {
		struct wl_map *m = &wl.mapv[i];

		if (!m->start || m->start != (uintptr_t)addr)
			continue;
		wl.unmaps++;
		if (r < m->len) {
			m->start += r;
			m->len -= r;
			wl.map_live -= (long long)r;
		} else {
			wl.map_live -= (long long)m->len;
			m->start = 0;
			m->len = 0;
		}
		break;
	}
	wl_unlock();
}

/* A new thread: call first thing in the thread function (before it allocates). */
WL_FN void wl_thread_register(void)
{
	wl_lock();
	wl_tid = ++wl.next_tid;
	if (wl_tid >= 64)
		wl_die("too many threads");
	wl_unlock();
}

/* ---- protocol ---- */

WL_FN void wl_init(int argc, char **argv)
{
	int i, from_start = 0;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--nowait"))
			wl.nowait = 1;
		else if (!strcmp(argv[i], "--from-start"))
			from_start = 1;
		else if (!strcmp(argv[i], "--truth") && i + 1 < argc)
			wl.truth_path = argv[++i];
		else
			wl_die("usage: [--nowait] [--from-start] [--truth FILE]");
	}
	/* launch mode: traced from the first instruction, everything counts; --from-start
	 * too, with the handshake (exec'd by a process already traced) */
	wl.active = wl.nowait || from_start;
}

/* End of setup: announce readiness and wait for "go". */
WL_FN void wl_ready(void)
{
	char line[64];
	int n;

	if (wl.nowait)
		return;
	n = snprintf(line, sizeof(line), "ready %d\n", (int)getpid());
	wl_write_all(1, line, (size_t)n);
	for (;;) {
		if (!wl_read_line(line, sizeof(line)))
			_exit(0);	/* stdin closed before go: nothing to do */
		if (!strcmp(line, "go"))
			break;
	}
	wl_lock();
	wl.active = 1;
	wl_unlock();
}

/* End of the measured phase: write the truth, then wait for "exit" (or EOF). */
WL_FN void wl_done(void)
{
	static char line[64];
	int i, first;

	wl_lock();
	wl_outn = 0;
	wl_emit("{\"allocs\": %llu, \"frees\": %llu, \"alloc_bytes\": %llu, \"free_bytes\": %llu, "
		"\"live_allocs\": %lld, \"live_bytes\": %lld, \"untracked_frees\": %llu, \"temp_allocs\": %llu, "
		"\"calls\": {",
		wl.allocs, wl.frees, wl.alloc_bytes, wl.free_bytes, wl.live_allocs, wl.live_bytes,
		wl.untracked_frees, wl.temp_allocs);
	for (i = 0; i < WL_NR_FN; i++)
		wl_emit("%s\"%s\": %llu", i ? ", " : "", wl_fn_names[i], wl.calls[i]);
	wl_emit("}, \"mmap\": {\"maps\": %llu, \"unmaps\": %llu, \"live_bytes\": %lld}, \"sites\": {",
		wl.maps, wl.unmaps, wl.map_live);
	for (i = 0, first = 1; i < wl.nsites; i++) {
		const struct wl_site *s = &wl.sites[i];

		if (!s->allocs)
			continue;	/* used only before attach */
		wl_emit("%s\"%s\": {\"allocs\": %llu, \"alloc_bytes\": %llu, \"live_allocs\": %lld, \"live_bytes\": %lld}",
			first ? "" : ", ", s->name, s->allocs, s->alloc_bytes, s->live_allocs, s->live_bytes);
		first = 0;
	}
	/* extra: request sizes by bit length ("0": size 0, "k": [2^(k-1), 2^k)) */
	wl_emit("}, \"size_hist\": {");
	for (i = 0, first = 1; i < WL_BUCKETS; i++) {
		if (!wl.hist_count[i])
			continue;
		wl_emit("%s\"%d\": [%llu, %llu]", first ? "" : ", ", i, wl.hist_count[i], wl.hist_bytes[i]);
		first = 0;
	}
	wl_emit("}}\n");
	wl_unlock();

	if (wl.truth_path) {
		int fd = open(wl.truth_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

		if (fd < 0)
			wl_die("cannot open the truth file");
		wl_write_all(fd, wl_out, wl_outn);
		close(fd);
	} else {
		wl_write_all(1, wl_out, wl_outn);
	}
	if (wl.nowait)
		return;
	while (wl_read_line(line, sizeof(line)) && strcmp(line, "exit"))
		;
}

#endif /* WL_H */
