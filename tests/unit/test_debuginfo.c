/* Readable stacks: demangling, build-id and debuglink reading, separate debug files,
 * and DWARF source lines with inlined frames, against this very binary (built -O2 -g). */
#include "unit.h"
#include "binary/demangle.h"
#include "binary/dwarf.h"
#include "binary/elf.h"
#include "binary/elfcache.h"
#include "symbolize/symbolize.h"
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static void test_demangle(void)
{
	char *s;

	s = at_demangle("_ZN6shapes4PoolINS_5PointEE4grabEm");
	CHECK_STR(s, "shapes::Pool<shapes::Point>::grab(unsigned long)");
	free(s);
	s = at_demangle("_ZZN6shapes5buildERNS_4PoolINS_5PointEEEENKUliE_clEi");
	CHECK_STR(s, "shapes::build(shapes::Pool<shapes::Point>&)::{lambda(int)#1}::operator()(int) const");
	free(s);
	/* Rust legacy: the hash is dropped */
	s = at_demangle("_ZN10rust_alloc5arena14Arena$LT$T$GT$4grab17h73c6c4917e16748cE");
	CHECK_STR(s, "rust_alloc::arena::Arena<T>::grab");
	free(s);
	/* Rust v0 */
	s = at_demangle("_RNvMNtCsh5EY01mJyTf_10rust_alloc5arenaINtB2_5ArenayE4grabB4_");
	CHECK_STR(s, "<rust_alloc::arena::Arena<u64>>::grab");
	free(s);
	s = at_demangle("_RNvCsh5EY01mJyTf_10rust_alloc3run");
	CHECK_STR(s, "rust_alloc::run");
	free(s);
	CHECK(at_demangle("malloc") == NULL);
	CHECK(at_demangle("_start") == NULL);
	CHECK(at_demangle("_Znot a name") == NULL);
	CHECK(at_demangle(NULL) == NULL);
}

/* ---- an inlined call whose return address the test captures ---- */

static volatile uintptr_t captured_ra;
static int inner_line, outer_line;

__attribute__((noinline)) static void capture(void)
{
	captured_ra = (uintptr_t)__builtin_return_address(0);
	__asm__ volatile("" ::: "memory");
}

static inline __attribute__((always_inline)) int unit_inlined_helper(int x)
{
	capture(); inner_line = __LINE__;
	return x + 1;
}

__attribute__((noinline, used)) int unit_outer_function(int x)
{
	int r = unit_inlined_helper(x); outer_line = __LINE__;

	__asm__ volatile("" ::: "memory");
	return r * 2;
}

static void test_inline_frames_self(void)
{
	struct at_elfcache *ec = at_elfcache__new();
	struct at_symbolizer *s = at_symbolizer__new(ec);
	struct at_frame f[AT_MAX_INLINE], one;
	char buf[256];
	int n;

	CHECK_EQ_U(unit_outer_function(1), 4);
	at_symbolizer_note_pid(s, getpid());
	n = at_symbolize_full(s, getpid(), captured_ra, f, AT_MAX_INLINE);
	CHECK_EQ_U(n, 2);
	if (n == 2) {
		CHECK_STR(f[0].symbol, "unit_inlined_helper");
		CHECK(f[0].inlined);
		CHECK_EQ_U(f[0].offset, 0);
		CHECK_EQ_U(f[0].line, inner_line);
		CHECK(f[0].file && strstr(f[0].file, "tests/unit/test_debuginfo.c"));
		CHECK(f[0].file && f[0].file[0] == '/');	/* made absolute with DW_AT_comp_dir */
		CHECK_STR(f[1].symbol, "unit_outer_function");
		CHECK_STR(f[1].raw_symbol, "unit_outer_function");
		CHECK(!f[1].inlined);
		CHECK_EQ_U(f[1].line, outer_line);
		CHECK_EQ_U(f[1].offset, captured_ra - (uintptr_t)unit_outer_function);
		CHECK_STR(at_frame_str(&f[0], buf, sizeof(buf)), "unit_inlined_helper [inlined]");
		CHECK_STR(at_frame_name(&f[0], buf, sizeof(buf)), "unit_inlined_helper");
		CHECK(f[1].build_id && strlen(f[1].build_id) >= 16);
		CHECK(f[1].map_start <= captured_ra && captured_ra < f[1].map_end);
	}
	/* only one frame asked for: the real function */
	CHECK_EQ_U(at_symbolize_full(s, getpid(), captured_ra, f, 1), 1);
	CHECK_STR(f[0].symbol, "unit_outer_function");
	at_symbolize(s, getpid(), captured_ra, &one);
	CHECK_STR(one.symbol, "unit_outer_function");
	CHECK(!one.inlined);
	CHECK_EQ_U(one.line, outer_line);
	/* a forgotten process is read again */
	at_symbolizer_forget_pid(s, getpid());
	at_symbolize(s, getpid(), captured_ra, &one);
	CHECK_STR(one.symbol, "unit_outer_function");
	CHECK_EQ_U(one.line, outer_line);
	at_symbolizer_forget_pid(s, 999999999);
	/* unnamed frames say where they are */
	at_symbolize(s, getpid(), 0x10, &one);
	CHECK(one.symbol == NULL && one.file == NULL && one.line == 0);
	CHECK_STR(at_frame_name(&one, buf, sizeof(buf)), "[unknown]");
	at_symbolizer__free(s);
	at_elfcache__free(ec);
}

static void test_frame_names(void)
{
	struct at_frame f = { .module = "/usr/lib/libfoo.so.1", .offset = 0x1234 };
	char buf[128];

	CHECK_STR(at_frame_name(&f, buf, sizeof(buf)), "libfoo.so.1+0x1234");
	CHECK_STR(at_frame_str(&f, buf, sizeof(buf)), "libfoo.so.1+0x1234");
	f.module = "[anon]";
	CHECK_STR(at_frame_name(&f, buf, sizeof(buf)), "[anon]");
	f.module = "[vdso]";
	CHECK_STR(at_frame_name(&f, buf, sizeof(buf)), "[vdso]");
	f.symbol = "ns::f(int)";
	f.offset = 3;
	CHECK_STR(at_frame_name(&f, buf, sizeof(buf)), "ns::f(int)");
	CHECK_STR(at_frame_str(&f, buf, sizeof(buf)), "ns::f(int)+0x3");
}

static struct at_elf *open_elf(const char *path, struct stat *st)
{
	int fd = open(path, O_RDONLY);
	struct at_elf *e;

	if (fd < 0)
		return NULL;
	if (st)
		fstat(fd, st);
	e = at_elf__open(fd, path);
	close(fd);
	return e;
}

static int sh(const char *cmd)
{
	int rc = system(cmd);

	if (rc)
		fprintf(stderr, "  command failed (%d): %s\n", rc, cmd);
	return rc;
}

/* A stripped copy of this binary with a .gnu_debuglink, its debug file moved around. */
static void test_debuglink_lookup(void)
{
	char dir[] = "/tmp/at-unit-dbg-XXXXXX", cmd[1024], prog[256], dbg[256], sub[256];
	const unsigned char *bid, *bid2;
	struct at_elf *self, *e, *d;
	struct stat st;
	size_t len, len2;
	__u32 crc;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(prog, sizeof(prog), "%s/prog", dir);
	snprintf(dbg, sizeof(dbg), "%s/prog.dbg", dir);
	snprintf(sub, sizeof(sub), "%s/.debug", dir);
	self = open_elf("/proc/self/exe", NULL);
	CHECK(self && at_elf_has_dwarf(self));
	bid = self ? at_elf_build_id(self, &len) : NULL;
	CHECK(bid != NULL);
	snprintf(cmd, sizeof(cmd),
		 "objcopy --only-keep-debug /proc/%d/exe %s && objcopy --strip-debug --add-gnu-debuglink=%s "
		 "/proc/%d/exe %s", (int)getpid(), dbg, dbg, (int)getpid(), prog);
	if (sh(cmd)) {
		unit_cur_failed = 1;
		goto out;
	}
	e = open_elf(prog, &st);
	CHECK(e != NULL);
	if (!e)
		goto out;
	CHECK(!at_elf_has_dwarf(e));
	CHECK_STR(at_elf_debuglink(e, &crc), "prog.dbg");
	CHECK(crc != 0);
	bid2 = at_elf_build_id(e, &len2);
	CHECK(bid2 && len2 == len && !memcmp(bid, bid2, len));
	/* next to the file */
	d = at_debugfile_find(0, prog, e, st.st_dev, st.st_ino);
	CHECK(d && at_elf_has_dwarf(d));
	at_elf__close(d);
	/* in .debug/ */
	snprintf(cmd, sizeof(cmd), "mkdir %s && mv %s %s/", sub, dbg, sub);
	CHECK(sh(cmd) == 0);
	d = at_debugfile_find(0, prog, e, st.st_dev, st.st_ino);
	CHECK(d && at_elf_has_dwarf(d));
	at_elf__close(d);
	/* a debug file whose CRC does not match is not used */
	snprintf(cmd, sizeof(cmd), "printf x >> %s/prog.dbg", sub);
	CHECK(sh(cmd) == 0);
	CHECK(at_debugfile_find(0, prog, e, st.st_dev, st.st_ino) == NULL);
	at_elf__close(e);
out:
	at_elf__close(self);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	sh(cmd);
}

/* DWARF read straight from an image: no DWARF in a stripped file gives no handle. */
static void test_dwarf_open(void)
{
	struct at_elf *self = open_elf("/proc/self/exe", NULL);
	struct at_src_frame sf[4];
	struct at_dwarf *d;
	size_t sz;
	void *img;
	int n;

	CHECK(self != NULL);
	if (!self)
		return;
	img = at_elf_image(self, &sz);
	d = at_dwarf__open(img, sz);
	CHECK(d != NULL);
	if (d) {
		const struct at_sym *sym = at_elf_func(self, "unit_outer_function");

		CHECK(sym != NULL);
		/* link-time addresses, as in the file */
		n = sym ? at_dwarf_frames(d, sym->addr + 1, sf, 4) : 0;
		CHECK(n >= 1);
		if (n >= 1) {
			CHECK_STR(sf[n - 1].name, "unit_outer_function");
			CHECK(!sf[n - 1].inlined);
			CHECK(sf[n - 1].has_entry && sf[n - 1].entry == sym->addr);
		}
		CHECK_EQ_U(at_dwarf_frames(d, 0, sf, 4), 0);
		CHECK_EQ_U(at_dwarf_frames(d, sym ? sym->addr : 1, sf, 0), 0);
		at_dwarf__close(d);
	}
	at_elf__close(self);
}

int main(void)
{
	RUN(test_demangle);
	RUN(test_inline_frames_self);
	RUN(test_frame_names);
	RUN(test_debuglink_lookup);
	RUN(test_dwarf_open);
	return UNIT_DONE();
}
