/* libFuzzer target for alloctop's ELF code (user/binary/elf.c): the input is written to a
 * memfd, opened with at_elf__open and then queried the way attach.c and symbolize.c
 * do: functions by name, addresses to symbols, relocations, code bytes, file offset
 * <-> address conversions. Built with -fsanitize=fuzzer,address,undefined by
 * `make fuzz` (build/fuzz/fuzz_elf), which runs it for FUZZ_SECONDS from a seed corpus
 * of real ELF files copied into build/fuzz/seed at run time.
 *
 * A crash found here becomes a unit test: tests/unit/test_fuzz_regress.c feeds the
 * saved input (as a C byte array) through the same code, see fuzz_elf_one() below. */
#include "fuzz_elf.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int fd = -1;

	if (fd < 0)
		fd = memfd_create("fuzz_elf", MFD_CLOEXEC);
	if (fd < 0)
		return 0;
	fuzz_elf_one(fd, data, size);
	return 0;
}
