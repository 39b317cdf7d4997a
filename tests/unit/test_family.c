/* The allocator family tables (user/lib/family.c) and the scan that finds families and
 * their prefixes in a file (user/binary/allocator.c). */
#include "unit.h"
#include "lib/family.h"
#include "binary/allocator.h"
#include "binary/elf.h"

#include <unistd.h>

#define LIBDIR "/usr/lib/x86_64-linux-gnu/"

/* every entry point has a unique name and roles its kind can use */
static void test_entries_complete(void)
{
	for (int f = 0; f < AT_NR_FUNCS; f++) {
		const struct at_entry *e = at_entry_of(f);

		CHECK(e && e->name && *e->name);
		if (!e || !e->name)
			continue;
		for (int g = 0; g < f; g++)
			CHECK(strcmp(e->name, at_entry_of(g)->name));
		if (e->kind == AT_KIND_ALLOC || e->kind == AT_KIND_RESIZE)
			CHECK(e->size < 6);
		if (e->kind == AT_KIND_FREE || e->kind == AT_KIND_RESIZE || e->result == AT_RES_RC_OUT)
			CHECK(e->ptr < 6);
		if (e->result == AT_RES_USABLE)
			CHECK(f == AT_XALLOCX && e->extra < 6);
	}
	CHECK(!at_entry_of(AT_NR_FUNCS));
}

/* the cookie carries what the table says */
static void test_cookie_roundtrip(void)
{
	for (int f = 0; f < AT_NR_FUNCS; f++) {
		const struct at_entry *e = at_entry_of(f);
		__u64 c = at_entry_cookie(f);

		CHECK_EQ_U(AT_CK_FUNC(c), f);
		CHECK_EQ_U(AT_CK_KIND(c), e->kind);
		CHECK_EQ_U(AT_CK_SIZE(c), e->size);
		CHECK_EQ_U(AT_CK_COUNT(c), e->count);
		CHECK_EQ_U(AT_CK_PTR(c), e->ptr);
		CHECK_EQ_U(AT_CK_EXTRA(c), e->extra);
		CHECK_EQ_U(AT_CK_RESULT(c), e->result);
		CHECK(!(c & AT_CK_ALIASED));
	}
	CHECK(at_entry_cookie(AT_REALLOC) & AT_CK_ZERO_FREES);
	CHECK(at_entry_cookie(AT_MI_REALLOCF) & AT_CK_FAIL_FREES);
	/* mallocx(size, flags), rallocx(ptr, size, flags), calloc(n, size) */
	CHECK_EQ_U(AT_CK_SIZE(at_entry_cookie(AT_MALLOCX)), 0);
	CHECK_EQ_U(AT_CK_PTR(at_entry_cookie(AT_RALLOCX)), 0);
	CHECK_EQ_U(AT_CK_SIZE(at_entry_cookie(AT_RALLOCX)), 1);
	CHECK_EQ_U(AT_CK_COUNT(at_entry_cookie(AT_CALLOC)), 0);
	CHECK_EQ_U(AT_CK_SIZE(at_entry_cookie(AT_CALLOC)), 1);
}

static void test_same_roles(void)
{
	CHECK(at_entry_same_roles(AT_MALLOC, AT_TC_MALLOC));
	CHECK(at_entry_same_roles(AT_FREE, AT_DELETE));
	CHECK(at_entry_same_roles(AT_DELETE, AT_TC_DELETE_SIZED));	/* frees read only the pointer */
	CHECK(at_entry_same_roles(AT_MEMALIGN, AT_ALIGNED_ALLOC));
	CHECK(!at_entry_same_roles(AT_MALLOC, AT_CALLOC));
	CHECK(!at_entry_same_roles(AT_MALLOC, AT_FREE));
	CHECK(!at_entry_same_roles(AT_REALLOC, AT_XALLOCX));
}

static bool has(const struct at_found_family *ff, int n, enum at_family_id fam, const char *prefix)
{
	for (int i = 0; i < n; i++)
		if (ff[i].fam == fam && !strcmp(ff[i].prefix, prefix))
			return true;
	return false;
}

static int scan(const char *path, struct at_found_family *ff, struct at_elf **e)
{
	*e = at_elf__open_path(path);
	CHECK(*e);
	return *e ? at_elf_families(*e, ff, AT_FOUND_MAX) : 0;
}

static void test_scan_libraries(void)
{
	struct at_found_family ff[AT_FOUND_MAX];
	struct at_elf *e;
	int n;

	n = scan(LIBDIR "libjemalloc.so.2", ff, &e);
	CHECK(has(ff, n, AT_FAM_JEMALLOC, "") && has(ff, n, AT_FAM_LIBC, "") && has(ff, n, AT_FAM_CXX, ""));
	CHECK(!has(ff, n, AT_FAM_MIMALLOC, "") && !has(ff, n, AT_FAM_TCMALLOC, ""));
	at_elf__close(e);
	n = scan(LIBDIR "libmimalloc.so.2", ff, &e);
	CHECK(has(ff, n, AT_FAM_MIMALLOC, "") && has(ff, n, AT_FAM_LIBC, ""));
	at_elf__close(e);
	n = scan(LIBDIR "libtcmalloc_minimal.so.4", ff, &e);
	CHECK(has(ff, n, AT_FAM_TCMALLOC, "") && has(ff, n, AT_FAM_LIBC, ""));
	at_elf__close(e);
}

/* a static executable with glibc's malloc and jemalloc under _rjem_: both, and glibc's
 * own __libc_malloc names are no unknown allocator */
static void test_scan_prefixed_static(void)
{
	struct at_found_family ff[AT_FOUND_MAX];
	struct at_elf *e;
	char pre[AT_PREFIX_MAX];
	int n;

	if (access("build/families/rjem-static", R_OK)) {
		SKIP(test_scan_prefixed_static, "build/families/rjem-static not built (make)");
		return;
	}
	n = scan("build/families/rjem-static", ff, &e);
	CHECK(has(ff, n, AT_FAM_JEMALLOC, "_rjem_"));
	CHECK(has(ff, n, AT_FAM_LIBC, ""));
	CHECK(!has(ff, n, AT_FAM_JEMALLOC, ""));
	CHECK(!at_elf_unknown_allocator(e, ff, n, pre, sizeof(pre)));
	at_elf__close(e);
	n = scan("build/families/unknown", ff, &e);
	CHECK(at_elf_unknown_allocator(e, ff, n, pre, sizeof(pre)));
	CHECK_STR(pre, "dl");
	at_elf__close(e);
}

int main(void)
{
	RUN(test_entries_complete);
	RUN(test_cookie_roundtrip);
	RUN(test_same_roles);
	RUN(test_scan_libraries);
	RUN(test_scan_prefixed_static);
	return UNIT_DONE();
}
