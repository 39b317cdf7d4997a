/* The heap pass's in-place radix sort against qsort. */
#include "unit.h"
#include "lib/radix.h"
#include <stdlib.h>

static int by_key_then_val(const void *a, const void *b)
{
	const struct at_kv *x = a, *y = b;

	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return (x->val > y->val) - (x->val < y->val);
}

/* keys masked to mimic addresses (high bytes equal). The sort is not stable: the
 * result must be ordered by key and hold the same pairs. */
static int sorts_like_qsort(size_t n, __u64 base, __u64 mask)
{
	struct at_kv *a = calloc(n + 1, sizeof(*a)), *b = calloc(n + 1, sizeof(*b));
	int ok = 1;

	for (size_t i = 0; i < n; i++)
		a[i] = b[i] = (struct at_kv){ base + (unit_rand() & mask), i };
	at_radix_sort(a, n);
	for (size_t i = 1; i < n && ok; i++)
		ok = a[i - 1].key <= a[i].key;
	qsort(a, n, sizeof(*a), by_key_then_val);	/* equal keys: compare as pairs */
	qsort(b, n, sizeof(*b), by_key_then_val);
	ok = ok && !memcmp(a, b, n * sizeof(*a));
	free(a);
	free(b);
	return ok;
}

static void test_matches_qsort(void)
{
	CHECK(sorts_like_qsort(1000000, 0x7f0000000000ULL, 0x0fffffff0ULL));	/* a big heap */
	CHECK(sorts_like_qsort(100000, 0, ~0ULL));	/* every byte varies */
	CHECK(sorts_like_qsort(50000, 0x555555554000ULL, 0xff));	/* many equal keys */
	CHECK(sorts_like_qsort(1, 42, 0));
	CHECK(sorts_like_qsort(0, 0, 0));
	CHECK(sorts_like_qsort(31, 0, 0xffff));	/* below the insertion-sort cut */
	CHECK(sorts_like_qsort(1000, 7, 0));	/* all keys equal */
	CHECK(sorts_like_qsort(5000, 0, 0x0f0f0f0f0f0f0f0fULL));	/* varying bytes apart */
}

static void test_sorted_and_reversed_input(void)
{
	enum { N = 70000 };
	struct at_kv *a = calloc(N, sizeof(*a));
	int ok = 1;

	for (size_t i = 0; i < N; i++)
		a[i] = (struct at_kv){ (N - i) * 48 + 0x7f00000000ULL, i };
	at_radix_sort(a, N);
	for (size_t i = 0; i < N && ok; i++)
		ok = a[i].key == (i + 1) * 48 + 0x7f00000000ULL && a[i].val == N - 1 - i;
	at_radix_sort(a, N);	/* already sorted */
	for (size_t i = 1; i < N && ok; i++)
		ok = a[i - 1].key < a[i].key;
	CHECK(ok);
	free(a);
}

int main(void)
{
	RUN(test_matches_qsort);
	RUN(test_sorted_and_reversed_input);
	return UNIT_DONE();
}
