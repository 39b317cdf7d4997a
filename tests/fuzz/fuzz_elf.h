/* One fuzz iteration over user/binary/elf.c (and the probe-site decoder, which reads the
 * code bytes at_elf_code returns): shared by the libFuzzer target tests/fuzz/fuzz_elf.c
 * and the regression unit test tests/unit/test_fuzz_regress.c. */
#ifndef AT_FUZZ_ELF_H
#define AT_FUZZ_ELF_H

#include "binary/elf.h"
#include "probe/probesite.h"

#include <stdint.h>
#include <string.h>
#include <unistd.h>

static volatile uint64_t fuzz_elf_sink;

static void fuzz_elf_reloc(void *ctx, const char *name, __u64 slot)
{
	*(uint64_t *)ctx += strlen(name) + slot;
}

/* Touches every byte a caller may rely on: the name, and the code window. */
static void fuzz_elf_sym(const struct at_elf *e, const struct at_sym *s, int probe)
{
	const unsigned char *code;
	__u64 off, va;
	size_t avail = 0;

	if (!s)
		return;
	fuzz_elf_sink += strlen(s->name) + s->size;
	if (at_elf_lookup(e, s->addr, &off))
		fuzz_elf_sink += off;
	if (s->size && at_elf_lookup(e, s->addr + s->size - 1, &off))
		fuzz_elf_sink += off;
	if (!at_elf_vaddr_to_off(e, s->addr, &off) && !at_elf_off_to_vaddr(e, off, &va))
		fuzz_elf_sink += va;
	code = at_elf_code(e, s->addr, &avail);
	if (code && avail) {
		size_t n = avail < 64 ? avail : 64;

		for (size_t i = 0; i < n; i++)
			fuzz_elf_sink += code[i];
		fuzz_elf_sink += code[avail - 1];
	}
	if (probe)
		fuzz_elf_sink += at_probe_site(e, s, AT_MALLOC);
}

static uint64_t fuzz_elf_word(const uint8_t *data, size_t size, size_t i)
{
	uint64_t v = 0;

	if (size >= 8)
		memcpy(&v, data + (i * 8) % (size - 7), 8);
	return v;
}

/* Writes data to fd (a memfd) and runs every at_elf_* entry point on it. */
static void fuzz_elf_one(int fd, const uint8_t *data, size_t size)
{
	static const char *const names[] = {
		"malloc", "free", "calloc", "realloc", "memalign", "aligned_alloc", "posix_memalign",
		"mmap", "munmap", "_Znwm", "_ZdlPv", "main", "",
	};
	struct at_elf *e;
	char name[33];
	uint64_t relsum = 0;
	__u64 off, va;

	if (ftruncate(fd, 0) || ftruncate(fd, (off_t)size) ||
	    (size && pwrite(fd, data, size, 0) != (ssize_t)size))
		return;
	e = at_elf__open(fd, "fuzz");
	if (!e)
		return;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		fuzz_elf_sym(e, at_elf_func(e, names[i]), i < 2);
	/* a name taken from the input's tail: finds symbols the fuzzer invented */
	{
		size_t n = size < 32 ? size : 32;

		memcpy(name, data + size - n, n);
		name[n] = 0;
		fuzz_elf_sym(e, at_elf_func(e, name), 1);
	}
	/* addresses and offsets: edge values and words from the input */
	for (size_t i = 0; i < 40; i++) {
		uint64_t a = i == 0 ? 0 : i == 1 ? UINT64_MAX : i == 2 ? 1 : fuzz_elf_word(data, size, i);
		const struct at_sym *s = at_elf_lookup(e, a, &off);

		if (s)
			fuzz_elf_sym(e, s, i < 8);
		if (!at_elf_off_to_vaddr(e, a, &va))
			fuzz_elf_sink += va;
		if (!at_elf_vaddr_to_off(e, a, &off))
			fuzz_elf_sink += off;
		{
			size_t avail = 0;
			const unsigned char *c = at_elf_code(e, a, &avail);

			if (c && avail)
				fuzz_elf_sink += c[0] + c[avail - 1];
		}
	}
	at_elf_relocs(e, fuzz_elf_reloc, &relsum);
	fuzz_elf_sink += relsum + at_elf_is_dyn(e) + strlen(at_elf_label(e));
	at_elf__close(e);
}

#endif
