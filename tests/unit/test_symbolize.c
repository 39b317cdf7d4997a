/* ELF symbol lookup and address symbolization against this very binary and libc. */
#include "unit.h"
#include "binary/elf.h"
#include "binary/elfcache.h"
#include "binary/procmaps.h"
#include "symbolize/symbolize.h"
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

__attribute__((noinline, used)) int unit_marker_function(int x)
{
	__asm__ volatile("" ::: "memory");
	return x * 3 + 1;
}

static void test_elf_func_and_lookup_roundtrip(void)
{
	int fd = open("/proc/self/exe", O_RDONLY);
	struct at_elf *e = at_elf__open(fd, "self");
	const struct at_sym *s, *back;
	__u64 off, fo, va;

	CHECK(e != NULL);
	if (!e)
		return;
	s = at_elf_func(e, "unit_marker_function");
	CHECK(s != NULL);
	CHECK(at_elf_func(e, "no_such_function_anywhere") == NULL);
	if (s) {
		back = at_elf_lookup(e, s->addr + 4, &off);
		CHECK(back != NULL);
		CHECK_STR(back ? back->name : NULL, "unit_marker_function");
		CHECK_EQ_U(off, 4);
		CHECK(at_elf_vaddr_to_off(e, s->addr, &fo) == 0);
		CHECK(at_elf_off_to_vaddr(e, fo, &va) == 0);
		CHECK_EQ_U(va, s->addr);
	}
	at_elf__close(e);
	close(fd);
}

static void test_not_elf(void)
{
	char path[] = "/tmp/at-unit-XXXXXX";
	int fd = mkstemp(path);

	CHECK(write(fd, "this is not an ELF file at all, just some text....", 50) == 50);
	CHECK(at_elf__open(fd, "junk") == NULL);
	close(fd);
	unlink(path);
}

static void test_symbolize_self_and_libc(void)
{
	struct at_elfcache *ec = at_elfcache__new();
	struct at_symbolizer *s = at_symbolizer__new(ec);
	struct at_frame f;
	char buf[256];

	at_symbolizer_note_pid(s, getpid());
	/* a return address points past the call: use one inside the function */
	at_symbolize(s, getpid(), (__u64)(uintptr_t)unit_marker_function + 3, &f);
	CHECK_STR(f.symbol, "unit_marker_function");
	CHECK_EQ_U(f.offset, 3);
	CHECK_STR(at_frame_str(&f, buf, sizeof(buf)), "unit_marker_function+0x3");
	at_symbolize(s, getpid(), (__u64)(uintptr_t)getpid + 1, &f);
	CHECK(f.symbol != NULL);
	CHECK(f.module && strstr(f.module, "libc"));
	at_symbolize(s, getpid(), 0x10, &f);
	CHECK(f.symbol == NULL);
	CHECK_STR(f.module, "[unknown]");
	at_symbolizer__free(s);
	at_elfcache__free(ec);
}

static void test_maps_and_open_mapped(void)
{
	struct at_maps m;
	const struct at_vma *v;
	int fd;

	CHECK(at_maps__read(getpid(), &m) == 0);
	v = at_maps_find(&m, (__u64)(uintptr_t)unit_marker_function);
	CHECK(v && v->exec && at_vma_is_file(v));
	if (v) {
		fd = at_open_mapped(getpid(), v);
		CHECK(fd >= 0);
		if (fd >= 0)
			close(fd);
	}
	CHECK(at_maps_find(&m, 0x10) == NULL);
	at_maps__fini(&m);
	CHECK(at_maps__read(999999999, &m) < 0);
}

int main(void)
{
	RUN(test_elf_func_and_lookup_roundtrip);
	RUN(test_not_elf);
	RUN(test_symbolize_self_and_libc);
	RUN(test_maps_and_open_mapped);
	return UNIT_DONE();
}
