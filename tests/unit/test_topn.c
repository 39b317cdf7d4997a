/* Top-k selection against a full sort of the same items. */
#include "unit.h"
#include "lib/topn.h"
#include <stdint.h>
#include <stdlib.h>

struct item {
	__u64 value;
	int id;		/* tie: lower id first */
};

static int tie(const void *a, const void *b)
{
	const struct item *x = a, *y = b;

	return (x->id > y->id) - (x->id < y->id);
}

static int full_order(const void *a, const void *b)
{
	const struct item *x = a, *y = b;

	if (x->value != y->value)
		return x->value > y->value ? -1 : 1;
	return tie(x, y);
}

/* k best of n random items (values from a small range, so ties are common) */
static int same_as_sort(size_t n, size_t k, __u64 range)
{
	struct item *it = calloc(n ? n : 1, sizeof(*it)), *sorted = calloc(n ? n : 1, sizeof(*it));
	struct at_topn t;
	size_t got;
	int ok = 1;

	for (size_t i = 0; i < n; i++)
		it[i] = (struct item){ unit_rand() % range, (int)(i * 7919 % n) };	/* unique ids, shuffled */
	memcpy(sorted, it, n * sizeof(*it));
	qsort(sorted, n, sizeof(*it), full_order);
	at_topn__init(&t, k, tie);
	for (size_t i = 0; i < n; i++)
		if (at_topn_may_keep(&t, it[i].value))	/* the gate callers use must lose nothing */
			at_topn_offer(&t, it[i].value, &it[i]);
	got = at_topn_finish(&t);
	ok = got == (n < k ? n : k);
	for (size_t i = 0; ok && i < got; i++) {
		const struct item *x = t.heap[i].item;

		ok = x->value == sorted[i].value && x->id == sorted[i].id && t.heap[i].value == x->value;
	}
	at_topn__fini(&t);
	free(it);
	free(sorted);
	return ok;
}

static void test_matches_full_sort(void)
{
	CHECK(same_as_sort(100000, 20, 1000));
	CHECK(same_as_sort(100000, 20, 1ULL << 40));
	CHECK(same_as_sort(1000, 1000, 7));	/* k = n: a full sort */
	CHECK(same_as_sort(10, 50, 3));		/* fewer items than k */
	CHECK(same_as_sort(5000, 1, 100));
}

static void test_empty_and_zero_k(void)
{
	struct at_topn t;
	struct item a = { 5, 1 };

	at_topn__init(&t, 0, tie);
	at_topn_offer(&t, a.value, &a);
	CHECK_EQ_U(at_topn_finish(&t), 0);
	at_topn__fini(&t);
	at_topn__init(&t, 3, tie);
	CHECK_EQ_U(at_topn_finish(&t), 0);
	at_topn__fini(&t);
}

static void test_ties_by_comparator(void)
{
	struct item it[] = { { 7, 4 }, { 7, 2 }, { 9, 8 }, { 7, 3 }, { 1, 0 } };
	struct at_topn t;

	at_topn__init(&t, 3, tie);
	for (size_t i = 0; i < 5; i++)
		at_topn_offer(&t, it[i].value, &it[i]);
	CHECK_EQ_U(at_topn_finish(&t), 3);
	CHECK_EQ_U(((const struct item *)t.heap[0].item)->id, 8);
	CHECK_EQ_U(((const struct item *)t.heap[1].item)->id, 2);
	CHECK_EQ_U(((const struct item *)t.heap[2].item)->id, 3);
	at_topn__fini(&t);
}

int main(void)
{
	RUN(test_matches_full_sort);
	RUN(test_empty_and_zero_k);
	RUN(test_ties_by_comparator);
	return UNIT_DONE();
}
