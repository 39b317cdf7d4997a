/* Unwind tables from DWARF CFI. For each source in turn (.eh_frame, .debug_frame of the
 * file, of its debug file) at_cfi_scan lists the FDEs; each FDE no earlier source covers
 * is walked row by row with dwarf_cfi_addrframe, and each libdw frame state becomes a
 * row (NONE when a rule is one the BPF side cannot follow), plus NONE at the FDE's end.
 * Then the rows are sorted, and rows that repeat the rule before them are dropped. */
#include "binary/cfi.h"
#include "binary/cfi_int.h"
#include "lib/util.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <errno.h>
#include <gelf.h>
#include <libelf.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define RBP_REG 6	/* DWARF register numbers, x86-64 */
#define RSP_REG 7
#define RA_REG 16
/* libdw re-runs an FDE's instructions (and its CIE's) from the start for every row, so
 * a section costs the sum of rows x instruction bytes over its FDEs. Real code needs at
 * most ~100 per byte of section (gcc's lto-dump: 220M for 2.3 MB); a section gets 256
 * per byte, past which the rest of each FDE is NONE: hostile input cannot stall us. */
#define WORK_PER_BYTE 256
#define WORK_MIN ((size_t)1 << 22)
#define MAX_RAW ((size_t)1 << 31)	/* the insertion index must fit the sort key */
#define MAX_SECTION ((size_t)256 << 20)	/* a CFI section (decompressed), bytes */

/* A row before sorting: pc << 32 | end-of-FDE marker << 31 | insertion index. A real
 * row sorts before an FDE's end marker at the same pc (the next FDE starts there). */
struct raw {
	__u64 key;
	struct at_cfi_row row;
};

/* An FDE's [lo, hi); maxhi is the largest hi of this and every earlier span once sorted. */
struct span {
	__u64 lo, hi, maxhi;
};

struct builder {
	struct raw *raw;
	size_t nr_raw, cap_raw;
	struct span *spans;	/* FDEs taken; the first nr_done (earlier sources) sorted */
	size_t nr_spans, cap_spans, nr_done;
	size_t nr_fdes, nr_frames;	/* statistics: FDEs, rows libdw gave */
	size_t work_left;	/* of the current section, in instruction bytes run */
};

static void push_row(struct builder *b, struct at_cfi_row row, bool end_marker)
{
	if (b->nr_raw >= MAX_RAW)
		return;
	if (b->nr_raw == b->cap_raw) {
		b->cap_raw = b->cap_raw ? b->cap_raw * 2 : 1024;
		b->raw = at_xrealloc(b->raw, b->cap_raw, sizeof(*b->raw));
	}
	b->raw[b->nr_raw].key = (__u64)row.pc << 32 | (__u64)end_marker << 31 | (b->nr_raw & 0x7fffffff);
	b->raw[b->nr_raw++].row = row;
}

/* ---- libdw frame states to rows ---- */

/* DW_OP_bregN / DW_OP_bregx: register and offset. */
static bool op_breg(const Dwarf_Op *op, int *reg, __s64 *off)
{
	if (op->atom >= DW_OP_breg0 && op->atom <= DW_OP_breg31) {
		*reg = op->atom - DW_OP_breg0;
		*off = (__s64)op->number;
		return true;
	}
	if (op->atom == DW_OP_bregx && op->number < 32) {
		*reg = (int)op->number;
		*off = (__s64)op->number2;
		return true;
	}
	return false;
}

/* The register rule offset(N) (saved at CFA + N), as libdw spells it: call_frame_cfa,
 * then plus_uconst N unless N is 0. */
static bool rule_offset(const Dwarf_Op *ops, size_t n, __s64 *off)
{
	if (n < 1 || n > 2 || ops[0].atom != DW_OP_call_frame_cfa)
		return false;
	if (n == 2 && ops[1].atom != DW_OP_plus_uconst)
		return false;
	*off = n == 2 ? (__s64)ops[1].number : 0;
	return true;
}

/* CFA = rsp + N, rbp + N, or *(rbp + N) (gcc's realigned stack); nothing else. */
static bool cfa_rule(Dwarf_Frame *f, struct at_cfi_row *row)
{
	Dwarf_Op *ops;
	size_t n;
	int reg;
	__s64 off;

	if (dwarf_frame_cfa(f, &ops, &n) || n < 1 || n > 2 || !op_breg(&ops[0], &reg, &off) ||
	    off < INT32_MIN || off > INT32_MAX)
		return false;
	if (n == 2) {
		if (ops[1].atom != DW_OP_deref || reg != RBP_REG)
			return false;
		row->cfa_type = AT_CFA_RBP_DEREF;
	} else if (reg == RSP_REG || reg == RBP_REG) {
		row->cfa_type = reg == RSP_REG ? AT_CFA_RSP : AT_CFA_RBP;
	} else {
		return false;
	}
	row->cfa_off = (__s32)off;
	return true;
}

/* rbp: same value, or saved at CFA + N. rsp must be the CFA itself (val_offset(0),
 * libdw: call_frame_cfa; stack_value), which the BPF side assumes. */
static bool reg_rules(Dwarf_Frame *f, struct at_cfi_row *row)
{
	Dwarf_Op mem[3], *ops;
	size_t n;
	__s64 off;

	if (dwarf_frame_register(f, RSP_REG, mem, &ops, &n) || n != 2 ||
	    ops[0].atom != DW_OP_call_frame_cfa || ops[1].atom != DW_OP_stack_value)
		return false;
	if (dwarf_frame_register(f, RBP_REG, mem, &ops, &n))
		return false;
	if (!n && !ops)
		return true;	/* same value: AT_RBP_SAME */
	if (!rule_offset(ops, n, &off) || off < INT16_MIN || off > INT16_MAX)
		return false;
	row->rbp_rule = AT_RBP_OFFSET;
	row->rbp_off = (__s16)off;
	return true;
}

/* The row of one frame state (pc left 0) and the range it holds for. NONE unless every
 * rule the BPF unwinder uses is one it implements; signal frames (the caller's pc is
 * exact there, not a return address) are NONE too. */
static struct at_cfi_row frame_row(Dwarf_Frame *f, Dwarf_Addr *start, Dwarf_Addr *end)
{
	struct at_cfi_row none = { 0 }, row = { 0 };
	Dwarf_Op mem[3], *ops;
	bool signal = false;
	size_t n;
	__s64 off;

	if (dwarf_frame_info(f, start, end, &signal) != RA_REG || signal ||
	    dwarf_frame_register(f, RA_REG, mem, &ops, &n))
		return none;
	if (!n && ops == mem) {
		row.cfa_type = AT_CFA_END;	/* return address undefined: outermost */
		return row;
	}
	if (!rule_offset(ops, n, &off) || off != -8 || !cfa_rule(f, &row) || !reg_rules(f, &row))
		return none;
	return row;
}

/* The rows of one FDE [lo, hi), each from libdw's frame state at its first address,
 * then NONE at hi (dropped when another FDE starts there). cost: the instruction bytes
 * libdw runs for one row. */
static void add_fde(struct builder *b, Dwarf_CFI *cfi, __u64 lo, __u64 hi, size_t cost)
{
	struct at_cfi_row none = { 0 };
	__u64 pc = lo;

	b->nr_fdes++;
	while (pc < hi && b->work_left >= cost) {
		Dwarf_Addr start = 0, end = 0;
		struct at_cfi_row row;
		Dwarf_Frame *f;

		b->work_left -= cost;
		if (dwarf_cfi_addrframe(cfi, pc, &f))
			break;
		row = frame_row(f, &start, &end);
		free(f);
		if (start > pc || end <= pc)
			break;	/* libdw found another FDE (overlapping or lying input) */
		row.pc = (__u32)pc;
		push_row(b, row, false);
		b->nr_frames++;
		pc = end < hi ? end : hi;
	}
	if (pc < hi) {
		none.pc = (__u32)pc;
		push_row(b, none, false);
	}
	none.pc = (__u32)hi;
	push_row(b, none, true);
}

/* ---- sections ---- */

/* Does [lo, hi) overlap an FDE an earlier source gave? */
static bool covered(const struct builder *b, __u64 lo, __u64 hi)
{
	size_t l = 0, h = b->nr_done;

	while (l < h) {	/* first span with lo >= hi */
		size_t mid = (l + h) / 2;

		if (b->spans[mid].lo < hi)
			l = mid + 1;
		else
			h = mid;
	}
	return l > 0 && b->spans[l - 1].maxhi > lo;
}

static void take_span(struct builder *b, __u64 lo, __u64 hi)
{
	if (b->nr_spans == b->cap_spans) {
		b->cap_spans = b->cap_spans ? b->cap_spans * 2 : 256;
		b->spans = at_xrealloc(b->spans, b->cap_spans, sizeof(*b->spans));
	}
	b->spans[b->nr_spans++] = (struct span){ lo, hi, hi };
}

static int cmp_span(const void *a, const void *b)
{
	const struct span *x = a, *y = b;

	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* A source is done: its FDEs become what later sources must not overlap. */
static void end_source(struct builder *b)
{
	if (b->nr_spans)
		qsort(b->spans, b->nr_spans, sizeof(*b->spans), cmp_span);
	for (size_t i = 1; i < b->nr_spans; i++)
		if (b->spans[i].maxhi < b->spans[i - 1].maxhi)
			b->spans[i].maxhi = b->spans[i - 1].maxhi;
	b->nr_done = b->nr_spans;
}

/* An ELF image holding only a copy of one CFI section, the copy libdw will read: vetted
 * by at_cfi_scan, and without the file's .eh_frame_hdr (whose table could lead libdw to
 * entries never vetted). For .debug_frame it also spares dwarf_begin_elf decompressing
 * every debug section of a debug file to get at this one. */
static char *section_image(const char *name, const Elf_Data *d, __u64 addr, size_t *size)
{
	size_t name_len = strlen(name) + 1, data_off = sizeof(Elf64_Ehdr), str_off = data_off + d->d_size;
	size_t sh_off = (str_off + 11 + name_len + 7) & ~(size_t)7;
	char *img = at_xcalloc(1, sh_off + 3 * sizeof(Elf64_Shdr));
	Elf64_Ehdr *eh = (Elf64_Ehdr *)img;
	Elf64_Shdr *sh = (Elf64_Shdr *)(img + sh_off);

	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_ident[EI_VERSION] = EV_CURRENT;
	eh->e_type = ET_DYN;
	eh->e_machine = EM_X86_64;	/* libdw's x86-64 defaults: rbp same value, rsp = CFA */
	eh->e_version = EV_CURRENT;
	eh->e_shoff = sh_off;
	eh->e_ehsize = sizeof(Elf64_Ehdr);
	eh->e_shentsize = sizeof(Elf64_Shdr);
	eh->e_shnum = 3;
	eh->e_shstrndx = 2;
	memcpy(img + data_off, d->d_buf, d->d_size);
	memcpy(img + str_off + 1, ".shstrtab", 10);
	memcpy(img + str_off + 11, name, name_len);
	sh[1] = (Elf64_Shdr){ .sh_name = 11, .sh_type = SHT_PROGBITS, .sh_flags = SHF_ALLOC, .sh_addr = addr,
			      .sh_offset = data_off, .sh_size = d->d_size, .sh_addralign = 1 };
	sh[2] = (Elf64_Shdr){ .sh_name = 1, .sh_type = SHT_STRTAB, .sh_offset = str_off,
			      .sh_size = 11 + name_len, .sh_addralign = 1 };
	*size = sh_off + 3 * sizeof(Elf64_Shdr);
	return img;
}

/* Compiles every FDE of one CFI section (data, at link-time address addr) that no
 * earlier source covers. true if it gave any. */
static bool add_section(struct builder *b, const unsigned char *ident, const char *name, const Elf_Data *data,
			__u64 addr)
{
	bool eh = !strcmp(name, ".eh_frame");
	size_t before = b->nr_fdes, img_size, nr;
	char *img = section_image(name, data, addr, &img_size);
	struct at_cfi_fde *fdes;
	Dwarf_CFI *cfi = NULL;
	Dwarf *dw = NULL;
	Elf *elf;

	nr = at_cfi_scan(ident, (unsigned char *)img + sizeof(Elf64_Ehdr), data->d_size, addr, eh, &fdes);
	elf = nr ? elf_memory(img, img_size) : NULL;
	if (elf && eh)
		cfi = dwarf_getcfi_elf(elf);
	else if (elf && (dw = dwarf_begin_elf(elf, DWARF_C_READ, NULL)))
		cfi = dwarf_getcfi(dw);
	b->work_left = data->d_size > (SIZE_MAX - WORK_MIN) / WORK_PER_BYTE ? SIZE_MAX :
		       WORK_MIN + WORK_PER_BYTE * data->d_size;
	for (size_t i = 0; cfi && i < nr; i++) {
		if (covered(b, fdes[i].lo, fdes[i].hi))
			continue;
		take_span(b, fdes[i].lo, fdes[i].hi);
		add_fde(b, cfi, fdes[i].lo, fdes[i].hi, fdes[i].cost);
	}
	if (eh && cfi)
		dwarf_cfi_end(cfi);
	dwarf_end(dw);
	if (elf)
		elf_end(elf);
	free(fdes);
	free(img);
	end_source(b);
	return b->nr_fdes > before;
}

static Elf_Scn *find_section(Elf *elf, const char *name, GElf_Shdr *sh)
{
	Elf_Scn *scn = NULL;
	size_t shstrndx;

	if (elf_getshdrstrndx(elf, &shstrndx))
		return NULL;
	while ((scn = elf_nextscn(elf, scn))) {
		const char *n;

		if (gelf_getshdr(scn, sh) && (n = elf_strptr(elf, shstrndx, sh->sh_name)) && !strcmp(n, name))
			return scn;
	}
	return NULL;
}

/* One section of the file: .eh_frame (PROGBITS, or X86_64_UNWIND from some linkers;
 * NOBITS in a separate debug file) or .debug_frame (maybe compressed). */
static bool add_named(struct builder *b, Elf *elf, const unsigned char *ident, const char *name)
{
	GElf_Shdr sh;
	Elf_Scn *scn = find_section(elf, name, &sh);
	Elf_Data *data;
	GElf_Chdr ch;

	if (!scn || sh.sh_type == SHT_NOBITS)
		return false;
	if ((sh.sh_flags & SHF_COMPRESSED) &&
	    (!gelf_getchdr(scn, &ch) || ch.ch_size > MAX_SECTION || elf_compress(scn, 0, 0) < 0))
		return false;
	data = elf_getdata(scn, NULL);
	if (!data || !data->d_buf || !data->d_size || data->d_size > MAX_SECTION)
		return false;
	return add_section(b, ident, name, data, sh.sh_addr);
}

/* The sources of one file: its .eh_frame (want_eh), then its .debug_frame. */
static int add_file(struct builder *b, const struct at_elf *ae, bool want_eh)
{
	const unsigned char *ident;
	size_t size;
	void *image = at_elf_image(ae, &size);
	Elf *elf = image ? elf_memory(image, size) : NULL;
	GElf_Ehdr eh;
	int src = AT_CFI_SRC_NONE;

	if (!elf)
		return src;
	if (gelf_getehdr(elf, &eh) && eh.e_machine == EM_X86_64 && (eh.e_type == ET_EXEC || eh.e_type == ET_DYN) &&
	    (ident = (const unsigned char *)elf_getident(elf, NULL)) && ident[EI_CLASS] == ELFCLASS64 &&
	    ident[EI_DATA] == ELFDATA2LSB) {
		if (want_eh && add_named(b, elf, ident, ".eh_frame"))
			src |= AT_CFI_SRC_EH_FRAME;
		if (add_named(b, elf, ident, ".debug_frame"))
			src |= AT_CFI_SRC_DEBUG_FRAME;
	}
	elf_end(elf);
	return src;
}

static int cmp_raw(const void *a, const void *b)
{
	const struct raw *x = a, *y = b;

	return x->key < y->key ? -1 : x->key > y->key;
}

static bool same_rule(const struct at_cfi_row *a, const struct at_cfi_row *b)
{
	return a->cfa_type == b->cfa_type && a->cfa_off == b->cfa_off && a->rbp_rule == b->rbp_rule &&
	       a->rbp_off == b->rbp_off;
}

/* Sorts the rows, keeps the first at each pc (a row before an FDE's end marker) and
 * drops every row that repeats the rule before it, and NONE rows at the start. */
static void finish(struct builder *b, struct at_cfi *out)
{
	size_t n = 0;

	if (b->nr_raw)
		qsort(b->raw, b->nr_raw, sizeof(*b->raw), cmp_raw);
	out->rows = b->nr_raw ? at_xcalloc(b->nr_raw, sizeof(*out->rows)) : NULL;
	for (size_t i = 0; i < b->nr_raw; i++) {
		const struct at_cfi_row *r = &b->raw[i].row;

		if (i && b->raw[i].key >> 32 == b->raw[i - 1].key >> 32)
			continue;
		if (n ? same_rule(&out->rows[n - 1], r) : r->cfa_type == AT_CFA_NONE)
			continue;
		out->rows[n++] = *r;
	}
	if (n) {
		out->rows = at_xrealloc(out->rows, n, sizeof(*out->rows));
	} else {
		free(out->rows);
		out->rows = NULL;
	}
	out->nr = n;
	out->nr_raw = b->nr_frames;
	out->nr_fdes = b->nr_fdes;
}

int at_cfi__build(const struct at_elf *elf, const struct at_elf *debug, struct at_cfi *out)
{
	struct builder b = { 0 };

	memset(out, 0, sizeof(*out));
	if (!elf)
		return -EINVAL;
	elf_version(EV_CURRENT);
	out->source = add_file(&b, elf, true);
	if (debug)
		out->source |= add_file(&b, debug, false);
	finish(&b, out);
	if (!out->nr)
		out->source = AT_CFI_SRC_NONE;
	free(b.raw);
	free(b.spans);
	return 0;
}

void at_cfi__fini(struct at_cfi *c)
{
	if (!c)
		return;
	free(c->rows);
	memset(c, 0, sizeof(*c));
}

const struct at_cfi_row *at_cfi_find(const struct at_cfi *c, __u32 pc)
{
	size_t lo = 0, hi = c->nr;

	while (lo < hi) {	/* first row with row.pc > pc */
		size_t mid = (lo + hi) / 2;

		if (c->rows[mid].pc <= pc)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo ? &c->rows[lo - 1] : NULL;
}

int at_cfi_step(const struct at_cfi *c, __u64 bias, struct at_regs *r, at_cfi_read_fn read, void *ctx)
{
	__u64 at = r->pc - (r->caller ? 1 : 0), cfa, ra, rbp = r->rbp;
	const struct at_cfi_row *row;

	if (at < bias || at - bias > UINT32_MAX || !(row = at_cfi_find(c, (__u32)(at - bias))))
		return -ENOENT;
	switch (row->cfa_type) {
	case AT_CFA_END:
		return 0;
	case AT_CFA_RSP:
		cfa = r->rsp + (__s64)row->cfa_off;
		break;
	case AT_CFA_RBP:
		cfa = r->rbp + (__s64)row->cfa_off;
		break;
	case AT_CFA_RBP_DEREF:
		if (read(ctx, r->rbp + (__s64)row->cfa_off, &cfa))
			return -EFAULT;
		break;
	default:	/* NONE, or a type this code does not know */
		return -ENOENT;
	}
	if (row->rbp_rule != AT_RBP_SAME && row->rbp_rule != AT_RBP_OFFSET)
		return -ENOENT;
	if (read(ctx, cfa - 8, &ra) || (row->rbp_rule == AT_RBP_OFFSET && read(ctx, cfa + (__s64)row->rbp_off, &rbp)))
		return -EFAULT;
	if (!ra)
		return 0;
	*r = (struct at_regs){ .pc = ra, .rsp = cfa, .rbp = rbp, .caller = true };
	return 1;
}
