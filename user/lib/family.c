/* The allocator families alloctop knows, as tables (see family.h). Argument numbers
 * follow each function's C prototype; a prefix (je_, _rjem_, ...) goes before sym. */
#include "lib/family.h"

#include <stddef.h>

#define N AT_ARG_NONE
#define E(f, nm, k, res, sz, cnt, p, ex, al, fl, o) \
	[f] = { .name = nm, .kind = k, .result = res, .size = sz, .count = cnt, .ptr = p, .extra = ex, \
		.align = al, .flags = fl, .opts = o }
/* a new block: size (x count) bytes */
#define ALLOC(f, nm, sz, cnt, al, fl) E(f, nm, AT_KIND_ALLOC, AT_RES_PTR, sz, cnt, N, N, al, fl, 0)
/* 0 or an error code; the block through the out-pointer p */
#define ALLOC_RC(f, nm, p, sz, al) E(f, nm, AT_KIND_ALLOC, AT_RES_RC_OUT, sz, N, p, N, al, N, 0)
/* block p to size (x count) bytes; the result is the block, moved or not */
#define RESIZE(f, nm, p, sz, cnt, al, fl, o) E(f, nm, AT_KIND_RESIZE, AT_RES_PTR, sz, cnt, p, N, al, fl, o)
/* frees block p; sz is a sized free's size (unused: the block's own size counts) */
#define FREE(f, nm, p, sz, al, fl) E(f, nm, AT_KIND_FREE, AT_RES_PTR, sz, N, p, N, al, fl, 0)
#define QUERY(f, nm, p, sz, fl) E(f, nm, AT_KIND_QUERY, AT_RES_PTR, sz, N, p, N, N, fl, 0)

static const struct at_entry entries[AT_NR_FUNCS] = {
	ALLOC(AT_MALLOC, "malloc", 0, N, N, N),
	ALLOC(AT_CALLOC, "calloc", 1, 0, N, N),
	RESIZE(AT_REALLOC, "realloc", 0, 1, N, N, N, AT_CK_ZERO_FREES),
	RESIZE(AT_REALLOCARRAY, "reallocarray", 0, 2, 1, N, N, AT_CK_ZERO_FREES),
	FREE(AT_FREE, "free", 0, N, N, N),
	ALLOC_RC(AT_POSIX_MEMALIGN, "posix_memalign", 0, 2, 1),
	ALLOC(AT_ALIGNED_ALLOC, "aligned_alloc", 1, N, 0, N),
	ALLOC(AT_MEMALIGN, "memalign", 1, N, 0, N),
	ALLOC(AT_VALLOC, "valloc", 0, N, N, N),
	ALLOC(AT_PVALLOC, "pvalloc", 0, N, N, N),
	E(AT_MMAP, "mmap", AT_KIND_MAP, AT_RES_PTR, 1, N, N, N, N, 3, 0),
	E(AT_MUNMAP, "munmap", AT_KIND_MAP, AT_RES_PTR, 1, N, 0, N, N, N, 0),
	ALLOC(AT_NEW, "new", 0, N, N, N),		/* aligned forms: the alignment is argument 1 */
	ALLOC(AT_NEW_ARRAY, "new_array", 0, N, N, N),
	FREE(AT_DELETE, "delete", 0, N, N, N),		/* sized forms: the size is argument 1 */
	FREE(AT_DELETE_ARRAY, "delete_array", 0, N, N, N),
	/* jemalloc: flags carry MALLOCX_ALIGN / ZERO / TCACHE / ARENA */
	ALLOC(AT_MALLOCX, "mallocx", 0, N, N, 1),
	RESIZE(AT_RALLOCX, "rallocx", 0, 1, N, N, 2, 0),
	E(AT_XALLOCX, "xallocx", AT_KIND_RESIZE, AT_RES_USABLE, 1, N, 0, 2, N, 3, 0),
	FREE(AT_DALLOCX, "dallocx", 0, N, N, 1),
	FREE(AT_SDALLOCX, "sdallocx", 0, 1, N, 2),
	QUERY(AT_SALLOCX, "sallocx", 0, N, 1),
	QUERY(AT_NALLOCX, "nallocx", N, 0, 1),
	/* mimalloc; the _at forms' offset (the argument after the alignment) plays no role */
	ALLOC(AT_MI_MALLOC, "mi_malloc", 0, N, N, N),
	ALLOC(AT_MI_CALLOC, "mi_calloc", 1, 0, N, N),
	ALLOC(AT_MI_ZALLOC, "mi_zalloc", 0, N, N, N),
	ALLOC(AT_MI_MALLOCN, "mi_mallocn", 1, 0, N, N),
	ALLOC(AT_MI_MALLOC_SMALL, "mi_malloc_small", 0, N, N, N),
	ALLOC(AT_MI_ZALLOC_SMALL, "mi_zalloc_small", 0, N, N, N),
	RESIZE(AT_MI_REALLOC, "mi_realloc", 0, 1, N, N, N, 0),
	RESIZE(AT_MI_REALLOCN, "mi_reallocn", 0, 2, 1, N, N, 0),
	RESIZE(AT_MI_REALLOCF, "mi_reallocf", 0, 1, N, N, N, AT_CK_FAIL_FREES),
	RESIZE(AT_MI_EXPAND, "mi_expand", 0, 1, N, N, N, 0),	/* in place or NULL */
	ALLOC(AT_MI_MALLOC_ALIGNED, "mi_malloc_aligned", 0, N, 1, N),
	ALLOC(AT_MI_MALLOC_ALIGNED_AT, "mi_malloc_aligned_at", 0, N, 1, N),
	ALLOC(AT_MI_ZALLOC_ALIGNED, "mi_zalloc_aligned", 0, N, 1, N),
	ALLOC(AT_MI_ZALLOC_ALIGNED_AT, "mi_zalloc_aligned_at", 0, N, 1, N),
	ALLOC(AT_MI_CALLOC_ALIGNED, "mi_calloc_aligned", 1, 0, 2, N),
	ALLOC(AT_MI_CALLOC_ALIGNED_AT, "mi_calloc_aligned_at", 1, 0, 2, N),
	RESIZE(AT_MI_REALLOC_ALIGNED, "mi_realloc_aligned", 0, 1, N, 2, N, 0),
	RESIZE(AT_MI_REALLOC_ALIGNED_AT, "mi_realloc_aligned_at", 0, 1, N, 2, N, 0),
	ALLOC_RC(AT_MI_POSIX_MEMALIGN, "mi_posix_memalign", 0, 2, 1),
	ALLOC(AT_MI_MEMALIGN, "mi_memalign", 1, N, 0, N),
	ALLOC(AT_MI_ALIGNED_ALLOC, "mi_aligned_alloc", 1, N, 0, N),
	FREE(AT_MI_FREE, "mi_free", 0, N, N, N),
	FREE(AT_MI_FREE_SIZE, "mi_free_size", 0, 1, N, N),
	FREE(AT_MI_FREE_ALIGNED, "mi_free_aligned", 0, N, 1, N),
	FREE(AT_MI_FREE_SIZE_ALIGNED, "mi_free_size_aligned", 0, 1, 2, N),
	ALLOC(AT_MI_NEW, "mi_new", 0, N, N, N),
	ALLOC(AT_MI_NEW_NOTHROW, "mi_new_nothrow", 0, N, N, N),
	ALLOC(AT_MI_NEW_ALIGNED, "mi_new_aligned", 0, N, 1, N),
	ALLOC(AT_MI_NEW_ALIGNED_NOTHROW, "mi_new_aligned_nothrow", 0, N, 1, N),
	ALLOC(AT_MI_NEW_N, "mi_new_n", 1, 0, N, N),
	RESIZE(AT_MI_NEW_REALLOC, "mi_new_realloc", 0, 1, N, N, N, 0),
	RESIZE(AT_MI_NEW_REALLOCN, "mi_new_reallocn", 0, 2, 1, N, N, 0),
	QUERY(AT_MI_USABLE_SIZE, "mi_usable_size", 0, N, N),
	/* tcmalloc (gperftools) */
	ALLOC(AT_TC_MALLOC, "tc_malloc", 0, N, N, N),
	ALLOC(AT_TC_CALLOC, "tc_calloc", 1, 0, N, N),
	RESIZE(AT_TC_REALLOC, "tc_realloc", 0, 1, N, N, N, AT_CK_ZERO_FREES),
	FREE(AT_TC_FREE, "tc_free", 0, N, N, N),
	FREE(AT_TC_CFREE, "tc_cfree", 0, N, N, N),
	FREE(AT_TC_FREE_SIZED, "tc_free_sized", 0, 1, N, N),
	ALLOC(AT_TC_MEMALIGN, "tc_memalign", 1, N, 0, N),
	ALLOC_RC(AT_TC_POSIX_MEMALIGN, "tc_posix_memalign", 0, 2, 1),
	ALLOC(AT_TC_VALLOC, "tc_valloc", 0, N, N, N),
	ALLOC(AT_TC_PVALLOC, "tc_pvalloc", 0, N, N, N),
	ALLOC(AT_TC_MALLOC_SKIP_NEW_HANDLER, "tc_malloc_skip_new_handler", 0, N, N, N),
	ALLOC(AT_TC_NEW, "tc_new", 0, N, N, N),
	ALLOC(AT_TC_NEWARRAY, "tc_newarray", 0, N, N, N),
	ALLOC(AT_TC_NEW_NOTHROW, "tc_new_nothrow", 0, N, N, N),
	ALLOC(AT_TC_NEWARRAY_NOTHROW, "tc_newarray_nothrow", 0, N, N, N),
	ALLOC(AT_TC_NEW_ALIGNED, "tc_new_aligned", 0, N, 1, N),
	ALLOC(AT_TC_NEWARRAY_ALIGNED, "tc_newarray_aligned", 0, N, 1, N),
	ALLOC(AT_TC_NEW_ALIGNED_NOTHROW, "tc_new_aligned_nothrow", 0, N, 1, N),
	ALLOC(AT_TC_NEWARRAY_ALIGNED_NOTHROW, "tc_newarray_aligned_nothrow", 0, N, 1, N),
	FREE(AT_TC_DELETE, "tc_delete", 0, N, N, N),
	FREE(AT_TC_DELETEARRAY, "tc_deletearray", 0, N, N, N),
	FREE(AT_TC_DELETE_SIZED, "tc_delete_sized", 0, 1, N, N),
	FREE(AT_TC_DELETEARRAY_SIZED, "tc_deletearray_sized", 0, 1, N, N),
	FREE(AT_TC_DELETE_NOTHROW, "tc_delete_nothrow", 0, N, N, N),
	FREE(AT_TC_DELETEARRAY_NOTHROW, "tc_deletearray_nothrow", 0, N, N, N),
	FREE(AT_TC_DELETE_ALIGNED, "tc_delete_aligned", 0, N, 1, N),
	FREE(AT_TC_DELETEARRAY_ALIGNED, "tc_deletearray_aligned", 0, N, 1, N),
	FREE(AT_TC_DELETE_SIZED_ALIGNED, "tc_delete_sized_aligned", 0, 1, 2, N),
	FREE(AT_TC_DELETEARRAY_SIZED_ALIGNED, "tc_deletearray_sized_aligned", 0, 1, 2, N),
	FREE(AT_TC_DELETE_ALIGNED_NOTHROW, "tc_delete_aligned_nothrow", 0, N, 1, N),
	FREE(AT_TC_DELETEARRAY_ALIGNED_NOTHROW, "tc_deletearray_aligned_nothrow", 0, N, 1, N),
	QUERY(AT_TC_MALLOC_SIZE, "tc_malloc_size", 0, N, N),
	QUERY(AT_TC_NALLOCX, "tc_nallocx", N, 0, 1),
};

/* the C names every malloc-compatible allocator exports */
#define STD_SYMS \
	{ AT_MALLOC, "malloc" }, { AT_CALLOC, "calloc" }, { AT_REALLOC, "realloc" }, { AT_FREE, "free" }, \
	{ AT_POSIX_MEMALIGN, "posix_memalign" }, { AT_ALIGNED_ALLOC, "aligned_alloc" }, \
	{ AT_MEMALIGN, "memalign" }, { AT_VALLOC, "valloc" }

static const struct at_family_sym libc_syms[] = {
	STD_SYMS, { AT_REALLOCARRAY, "reallocarray" }, { AT_PVALLOC, "pvalloc" },
};

static const struct at_family_sym jemalloc_syms[] = {
	STD_SYMS,
	{ AT_MALLOCX, "mallocx" }, { AT_RALLOCX, "rallocx" }, { AT_XALLOCX, "xallocx" },
	{ AT_DALLOCX, "dallocx" }, { AT_SDALLOCX, "sdallocx" }, { AT_SALLOCX, "sallocx" },
	{ AT_NALLOCX, "nallocx" },
};

/* names without a sym are the entry's own name */
static const struct at_family_sym mi_syms[] = {
	{ AT_MI_MALLOC, NULL }, { AT_MI_CALLOC, NULL }, { AT_MI_ZALLOC, NULL }, { AT_MI_MALLOCN, NULL }, { AT_MI_MALLOC_SMALL, NULL },
	{ AT_MI_ZALLOC_SMALL, NULL }, { AT_MI_REALLOC, NULL }, { AT_MI_REALLOCN, NULL }, { AT_MI_REALLOCF, NULL }, { AT_MI_EXPAND, NULL },
	{ AT_MI_MALLOC_ALIGNED, NULL }, { AT_MI_MALLOC_ALIGNED_AT, NULL }, { AT_MI_ZALLOC_ALIGNED, NULL },
	{ AT_MI_ZALLOC_ALIGNED_AT, NULL }, { AT_MI_CALLOC_ALIGNED, NULL }, { AT_MI_CALLOC_ALIGNED_AT, NULL },
	{ AT_MI_REALLOC_ALIGNED, NULL }, { AT_MI_REALLOC_ALIGNED_AT, NULL }, { AT_MI_POSIX_MEMALIGN, NULL }, { AT_MI_MEMALIGN, NULL },
	{ AT_MI_ALIGNED_ALLOC, NULL }, { AT_MI_FREE, NULL }, { AT_MI_FREE_SIZE, NULL }, { AT_MI_FREE_ALIGNED, NULL },
	{ AT_MI_FREE_SIZE_ALIGNED, NULL }, { AT_MI_NEW, NULL }, { AT_MI_NEW_NOTHROW, NULL }, { AT_MI_NEW_ALIGNED, NULL },
	{ AT_MI_NEW_ALIGNED_NOTHROW, NULL }, { AT_MI_NEW_N, NULL }, { AT_MI_NEW_REALLOC, NULL }, { AT_MI_NEW_REALLOCN, NULL },
	{ AT_MI_USABLE_SIZE, NULL },
};

static const struct at_family_sym tc_syms[] = {
	{ AT_TC_MALLOC, NULL }, { AT_TC_CALLOC, NULL }, { AT_TC_REALLOC, NULL }, { AT_TC_FREE, NULL }, { AT_TC_CFREE, NULL },
	{ AT_TC_FREE_SIZED, NULL }, { AT_TC_MEMALIGN, NULL }, { AT_TC_POSIX_MEMALIGN, NULL }, { AT_TC_VALLOC, NULL }, { AT_TC_PVALLOC, NULL },
	{ AT_TC_MALLOC_SKIP_NEW_HANDLER, NULL }, { AT_TC_NEW, NULL }, { AT_TC_NEWARRAY, NULL }, { AT_TC_NEW_NOTHROW, NULL },
	{ AT_TC_NEWARRAY_NOTHROW, NULL }, { AT_TC_NEW_ALIGNED, NULL }, { AT_TC_NEWARRAY_ALIGNED, NULL },
	{ AT_TC_NEW_ALIGNED_NOTHROW, NULL }, { AT_TC_NEWARRAY_ALIGNED_NOTHROW, NULL }, { AT_TC_DELETE, NULL }, { AT_TC_DELETEARRAY, NULL },
	{ AT_TC_DELETE_SIZED, NULL }, { AT_TC_DELETEARRAY_SIZED, NULL }, { AT_TC_DELETE_NOTHROW, NULL },
	{ AT_TC_DELETEARRAY_NOTHROW, NULL }, { AT_TC_DELETE_ALIGNED, NULL }, { AT_TC_DELETEARRAY_ALIGNED, NULL },
	{ AT_TC_DELETE_SIZED_ALIGNED, NULL }, { AT_TC_DELETEARRAY_SIZED_ALIGNED, NULL }, { AT_TC_DELETE_ALIGNED_NOTHROW, NULL },
	{ AT_TC_DELETEARRAY_ALIGNED_NOTHROW, NULL }, { AT_TC_MALLOC_SIZE, NULL }, { AT_TC_NALLOCX, NULL },
};

/* operator new and delete, Itanium ABI: sized, aligned and nothrow forms */
static const struct at_family_sym cxx_syms[] = {
	{ AT_NEW, "_Znwm" }, { AT_NEW, "_ZnwmRKSt9nothrow_t" }, { AT_NEW, "_ZnwmSt11align_val_t" },
	{ AT_NEW, "_ZnwmSt11align_val_tRKSt9nothrow_t" },
	{ AT_NEW_ARRAY, "_Znam" }, { AT_NEW_ARRAY, "_ZnamRKSt9nothrow_t" }, { AT_NEW_ARRAY, "_ZnamSt11align_val_t" },
	{ AT_NEW_ARRAY, "_ZnamSt11align_val_tRKSt9nothrow_t" },
	{ AT_DELETE, "_ZdlPv" }, { AT_DELETE, "_ZdlPvm" }, { AT_DELETE, "_ZdlPvRKSt9nothrow_t" },
	{ AT_DELETE, "_ZdlPvSt11align_val_t" }, { AT_DELETE, "_ZdlPvmSt11align_val_t" },
	{ AT_DELETE, "_ZdlPvSt11align_val_tRKSt9nothrow_t" },
	{ AT_DELETE_ARRAY, "_ZdaPv" }, { AT_DELETE_ARRAY, "_ZdaPvm" }, { AT_DELETE_ARRAY, "_ZdaPvRKSt9nothrow_t" },
	{ AT_DELETE_ARRAY, "_ZdaPvSt11align_val_t" }, { AT_DELETE_ARRAY, "_ZdaPvmSt11align_val_t" },
	{ AT_DELETE_ARRAY, "_ZdaPvSt11align_val_tRKSt9nothrow_t" },
};

#define NR(a) (sizeof(a) / sizeof((a)[0]))
#define FAM(id, nm, a, b, pre, s) \
	[id] = { .name = nm, .anchor = a, .partner = b, .prefixed = pre, .syms = s, .nr_syms = NR(s) }
static const struct at_family families[AT_NR_FAMILIES] = {
	FAM(AT_FAM_LIBC, "libc", "malloc", "free", false, libc_syms),
	FAM(AT_FAM_JEMALLOC, "jemalloc", "mallocx", "dallocx", true, jemalloc_syms),
	FAM(AT_FAM_MIMALLOC, "mimalloc", "mi_malloc", "mi_free", true, mi_syms),
	FAM(AT_FAM_TCMALLOC, "tcmalloc", "tc_malloc", "tc_free", true, tc_syms),
	FAM(AT_FAM_CXX, "c++", "_Znwm", "_ZdlPv", false, cxx_syms),
};

const struct at_family *at_family_of(enum at_family_id id)
{
	return id < AT_NR_FAMILIES ? &families[id] : NULL;
}

const char *at_family_sym_name(const struct at_family_sym *s)
{
	return s->sym ? s->sym : entries[s->func].name;
}

const struct at_entry *at_entry_of(enum at_func f)
{
	return f < AT_NR_FUNCS ? &entries[f] : NULL;
}

__u64 at_entry_cookie(enum at_func f)
{
	const struct at_entry *e = at_entry_of(f);

	if (!e)
		return 0;
	return AT_CK_PACK(f, e->kind, e->size, e->count, e->ptr, e->extra, e->result) | e->opts;
}

bool at_entry_same_roles(enum at_func a, enum at_func b)
{
	const struct at_entry *x = at_entry_of(a), *y = at_entry_of(b);

	if (!x || !y || x->kind != y->kind || x->ptr != y->ptr)
		return false;
	if (x->kind == AT_KIND_FREE || x->kind == AT_KIND_QUERY)
		return true;	/* the freed pointer is all a free's probe reads */
	return x->result == y->result && x->size == y->size && x->count == y->count && x->extra == y->extra;
}

const char *at_call_kind_name(enum at_call_kind k)
{
	static const char *const n[] = { "alloc", "free", "resize", "query", "map" };

	return k < sizeof(n) / sizeof(n[0]) ? n[k] : "?";
}
