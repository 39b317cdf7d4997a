#include "binary/dwarf.h"
#include "lib/hash.h"
#include "lib/util.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <fcntl.h>
#include <libelf.h>
#include <linux/openat2.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <zlib.h>

#define MAX_CHAIN 64	/* inline depth considered at one address */

struct cu_range {
	__u64 lo, hi;
	Dwarf_Die cudie;
};

struct at_dwarf {
	Elf *elf;
	Dwarf *dw;
	struct cu_range *cus;	/* sorted by lo; built on first use */
	size_t nr_cus;
	bool cus_built;
	struct at_hash paths;	/* source paths made absolute, by hash */
};

struct at_dwarf *at_dwarf__open(void *image, size_t size)
{
	struct at_dwarf *d;
	Elf *elf;
	Dwarf *dw;

	elf_version(EV_CURRENT);
	elf = elf_memory(image, size);
	if (!elf)
		return NULL;
	dw = dwarf_begin_elf(elf, DWARF_C_READ, NULL);
	if (!dw) {
		elf_end(elf);
		return NULL;
	}
	d = at_xcalloc(1, sizeof(*d));
	d->elf = elf;
	d->dw = dw;
	return d;
}

void at_dwarf__close(struct at_dwarf *d)
{
	struct at_hash_ent *e;

	if (!d)
		return;
	dwarf_end(d->dw);
	elf_end(d->elf);
	free(d->cus);
	at_hash_for_each(&d->paths, e)
		free(e->val);
	at_hash_clear(&d->paths);
	free(d);
}

static int cmp_range(const void *a, const void *b)
{
	const struct cu_range *x = a, *y = b;

	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* Address ranges of every compile unit, from the CUs themselves (DW_AT_ranges or
 * low/high pc): .debug_aranges is optional (rustc and clang leave it out). */
static void build_cus(struct at_dwarf *d)
{
	Dwarf_CU *cu = NULL;
	Dwarf_Die cudie;
	Dwarf_Half version;
	uint8_t unit_type;
	size_t cap = 0;

	d->cus_built = true;
	while (dwarf_get_units(d->dw, cu, &cu, &version, &unit_type, &cudie, NULL) == 0) {
		Dwarf_Addr base, lo, hi;
		ptrdiff_t off = 0;

		if (unit_type != DW_UT_compile)
			continue;
		while ((off = dwarf_ranges(&cudie, off, &base, &lo, &hi)) > 0) {
			/* 0 and -1/-2 are the tombstones of code the linker dropped */
			if (!lo || hi <= lo || lo >= (Dwarf_Addr)-2)
				continue;
			if (d->nr_cus == cap) {
				cap = cap ? cap * 2 : 64;
				d->cus = at_xrealloc(d->cus, cap, sizeof(*d->cus));
			}
			d->cus[d->nr_cus++] = (struct cu_range){ lo, hi, cudie };
		}
	}
	if (d->nr_cus)
		qsort(d->cus, d->nr_cus, sizeof(*d->cus), cmp_range);
}

static bool find_cu(struct at_dwarf *d, __u64 pc, Dwarf_Die *cudie)
{
	size_t lo = 0, hi;

	if (!d->cus_built)
		build_cus(d);
	hi = d->nr_cus;
	while (lo < hi) {	/* first range with lo > pc */
		size_t mid = (lo + hi) / 2;

		if (d->cus[mid].lo <= pc)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* ranges do not overlap in practice; look a little further back in case they do */
	for (size_t i = lo, n = 0; i > 0 && n < 8; i--, n++) {
		if (pc < d->cus[i - 1].hi) {
			*cudie = d->cus[i - 1].cudie;
			return true;
		}
	}
	return dwarf_addrdie(d->dw, pc, cudie) != NULL;
}

static const char *die_name(Dwarf_Die *die)
{
	static const int attrs[] = { DW_AT_linkage_name, DW_AT_MIPS_linkage_name, DW_AT_name };
	Dwarf_Attribute a;

	/* _integrate follows DW_AT_abstract_origin (inlined and out-of-line instances)
	 * and DW_AT_specification (C++ members defined outside their class) */
	for (size_t i = 0; i < AT_ARRAY_SIZE(attrs); i++) {
		const char *n = dwarf_formstring(dwarf_attr_integrate(die, attrs[i], &a));

		if (n && *n)
			return n;
	}
	return NULL;
}

/* Removes "." and "dir/.." components, lexically (the build tree may be gone). */
static void normalize(char *p)
{
	const char *comp[256];
	size_t clen[256], n = 0, o = 0;
	bool abs = p[0] == '/';
	char *src = at_xstrdup(p), *save = NULL, *tok;

	for (tok = strtok_r(src, "/", &save); tok; tok = strtok_r(NULL, "/", &save)) {
		if (!strcmp(tok, "."))
			continue;
		if (!strcmp(tok, "..") && n && strcmp(comp[n - 1], ".."))
			n--;
		else if (!strcmp(tok, "..") && abs)
			continue;	/* above the root */
		else if (n < AT_ARRAY_SIZE(comp))
			comp[n] = tok, clen[n] = strlen(tok), n++;
		else
			goto out;	/* too deep: leave it */
	}
	if (abs)
		p[o++] = '/';
	for (size_t i = 0; i < n; i++) {
		if (i)
			p[o++] = '/';
		memcpy(p + o, comp[i], clen[i]);
		o += clen[i];
	}
	if (!o)
		p[o++] = '.';
	p[o] = 0;
out:
	free(src);
}

/* A source path as libdw gives it, joined to the unit's DW_AT_comp_dir when relative
 * (line-table directories may be relative to it): absolute unless the build recorded
 * a relative compilation directory (-fdebug-prefix-map). Strings belong to d. */
static const char *abs_path(struct at_dwarf *d, Dwarf_Die *cu, const char *file)
{
	__u64 h1 = 0xcbf29ce484222325ULL, h2 = 0x9e3779b97f4a7c15ULL;
	Dwarf_Attribute a;
	const char *dir, *c;
	char *p;
	size_t len;

	if (!file || file[0] == '/')
		return file;
	dir = dwarf_formstring(dwarf_attr(cu, DW_AT_comp_dir, &a));
	if (!dir || !*dir)
		return file;
	for (c = dir; *c; c++) {
		h1 = (h1 ^ (unsigned char)*c) * 0x100000001b3ULL;
		h2 = (h2 ^ (unsigned char)*c) * 0xff51afd7ed558ccdULL;
	}
	h1 = (h1 ^ '/') * 0x100000001b3ULL;
	for (c = file; *c; c++) {
		h1 = (h1 ^ (unsigned char)*c) * 0x100000001b3ULL;
		h2 = (h2 ^ (unsigned char)*c) * 0xff51afd7ed558ccdULL;
		h2 ^= h2 >> 31;
	}
	p = at_hash_get(&d->paths, h1, h2);
	if (p)
		return p;
	len = strlen(dir) + strlen(file) + 2;
	p = at_xcalloc(len, 1);
	snprintf(p, len, "%s/%s", dir, file);
	normalize(p);
	at_hash_put(&d->paths, h1, h2, p);
	return p;
}

/* Where an inlined call was made: the caller's file and line. */
static void call_site(struct at_dwarf *d, Dwarf_Die *die, const char **file, unsigned int *line)
{
	Dwarf_Attribute a;
	Dwarf_Word v;
	Dwarf_Die cu;
	Dwarf_Files *files;

	*file = NULL;
	*line = 0;
	if (dwarf_formudata(dwarf_attr(die, DW_AT_call_line, &a), &v) == 0)
		*line = (unsigned int)v;
	if (dwarf_formudata(dwarf_attr(die, DW_AT_call_file, &a), &v) == 0 && dwarf_diecu(die, &cu, NULL, NULL) &&
	    dwarf_getsrcfiles(&cu, &files, NULL) == 0)
		*file = abs_path(d, &cu, dwarf_filesrc(files, v, NULL, NULL));
}

/* Appends to chain the DIEs under parent that contain pc, outermost first, and returns
 * the new depth. Containers without addresses (namespaces, types: Rust defines its
 * functions inside them, where dwarf_getscopes does not look) are searched through;
 * code DIEs are entered only when they hold pc. */
static int find_chain(Dwarf_Die *parent, __u64 pc, Dwarf_Die *chain, int depth, int max, int nest)
{
	Dwarf_Attribute a;
	Dwarf_Die child, unit;
	int d;

	if (nest > 64 || dwarf_child(parent, &child) != 0)
		return depth;
	do {
		switch (dwarf_tag(&child)) {
		case DW_TAG_subprogram:
		case DW_TAG_inlined_subroutine:
		case DW_TAG_entry_point:
		case DW_TAG_lexical_block:
		case DW_TAG_try_block:
		case DW_TAG_catch_block:
		case DW_TAG_with_stmt:
			if (dwarf_haspc(&child, pc) <= 0)
				break;
			if (depth == max)
				return depth;
			chain[depth] = child;
			return find_chain(&child, pc, chain, depth + 1, max, nest + 1);
		case DW_TAG_namespace:
		case DW_TAG_module:
		case DW_TAG_class_type:
		case DW_TAG_structure_type:
		case DW_TAG_union_type:
		case DW_TAG_interface_type:
			d = find_chain(&child, pc, chain, depth, max, nest + 1);
			if (d > depth)
				return d;
			break;
		case DW_TAG_imported_unit:	/* dwz: a partial unit's DIEs, in place */
			if (dwarf_formref_die(dwarf_attr(&child, DW_AT_import, &a), &unit)) {
				d = find_chain(&unit, pc, chain, depth, max, nest + 1);
				if (d > depth)
					return d;
			}
			break;
		default:
			break;
		}
	} while (dwarf_siblingof(&child, &child) == 0);
	return depth;
}

int at_dwarf_frames(struct at_dwarf *d, __u64 pc, struct at_src_frame *out, int max)
{
	struct at_src_frame tmp[MAX_CHAIN];
	Dwarf_Die cudie, chain[MAX_CHAIN];
	Dwarf_Line *ln;
	const char *file = NULL;
	unsigned int line = 0;
	int n = 0, nc, lineno;

	if (max <= 0 || !find_cu(d, pc, &cudie))
		return 0;
	ln = dwarf_getsrc_die(&cudie, pc);
	if (ln) {
		file = abs_path(d, &cudie, dwarf_linesrc(ln, NULL, NULL));
		if (dwarf_lineno(ln, &lineno) == 0 && lineno > 0)
			line = (unsigned int)lineno;
	}
	/* the code DIEs holding pc; inlined instances nest inside their caller */
	nc = find_chain(&cudie, pc, chain, 0, MAX_CHAIN, 0);
	for (int i = nc - 1; i >= 0 && n < MAX_CHAIN; i--) {
		Dwarf_Die *die = &chain[i];
		int tag = dwarf_tag(die);
		Dwarf_Addr entry;

		if (tag != DW_TAG_inlined_subroutine && tag != DW_TAG_subprogram && tag != DW_TAG_entry_point)
			continue;
		tmp[n] = (struct at_src_frame){ .name = die_name(die), .file = file, .line = line,
						.inlined = tag == DW_TAG_inlined_subroutine };
		if (!tmp[n].inlined) {
			if (dwarf_entrypc(die, &entry) == 0 || dwarf_lowpc(die, &entry) == 0) {
				tmp[n].entry = entry;
				tmp[n].has_entry = entry <= pc;
			}
			n++;
			break;
		}
		n++;
		call_site(d, die, &file, &line);
	}
	if (!n || tmp[n - 1].inlined) {
		if (n == MAX_CHAIN)
			n--;
		/* no enclosing function DIE: still give the location */
		tmp[n++] = (struct at_src_frame){ .file = file, .line = line };
	}
	if (n > max) {
		tmp[max - 1] = tmp[n - 1];
		n = max;
	}
	memcpy(out, tmp, (size_t)n * sizeof(*out));
	return n;
}

/* ---- separate debug files ---- */

static int open_in(int rootfd, const char *path)
{
	struct open_how how = { .flags = O_RDONLY | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };

	if (rootfd < 0)
		return open(path, O_RDONLY | O_CLOEXEC);
	return (int)syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
}

static struct at_elf *candidate(int rootfd, const char *path, const struct at_elf *main_elf, dev_t dev, ino_t ino,
				bool check_crc, __u32 crc)
{
	const unsigned char *bid, *cbid;
	size_t bid_len, cbid_len, sz;
	struct at_elf *e;
	struct stat st;
	void *img;
	int fd = open_in(rootfd, path);

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || (st.st_dev == dev && st.st_ino == ino)) {
		close(fd);	/* a debuglink may name the file itself */
		return NULL;
	}
	e = at_elf__open(fd, path);
	close(fd);
	if (!e)
		return NULL;
	bid = at_elf_build_id(main_elf, &bid_len);
	cbid = at_elf_build_id(e, &cbid_len);
	if (bid && cbid && (bid_len != cbid_len || memcmp(bid, cbid, bid_len)))
		goto reject;
	if (check_crc) {
		img = at_elf_image(e, &sz);
		if ((__u32)crc32_z(crc32_z(0, Z_NULL, 0), img, sz) != crc)
			goto reject;
	}
	at_debug("debug file for %s: %s%s", at_elf_label(main_elf), rootfd >= 0 ? "(process root) " : "", path);
	return e;
reject:
	at_elf__close(e);
	return NULL;
}

/* snprintf that reports truncation (a path too long to try). */
__attribute__((format(printf, 3, 4)))
static bool path_fmt(char *buf, size_t sz, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sz, fmt, ap);
	va_end(ap);
	return n >= 0 && (size_t)n < sz;
}

static struct at_elf *search(int rootfd, const char *path, const struct at_elf *main_elf, dev_t dev, ino_t ino)
{
	const unsigned char *bid = NULL;
	const char *link, *slash;
	size_t bid_len = 0, o;
	char buf[4096], dir[4096];
	struct at_elf *e;
	__u32 crc;

	bid = at_elf_build_id(main_elf, &bid_len);
	if (bid && bid_len >= 2) {
		o = (size_t)snprintf(buf, sizeof(buf), "%s/.build-id/%02x/", at_debug_dir(), bid[0]);
		for (size_t i = 1; i < bid_len; i++)
			o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%02x", bid[i]);
		snprintf(buf + o, sizeof(buf) - o, ".debug");
		if ((e = candidate(rootfd, buf, main_elf, dev, ino, false, 0)))
			return e;
	}
	link = at_elf_debuglink(main_elf, &crc);
	slash = path ? strrchr(path, '/') : NULL;
	if (!link || !slash || strchr(link, '/'))
		return NULL;
	if (!path_fmt(dir, sizeof(dir), "%.*s", (int)(slash - path), path))
		return NULL;
	if (path_fmt(buf, sizeof(buf), "%s/%s", dir, link) &&
	    (e = candidate(rootfd, buf, main_elf, dev, ino, true, crc)))
		return e;
	if (path_fmt(buf, sizeof(buf), "%s/.debug/%s", dir, link) &&
	    (e = candidate(rootfd, buf, main_elf, dev, ino, true, crc)))
		return e;
	if (path_fmt(buf, sizeof(buf), "%s%s/%s", at_debug_dir(), dir, link))
		return candidate(rootfd, buf, main_elf, dev, ino, true, crc);
	return NULL;
}

const char *at_debug_dir(void)
{
	const char *d = getenv("ALLOCTOP_DEBUG_DIR");

	return d && *d ? d : "/usr/lib/debug";
}

struct at_elf *at_debugfile_find(int pid, const char *path, const struct at_elf *main_elf, dev_t dev, ino_t ino)
{
	struct stat rst, hst;
	struct at_elf *e = NULL;
	char root[64];
	int rfd = -1;

	if (pid > 0) {
		snprintf(root, sizeof(root), "/proc/%d/root", pid);
		rfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
		/* a process sharing alloctop's root needs no second look */
		if (rfd >= 0 && !fstat(rfd, &rst) && !stat("/", &hst) && rst.st_dev == hst.st_dev &&
		    rst.st_ino == hst.st_ino) {
			close(rfd);
			rfd = -1;
		}
	}
	if (rfd >= 0) {
		e = search(rfd, path, main_elf, dev, ino);
		close(rfd);
	}
	return e ? e : search(-1, path, main_elf, dev, ino);
}
