/* jumpalloc: an executable with its own allocator (a bump allocator defining the whole
 * malloc family, so alloctop probes this file) whose malloc can longjmp out: the return
 * probe of that call never fires, as when a signal handler siglongjmps out of malloc
 * or a thread dies in it. Deterministic, and safe (no lock is held).
 *   ready <pid>
 *   "deep" -> 10 x malloc(100), then 3 times: main -> jump_1 -> jump_2 -> malloc(MAGIC),
 *             which longjmps back to main, followed by malloc(100) from main (a higher
 *             stack pointer than the lost call's); then frees the 13 blocks.
 *             answers "deep allocs=13 frees=13 jumps=3 bytes=1300"
 *   "same" -> malloc(MAGIC) through one call site of site_pair, longjmp back to main,
 *             then malloc(200) through the *other* call site of site_pair, at the same
 *             stack pointer; frees it.
 *             answers "same allocs=1 frees=1 jumps=1 bytes=200"
 *   "exit" -> exits 0
 * The lost calls are not allocations (they return nothing). */
#include "rel.h"

#include <errno.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <sys/mman.h>

#define ARENA_SIZE (512UL << 20)
#define JUMP_MAGIC 77777

static char *arena;
static atomic_size_t used;
static jmp_buf jump_back;
static volatile int jump_armed;

static void *bump(size_t n, size_t align)
{
	size_t need, off;
	uintptr_t p;

	if (align < 16)
		align = 16;
	if (n > ARENA_SIZE || align > 4096) {
		errno = ENOMEM;
		return NULL;
	}
	if (!arena) {	/* first call: the dynamic loader, single-threaded */
		void *m = mmap(NULL, ARENA_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

		if (m == MAP_FAILED)
			return NULL;
		arena = m;
	}
	need = (n + 16 + align + 15) & ~(size_t)15;
	off = atomic_fetch_add(&used, need);
	if (off + need > ARENA_SIZE) {
		errno = ENOMEM;
		return NULL;
	}
	p = ((uintptr_t)arena + off + 16 + align - 1) & ~(uintptr_t)(align - 1);
	((size_t *)p)[-1] = n;
	return (void *)p;
}

void *malloc(size_t n)
{
	if (n == JUMP_MAGIC && jump_armed) {
		jump_armed = 0;
		longjmp(jump_back, 1);
	}
	return bump(n, 16);
}

void free(void *p)
{
	(void)p;	/* never reused: the arena only grows */
	REL_BARRIER();
}

void *calloc(size_t n, size_t sz)
{
	void *p;

	if (sz && n > (size_t)-1 / sz) {
		errno = ENOMEM;
		return NULL;
	}
	p = bump(n * sz, 16);
	if (p)
		memset(p, 0, n * sz);
	return p;
}

void *realloc(void *old, size_t n)
{
	void *p;

	if (old && !n)
		return NULL;
	p = bump(n, 16);
	if (p && old) {
		size_t o = ((size_t *)old)[-1];

		memcpy(p, old, o < n ? o : n);
	}
	return p;
}

void *reallocarray(void *old, size_t n, size_t sz)
{
	if (sz && n > (size_t)-1 / sz) {
		errno = ENOMEM;
		return NULL;
	}
	return realloc(old, n * sz);
}

int posix_memalign(void **out, size_t align, size_t n)
{
	void *p = bump(n, align);

	if (!p)
		return ENOMEM;
	*out = p;
	return 0;
}

void *aligned_alloc(size_t align, size_t n) { return bump(n, align); }
void *memalign(size_t align, size_t n) { return bump(n, align); }
void *valloc(size_t n) { return bump(n, 4096); }
void *pvalloc(size_t n) { return bump((n + 4095) & ~(size_t)4095, 4096); }
size_t malloc_usable_size(void *p) { return p ? ((size_t *)p)[-1] : 0; }

/* ---- the application */

static void *keep[64];

NOIPA void *site_plain(size_t n)
{
	void *p = malloc(n);

	REL_BARRIER();
	return p;
}

NOIPA void site_free(void *p)
{
	free(p);
	REL_BARRIER();
}

NOIPA void *site_jump(void)
{
	void *p = malloc(rel_opq(JUMP_MAGIC));

	REL_BARRIER();
	return p;
}

NOIPA void *jump_2(void)
{
	void *p = site_jump();

	REL_BARRIER();
	return p;
}

NOIPA void *jump_1(void)
{
	void *p = jump_2();

	REL_BARRIER();
	return p;
}

static void *volatile sink_a, *volatile sink_b;

/* Two call sites of malloc in one function: same stack pointer, other return address. */
NOIPA void *site_pair(size_t n, int second)
{
	void *p;

	if (second) {
		p = malloc(n);
		REL_BARRIER();
		sink_b = p;
	} else {
		p = malloc(n);
		REL_BARRIER();
		sink_a = p;
	}
	return p;
}

int main(void)
{
	char cmd[64];
	volatile int k = 0;

	site_free(site_plain(8));
	rel_ready();
	while (rel_line(cmd, sizeof(cmd))) {
		if (!strcmp(cmd, "deep")) {
			k = 0;
			for (int i = 0; i < 10; i++)
				keep[k++] = site_plain(rel_opq(100));
			for (volatile int j = 0; j < 3; j++) {
				jump_armed = 1;
				if (!setjmp(jump_back))
					jump_1();	/* never returns: malloc jumps back here */
				keep[k++] = site_plain(rel_opq(100));
			}
			for (int i = 0; i < k; i++)
				site_free(keep[i]);
			rel_out("deep allocs=%d frees=%d jumps=3 bytes=%d", k, k, k * 100);
		} else if (!strcmp(cmd, "same")) {
			void *p;

			jump_armed = 1;
			if (!setjmp(jump_back))
				site_pair(rel_opq(JUMP_MAGIC), 0);
			p = site_pair(rel_opq(200), 1);
			site_free(p);
			rel_out("same allocs=1 frees=1 jumps=1 bytes=200");
		} else if (!strcmp(cmd, "exit")) {
			break;
		}
	}
	return 0;
}
