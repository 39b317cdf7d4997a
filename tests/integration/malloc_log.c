/* malloc_log.so: an LD_PRELOAD recorder used to check the workloads' ground truth
 * independently of alloctop (see replay.py and test_truth.py).
 *
 * It interposes the twelve traced functions and records every application call
 * (calls the allocator makes to itself are not seen: they don't go through the PLT,
 * and a per-thread depth guard drops the ones that do) with its arguments, result,
 * thread and return address. It also marks the workload's protocol lines: a write()
 * starting with "ready " and one starting with {"allocs" (the truth line).
 * At exit it writes MALLOC_LOG: "ALOG" u32 version, u64 count, the records, then
 * the text of /proc/self/maps.
 *
 * Ordering: a record's slot is reserved after the call for allocations and before
 * it for frees (realloc takes a slot before and one after), so that a block freed by
 * one thread and handed back to another is freed in the log before it is reused. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);
extern void *__libc_memalign(size_t, size_t);
extern void *__libc_valloc(size_t);
extern void *__libc_pvalloc(size_t);

enum {
	F_MALLOC, F_CALLOC, F_REALLOC, F_REALLOCARRAY, F_FREE, F_POSIX_MEMALIGN,
	F_ALIGNED_ALLOC, F_MEMALIGN, F_VALLOC, F_PVALLOC, F_MMAP, F_MUNMAP,
	F_REALLOC_NEW = 30,	/* second half of a realloc/reallocarray: a0 = index of the first */
	F_READY = 40, F_TRUTH = 41,
};

struct rec {
	uint32_t fn, tid;
	uint64_t a0, a1, a2, ret, ra;
};

#define NREC (1u << 21)
static struct rec recs[NREC];
static uint64_t nrec;
static __thread int depth __attribute__((tls_model("initial-exec")));
static __thread uint32_t mytid __attribute__((tls_model("initial-exec")));

static void *(*real_reallocarray)(void *, size_t, size_t);
static int (*real_posix_memalign)(void **, size_t, size_t);
static void *(*real_mmap)(void *, size_t, int, int, int, off_t);
static int (*real_munmap)(void *, size_t);

static struct rec *slot(uint64_t *idx)
{
	uint64_t i = __atomic_fetch_add(&nrec, 1, __ATOMIC_SEQ_CST);

	if (!mytid)
		mytid = (uint32_t)syscall(SYS_gettid);
	if (idx)
		*idx = i;
	if (i >= NREC)
		return NULL;
	recs[i].fn = UINT32_MAX;	/* not filled in yet */
	recs[i].tid = mytid;
	return &recs[i];
}

static void put(uint32_t fn, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t ret, void *ra)
{
	struct rec *r = slot(NULL);

	if (r) {
		r->a0 = a0;
		r->a1 = a1;
		r->a2 = a2;
		r->ret = ret;
		r->ra = (uint64_t)ra;
		__atomic_store_n(&r->fn, fn, __ATOMIC_RELEASE);
	}
}

static void resolve(void)
{
	depth++;
	if (!real_reallocarray)
		real_reallocarray = dlsym(RTLD_NEXT, "reallocarray");
	if (!real_posix_memalign)
		real_posix_memalign = dlsym(RTLD_NEXT, "posix_memalign");
	if (!real_mmap)
		real_mmap = dlsym(RTLD_NEXT, "mmap");
	if (!real_munmap)
		real_munmap = dlsym(RTLD_NEXT, "munmap");
	depth--;
}

__attribute__((constructor)) static void init(void)
{
	resolve();
}

#define RA __builtin_return_address(0)

void *malloc(size_t n)
{
	void *p;

	if (depth)
		return __libc_malloc(n);
	depth++;
	p = __libc_malloc(n);
	depth--;
	put(F_MALLOC, n, 0, 0, (uint64_t)p, RA);
	return p;
}

void *calloc(size_t n, size_t s)
{
	void *p;

	if (depth)
		return __libc_calloc(n, s);
	depth++;
	p = __libc_calloc(n, s);
	depth--;
	put(F_CALLOC, n, s, 0, (uint64_t)p, RA);
	return p;
}

static void *do_realloc(uint32_t fn, void *old, size_t n, size_t s, void *ra)
{
	uint64_t first;
	struct rec *r1 = slot(&first);
	int saved;
	void *p;

	depth++;
	if (fn == F_REALLOC)
		p = __libc_realloc(old, n);
	else
		p = real_reallocarray(old, n, s);
	depth--;
	saved = errno;
	put(F_REALLOC_NEW, first, 0, 0, (uint64_t)p, ra);
	if (r1) {
		r1->a0 = (uint64_t)old;
		r1->a1 = n;
		r1->a2 = s;
		r1->ret = (uint64_t)p;
		r1->ra = (uint64_t)ra;
		__atomic_store_n(&r1->fn, fn, __ATOMIC_RELEASE);
	}
	errno = saved;
	return p;
}

void *realloc(void *old, size_t n)
{
	if (depth)
		return __libc_realloc(old, n);
	return do_realloc(F_REALLOC, old, n, 0, RA);
}

void *reallocarray(void *old, size_t n, size_t s)
{
	if (!real_reallocarray)
		resolve();
	if (depth)
		return real_reallocarray(old, n, s);
	return do_realloc(F_REALLOCARRAY, old, n, s, RA);
}

void free(void *p)
{
	if (depth) {
		__libc_free(p);
		return;
	}
	put(F_FREE, (uint64_t)p, 0, 0, 0, RA);
	depth++;
	__libc_free(p);
	depth--;
}

int posix_memalign(void **out, size_t align, size_t n)
{
	int rc;

	if (!real_posix_memalign)
		resolve();
	if (depth)
		return real_posix_memalign(out, align, n);
	depth++;
	rc = real_posix_memalign(out, align, n);
	depth--;
	put(F_POSIX_MEMALIGN, align, n, (uint64_t)rc, rc ? 0 : (uint64_t)*out, RA);
	return rc;
}

#define ALIGNED(name, F)                                                \
	void *name(size_t align, size_t n)                              \
	{                                                               \
		void *p;                                                \
		if (depth)                                              \
			return __libc_memalign(align, n);               \
		depth++;                                                \
		p = __libc_memalign(align, n);                          \
		depth--;                                                \
		put(F, align, n, 0, (uint64_t)p, RA);                   \
		return p;                                               \
	}
ALIGNED(aligned_alloc, F_ALIGNED_ALLOC)
ALIGNED(memalign, F_MEMALIGN)

void *valloc(size_t n)
{
	void *p;

	if (depth)
		return __libc_valloc(n);
	depth++;
	p = __libc_valloc(n);
	depth--;
	put(F_VALLOC, n, 0, 0, (uint64_t)p, RA);
	return p;
}

void *pvalloc(size_t n)
{
	void *p;

	if (depth)
		return __libc_pvalloc(n);
	depth++;
	p = __libc_pvalloc(n);
	depth--;
	put(F_PVALLOC, n, 0, 0, (uint64_t)p, RA);
	return p;
}

void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	void *p;

	if (!real_mmap)
		resolve();
	if (depth)
		return real_mmap(addr, len, prot, flags, fd, off);
	depth++;
	p = real_mmap(addr, len, prot, flags, fd, off);
	depth--;
	put(F_MMAP, len, (uint64_t)(unsigned)flags, 0, (uint64_t)p, RA);
	return p;
}

void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off)
	__attribute__((alias("mmap")));

int munmap(void *addr, size_t len)
{
	int rc;

	if (!real_munmap)
		resolve();
	if (depth)
		return real_munmap(addr, len);
	put(F_MUNMAP, (uint64_t)addr, len, 0, 0, RA);
	depth++;
	rc = real_munmap(addr, len);
	depth--;
	return rc;
}

ssize_t write(int fd, const void *buf, size_t n)
{
	if (!depth && n >= 6 && !memcmp(buf, "ready ", 6))
		put(F_READY, 0, 0, 0, 0, RA);
	else if (!depth && n >= 9 && !memcmp(buf, "{\"allocs\"", 9))
		put(F_TRUTH, 0, 0, 0, 0, RA);
	return syscall(SYS_write, fd, buf, n);
}

static void out(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n) {
		ssize_t w = syscall(SYS_write, fd, c, n);

		if (w <= 0)
			return;
		c += w;
		n -= (size_t)w;
	}
}

__attribute__((destructor)) static void dump(void)
{
	static char maps[1 << 20];
	const char *path = getenv("MALLOC_LOG");
	uint64_t n = __atomic_load_n(&nrec, __ATOMIC_SEQ_CST);
	uint32_t ver = 1;
	size_t m = 0;
	int fd, mf;

	depth++;
	if (!path)
		return;
	if (n > NREC)
		n = NREC;	/* the reader sees the count is short of the total */
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	mf = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	if (mf >= 0) {
		ssize_t r;

		while (m < sizeof(maps) && (r = read(mf, maps + m, sizeof(maps) - m)) > 0)
			m += (size_t)r;
		close(mf);
	}
	out(fd, "ALOG", 4);
	out(fd, &ver, 4);
	out(fd, &nrec, 8);
	out(fd, &n, 8);
	out(fd, recs, n * sizeof(struct rec));
	out(fd, maps, m);
	close(fd);
}
