/* Inputs the ELF fuzz target (tests/fuzz/fuzz_elf.c, make fuzz) found to crash or to
 * trip a sanitizer, fed through the same code (fuzz_elf_one) as regression tests.
 * The plain build checks that nothing crashes; make test-asan builds this with ASan and
 * UBSan, which catch the rest. Add new inputs as byte arrays (xxd -i FILE). */
#include "unit.h"
#include "../fuzz/fuzz_elf.h"

#include <fcntl.h>
#include <sys/mman.h>

/* A 64-byte ELF header whose section table lies outside the file: at_elf__open finds
 * no function symbol and called qsort(NULL, 0, ...) (user/binary/elf.c load()), undefined
 * behaviour (qsort's base is declared nonnull): UBSan "null pointer passed as
 * argument 1, which is declared to never be null". Found by make fuzz in 3 runs;
 * fixed in load() (no qsort of 0 symbols). */
static const unsigned char qsort_null_syms[] = {
	0x7f, 0x45, 0x4c, 0x46, 0x02, 0x01, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x40, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x90, 0x83, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x40, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x02, 0x00,
};

static int run_input(const unsigned char *d, size_t n)
{
	int fd = memfd_create("fuzz_regress", MFD_CLOEXEC);

	if (fd < 0)
		return -1;
	fuzz_elf_one(fd, d, n);
	close(fd);
	return 0;
}

static void test_qsort_null_syms(void)
{
	CHECK(run_input(qsort_null_syms, sizeof(qsort_null_syms)) == 0);
}

/* Every prefix of a real ELF file: truncation at each structure boundary. */
static void test_truncated_prefixes(void)
{
	int fd = open("/proc/self/exe", O_RDONLY);
	static unsigned char buf[1 << 16];
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf)) : -1;

	CHECK(n > 64);
	if (fd >= 0)
		close(fd);
	for (ssize_t len = 0; len < n; len += len < 256 ? 1 : 509)
		CHECK(run_input(buf, (size_t)len) == 0);
}

int main(void)
{
	RUN(test_qsort_null_syms);
	RUN(test_truncated_prefixes);
	return UNIT_DONE();
}
