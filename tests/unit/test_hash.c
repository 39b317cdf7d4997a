/* The hash table underlies every cache: check it against a plain array oracle. */
#include "unit.h"
#include "lib/hash.h"
#include <stdint.h>
#include <stdlib.h>

static void test_put_get_replace(void)
{
	struct at_hash h = { 0 };
	static int vals[3];

	CHECK(at_hash_get(&h, 1, 2) == NULL);
	CHECK(at_hash_put(&h, 1, 2, &vals[0]) == NULL);
	CHECK(at_hash_get(&h, 1, 2) == &vals[0]);
	CHECK(at_hash_get(&h, 2, 1) == NULL);	/* both words matter */
	CHECK(at_hash_put(&h, 1, 2, &vals[1]) == &vals[0]);
	CHECK(at_hash_get(&h, 1, 2) == &vals[1]);
	CHECK_EQ_U(h.len, 1);
	at_hash_clear(&h);
	CHECK(at_hash_get(&h, 1, 2) == NULL);
}

static void test_many_keys_survive_growth(void)
{
	enum { N = 100000 };
	struct at_hash h = { 0 };
	uintptr_t *seen = calloc(N, sizeof(*seen));
	struct at_hash_ent *e;
	size_t count = 0;

	for (uintptr_t i = 0; i < N; i++)
		at_hash_put(&h, i * 4096, i & 7, (void *)(i + 1));
	CHECK_EQ_U(h.len, N);
	for (uintptr_t i = 0; i < N; i++)
		if (at_hash_get(&h, i * 4096, i & 7) != (void *)(i + 1))
			count++;
	CHECK_EQ_U(count, 0);
	count = 0;
	at_hash_for_each(&h, e) {
		uintptr_t v = (uintptr_t)e->val - 1;

		CHECK(v < N && !seen[v]);
		if (v < N)
			seen[v] = 1;
		count++;
	}
	CHECK_EQ_U(count, N);
	at_hash_clear(&h);
	free(seen);
}

static void test_delete_keeps_others_reachable(void)
{
	enum { N = 20000 };
	struct at_hash h = { 0 };
	size_t bad = 0;

	for (uintptr_t i = 0; i < N; i++)
		at_hash_put(&h, i, 0, (void *)(i + 1));
	for (uintptr_t i = 0; i < N; i += 3)
		if (at_hash_del(&h, i, 0) != (void *)(i + 1))
			bad++;
	CHECK(at_hash_del(&h, 0, 0) == NULL);
	for (uintptr_t i = 0; i < N; i++) {
		void *v = at_hash_get(&h, i, 0);

		if (i % 3 == 0 ? v != NULL : v != (void *)(i + 1))
			bad++;
	}
	CHECK_EQ_U(bad, 0);
	CHECK_EQ_U(h.len, N - (N + 2) / 3);
	at_hash_clear(&h);
}

/* A process's entries go when it does; the table shrinks back and the rest stay. */
static void test_free_k1_shrinks(void)
{
	struct at_hash h = { 0 };
	size_t bad = 0, cap;

	for (__u64 pid = 1; pid <= 3; pid++)
		for (__u64 k = 0; k < (pid == 2 ? 5000 : 10); k++) {
			__u64 *v = malloc(sizeof(*v));

			*v = pid * 100000 + k;
			at_hash_put(&h, pid, k, v);
		}
	cap = h.cap;
	CHECK_EQ_U(at_hash_free_k1(&h, 2), 5000);
	CHECK_EQ_U(at_hash_free_k1(&h, 7), 0);
	CHECK_EQ_U(h.len, 20);
	CHECK(h.cap < cap / 16);
	for (__u64 pid = 1; pid <= 3; pid++)
		for (__u64 k = 0; k < 10; k++) {
			__u64 *v = at_hash_get(&h, pid, k);

			if (pid == 2 ? v != NULL : !v || *v != pid * 100000 + k)
				bad++;
		}
	CHECK_EQ_U(bad, 0);
	at_hash_free_all(&h);
}

/* Values that are not pointers (a census's scan numbers): drop() sees each key removed,
 * nothing is freed, the others stay with their values. */
static bool even_val(const struct at_hash_ent *e, void *ctx)
{
	(void)ctx;
	return (uintptr_t)e->val % 2 == 0;
}

static void count_drop(const struct at_hash_ent *e, void *ctx)
{
	__u64 *sum = ctx;

	*sum += e->k1;
}

static void test_drop_if_hands_each_removed_key(void)
{
	struct at_hash h = { 0 };
	__u64 sum = 0, want = 0;
	size_t bad = 0;

	for (__u64 k = 1; k <= 1000; k++) {
		at_hash_put(&h, k, 0, (void *)(uintptr_t)k);
		want += k % 2 ? k : 0;
	}
	CHECK_EQ_U(at_hash_drop_if(&h, even_val, count_drop, &sum), 500);
	CHECK_EQ_U(sum, want);
	CHECK_EQ_U(h.len, 500);
	for (__u64 k = 1; k <= 1000; k++)
		if ((uintptr_t)at_hash_get(&h, k, 0) != (k % 2 ? 0 : k))
			bad++;
	CHECK_EQ_U(bad, 0);
	at_hash_clear(&h);
}

int main(void)
{
	RUN(test_put_get_replace);
	RUN(test_many_keys_survive_growth);
	RUN(test_delete_keeps_others_reachable);
	RUN(test_free_k1_shrinks);
	RUN(test_drop_if_hands_each_removed_key);
	return UNIT_DONE();
}
