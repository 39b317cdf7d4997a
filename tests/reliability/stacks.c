/* stacks N: N distinct allocation stacks (recursion depth 1..N above one malloc site),
 * K allocations each.
 *   ready <pid>; "go" -> for depth 1..N: K x (malloc(16 + depth) at the leaf, then free);
 *   answers "done <allocs> <bytes>"; "exit" -> exits 0.
 * With alloctop --max-stacks far below N, the stack and site maps fill: the losses are
 * counted (drops.stack_map_full) and every allocation must still be in the totals.
 * stacks tree B [K]: 2^B distinct stacks of depth B (each level through left() or
 * right(), as a path's bits say), K allocations each, more than alloctop preallocates
 * for a small process. */
#include "rel.h"

#include <stdbool.h>

static int K = 4;

NOIPA void *site_leaf(size_t n)
{
	void *p = malloc(n);

	REL_BARRIER();
	return p;
}

NOIPA void leaf_free(void *p)
{
	free(p);
	REL_BARRIER();
}

static unsigned long long total_bytes;

NOIPA int rec(int depth, size_t n)
{
	if (depth > 1)
		return rec(depth - 1, n) + 1;	/* not a tail call: one frame per level */
	for (int k = 0; k < K; k++) {
		void *p = site_leaf(rel_opq(n));

		if (!p)
			rel_die("malloc failed");
		total_bytes += n;
		leaf_free(p);
	}
	return 0;
}

NOIPA int left(int level, unsigned path, size_t n);
NOIPA int right(int level, unsigned path, size_t n);

static inline __attribute__((always_inline)) int descend(int level, unsigned path, size_t n)
{
	if (!level)
		return rec(1, n);
	return ((path >> (level - 1)) & 1 ? right : left)(level - 1, path, n) + 1;	/* not a tail call */
}

NOIPA int left(int level, unsigned path, size_t n)
{
	return descend(level, path, n) + 1;
}

NOIPA int right(int level, unsigned path, size_t n)
{
	return descend(level, path, n) + 2;
}

int main(int argc, char **argv)
{
	bool tree = argc > 2 && !strcmp(argv[1], "tree");
	int n = argc > 1 ? atoi(argv[tree ? 2 : 1]) : 200;
	char cmd[64];

	if (argc > (tree ? 3 : 2))
		K = atoi(argv[tree ? 3 : 2]);
	if (n < 1 || n > (tree ? 20 : 2000) || K < 1)
		rel_die("stacks: N must be 1..2000 (tree: B 1..20), K >= 1");
	leaf_free(site_leaf(8));
	rel_ready();
	while (rel_line(cmd, sizeof(cmd))) {
		if (!strcmp(cmd, "go")) {
			total_bytes = 0;
			for (unsigned p = 0; tree && p < 1U << n; p++)
				descend(n, p, 16 + p % 512);
			for (int d = 1; !tree && d <= n; d++)
				rec(d, 16 + (size_t)d);
			rel_out("done %d %llu", (tree ? 1 << n : n) * K, total_bytes);
		} else if (!strcmp(cmd, "exit")) {
			break;
		}
	}
	return 0;
}
