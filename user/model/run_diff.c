/* Two runs side by side (alloctop diff): the change of each site. */
#include "model/run.h"
#include "lib/util.h"

#include <stdlib.h>
#include <string.h>

static const struct at_run_site *find(const struct at_run *r, const char *key)
{
	__u64 k1, k2;
	void *idx;

	at_hash_str(key, &k1, &k2);
	idx = at_hash_get(&r->by_key, k1, k2);
	return idx ? &r->sites[(size_t)idx - 1] : NULL;
}

static __s64 mag(__s64 v)
{
	return v < 0 ? -v : v;
}

static int by_change(const void *x, const void *y)
{
	const struct at_run_delta *a = x, *b = y;

	if (mag(a->d_alloc_bytes) != mag(b->d_alloc_bytes))
		return mag(a->d_alloc_bytes) < mag(b->d_alloc_bytes) ? 1 : -1;
	if (mag(a->d_allocs) != mag(b->d_allocs))
		return mag(a->d_allocs) < mag(b->d_allocs) ? 1 : -1;
	if (mag(a->d_live_bytes) != mag(b->d_live_bytes))
		return mag(a->d_live_bytes) < mag(b->d_live_bytes) ? 1 : -1;
	return strcmp((a->a ? a->a : a->b)->key, (b->a ? b->a : b->b)->key);
}

struct at_run_delta *at_run_diff(const struct at_run *a, const struct at_run *b, size_t *n)
{
	struct at_run_delta *d = at_xcalloc(a->nr_sites + b->nr_sites + 1, sizeof(*d));
	size_t k = 0;

	for (size_t i = 0; i < a->nr_sites; i++)
		d[k++] = (struct at_run_delta){ .a = &a->sites[i], .b = find(b, a->sites[i].key) };
	for (size_t i = 0; i < b->nr_sites; i++)
		if (!find(a, b->sites[i].key))
			d[k++] = (struct at_run_delta){ .b = &b->sites[i] };
	for (size_t i = 0; i < k; i++) {
		const struct at_run_site *x = d[i].a, *y = d[i].b;

		d[i].d_allocs = (y ? y->allocs : 0) - (x ? x->allocs : 0);
		d[i].d_alloc_bytes = (y ? y->alloc_bytes : 0) - (x ? x->alloc_bytes : 0);
		d[i].d_live_bytes = (y ? y->live_bytes : 0) - (x ? x->live_bytes : 0);
	}
	qsort(d, k, sizeof(*d), by_change);
	*n = k;
	return d;
}
