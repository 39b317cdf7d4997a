/* The heap pass's per-site tallies against a plain array, across table growth. */
#include "unit.h"
#include "model/heapsites.h"
#include <stdlib.h>

enum { PIDS = 3, STACKS = 5000, BLOCKS = 200000 };

static void test_tallies_match_naive(void)
{
	static struct at_heap_site want[PIDS][STACKS];
	struct at_block_key *k = calloc(BLOCKS, sizeof(*k));
	struct at_block *b = calloc(BLOCKS, sizeof(*b));
	struct at_heap_tally t = { 0 };
	const __u64 now = 1000000, min_age = 400000;
	struct at_heap_site *got;
	size_t n, listed = 0;
	int ok = 1;

	for (size_t i = 0; i < BLOCKS; i++) {
		int p = (int)(unit_rand() % PIDS), s = (int)(unit_rand() % STACKS);
		struct at_heap_site *w = &want[p][s];
		__u64 age;

		k[i] = (struct at_block_key){ .pid = 100 + p, .addr = i * 16 };
		b[i] = (struct at_block){ .size = unit_rand() % 512, .ts_ns = unit_rand() % (now + 1000), .stack_id = s * 0x1000193ULL };
		age = now > b[i].ts_ns ? now - b[i].ts_ns : 0;	/* clock skew: a future block is age 0 */
		listed += !w->pid;
		w->pid = 100 + p;
		w->stack_id = b[i].stack_id;
		w->oldest_ns = age > w->oldest_ns ? age : w->oldest_ns;
		w->old_allocs += age >= min_age;
		w->old_bytes += age >= min_age ? b[i].size : 0;
	}
	for (size_t i = 0; i < BLOCKS; i += 7777)	/* uneven chunks, as batches come */
		at_tally_blocks(&t, k + i, b + i, BLOCKS - i < 7777 ? BLOCKS - i : 7777, now, min_age);
	got = at_tally_finish(&t, &n);
	CHECK_EQ_U(n, listed);
	for (size_t i = 0; i < n && ok; i++) {
		const struct at_heap_site *w = &want[got[i].pid - 100][got[i].stack_id / 0x1000193ULL];

		ok = w->pid == got[i].pid && w->stack_id == got[i].stack_id && w->old_allocs == got[i].old_allocs &&
		     w->old_bytes == got[i].old_bytes && w->oldest_ns == got[i].oldest_ns &&
		     (!i || at_heap_site_cmp(&got[i - 1], &got[i]) < 0);
	}
	CHECK(ok);
	CHECK(t.slots == NULL && t.len == 0);
	free(got);
	free(k);
	free(b);
}

int main(void)
{
	RUN(test_tallies_match_naive);
	return UNIT_DONE();
}
