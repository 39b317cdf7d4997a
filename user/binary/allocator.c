#include "binary/allocator.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

bool at_elf_defines_allocator(const struct at_elf *e)
{
	return e && at_elf_func(e, "malloc") && at_elf_func(e, "free");
}

static const char *base(const char *p)
{
	const char *s = strrchr(p, '/');

	return s ? s + 1 : p;
}

bool at_path_is_libc(const char *p)
{
	return !strncmp(base(p), "libc.so", 7) || !strncmp(base(p), "libc-", 5);
}

bool at_path_is_loader(const char *p)
{
	return !strncmp(base(p), "ld-linux", 8) || !strncmp(base(p), "ld.so", 5) || !strncmp(base(p), "ld-musl", 7);
}

/* The exec mapping of the main executable: /proc/PID/exe names its inode. */
bool at_vma_is_exe(int pid, const struct at_vma *v)
{
	char path[64];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	return !stat(path, &st) && st.st_ino == v->ino && st.st_dev == v->dev;
}

/* Picks the file that serves malloc the way the dynamic linker resolves it: the
 * executable if it defines malloc (static or custom), else a preloaded or linked
 * allocator library, else libc. */
const struct at_vma *at_allocator_pick(struct at_elfcache *ec, int pid, const struct at_maps *m,
				       const struct at_elf **elf)
{
	const struct at_vma *libc = NULL, *exe = NULL;
	const struct at_elf *libc_elf = NULL;

	for (size_t i = 0; i < m->n; i++) {
		const struct at_vma *v = &m->v[i];
		const struct at_elf *e;

		if (!v->exec || !at_vma_is_file(v) || at_path_is_loader(v->path))
			continue;
		if (!exe && at_vma_is_exe(pid, v)) {
			exe = v;
			if (at_elf_defines_allocator(*elf = at_elfcache_get(ec, pid, v)))
				return v;
			continue;
		}
		e = at_elfcache_get(ec, pid, v);
		if (!at_elf_defines_allocator(e))
			continue;
		if (at_path_is_libc(v->path)) {
			libc = v;
			libc_elf = e;
			continue;
		}
		*elf = e;
		return v;
	}
	*elf = libc_elf;
	return libc;
}

/* A jemalloc, mimalloc or tcmalloc family in e (any prefix)? */
static bool other_family(const struct at_elf *e)
{
	struct at_found_family ff[AT_FOUND_MAX];
	int n = at_elf_families(e, ff, AT_FOUND_MAX);

	for (int i = 0; i < n; i++)
		if (ff[i].fam != AT_FAM_LIBC && ff[i].fam != AT_FAM_CXX)
			return true;
	return false;
}

/* glibc serves malloc, and no other allocator (a static jemalloc in a Rust executable)
 * serves some blocks beside it: only then is every block a glibc chunk. */
bool at_uses_glibc_malloc(struct at_elfcache *ec, int pid, const struct at_maps *m)
{
	const struct at_elf *e;
	const struct at_vma *v = at_allocator_pick(ec, pid, m, &e);

	if (!v || !at_path_is_libc(v->path))
		return false;
	for (size_t i = 0; i < m->n; i++)
		if (m->v[i].exec && at_vma_is_file(&m->v[i]) && !at_path_is_libc(m->v[i].path) &&
		    !at_path_is_loader(m->v[i].path) && other_family(at_elfcache_get(ec, pid, &m->v[i])))
			return false;
	return true;
}

/* name ends with suffix: the length of what comes before it, else -1 */
static int prefix_len(const char *name, const char *suffix)
{
	size_t n = strlen(name), k = strlen(suffix);

	return n >= k && !strcmp(name + n - k, suffix) ? (int)(n - k) : -1;
}

static bool has_func(const struct at_elf *e, const char *prefix, int plen, const char *stem)
{
	char name[AT_PREFIX_MAX + 64];

	snprintf(name, sizeof(name), "%.*s%s", plen, prefix, stem);
	return at_elf_func(e, name) != NULL;
}

static bool found_already(const struct at_found_family *out, int n, enum at_family_id fam, const char *p, int plen)
{
	for (int i = 0; i < n; i++)
		if (out[i].fam == fam && (int)strlen(out[i].prefix) == plen && !strncmp(out[i].prefix, p, plen))
			return true;
	return false;
}

int at_elf_families(const struct at_elf *e, struct at_found_family *out, int max)
{
	int n = 0;

	if (!e)
		return 0;
	for (size_t i = 0; i < at_elf_nr_funcs(e); i++) {
		const char *name = at_elf_func_nth(e, i)->name;

		for (int f = 0; f < AT_NR_FAMILIES && n < max; f++) {
			const struct at_family *fam = at_family_of(f);
			int plen = prefix_len(name, fam->anchor);

			if (plen < 0 || plen >= AT_PREFIX_MAX || (plen && !fam->prefixed) ||
			    !has_func(e, name, plen, fam->partner) || found_already(out, n, f, name, plen))
				continue;
			out[n].fam = f;
			snprintf(out[n++].prefix, AT_PREFIX_MAX, "%.*s", plen, name);
		}
	}
	/* in family order, libc first: where names share code, the first family's name is
	 * the one a call without a GOT slot counts under, the same on every run */
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && out[j].fam < out[j - 1].fam; j--) {
			struct at_found_family t = out[j];

			out[j] = out[j - 1];
			out[j - 1] = t;
		}
	return n;
}

/* Is prefix p (of a malloc, free, realloc and calloc) a known family's, or the C
 * library's own (reserved "__" names: glibc's __libc_malloc, ld.so's __minimal_malloc)?
 * mimalloc's mi_malloc is prefix "mi_" before "malloc". */
static bool claimed(const struct at_elf *e, const struct at_found_family *known, int nr, const char *p, int plen)
{
	char own[AT_PREFIX_MAX + 8];

	if ((plen >= 2 && !strncmp(p, "__", 2)) || has_func(e, p, plen, "mallocx"))
		return true;
	for (int i = 0; i < nr; i++) {
		snprintf(own, sizeof(own), "%s%s", known[i].prefix,
			 known[i].fam == AT_FAM_MIMALLOC ? "mi_" : known[i].fam == AT_FAM_TCMALLOC ? "tc_" : "");
		if ((int)strlen(own) == plen && !strncmp(own, p, plen))
			return true;
	}
	return false;
}

bool at_elf_unknown_allocator(const struct at_elf *e, const struct at_found_family *known, int nr_known,
			      char *out, size_t len)
{
	for (size_t i = 0; e && i < at_elf_nr_funcs(e); i++) {
		const char *name = at_elf_func_nth(e, i)->name;
		int plen = prefix_len(name, "malloc");

		/* wrappers such as xmalloc come without their own free, realloc and calloc */
		if (plen <= 0 || plen >= AT_PREFIX_MAX || !has_func(e, name, plen, "free") ||
		    !has_func(e, name, plen, "realloc") || !has_func(e, name, plen, "calloc") ||
		    claimed(e, known, nr_known, name, plen))
			continue;
		snprintf(out, len, "%.*s", plen, name);
		return true;
	}
	return false;
}
