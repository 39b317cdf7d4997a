#include "binary/elf.h"
#include "lib/hash.h"
#include "lib/util.h"

#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

struct at_seg {
	__u64 vaddr, memsz, off, filesz;
};

struct at_elf {
	char *label;
	void *image;		/* the whole file, mapped read-only */
	size_t image_sz;
	struct at_seg *segs;
	size_t nr_segs;
	struct at_sym *syms;	/* sorted by address */
	size_t nr_syms;
	struct at_sym **by_name; /* sorted by name */
	char *names;		/* storage for symbol names */
	bool dyn;
	bool has_dwarf;
	unsigned char build_id[64];
	size_t build_id_len;
	char *debuglink;
	__u32 debuglink_crc;
	struct at_hash *memo;	/* at_elf_memo_*: what callers derived from the bytes (a cache:
				 * filled through a const at_elf, which it does not change) */
};

static int cmp_addr(const void *a, const void *b)
{
	const struct at_sym *x = a, *y = b;

	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	/* among aliases the global, then the shortest, then the first in name order wins */
	if (x->global != y->global)
		return x->global ? -1 : 1;
	if ((x->name[0] == '_') != (y->name[0] == '_'))
		return x->name[0] == '_' ? 1 : -1;
	return strcmp(x->name, y->name);
}

static int cmp_name(const void *a, const void *b)
{
	const struct at_sym *const *x = a, *const *y = b;
	int c = strcmp((*x)->name, (*y)->name);

	if (c)
		return c;
	return (*x)->global == (*y)->global ? 0 : (*x)->global ? -1 : 1;
}

/* Collects function symbols from one symbol table section. */
static void add_symtab(struct at_elf *e, Elf *elf, Elf_Scn *scn, GElf_Shdr *sh, size_t *cap, size_t *names_len,
		       char ***names_tmp)
{
	Elf_Data *data = elf_getdata(scn, NULL);
	size_t n = sh->sh_entsize ? sh->sh_size / sh->sh_entsize : 0;

	if (!data || sh->sh_type == SHT_NOBITS)
		return;
	for (size_t i = 0; i < n; i++) {
		GElf_Sym s;
		const char *name;
		int type;

		if (!gelf_getsym(data, (int)i, &s))
			break;
		type = GELF_ST_TYPE(s.st_info);
		if ((type != STT_FUNC && type != STT_GNU_IFUNC) || s.st_shndx == SHN_UNDEF || !s.st_value)
			continue;
		name = elf_strptr(elf, sh->sh_link, s.st_name);
		if (!name || !*name)
			continue;
		if (e->nr_syms == *cap) {
			*cap = *cap ? *cap * 2 : 1024;
			e->syms = at_xrealloc(e->syms, *cap, sizeof(*e->syms));
			*names_tmp = at_xrealloc(*names_tmp, *cap, sizeof(**names_tmp));
		}
		e->syms[e->nr_syms] = (struct at_sym){
			.addr = s.st_value, .size = s.st_size,
			.global = GELF_ST_BIND(s.st_info) != STB_LOCAL,
		};
		(*names_tmp)[e->nr_syms++] = (char *)name;
		*names_len += strlen(name) + 1;
	}
}

/* Looks for NT_GNU_BUILD_ID among the notes in data. */
static void find_build_id(struct at_elf *e, Elf_Data *data)
{
	size_t off = 0, name_off, desc_off;
	GElf_Nhdr nh;

	while (data && !e->build_id_len && (off = gelf_getnote(data, off, &nh, &name_off, &desc_off)) > 0) {
		if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 && nh.n_descsz > 0 &&
		    nh.n_descsz <= sizeof(e->build_id) && !memcmp((char *)data->d_buf + name_off, "GNU", 4)) {
			memcpy(e->build_id, (char *)data->d_buf + desc_off, nh.n_descsz);
			e->build_id_len = nh.n_descsz;
		}
	}
}

/* Build-id, debuglink and DWARF presence, from the section headers (or, for a file
 * without them, the build-id from the PT_NOTE segments). */
static void find_debug_refs(struct at_elf *e, Elf *elf, size_t phnum)
{
	size_t shstrndx;
	Elf_Scn *scn = NULL;

	if (elf_getshdrstrndx(elf, &shstrndx))
		shstrndx = 0;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		const char *name;

		if (!gelf_getshdr(scn, &sh))
			continue;
		name = shstrndx ? elf_strptr(elf, shstrndx, sh.sh_name) : NULL;
		if (sh.sh_type == SHT_NOTE && !e->build_id_len) {
			find_build_id(e, elf_getdata(scn, NULL));
		} else if (name && sh.sh_type == SHT_PROGBITS && sh.sh_size &&
			   (!strcmp(name, ".debug_info") || !strcmp(name, ".zdebug_info"))) {
			e->has_dwarf = true;
		} else if (name && sh.sh_type == SHT_PROGBITS && !strcmp(name, ".gnu_debuglink") && !e->debuglink) {
			Elf_Data *d = elf_getdata(scn, NULL);
			size_t len = d && d->d_buf ? strnlen(d->d_buf, d->d_size) : 0;
			size_t crc_off = (len + 4) & ~(size_t)3;

			if (len && crc_off + 4 <= d->d_size) {
				Elf_Data src = { .d_buf = (char *)d->d_buf + crc_off, .d_type = ELF_T_WORD,
						 .d_size = 4, .d_version = EV_CURRENT };
				Elf_Data dst = { .d_buf = &e->debuglink_crc, .d_type = ELF_T_WORD,
						 .d_size = 4, .d_version = EV_CURRENT };
				GElf_Ehdr eh;

				if (gelf_getehdr(elf, &eh) && gelf_xlatetom(elf, &dst, &src, eh.e_ident[EI_DATA])) {
					e->debuglink = at_xcalloc(len + 1, 1);
					memcpy(e->debuglink, d->d_buf, len);
				}
			}
		}
	}
	for (size_t i = 0; i < phnum && !e->build_id_len; i++) {
		GElf_Phdr ph;

		if (gelf_getphdr(elf, (int)i, &ph) && ph.p_type == PT_NOTE)
			find_build_id(e, elf_getdata_rawchunk(elf, ph.p_offset, ph.p_filesz,
								   ph.p_align == 8 ? ELF_T_NHDR8 : ELF_T_NHDR));
	}
}

static bool load(struct at_elf *e, Elf *elf)
{
	size_t phnum, cap = 0, names_len = 0, j = 0;
	char **names_tmp = NULL;
	GElf_Ehdr eh;
	Elf_Scn *scn = NULL;

	if (elf_kind(elf) != ELF_K_ELF || !gelf_getehdr(elf, &eh) || elf_getphdrnum(elf, &phnum))
		return false;
	e->dyn = eh.e_type == ET_DYN;
	e->segs = at_xcalloc(phnum, sizeof(*e->segs));
	for (size_t i = 0; i < phnum; i++) {
		GElf_Phdr ph;

		if (gelf_getphdr(elf, (int)i, &ph) && ph.p_type == PT_LOAD)
			e->segs[e->nr_segs++] = (struct at_seg){ ph.p_vaddr, ph.p_memsz, ph.p_offset, ph.p_filesz };
	}
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;

		if (gelf_getshdr(scn, &sh) && (sh.sh_type == SHT_SYMTAB || sh.sh_type == SHT_DYNSYM))
			add_symtab(e, elf, scn, &sh, &cap, &names_len, &names_tmp);
	}
	find_debug_refs(e, elf, phnum);
	/* copy names out of libelf's buffers so the Elf handle can go */
	e->names = at_xcalloc(names_len + 1, 1);
	for (size_t i = 0; i < e->nr_syms; i++) {
		size_t l = strlen(names_tmp[i]) + 1;

		memcpy(e->names + j, names_tmp[i], l);
		e->syms[i].name = e->names + j;
		j += l;
	}
	free(names_tmp);
	j = 0;
	if (e->nr_syms)	/* qsort's base may not be NULL, even for 0 elements */
		qsort(e->syms, e->nr_syms, sizeof(*e->syms), cmp_addr);
	/* .symtab and .dynsym repeat each other: keep one entry per (address, name) */
	for (size_t i = 0; i < e->nr_syms; i++) {
		if (j && e->syms[j - 1].addr == e->syms[i].addr && !strcmp(e->syms[j - 1].name, e->syms[i].name))
			continue;
		e->syms[j++] = e->syms[i];
	}
	e->nr_syms = j;
	e->by_name = at_xcalloc(e->nr_syms, sizeof(*e->by_name));
	for (size_t i = 0; i < e->nr_syms; i++)
		e->by_name[i] = &e->syms[i];
	if (e->nr_syms)
		qsort(e->by_name, e->nr_syms, sizeof(*e->by_name), cmp_name);
	return true;
}

struct at_elf *at_elf__open(int fd, const char *label)
{
	struct at_elf *e;
	struct stat st;
	Elf *elf;
	bool ok;

	if (fstat(fd, &st) || st.st_size < (off_t)sizeof(Elf64_Ehdr))
		return NULL;
	elf_version(EV_CURRENT);
	e = at_xcalloc(1, sizeof(*e));
	e->memo = at_xcalloc(1, sizeof(*e->memo));
	e->label = at_xstrdup(label ? label : "?");
	e->image_sz = st.st_size;
	e->image = mmap(NULL, e->image_sz, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0); /* private: libelf may touch it */
	if (e->image == MAP_FAILED) {
		e->image = NULL;
		at_elf__close(e);
		return NULL;
	}
	elf = elf_memory(e->image, e->image_sz);
	ok = elf && load(e, elf);
	if (elf)
		elf_end(elf);
	if (!ok) {
		at_elf__close(e);
		return NULL;
	}
	return e;
}

struct at_elf *at_elf__open_path(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct at_elf *e;

	if (fd < 0)
		return NULL;
	e = at_elf__open(fd, path);
	close(fd);
	return e;
}

void at_elf__close(struct at_elf *e)
{
	if (!e)
		return;
	if (e->image)
		munmap(e->image, e->image_sz);
	free(e->label);
	free(e->segs);
	free(e->syms);
	free(e->by_name);
	free(e->names);
	free(e->debuglink);
	at_hash_clear(e->memo);
	free(e->memo);
	free(e);
}

const struct at_sym *at_elf_func(const struct at_elf *e, const char *name)
{
	size_t lo = 0, hi = e->nr_syms;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(name, e->by_name[mid]->name);

		if (!c) {
			while (mid > 0 && !strcmp(name, e->by_name[mid - 1]->name))
				mid--;	/* the global one sorts first */
			return e->by_name[mid];
		}
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

size_t at_elf_nr_funcs(const struct at_elf *e)
{
	return e->nr_syms;
}

const struct at_sym *at_elf_func_nth(const struct at_elf *e, size_t i)
{
	return i < e->nr_syms ? &e->syms[i] : NULL;
}

const struct at_sym *at_elf_lookup(const struct at_elf *e, __u64 vaddr, __u64 *off)
{
	size_t lo = 0, hi = e->nr_syms;
	const struct at_sym *s;

	while (lo < hi) {	/* last symbol with addr <= vaddr */
		size_t mid = (lo + hi) / 2;

		if (e->syms[mid].addr <= vaddr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return NULL;
	s = &e->syms[lo - 1];
	while (s > e->syms && s[-1].addr == s->addr)
		s--;	/* the preferred alias sorts first */
	/* a sized symbol must contain vaddr; a sizeless one (hand-written asm) may */
	if (s->size && vaddr >= s->addr + s->size)
		return NULL;
	*off = vaddr - s->addr;
	return s;
}

int at_elf_vaddr_to_off(const struct at_elf *e, __u64 vaddr, __u64 *off)
{
	for (size_t i = 0; i < e->nr_segs; i++) {
		const struct at_seg *s = &e->segs[i];

		if (vaddr >= s->vaddr && vaddr < s->vaddr + s->filesz) {
			*off = vaddr - s->vaddr + s->off;
			return 0;
		}
	}
	return -1;
}

int at_elf_off_to_vaddr(const struct at_elf *e, __u64 off, __u64 *vaddr)
{
	for (size_t i = 0; i < e->nr_segs; i++) {
		const struct at_seg *s = &e->segs[i];

		if (off >= s->off && off < s->off + s->filesz) {
			*vaddr = off - s->off + s->vaddr;
			return 0;
		}
	}
	return -1;
}

int at_elf_map_bias(const struct at_elf *e, __u64 pgoff, __u64 len, __u64 start, __u64 *bias)
{
	/* any PT_LOAD segment the mapping covers: file offsets and addresses stay congruent */
	for (size_t i = 0; i < e->nr_segs; i++) {
		const struct at_seg *s = &e->segs[i];

		if (s->off < pgoff + len && pgoff < s->off + s->filesz) {
			*bias = start - pgoff + s->off - s->vaddr;
			return 0;
		}
	}
	return -1;
}

const unsigned char *at_elf_code(const struct at_elf *e, __u64 vaddr, size_t *avail)
{
	__u64 off;

	if (at_elf_vaddr_to_off(e, vaddr, &off) || off >= e->image_sz)
		return NULL;
	*avail = e->image_sz - off;
	return (const unsigned char *)e->image + off;
}

int at_elf_relocs(const struct at_elf *e, at_reloc_fn fn, void *ctx)
{
	Elf *elf = elf_memory(e->image, e->image_sz);
	Elf_Scn *scn = NULL;

	if (!elf)
		return -1;
	while ((scn = elf_nextscn(elf, scn))) {
		Elf_Data *data, *symdata;
		GElf_Shdr sh, symsh;
		Elf_Scn *symscn;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_RELA || !sh.sh_entsize)
			continue;
		symscn = elf_getscn(elf, sh.sh_link);
		data = elf_getdata(scn, NULL);
		if (!symscn || !gelf_getshdr(symscn, &symsh) || !(symdata = elf_getdata(symscn, NULL)) || !data)
			continue;
		for (size_t i = 0; i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Rela r;
			GElf_Sym sym;
			const char *name;
			int type;

			if (!gelf_getrela(data, (int)i, &r))
				break;
			type = GELF_R_TYPE(r.r_info);
			if ((type != R_X86_64_JUMP_SLOT && type != R_X86_64_GLOB_DAT) || !GELF_R_SYM(r.r_info) ||
			    !gelf_getsym(symdata, (int)GELF_R_SYM(r.r_info), &sym))
				continue;
			name = elf_strptr(elf, symsh.sh_link, sym.st_name);
			if (name)
				fn(ctx, name, r.r_offset);
		}
	}
	elf_end(elf);
	return 0;
}

bool at_elf_is_dyn(const struct at_elf *e) { return e->dyn; }
const char *at_elf_label(const struct at_elf *e) { return e->label; }

const unsigned char *at_elf_build_id(const struct at_elf *e, size_t *len)
{
	*len = e->build_id_len;
	return e->build_id_len ? e->build_id : NULL;
}

const char *at_elf_debuglink(const struct at_elf *e, __u32 *crc)
{
	*crc = e->debuglink_crc;
	return e->debuglink;
}

bool at_elf_has_dwarf(const struct at_elf *e) { return e->has_dwarf; }

void *at_elf_image(const struct at_elf *e, size_t *size)
{
	*size = e->image_sz;
	return e->image;
}

__u64 at_elf_memo_get(const struct at_elf *e, __u64 k1, __u64 k2)
{
	return (__u64)(uintptr_t)at_hash_get(e->memo, k1, k2);
}

void at_elf_memo_put(const struct at_elf *e, __u64 k1, __u64 k2, __u64 v)
{
	at_hash_put(e->memo, k1, k2, (void *)(uintptr_t)v);
}
