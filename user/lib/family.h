/* Allocator families as data: each entry point with the roles of its arguments, its
 * result and what it means to the accounting; each family with its names. The planner
 * probes what these tables list; the probes learn the roles from the attach cookie. */
#ifndef AT_FAMILY_H
#define AT_FAMILY_H

#include <stdbool.h>
#include <stddef.h>
#include "alloctop.h"

/* One entry point. Argument numbers 0..5, AT_ARG_NONE when absent. align and flags
 * are listed for completeness (-v, the README): the accounting uses requested sizes. */
struct at_entry {
	const char *name;	/* the key in "calls": the name without prefix */
	enum at_call_kind kind;
	enum at_call_result result;
	__u8 size, count, ptr, extra, align, flags;
	__u64 opts;		/* AT_CK_ZERO_FREES, AT_CK_FAIL_FREES */
};

/* A symbol of a family: the entry point it is, and its name after the prefix. */
struct at_family_sym {
	enum at_func func;
	const char *sym;	/* NULL: the entry's own name */
};

struct at_family {
	const char *name;		/* "libc", "jemalloc", "mimalloc", "tcmalloc", "c++" */
	/* defined together under one prefix, they say the family is there */
	const char *anchor, *partner;
	bool prefixed;			/* may carry a prefix (je_, _rjem_, any) */
	const struct at_family_sym *syms;
	size_t nr_syms;
};

enum at_family_id { AT_FAM_LIBC, AT_FAM_JEMALLOC, AT_FAM_MIMALLOC, AT_FAM_TCMALLOC, AT_FAM_CXX, AT_NR_FAMILIES };

const struct at_entry *at_entry_of(enum at_func f);	/* NULL if out of range */
const struct at_family *at_family_of(enum at_family_id id);
const char *at_family_sym_name(const struct at_family_sym *s);	/* after the prefix */
/* The attach cookie of a probe on f (alloctop.h), without AT_CK_ALIASED. */
__u64 at_entry_cookie(enum at_func f);
/* Do two functions read the same arguments the same way (may share one probe)? */
bool at_entry_same_roles(enum at_func a, enum at_func b);
const char *at_call_kind_name(enum at_call_kind k);

#endif
