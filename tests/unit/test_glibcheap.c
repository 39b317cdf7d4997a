/* glibc's heap read from outside (binary/glibclayout, model/glibcheap) against a forked
 * child's own mallinfo2(): layout from libc's DWARF (libc6-dbg), the walk exact. */
#include "unit.h"
#include "binary/dwarf.h"
#include "binary/elf.h"
#include "binary/procmaps.h"
#include "model/glibcheap.h"
#include <dlfcn.h>
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

struct libc {
	struct at_elf *elf, *dbg;
	const struct at_vma *v;
	struct at_maps maps;
};

static bool find_libc(int pid, struct libc *lc)
{
	memset(lc, 0, sizeof(*lc));
	if (at_maps__read(pid, &lc->maps))
		return false;
	for (size_t i = 0; i < lc->maps.n && !lc->v; i++)
		if (lc->maps.v[i].path && strstr(lc->maps.v[i].path, "/libc.so.6") && lc->maps.v[i].exec)
			lc->v = &lc->maps.v[i];
	if (!lc->v || !(lc->elf = at_elf__open_path(lc->v->path)))
		return false;
	lc->dbg = at_debugfile_find(pid, lc->v->path, lc->elf, lc->v->dev, lc->v->ino);
	return true;
}

static void free_libc(struct libc *lc)
{
	at_elf__close(lc->dbg);
	at_elf__close(lc->elf);
	at_maps__fini(&lc->maps);
}

/* glibc's own functions, taken from libc itself: a sanitizer build interposes its own
 * malloc (and mallinfo2), whose heap is not glibc's. */
struct glibc_fns {
	void *(*malloc)(size_t);
	void (*free)(void *);
	int (*mallopt)(int, int);
	struct mallinfo2 (*mallinfo2)(void);
};

static bool glibc_fns(struct glibc_fns *f)
{
	void *h = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);

	if (!h)
		return false;
	f->malloc = (void *(*)(size_t))dlsym(h, "malloc");
	f->free = (void (*)(void *))dlsym(h, "free");
	f->mallopt = (int (*)(int, int))dlsym(h, "mallopt");
	f->mallinfo2 = (struct mallinfo2(*)(void))dlsym(h, "mallinfo2");
	return f->malloc && f->free && f->mallopt && f->mallinfo2;
}

/* The child: a heap with live, freed (tcache, fastbin, bins) and mmapped chunks, its
 * mallinfo2 written to the pipe; then it waits to be killed. */
static void child(int fd)
{
	static void *b[30000];
	struct glibc_fns g;
	struct mallinfo2 mi;

	if (!glibc_fns(&g))
		_exit(1);
	for (int i = 0; i < 30000; i++)
		b[i] = g.malloc(i % 3 ? 48 : 700);
	for (int i = 0; i < 30000; i += 3)
		g.free(b[i]);
	for (int i = 1; i < 200; i += 2)
		if (i % 3)	/* the multiples of 3 are gone already */
			g.free(b[i]);
	g.mallopt(M_MMAP_THRESHOLD, 128 * 1024);	/* the parent's frees may have raised it */
	b[0] = g.malloc(300 * 1024);
	__asm__ volatile("" ::"r"(b) : "memory");
	mi = g.mallinfo2();
	if (write(fd, &mi, sizeof(mi)) != sizeof(mi))
		_exit(1);
	pause();
	_exit(0);
}

/* A main arena whose top lies 4 GiB below its brk heap, and one whose top chunk runs
 * past every mapping (states a census met in processes not on glibc's malloc): the read
 * says why, and no region is made of them. */
static void corrupt_top(int pid, const struct at_glibc_layout *l, __u64 bias)
{
	__u64 top_at = bias + l->main_arena + l->ms_top.off, top, base, huge = 1ULL << 50;
	struct at_gheap g;
	char path[64], why[256] = "";
	int mem;

	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	mem = open(path, O_RDWR | O_CLOEXEC);
	CHECK(mem >= 0);
	if (mem < 0)
		return;
	CHECK(pread(mem, &top, 8, (off_t)top_at) == 8);
	CHECK(pread(mem, &base, 8, (off_t)(bias + l->mp + l->mp_sbrk_base.off)) == 8);
	base -= 1ULL << 32;
	CHECK(pwrite(mem, &base, 8, (off_t)top_at) == 8);
	CHECK(at_gheap_read(pid, l, bias, &g, why, sizeof(why)) == -1);
	CHECK(strstr(why, "not in its brk heap") != NULL);
	CHECK_EQ_U(g.nr_regions, 0);
	CHECK(pwrite(mem, &top, 8, (off_t)top_at) == 8);
	CHECK(pwrite(mem, &huge, 8, (off_t)(top + l->mc_size.off)) == 8);	/* top's size */
	CHECK(at_gheap_read(pid, l, bias, &g, why, sizeof(why)) == -1);
	CHECK(strstr(why, "outside the mappings") != NULL);
	CHECK_EQ_U(g.nr_regions, 0);
	close(mem);
}

static void test_child_heap_matches_mallinfo2(void)
{
	struct at_glibc_layout l;
	struct mallinfo2 mi;
	struct at_gheap g;
	struct libc lc;
	char why[256];
	__u64 bias;
	int p[2];
	pid_t pid;

	CHECK(find_libc(getpid(), &lc) && lc.dbg);
	if (!lc.dbg) {
		free_libc(&lc);
		return;
	}
	CHECK(at_glibc_layout_read(lc.dbg, &l, why, sizeof(why)) == 0);
	CHECK_EQ_U(l.mc_size.off, 8);	/* the x86-64 chunk header, as a cross-check of the DWARF read */
	CHECK_EQ_U(l.mc_fd.off, 16);
	CHECK(l.main_arena && l.mp && l.tcache_key && l.ms_size > l.ms_system_mem.off);
	CHECK(at_elf_map_bias(lc.elf, lc.v->pgoff, lc.v->end - lc.v->start, lc.v->start, &bias) == 0);
	CHECK(pipe(p) == 0);
	pid = fork();
	if (pid == 0)
		child(p[1]);
	close(p[1]);	/* a child that dies ends the read */
	CHECK(read(p[0], &mi, sizeof(mi)) == sizeof(mi));
	CHECK(at_gheap_read(pid, &l, bias, &g, why, sizeof(why)) == 0);
	CHECK_EQ_U(g.mi.arena, mi.arena);
	CHECK_EQ_U(g.mi.ordblks, mi.ordblks);
	CHECK_EQ_U(g.mi.smblks, mi.smblks);
	CHECK_EQ_U(g.mi.fsmblks, mi.fsmblks);
	CHECK_EQ_U(g.mi.uordblks, mi.uordblks);
	CHECK_EQ_U(g.mi.fordblks, mi.fordblks);
	CHECK_EQ_U(g.mi.hblks, mi.hblks);
	CHECK_EQ_U(g.mi.hblkhd, mi.hblkhd);
	CHECK_EQ_U(g.mi.keepcost, mi.keepcost);
	CHECK_EQ_U(mi.hblks, 1);
	CHECK_EQ_U(g.mmapped_found, 1);
	CHECK(g.mi.tcache_count > 0);	/* 48 B and 700 B bins hold 7 each, unless the parent's were full */
	at_gheap_free(&g);
	corrupt_top(pid, &l, bias);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	close(p[0]);
	free_libc(&lc);
}

static void test_layout_without_dwarf(void)
{
	struct at_glibc_layout l;
	struct at_elf *e = at_elf__open_path("/proc/self/exe");
	char why[256] = "";

	/* this test binary has DWARF, but no malloc_state: the read names what is missing */
	CHECK(e != NULL);
	if (!e)
		return;
	CHECK(at_glibc_layout_read(e, &l, why, sizeof(why)) == -1);
	CHECK(strstr(why, "not in libc's debug info") != NULL);
	at_elf__close(e);
}

int main(void)
{
	struct libc lc;
	bool dbg = find_libc(getpid(), &lc) && lc.dbg;

	free_libc(&lc);
	if (dbg)
		RUN(test_child_heap_matches_mallinfo2);
	else
		SKIP(test_child_heap_matches_mallinfo2, "no libc debug file (install libc6-dbg)");
	RUN(test_layout_without_dwarf);
	return UNIT_DONE();
}
