/* One fuzz iteration over user/binary/cfi.c: shared by the libFuzzer target tests/fuzz/fuzz_cfi.c
 * and the unit tests (tests/unit/test_cfi.c, test_fuzz_regress.c).
 *
 * The first input byte picks the shape: even, the rest is a whole ELF file (seeded with
 * real ones); odd, the rest is cut into the contents of .eh_frame_hdr (bit 1 set),
 * .eh_frame and .debug_frame of a small synthetic x86-64 ELF, so that mutations land in
 * the CFI itself rather than in ELF headers libelf rejects. */
#ifndef AT_FUZZ_CFI_H
#define AT_FUZZ_CFI_H

#include "binary/cfi.h"
#include "binary/elf.h"

#include <linux/elf.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile uint64_t fuzz_cfi_sink;

/* The table's promises: sorted by strictly increasing pc, known types and rules,
 * consecutive rows differ, no NONE first, and at_cfi_find finds each row. */
static int fuzz_cfi_valid(const struct at_cfi *c)
{
	for (size_t i = 0; i < c->nr; i++) {
		const struct at_cfi_row *r = &c->rows[i];

		if ((i && r->pc <= r[-1].pc) || r->cfa_type > AT_CFA_END || r->rbp_rule > AT_RBP_OFFSET ||
		    (!i && r->cfa_type == AT_CFA_NONE) || at_cfi_find(c, r->pc) != r ||
		    (i && !memcmp((const char *)r + 4, (const char *)&r[-1] + 4, sizeof(*r) - 4)))
			return 0;
		if ((r->cfa_type == AT_CFA_NONE || r->cfa_type == AT_CFA_END) &&
		    (r->cfa_off || r->rbp_off || r->rbp_rule))
			return 0;
	}
	return c->nr ? c->source != AT_CFI_SRC_NONE : c->source == AT_CFI_SRC_NONE && !c->rows;
}

/* Memory for at_cfi_step: words made of the input. */
struct fuzz_cfi_mem {
	const uint8_t *data;
	size_t size;
};

static int fuzz_cfi_read(void *ctx, __u64 addr, __u64 *val)
{
	struct fuzz_cfi_mem *m = ctx;

	if (addr % 3 == 0 || m->size < 8)
		return -1;
	memcpy(val, m->data + addr % (m->size - 7), 8);
	return 0;
}

static void fuzz_cfi_use(const struct at_cfi *c, const uint8_t *data, size_t size)
{
	struct fuzz_cfi_mem mem = { data, size };

	if (!fuzz_cfi_valid(c))
		abort();
	for (size_t i = 0; i < c->nr && i < 64; i++) {
		struct at_regs r = { .pc = c->rows[i].pc + 0x1000, .rsp = 0x7ff0000 + i, .rbp = 0x7ff8000 - i };

		for (int k = 0; k < 4 && at_cfi_step(c, 0x1000, &r, fuzz_cfi_read, &mem) == 1; k++)
			fuzz_cfi_sink += r.pc + r.rsp + r.rbp;
	}
}

/* A section of the synthetic ELF: name offset in .shstrtab, contents, address. */
struct fuzz_cfi_scn {
	uint32_t name;
	const uint8_t *data;
	size_t size;
	uint64_t addr;
};

/* Writes a small x86-64 shared object holding the given sections to fd. */
static int fuzz_cfi_synth(int fd, const struct fuzz_cfi_scn *scn, int n)
{
	static const char names[] = "\0.shstrtab\0.eh_frame_hdr\0.eh_frame\0.debug_frame";
	Elf64_Ehdr eh = { .e_type = ET_DYN, .e_machine = EM_X86_64, .e_version = EV_CURRENT,
			  .e_ehsize = sizeof(Elf64_Ehdr), .e_shentsize = sizeof(Elf64_Shdr),
			  .e_shnum = (Elf64_Half)(n + 2), .e_shstrndx = 1 };
	Elf64_Shdr sh[6] = { { 0 } };
	size_t off = sizeof(eh);

	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	sh[1] = (Elf64_Shdr){ .sh_name = 1, .sh_type = SHT_STRTAB, .sh_offset = off, .sh_size = sizeof(names) };
	if (pwrite(fd, names, sizeof(names), (off_t)off) != (ssize_t)sizeof(names))
		return -1;
	off += sizeof(names);
	for (int i = 0; i < n; i++) {
		sh[i + 2] = (Elf64_Shdr){ .sh_name = scn[i].name, .sh_type = SHT_PROGBITS, .sh_flags = SHF_ALLOC,
					  .sh_addr = scn[i].addr, .sh_offset = off, .sh_size = scn[i].size,
					  .sh_addralign = 1 };
		if (scn[i].size && pwrite(fd, scn[i].data, scn[i].size, (off_t)off) != (ssize_t)scn[i].size)
			return -1;
		off += scn[i].size;
	}
	off = (off + 7) & ~(size_t)7;
	eh.e_shoff = off;
	if (pwrite(fd, sh, (size_t)(n + 2) * sizeof(sh[0]), (off_t)off) != (ssize_t)((size_t)(n + 2) * sizeof(sh[0])) ||
	    pwrite(fd, &eh, sizeof(eh), 0) != (ssize_t)sizeof(eh))
		return -1;
	return 0;
}

/* Cuts data into the synthetic ELF's sections: a 2-byte length before each but the last. */
static int fuzz_cfi_split(int fd, const uint8_t *data, size_t size, int with_hdr)
{
	static const uint32_t name[] = { 11, 25, 35 };	/* .eh_frame_hdr, .eh_frame, .debug_frame */
	static const uint64_t addr[] = { 0x2000, 0x3000, 0 };
	struct fuzz_cfi_scn scn[3];
	int n = 0;

	for (int i = with_hdr ? 0 : 1; i < 3; i++) {
		size_t len = size;

		if (i < 2 && size >= 2) {
			len = (size_t)data[0] | (size_t)data[1] << 8;
			data += 2;
			size -= 2;
			len = len < size ? len : size;
		}
		scn[n++] = (struct fuzz_cfi_scn){ name[i], data, len, addr[i] };
		data += len;
		size -= len;
	}
	return fuzz_cfi_synth(fd, scn, n);
}

/* Writes the input's file to fd (a memfd) and compiles it as a module, and as its own
 * debug file. */
static void fuzz_cfi_one(int fd, const uint8_t *data, size_t size)
{
	struct at_cfi c;
	struct at_elf *e;

	if (!size || ftruncate(fd, 0))
		return;
	if (!(data[0] & 1)) {
		if (size > 1 && pwrite(fd, data + 1, size - 1, 0) != (ssize_t)(size - 1))
			return;
	} else if (fuzz_cfi_split(fd, data + 1, size - 1, data[0] & 2)) {
		return;
	}
	e = at_elf__open(fd, "fuzz");
	if (!e)
		return;
	if (at_cfi__build(e, NULL, &c) == 0) {
		fuzz_cfi_use(&c, data, size);
		at_cfi__fini(&c);
	}
	if (at_cfi__build(e, e, &c) == 0) {
		fuzz_cfi_use(&c, data, size);
		at_cfi__fini(&c);
	}
	at_elf__close(e);
}

#endif
