#include "model/heapsites.h"
#include "lib/util.h"

#include <stdlib.h>
#include <string.h>

int at_heap_site_cmp(const void *a, const void *b)
{
	const struct at_heap_site *x = a, *y = b;

	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	return (x->stack_id > y->stack_id) - (x->stack_id < y->stack_id);
}

static size_t home(const struct at_heap_tally *t, int pid, __u64 stack_id)
{
	__u64 h = (stack_id ^ ((__u64)(__u32)pid << 32 | (__u32)pid)) * 0x9E3779B97F4A7C15ULL;

	return (size_t)(h >> 32) & (t->cap - 1);
}

static struct at_heap_site *find_or_add(struct at_heap_tally *t, size_t i, int pid, __u64 stack_id)
{
	for (;; i = (i + 1) & (t->cap - 1)) {
		struct at_heap_site *s = &t->slots[i];

		if (s->pid == pid && s->stack_id == stack_id)
			return s;
		if (!s->pid) {
			*s = (struct at_heap_site){ .pid = pid, .stack_id = stack_id };
			t->len++;
			return s;
		}
	}
}

/* Keeps the table at most half full, counting the n blocks about to come in. */
static void make_room(struct at_heap_tally *t, size_t n)
{
	struct at_heap_tally old = *t;

	if ((t->len + n) * 2 <= t->cap)
		return;
	t->cap = t->cap ? t->cap : 1024;
	while ((t->len + n) * 2 > t->cap)
		t->cap *= 2;
	t->slots = at_xcalloc(t->cap, sizeof(*t->slots));
	t->len = 0;
	for (size_t i = 0; i < old.cap; i++)
		if (old.slots[i].pid)
			*find_or_add(t, home(t, old.slots[i].pid, old.slots[i].stack_id), old.slots[i].pid,
				     old.slots[i].stack_id) = old.slots[i];
	free(old.slots);
}

void at_tally_blocks(struct at_heap_tally *t, const struct at_block_key *k, const struct at_block *b, size_t n,
		     __u64 now, __u64 min_age)
{
	make_room(t, n);
	if (n > t->cap_idx) {
		t->cap_idx = n;
		t->idx = at_xrealloc(t->idx, n, sizeof(*t->idx));
	}
	/* first every home slot, fetched ahead; then the tallies, mostly from cache */
	for (size_t i = 0; i < n; i++) {
		t->idx[i] = (__u32)home(t, (int)k[i].pid, b[i].stack_id);
		__builtin_prefetch(&t->slots[t->idx[i]], 1);
	}
	for (size_t i = 0; i < n; i++) {
		struct at_heap_site *s = find_or_add(t, t->idx[i], (int)k[i].pid, b[i].stack_id);
		__u64 age = now > b[i].ts_ns ? now - b[i].ts_ns : 0;

		if (age > s->oldest_ns)
			s->oldest_ns = age;
		if (age >= min_age) {
			s->old_allocs++;
			s->old_bytes += b[i].size;
		}
	}
}

struct at_heap_site *at_tally_finish(struct at_heap_tally *t, size_t *n)
{
	struct at_heap_site *v = at_xcalloc(t->len ? t->len : 1, sizeof(*v));
	size_t k = 0;

	for (size_t i = 0; i < t->cap; i++)
		if (t->slots[i].pid)
			v[k++] = t->slots[i];
	qsort(v, k, sizeof(*v), at_heap_site_cmp);
	free(t->slots);
	free(t->idx);
	memset(t, 0, sizeof(*t));
	*n = k;
	return v;
}
