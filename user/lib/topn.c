#include "lib/topn.h"
#include "lib/util.h"

#include <stdbool.h>
#include <stdlib.h>

/* a ranks before b */
static bool better(const struct at_topn *t, const struct at_topn_item *a, const struct at_topn_item *b)
{
	if (a->value != b->value)
		return a->value > b->value;
	return t->tie(a->item, b->item) < 0;
}

static void swap(struct at_topn_item *a, struct at_topn_item *b)
{
	struct at_topn_item x = *a;

	*a = *b;
	*b = x;
}

/* The heap keeps the worst kept item at its root, to be pushed out first. */
static void sift_up(struct at_topn *t, size_t i)
{
	while (i && better(t, &t->heap[(i - 1) / 2], &t->heap[i])) {
		swap(&t->heap[(i - 1) / 2], &t->heap[i]);
		i = (i - 1) / 2;
	}
}

static void sift_down(struct at_topn *t, size_t i, size_t n)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, w = i;

		if (l < n && better(t, &t->heap[w], &t->heap[l]))
			w = l;
		if (r < n && better(t, &t->heap[w], &t->heap[r]))
			w = r;
		if (w == i)
			return;
		swap(&t->heap[w], &t->heap[i]);
		i = w;
	}
}

void at_topn__init(struct at_topn *t, size_t k, int (*tie)(const void *a, const void *b))
{
	t->k = k;
	t->n = 0;
	t->tie = tie;
	t->heap = k ? at_xcalloc(k, sizeof(*t->heap)) : NULL;
}

void at_topn_offer(struct at_topn *t, __u64 value, const void *item)
{
	struct at_topn_item it = { value, item };

	if (t->n < t->k) {
		t->heap[t->n++] = it;
		sift_up(t, t->n - 1);
	} else if (t->k && better(t, &it, &t->heap[0])) {
		t->heap[0] = it;
		sift_down(t, 0, t->n);
	}
}

size_t at_topn_finish(struct at_topn *t)
{
	/* heapsort in place: the root (worst) goes to the end each time */
	for (size_t n = t->n; n > 1; n--) {
		swap(&t->heap[0], &t->heap[n - 1]);
		sift_down(t, 0, n - 1);
	}
	return t->n;
}

void at_topn__fini(struct at_topn *t)
{
	free(t->heap);
	t->heap = NULL;
	t->n = t->k = 0;
}
