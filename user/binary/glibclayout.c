#include "binary/glibclayout.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <libelf.h>
#include <stdio.h>
#include <string.h>

/* One member wanted: its name and where its place goes. */
struct want_member {
	const char *name;
	struct at_field *f;
};

/* One structure wanted, with its members (and its size when sz is set). */
struct want_struct {
	const char *name;
	struct want_member m[5];
	__u32 *sz;
	bool found;
};

struct want_var {
	const char *name;
	__u64 *addr;
	bool found;
};

static bool type_size(Dwarf_Die *die, __u32 *size)
{
	Dwarf_Attribute a;
	Dwarf_Die t;
	Dwarf_Word sz;

	if (!dwarf_attr_integrate(die, DW_AT_type, &a) || !dwarf_formref_die(&a, &t) || dwarf_aggregate_size(&t, &sz))
		return false;
	*size = (__u32)sz;
	return true;
}

/* Fills the wanted members of a structure definition; all must be there. */
static bool read_members(Dwarf_Die *st, struct want_struct *w)
{
	Dwarf_Die c;
	Dwarf_Attribute a;
	Dwarf_Word off, sz;
	int found = 0, wanted = 0;

	for (int i = 0; i < 5 && w->m[i].name; i++)
		wanted++;
	if (dwarf_child(st, &c))
		return false;
	do {
		const char *n = dwarf_diename(&c);

		if (dwarf_tag(&c) != DW_TAG_member || !n)
			continue;
		for (int i = 0; i < wanted; i++) {
			if (strcmp(n, w->m[i].name) || !dwarf_attr(&c, DW_AT_data_member_location, &a) ||
			    dwarf_formudata(&a, &off) || !type_size(&c, &w->m[i].f->size))
				continue;
			w->m[i].f->off = (__u32)off;
			found++;
		}
	} while (!dwarf_siblingof(&c, &c));
	if (found != wanted)
		return false;
	if (w->sz) {
		if (dwarf_aggregate_size(st, &sz))
			return false;
		*w->sz = (__u32)sz;
	}
	return true;
}

/* A static variable's address: a location of one DW_OP_addr. */
static bool var_addr(Dwarf_Die *v, __u64 *addr)
{
	Dwarf_Attribute a;
	Dwarf_Op *ops;
	size_t n;

	if (!dwarf_attr(v, DW_AT_location, &a) || dwarf_getlocation(&a, &ops, &n) || n != 1 || ops[0].atom != DW_OP_addr)
		return false;
	*addr = ops[0].number;
	return true;
}

static void look_at(Dwarf_Die *d, struct want_struct *ws, size_t nws, struct want_var *wv, size_t nwv)
{
	const char *n = dwarf_diename(d);
	int tag = dwarf_tag(d);

	if (!n)
		return;
	if (tag == DW_TAG_structure_type && !dwarf_hasattr(d, DW_AT_declaration)) {
		for (size_t i = 0; i < nws; i++)
			if (!ws[i].found && !strcmp(n, ws[i].name))
				ws[i].found = read_members(d, &ws[i]);
	} else if (tag == DW_TAG_variable) {
		for (size_t i = 0; i < nwv; i++)
			if (!wv[i].found && !strcmp(n, wv[i].name))
				wv[i].found = var_addr(d, wv[i].addr);
	}
}

static bool all_found(const struct want_struct *ws, size_t nws, const struct want_var *wv, size_t nwv)
{
	for (size_t i = 0; i < nws; i++)
		if (!ws[i].found)
			return false;
	for (size_t i = 0; i < nwv; i++)
		if (!wv[i].found)
			return false;
	return true;
}

/* Top-level DIEs of every unit (partial units too: a dwz-compressed file keeps shared
 * types there) until everything wanted is found. */
static void scan(Dwarf *dw, struct want_struct *ws, size_t nws, struct want_var *wv, size_t nwv)
{
	Dwarf_CU *cu = NULL;
	Dwarf_Die cudie, c;
	Dwarf_Half ver;
	__u8 type;

	while (!dwarf_get_units(dw, cu, &cu, &ver, &type, &cudie, NULL)) {
		if (dwarf_child(&cudie, &c))
			continue;
		do
			look_at(&c, ws, nws, wv, nwv);
		while (!dwarf_siblingof(&c, &c));
		if (all_found(ws, nws, wv, nwv))
			return;
	}
}

static void missing(char *why, size_t len, const struct want_struct *ws, size_t nws, const struct want_var *wv,
		    size_t nwv)
{
	for (size_t i = 0; i < nws; i++)
		if (!ws[i].found) {
			snprintf(why, len, "struct %s not in libc's debug info", ws[i].name);
			return;
		}
	for (size_t i = 0; i < nwv; i++)
		if (!wv[i].found) {
			snprintf(why, len, "variable %s not in libc's debug info", wv[i].name);
			return;
		}
}

int at_glibc_layout_read(const struct at_elf *debug, struct at_glibc_layout *o, char *why, size_t why_len)
{
	struct want_struct ws[] = {
		{ .name = "malloc_state", .sz = &o->ms_size,
		  .m = { { "fastbinsY", &o->ms_fastbins }, { "top", &o->ms_top }, { "next", &o->ms_next },
			 { "system_mem", &o->ms_system_mem } } },
		{ .name = "malloc_chunk",
		  .m = { { "mchunk_prev_size", &o->mc_prev_size }, { "mchunk_size", &o->mc_size }, { "fd", &o->mc_fd } } },
		{ .name = "_heap_info", .sz = &o->hi_sizeof,
		  .m = { { "ar_ptr", &o->hi_ar_ptr }, { "prev", &o->hi_prev }, { "size", &o->hi_size } } },
		{ .name = "malloc_par",
		  .m = { { "sbrk_base", &o->mp_sbrk_base }, { "n_mmaps", &o->mp_n_mmaps },
			 { "mmapped_mem", &o->mp_mmapped_mem } } },
		{ .name = "tcache_entry", .m = { { "key", &o->te_key } } },
	};
	struct want_var wv[] = { { .name = "main_arena", .addr = &o->main_arena }, { .name = "mp_", .addr = &o->mp },
				 { .name = "tcache_key", .addr = &o->tcache_key } };
	size_t nws = sizeof(ws) / sizeof(ws[0]), nwv = sizeof(wv) / sizeof(wv[0]), sz;
	void *img = at_elf_image(debug, &sz);
	Elf *elf;
	Dwarf *dw;
	int ret = -1;

	memset(o, 0, sizeof(*o));
	elf_version(EV_CURRENT);
	if (!img || !(elf = elf_memory(img, sz))) {
		snprintf(why, why_len, "libc's debug file is not a readable ELF");
		return -1;
	}
	if (!(dw = dwarf_begin_elf(elf, DWARF_C_READ, NULL))) {
		snprintf(why, why_len, "libc's debug file has no DWARF");
		elf_end(elf);
		return -1;
	}
	scan(dw, ws, nws, wv, nwv);
	if (all_found(ws, nws, wv, nwv))
		ret = 0;
	else
		missing(why, why_len, ws, nws, wv, nwv);
	dwarf_end(dw);
	elf_end(elf);
	return ret;
}
