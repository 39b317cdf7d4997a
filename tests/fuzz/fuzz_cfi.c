/* libFuzzer target for the unwind-table compiler (user/binary/cfi.c): the input becomes an ELF
 * file (whole, or the CFI sections of a synthetic one: see fuzz_cfi.h) in a memfd,
 * compiled with at_cfi__build, its table checked for its invariants and walked with
 * at_cfi_step. Built with -fsanitize=fuzzer,address,undefined by `make fuzz`
 * (build/fuzz/fuzz_cfi); seeds: small real ELF files and their CFI sections.
 * A crash found here becomes a case of tests/unit/test_fuzz_regress.c, or a hand-made
 * one in tests/unit/test_cfi.c (test_hostile_cfi holds the first: a register of 2^26). */
#include "fuzz_cfi.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int fd = -1;

	if (fd < 0)
		fd = memfd_create("fuzz_cfi", MFD_CLOEXEC);
	if (fd < 0)
		return 0;
	fuzz_cfi_one(fd, data, size);
	return 0;
}
