/* FDE enumeration for cfi.c, and the vetting that keeps libdw safe on hostile files.
 *
 * libdw sizes every frame state by the largest register a rule names, up to 2^27
 * registers (2 GB, cleared at each dwarf_cfi_addrframe), and copies the whole state for
 * each DW_CFA_remember_state. So before libdw sees a section, each CIE's and FDE's
 * instructions are walked for their operand sizes only (nothing is interpreted: libdw
 * does that): an unknown opcode, an operand past the end, a register above MAX_REG or
 * remember_state nested deeper than MAX_DEPTH turns the entry's instructions into
 * DW_CFA_nop in our copy, and an FDE so neutralized (or whose CIE was) gives no rows. */
#include "binary/cfi_int.h"
#include "lib/util.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAX_REG 128	/* x86-64 DWARF registers end at 125 (k7) */
#define MAX_DEPTH 64	/* remember_state nesting; compilers use 1 or 2 */

static const unsigned char enc_sizes[16] = {
	[DW_EH_PE_absptr] = 8, [DW_EH_PE_udata2] = 2, [DW_EH_PE_udata4] = 4, [DW_EH_PE_udata8] = 8,
	[DW_EH_PE_sdata2] = 2, [DW_EH_PE_sdata4] = 4, [DW_EH_PE_sdata8] = 8,
};

/* One DW_EH_PE-encoded value (fixed-size formats; pcrel relative to the field's own
 * address field_va). false for encodings FDE addresses do not use on x86-64. */
static bool read_encoded(const uint8_t **p, const uint8_t *end, int enc, __u64 field_va, __u64 *val)
{
	unsigned int size = enc_sizes[enc & 0x0f];
	__u64 v = 0;

	if (!size || (enc & 0x70) > DW_EH_PE_pcrel || (enc & DW_EH_PE_indirect) || end - *p < size)
		return false;
	for (unsigned int i = 0; i < size; i++)
		v |= (__u64)(*p)[i] << (8 * i);
	if ((enc & DW_EH_PE_signed) && size < 8 && (v >> (8 * size - 1)) & 1)
		v |= ~0ULL << (8 * size);	/* sdata2, sdata4: sign-extend */
	if ((enc & 0x70) == DW_EH_PE_pcrel)
		v += field_va;
	*p += size;
	*val = v;
	return true;
}

/* A ULEB128 or SLEB128 (the same length rules); *v gets the unsigned value. */
static bool leb(const uint8_t **p, const uint8_t *end, __u64 *v)
{
	*v = 0;
	for (unsigned int shift = 0; *p < end && shift < 64; shift += 7) {
		uint8_t b = *(*p)++;

		*v |= (__u64)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return true;
	}
	return false;
}

static bool reg_ok(const uint8_t **p, const uint8_t *end)
{
	__u64 r;

	return leb(p, end, &r) && r < MAX_REG;
}

/* A DWARF expression: its length, then its bytes. */
static bool block_ok(const uint8_t **p, const uint8_t *end)
{
	__u64 len;

	if (!leb(p, end, &len) || len > (__u64)(end - *p))
		return false;
	*p += len;
	return true;
}

/* One extended (low-bits-zero) instruction's operands; loc_size: DW_CFA_set_loc's. */
static bool operands_ok(int op, const uint8_t **p, const uint8_t *end, unsigned int loc_size, int *depth)
{
	__u64 v;

	switch (op) {
	case DW_CFA_nop: case DW_CFA_GNU_window_save:
		return true;
	case DW_CFA_remember_state:
		return ++*depth <= MAX_DEPTH;
	case DW_CFA_restore_state:
		return --*depth >= 0;
	case DW_CFA_set_loc: case DW_CFA_advance_loc1: case DW_CFA_advance_loc2: case DW_CFA_advance_loc4:
		v = op == DW_CFA_set_loc ? loc_size : op == DW_CFA_advance_loc4 ? 4 : (__u64)op - 1;
		return (__u64)(end - *p) >= v && (*p += v, true);
	case DW_CFA_restore_extended: case DW_CFA_undefined: case DW_CFA_same_value: case DW_CFA_def_cfa_register:
		return reg_ok(p, end);
	case DW_CFA_offset_extended: case DW_CFA_def_cfa: case DW_CFA_offset_extended_sf: case DW_CFA_def_cfa_sf:
	case DW_CFA_val_offset: case DW_CFA_val_offset_sf: case DW_CFA_GNU_negative_offset_extended:
		return reg_ok(p, end) && leb(p, end, &v);
	case DW_CFA_register:
		return reg_ok(p, end) && reg_ok(p, end);
	case DW_CFA_def_cfa_offset: case DW_CFA_def_cfa_offset_sf: case DW_CFA_GNU_args_size:
		return leb(p, end, &v);
	case DW_CFA_expression: case DW_CFA_val_expression:
		return reg_ok(p, end) && block_ok(p, end);
	case DW_CFA_def_cfa_expression:
		return block_ok(p, end);
	default:
		return false;
	}
}

/* Whether libdw can run the instructions [p, end) in bounded time and memory. */
static bool insns_ok(const uint8_t *p, const uint8_t *end, unsigned int loc_size)
{
	int depth = 0;
	__u64 v;

	while (p < end) {
		uint8_t op = *p++;

		if ((op & 0xc0) == DW_CFA_offset) {
			if (!leb(&p, end, &v))	/* register in the low bits, offset after */
				return false;
		} else if (!(op & 0xc0) && !operands_ok(op, &p, end, loc_size, &depth)) {
			return false;
		}
	}
	return true;
}

/* What an FDE needs from its CIE. */
struct cie {
	Dwarf_Off off;
	int enc;	/* encoding of FDE addresses; -1: unusable CIE */
	bool z;		/* FDEs carry augmentation data, after its length */
	size_t insn_len;
};

/* The FDE address encoding from a CIE's augmentation ('R' of "zR", "zPLR", ...);
 * absptr without one (.debug_frame); -1 when it cannot be known. */
static int fde_encoding(const Dwarf_CIE *cie, const uint8_t *data_end, bool *z)
{
	const char *a = cie->augmentation;
	const uint8_t *d = cie->augmentation_data, *end = d ? d + cie->augmentation_data_size : NULL;
	size_t len = a ? strnlen(a, (size_t)((const char *)data_end - a)) : 0;

	*z = len && a[0] == 'z';
	if (!len)
		return DW_EH_PE_absptr;
	if (!*z || !d || end > data_end)
		return -1;
	for (size_t i = 1; i < len; i++) {
		__u64 ignored;

		if (a[i] == 'R')
			return d < end ? *d : -1;
		if (a[i] == 'L' && d < end) {
			d++;
		} else if (a[i] == 'P' && d < end) {
			int penc = *d++;	/* the personality routine's address follows */

			if (!read_encoded(&d, end, penc & 0x0f, 0, &ignored))
				return -1;
		} else if (a[i] != 'S' && a[i] != 'B') {
			return -1;
		}
	}
	return DW_EH_PE_absptr;
}

/* Makes an entry harmless in our copy: its instructions nops; for a CIE also an
 * invalid version (0), so that libdw and cie_get reject it and every FDE using it. */
static void neutralize(Elf_Data *data, Dwarf_Off off, const uint8_t *insn, const uint8_t *insn_end, bool cie)
{
	uint8_t *buf = data->d_buf;
	__u32 len;
	size_t ver;

	memset(buf + (insn - buf), DW_CFA_nop, (size_t)(insn_end - insn));
	if (!cie || off + 4 > data->d_size)
		return;
	memcpy(&len, buf + off, 4);
	ver = off + (len == 0xffffffff ? 20 : 8);
	if (ver < data->d_size)
		buf[ver] = 0;
}

/* The CIE at off (the last one is remembered: a handful serve thousands of FDEs). */
static const struct cie *cie_get(const unsigned char *ident, Elf_Data *data, bool eh, Dwarf_Off off,
				 struct cie *c)
{
	const uint8_t *end = (const uint8_t *)data->d_buf + data->d_size;
	Dwarf_CFI_Entry ent;
	Dwarf_Off next;

	if (c->off == off)
		return c->enc >= 0 ? c : NULL;
	*c = (struct cie){ .off = off, .enc = -1 };
	if (off >= data->d_size || dwarf_next_cfi(ident, data, eh, off, &next, &ent) || !dwarf_cfi_cie_p(&ent) ||
	    ent.cie.initial_instructions > ent.cie.initial_instructions_end ||
	    ent.cie.initial_instructions_end > end)
		return NULL;
	c->enc = fde_encoding(&ent.cie, end, &c->z);
	c->insn_len = (size_t)(ent.cie.initial_instructions_end - ent.cie.initial_instructions);
	if (c->enc < 0 || ent.cie.return_address_register >= MAX_REG ||
	    !insns_ok(ent.cie.initial_instructions, ent.cie.initial_instructions_end, enc_sizes[c->enc & 0x0f])) {
		neutralize(data, off, ent.cie.initial_instructions, ent.cie.initial_instructions_end, true);
		c->enc = -1;
	}
	return c->enc >= 0 ? c : NULL;
}

/* An FDE's range, vetted; false (and neutralized when its instructions are not safe)
 * when it gives no rows. */
static bool fde_get(const unsigned char *ident, Elf_Data *data, bool eh, __u64 sh_addr, Dwarf_Off off,
		    const Dwarf_FDE *fde, struct cie *cc, struct at_cfi_fde *f)
{
	const struct cie *c = cie_get(ident, data, eh, fde->CIE_pointer, cc);
	const uint8_t *p = fde->start, *end = fde->end;
	__u64 lo, len, aug;

	if (!c || end < p || end > (const uint8_t *)data->d_buf + data->d_size ||
	    !read_encoded(&p, end, c->enc, sh_addr + (__u64)(p - (const uint8_t *)data->d_buf), &lo) ||
	    !read_encoded(&p, end, c->enc & 0x0f, 0, &len) ||
	    (c->z && (!leb(&p, end, &aug) || aug > (__u64)(end - p))))
		return false;
	if (c->z)
		p += aug;
	if (!insns_ok(p, end, enc_sizes[c->enc & 0x0f])) {
		neutralize(data, off, p, end, false);
		return false;
	}
	/* 0 (and -1, -2 beyond 32 bits): tombstones of code the linker dropped */
	if (!lo || !len || lo >= UINT32_MAX || len > UINT32_MAX - lo)
		return false;
	*f = (struct at_cfi_fde){ lo, lo + len, (size_t)(end - p) + c->insn_len + 1 };
	return true;
}

size_t at_cfi_scan(const unsigned char *ident, unsigned char *buf, size_t size, __u64 sh_addr, bool eh,
		   struct at_cfi_fde **out)
{
	Elf_Data data = { .d_buf = buf, .d_type = ELF_T_BYTE, .d_size = size, .d_version = EV_CURRENT };
	struct cie cc = { .off = (Dwarf_Off)-1 };
	Dwarf_Off off = 0, next;
	size_t n = 0, cap = 0;

	*out = NULL;
	for (;; off = next) {
		Dwarf_CFI_Entry ent;
		int rc;

		next = (Dwarf_Off)-1;
		rc = dwarf_next_cfi(ident, &data, eh, off, &next, &ent);
		if (rc > 0 || next == (Dwarf_Off)-1 || next <= off)
			break;	/* the end, or an error libdw cannot skip */
		if (rc < 0)
			continue;
		if (dwarf_cfi_cie_p(&ent)) {
			cie_get(ident, &data, eh, off, &cc);	/* vetted even if no FDE uses it */
			continue;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 256;
			*out = at_xrealloc(*out, cap, sizeof(**out));
		}
		if (fde_get(ident, &data, eh, sh_addr, off, &ent.fde, &cc, &(*out)[n]))
			n++;
	}
	return n;
}
